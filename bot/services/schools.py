"""Schools from Get Information about Schools (GIAS): read its establishment CSV and upsert by URN.

The file is the one operators download from GIAS (``edubasealldataYYYYMMDD.csv``, or an
extract of it): Windows-1252 or UTF-8, every field quoted, GIAS's own column names. Only the
organisational fields in :class:`models.School` are kept; personal columns such as the head
teacher's name are read past and never stored.

Reading and importing are separate so that the same import serves the command line, tests
and anything that already has rows as dictionaries.
"""
from __future__ import annotations

import codecs
import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from sqlalchemy import bindparam, insert, select, update
from sqlmodel import Session

from bot.domain.errors import InvalidInput
from models import School, utcnow

# GIAS column -> School field. Nothing else from the file is ever stored.
URN = "URN"
NAME = "EstablishmentName"
STATUS = "EstablishmentStatus (name)"
PHASE = "PhaseOfEducation (name)"
LA = "LA (name)"
TRUST = "Trusts (name)"
POSTCODE = "Postcode"
EASTING = "Easting"
NORTHING = "Northing"
PUPILS = "NumberOfPupils"
FSM = "PercentageFSM"

REQUIRED_COLUMNS = (URN, NAME)
FIELDS = ("name", "phase", "local_authority", "trust", "postcode", "easting", "northing",
          "pupils", "fsm_percent", "is_open")
CLOSED_STATUSES = {"closed"}  # GIAS: "Open", "Closed", "Open, but proposed to close", "Proposed to open"
NOT_APPLICABLE = {"", "not applicable"}
SUPPRESSED = {"", "supp", "z", "x", "c", "..", "-", "n/a", "na", "ne", "ns", "np"}
MAX_LENGTHS = {"name": 300, "phase": 80, "local_authority": 120, "trust": 300, "postcode": 16}
MAX_URN_DIGITS = 16

BATCH_SIZE = 2000
PROGRESS_EVERY = 1000

Progress = Callable[[int, "int | None"], None]


class GiasFile:
    """A GIAS establishment CSV, decoded and checked; iterate it for one dict per row.

    Rows are numbered as in a spreadsheet: the header is row 1, the first school row 2.
    ``len()`` is the number of rows (what a progress bar needs).
    """

    def __init__(self, path: str | Path, text: str, encoding: str):
        self.path = Path(path)
        self.encoding = encoding
        self._text = text
        self._length: int | None = None
        header = next(csv.reader(io.StringIO(text)), None)
        self.columns = [c.strip() for c in header] if header else []
        missing = [c for c in REQUIRED_COLUMNS if c not in self.columns]
        if not self.columns or self.columns == [""]:
            raise InvalidInput(f"{path}: the file has no header row; expected a GIAS establishment CSV.")
        if missing:
            found = ", ".join(self.columns[:5]) + (", …" if len(self.columns) > 5 else "")
            raise InvalidInput(
                f"{path}: not a GIAS establishment CSV: missing column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} (found: {found})."
            )

    def __iter__(self) -> Iterator[dict[str, str]]:
        reader = csv.reader(io.StringIO(self._text))
        next(reader, None)
        columns = self.columns
        width = len(columns)
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a NUL byte: say where, in one line
                raise InvalidInput(f"{self.path}: line {reader.line_num} is not valid CSV ({exc}).") from None
            if not values or values == [""]:
                continue  # a blank line (often the last one)
            if len(values) < width:
                values = values + [""] * (width - len(values))
            yield dict(zip(columns, values))

    def __len__(self) -> int:
        if self._length is None:
            self._length = sum(1 for _ in self)
        return self._length


def decode(data: bytes) -> tuple[str, str]:
    """UTF-8 (with or without a byte-order mark) if the bytes are valid UTF-8, else Windows-1252.

    Valid UTF-8 is very unlikely by accident for Windows-1252 text with accents or curly quotes,
    so the strict UTF-8 attempt decides it. Bytes that Windows-1252 leaves undefined fall back to
    Latin-1 rather than failing the whole file.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def read_gias(path: str | Path) -> GiasFile:
    """Open a GIAS establishment CSV; raise InvalidInput with one line that names the file if it won't do."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path}: is a folder, not a GIAS CSV file.") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror or exc}).") from None
    if not data.strip():
        raise InvalidInput(f"{path}: the file is empty; expected a GIAS establishment CSV with a header row.")
    if data.startswith(b"PK\x03\x04"):
        raise InvalidInput(f"{path}: is a zip or Excel file; download the establishment data as CSV from GIAS.")
    text, encoding = decode(data)
    return GiasFile(path, text, encoding)


@dataclass
class ImportCounts:
    """What an import did. ``added + updated + unchanged`` is the number of schools imported;
    ``closed`` counts those of them that GIAS lists as closed (stored with ``is_open`` false)."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.added + self.updated + self.unchanged

    def summary(self) -> str:
        line = (f"{self.imported:,} schools imported: {self.added:,} added, {self.updated:,} updated, "
                f"{self.unchanged:,} unchanged ({self.closed:,} of them closed); "
                f"{len(self.skipped):,} row{'' if len(self.skipped) == 1 else 's'} skipped.")
        return line


class _RowError(ValueError):
    """A row that cannot be stored; the message is the reason given to the operator."""


def _text(row: Mapping[str, str], column: str) -> str:
    return " ".join((row.get(column) or "").split())


def _optional(value: str) -> str | None:
    return value or None


def _number(row: Mapping[str, str], column: str, number_type, warnings: list[str], where: str,
            suppressed=frozenset({""})):
    raw = _text(row, column)
    if raw.lower() in suppressed:
        return None
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        warnings.append(f"{where}: {column} {raw!r} is not a number; left empty.")
        return None
    if not math.isfinite(value):
        warnings.append(f"{where}: {column} {raw!r} is not a number; left empty.")
        return None
    if number_type is int:
        if value != int(value) or value < 0:
            warnings.append(f"{where}: {column} {raw!r} is not a whole number; left empty.")
            return None
        return int(value)
    return value


def parse_row(row: Mapping[str, str], where: str, warnings: list[str]) -> tuple[str, dict]:
    """One GIAS row -> (URN, School fields). Only columns present in the row are mapped, so a
    file without, say, ``Trusts (name)`` leaves stored trusts alone instead of blanking them."""
    urn = _text(row, URN)
    if not urn:
        raise _RowError(f"{where}: URN is empty")
    if not urn.isdigit() or len(urn) > MAX_URN_DIGITS:
        raise _RowError(f"{where}: URN {urn!r} is not a number")
    urn = str(int(urn))
    name = _text(row, NAME)
    if not name:
        raise _RowError(f"{where}: URN {urn} has no EstablishmentName")
    values: dict = {"name": name}
    if STATUS in row:
        values["is_open"] = _text(row, STATUS).lower() not in CLOSED_STATUSES
    if PHASE in row:
        phase = _text(row, PHASE)
        values["phase"] = None if phase.lower() in NOT_APPLICABLE else phase
    if LA in row:
        values["local_authority"] = _optional(_text(row, LA))
    if TRUST in row:
        values["trust"] = _optional(_text(row, TRUST))
    if POSTCODE in row:
        values["postcode"] = _optional(_text(row, POSTCODE).upper())
    if EASTING in row:
        values["easting"] = _number(row, EASTING, float, warnings, where)
    if NORTHING in row:
        values["northing"] = _number(row, NORTHING, float, warnings, where)
    if PUPILS in row:
        values["pupils"] = _number(row, PUPILS, int, warnings, where)
    if FSM in row:
        fsm = _number(row, FSM, float, warnings, where, suppressed=SUPPRESSED)
        if fsm is not None and not 0 <= fsm <= 100:
            warnings.append(f"{where}: {FSM} {fsm:g} is not a percentage; left empty.")
            fsm = None
        values["fsm_percent"] = fsm
    for key, limit in MAX_LENGTHS.items():
        if values.get(key) is not None and len(values[key]) > limit:
            raise _RowError(f"{where}: URN {urn} {key.replace('_', ' ')} is longer than {limit} characters")
    return urn, values


def import_schools(
    session: Session,
    rows: Iterable[Mapping[str, str]],
    progress: Progress | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    progress_every: int = PROGRESS_EVERY,
) -> ImportCounts:
    """Upsert schools by URN from GIAS rows (e.g. ``read_gias(path)``); return what happened.

    Existing schools are loaded once; new ones are inserted and changed ones updated in batches
    of ``batch_size`` (no query per row). A row that cannot be stored is skipped with its reason;
    a school missing from the file is left as it is (a file may be an extract). Runs in the
    caller's transaction: nothing is committed here. ``progress(done, total)`` is called every
    ``progress_every`` rows and once at the end; ``total`` is None when ``rows`` has no length.
    """
    counts = ImportCounts()
    total = len(rows) if hasattr(rows, "__len__") else None
    table = School.__table__
    session.flush()  # anything pending goes first, so the snapshot below is current
    existing: dict[str, tuple] = {}
    for record in session.connection().execute(select(table.c.id, table.c.urn, *(table.c[f] for f in FIELDS))):
        existing[record[1]] = (record[0], dict(zip(FIELDS, record[2:])))
    seen: dict[str, int] = {}
    inserts: list[dict] = []
    updates: dict[tuple, list[dict]] = {}
    now = utcnow()

    def flush_batches(force: bool = False) -> None:
        nonlocal inserts
        if inserts and (force or len(inserts) >= batch_size):
            session.connection().execute(insert(table), inserts)
            inserts = []
        for keys, batch in list(updates.items()):
            if batch and (force or len(batch) >= batch_size):
                statement = (
                    update(table).where(table.c.id == bindparam("_id"))
                    .values({k: bindparam("b_" + k) for k in keys})
                )
                session.connection().execute(statement, batch)
                updates[keys] = []

    done = 0
    for number, row in enumerate(rows, start=2):
        done += 1
        where = f"row {number}"
        try:
            urn, values = parse_row(row, where, counts.warnings)
        except _RowError as exc:
            counts.skipped.append(str(exc))
        else:
            if urn in seen:
                counts.skipped.append(f"{where}: URN {urn} appears again (first on row {seen[urn]})")
            else:
                seen[urn] = number
                if values.get("is_open") is False:
                    counts.closed += 1
                stored = existing.get(urn)
                if stored is None:
                    inserts.append({**{f: None for f in FIELDS}, "is_open": True, **values,
                                    "urn": urn, "updated_at": now})
                    counts.added += 1
                else:
                    school_id, old = stored
                    if values.get("is_open") is None and old["is_open"] is False:
                        counts.closed += 1
                    if all(_same(old[k], v) for k, v in values.items()):
                        counts.unchanged += 1
                    else:
                        keys = tuple(sorted(values)) + ("updated_at",)
                        updates.setdefault(keys, []).append(
                            {"b_" + k: v for k, v in values.items()} | {"b_updated_at": now, "_id": school_id}
                        )
                        counts.updated += 1
            flush_batches()
        if progress is not None and done % progress_every == 0:
            progress(done, total)
    flush_batches(force=True)
    session.flush()
    session.expire_all()  # School objects the caller holds now reload what the import wrote
    if progress is not None:
        progress(done, total if total is not None else done)
    return counts


def _same(old, new) -> bool:
    if isinstance(old, float) or isinstance(new, float):
        if old is None or new is None:
            return old is new
        return math.isclose(old, new, rel_tol=1e-12, abs_tol=1e-9)
    return old == new


def import_file(session: Session, path: str | Path, progress: Progress | None = None) -> ImportCounts:
    """``read_gias`` then ``import_schools``: what ``collab schools import FILE`` does."""
    return import_schools(session, read_gias(path), progress)
