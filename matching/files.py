"""Reading the CSV files of ``collab match`` into engine items, with one-line errors.

Encodings: UTF-8 (with or without BOM) and Windows-1252 (the GIAS download) are detected.
Column names must match exactly (surrounding spaces ignored); other columns are ignored.
"""
from __future__ import annotations

import csv
import datetime
import io
import math
from dataclasses import dataclass
from pathlib import Path

from matching.items import NeedItem, OfferItem, PastPairing, SchoolInfo

NEEDS_COLUMNS = ("need_id", "school_urn", "text")
OFFERS_COLUMNS = ("offer_id", "school_urn", "text")
SCHOOLS_COLUMNS = ("URN",)
SCHOOLS_OPTIONAL = ("EstablishmentName", "PhaseOfEducation (name)", "LA (name)", "Trusts (name)", "Easting",
                    "Northing", "PercentageFSM", "EstablishmentStatus (name)")
HISTORY_COLUMNS = ("giver_urn", "taker_urn", "date")
PROPOSAL_COLUMNS = ("need_id", "offer_id", "rank", "score", "probability", "reason")
UNMATCHED_COLUMNS = ("need_id", "theme", "reason", "closest_offers", "note")
# A cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets
# (the same rule as /collab export).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class InputError(ValueError):
    """A problem with an input file, phrased for the person running the command."""


def safe_cell(value) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ (or tab / CR) gets a ' in front."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def read_text(path: str | Path) -> str:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: file not found")
    raw = p.read_bytes()
    if raw.startswith(b"PK\x03\x04") or p.suffix.lower() in (".xlsx", ".xls", ".ods"):
        raise InputError(f"{p} is a spreadsheet workbook, not a CSV file: save it as "
                         "'CSV UTF-8 (comma delimited)' and try again")
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


@dataclass
class Table:
    """The wanted columns of a CSV, column by column (cells stripped; a missing cell is ""),
    and the line each row starts on, for error messages. Column-wise because a national round
    reads 120,000 rows: a dict per row cost as much as parsing the file (docs/matching.md)."""

    columns: dict[str, list[str]]
    lines: list[int]

    def get(self, name: str) -> list[str]:
        """A column; an absent optional column reads as empty cells."""
        return self.columns.get(name) or [""] * len(self.lines)


def read_rows(path: str | Path, required: tuple[str, ...], label: str, optional: tuple[str, ...] = ()) -> Table:
    """The required and optional columns of a CSV (names stripped); checks that the required
    columns are there. Other columns are ignored, and so are blank lines and rows of empty cells."""
    text = read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{label} file {path} is empty (needs a header with {', '.join(required)})") from None
    header = [h.strip().lstrip("\ufeff") for h in header]
    if len(header) == 1 and ";" in header[0] and all(c not in header for c in required):
        raise InputError(f"{label} file {path} is separated by ';', not ','; save it as "
                         "'CSV UTF-8 (comma delimited)' and try again")
    for col in required:
        if col not in header:
            raise InputError(f"{label} file {path} has no column {col!r} (required: {', '.join(required)})")
    names = [h for h in dict.fromkeys(required + optional) if h in header]
    at = [header.index(h) for h in names]
    width = max(at) + 1
    padding = [""] * width
    rows, lines = [], []
    for values in reader:
        if not any(values) or not any(map(str.strip, values)):
            continue  # a blank line, or a row of empty cells
        rows.append(values if len(values) >= width else values + padding)
        lines.append(reader.line_num)
    return Table({h: [r[k].strip() for r in rows] for h, k in zip(names, at)}, lines)


def _require(table: Table, keys, label, path) -> None:
    """Every row has a value in each of ``keys`` (else a one-line error with the line)."""
    for key in keys:
        column = table.columns[key]
        if not all(column):
            line = table.lines[column.index("")]
            raise InputError(f"{label} file {path}, line {line}: empty {key}")


def _check_ids_and_themes(table: Table, key, label, path) -> None:
    """Duplicate ids and unknown themes, named with the file and line."""
    from matching.features import normalise_theme
    from matching.themes import THEMES

    ids = table.columns[key]
    if len(set(ids)) < len(ids):
        seen: dict[str, int] = {}
        for value, line in zip(ids, table.lines):
            if value in seen:
                raise InputError(f"{label} file {path}, line {line}: duplicate {key} {value!r} "
                                 f"(first on line {seen[value]})")
            seen[value] = line
    for theme, line in zip(table.columns.get("theme", ()), table.lines):
        if theme:
            try:
                normalise_theme(theme, THEMES)
            except ValueError as exc:
                raise InputError(f"{label} file {path}, line {line}: {exc}") from None


def read_needs(path) -> list[NeedItem]:
    table = read_rows(path, NEEDS_COLUMNS, "needs", ("theme",))
    _require(table, ("need_id", "school_urn"), "needs", path)
    _check_ids_and_themes(table, "need_id", "needs", path)
    c = table.columns
    return list(map(NeedItem, c["need_id"], c["school_urn"], c["text"], [t or None for t in table.get("theme")]))


def read_offers(path) -> list[OfferItem]:
    table = read_rows(path, OFFERS_COLUMNS, "offers", ("theme", "capacity"))
    _require(table, ("offer_id", "school_urn"), "offers", path)
    _check_ids_and_themes(table, "offer_id", "offers", path)
    capacities = []
    for raw, line in zip(table.get("capacity"), table.lines):
        if raw == "":
            capacity = 1
        else:
            try:
                capacity = int(raw)
            except ValueError:
                capacity = -1
            if capacity < 1:
                raise InputError(
                    f"offers file {path}, line {line}: capacity {raw!r} is not a whole number of 1 or more"
                )
        capacities.append(capacity)
    c = table.columns
    return list(map(OfferItem, c["offer_id"], c["school_urn"], c["text"], [t or None for t in table.get("theme")],
                    capacities))


def _float(value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        v = float(value.replace(",", "").rstrip("%"))
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def read_schools(path) -> list[SchoolInfo]:
    """GIAS establishment CSV (or any CSV with a URN column and some of GIAS's columns)."""
    t = read_rows(path, SCHOOLS_COLUMNS, "schools", SCHOOLS_OPTIONAL)
    return [
        SchoolInfo(urn=urn, name=name, phase=phase or None, local_authority=la or None, trust=trust or None,
                   easting=_float(east), northing=_float(north), fsm_percent=_float(fsm))
        for urn, name, phase, la, trust, east, north, fsm in zip(
            t.columns["URN"], t.get("EstablishmentName"), t.get("PhaseOfEducation (name)"), t.get("LA (name)"),
            t.get("Trusts (name)"), t.get("Easting"), t.get("Northing"), t.get("PercentageFSM"))
        if urn
    ]


def read_history(path) -> list[PastPairing]:
    t = read_rows(path, HISTORY_COLUMNS, "history")
    _require(t, ("giver_urn", "taker_urn"), "history", path)
    out = []
    for giver, taker, raw, line in zip(t.columns["giver_urn"], t.columns["taker_urn"], t.columns["date"], t.lines):
        try:
            date = datetime.date.fromisoformat(raw)
        except ValueError:
            raise InputError(
                f"history file {path}, line {line}: date {raw!r} is not an ISO date (YYYY-MM-DD)"
            ) from None
        out.append(PastPairing(giver, taker, date))
    return out


def _write_csv(path, columns, rows) -> None:
    """Write atomically, UTF-8 with a BOM (so Excel reads the accents), formula-like cells guarded."""
    p = Path(path)
    if not p.parent.exists():
        raise InputError(f"output folder {p.parent} does not exist")
    tmp = p.with_name(p.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(columns)
        for row in rows:
            w.writerow([safe_cell(v) for v in row])
    tmp.replace(p)


def write_proposals(path, proposals) -> None:
    _write_csv(path, PROPOSAL_COLUMNS,
               ([x.need_id, x.offer_id, x.rank, f"{x.score:.4f}", f"{x.probability:.3f}", x.reason] for x in proposals))


def write_unmatched(path, unmatched) -> None:
    """One row per unpaired need: its theme, the reason code, the closest offers
    ("O12 0.41; O7 0.33") and the reason in words."""
    _write_csv(path, UNMATCHED_COLUMNS, (
        [u.need_id, u.theme, u.reason, "; ".join(f"{o} {p:.3f}" for o, p in u.closest), u.describe()]
        for u in unmatched
    ))
