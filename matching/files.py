"""Reading the CSV files of ``collab match`` into engine items, with one-line errors.

Encodings: UTF-8 (with or without BOM) and Windows-1252 (the GIAS download) are detected.
Column names must match exactly (surrounding spaces ignored); other columns are ignored.
"""
from __future__ import annotations

import csv
import datetime
import io
import math
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


def read_rows(path: str | Path, required: tuple[str, ...], label: str, optional: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Rows of a CSV as dicts of the required and optional columns (names stripped);
    checks that the required columns are there. Other columns are ignored."""
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
    wanted = [(h, header.index(h)) for h in dict.fromkeys(required + optional) if h in header]
    rows = []
    for values in reader:
        if not values or not any(v.strip() for v in values):
            continue
        n = len(values)
        row = {h: (values[k].strip() if k < n else "") for h, k in wanted}
        row["_line"] = reader.line_num
        rows.append(row)
    return rows


def _require(rows, keys, label, path) -> None:
    """Every row has a value in each of ``keys`` (else a one-line error with the line)."""
    for key in keys:
        for r in rows:
            if not r[key]:
                raise InputError(f"{label} file {path}, line {r['_line']}: empty {key}")


def _check_ids_and_themes(rows, key, label, path) -> None:
    """Duplicate ids and unknown themes, named with the file and line."""
    from matching.features import normalise_theme
    from matching.themes import THEMES

    seen: dict[str, int] = {}
    for r in rows:
        if r[key] in seen:
            raise InputError(f"{label} file {path}, line {r['_line']}: duplicate {key} {r[key]!r} "
                             f"(first on line {seen[r[key]]})")
        seen[r[key]] = r["_line"]
        try:
            normalise_theme(r.get("theme") or None, THEMES)
        except ValueError as exc:
            raise InputError(f"{label} file {path}, line {r['_line']}: {exc}") from None


def read_needs(path) -> list[NeedItem]:
    rows = read_rows(path, NEEDS_COLUMNS, "needs", ("theme",))
    _require(rows, ("need_id", "school_urn"), "needs", path)
    _check_ids_and_themes(rows, "need_id", "needs", path)
    return [NeedItem(r["need_id"], r["school_urn"], r["text"], r.get("theme") or None) for r in rows]


def read_offers(path) -> list[OfferItem]:
    rows = read_rows(path, OFFERS_COLUMNS, "offers", ("theme", "capacity"))
    _require(rows, ("offer_id", "school_urn"), "offers", path)
    _check_ids_and_themes(rows, "offer_id", "offers", path)
    out = []
    for r in rows:
        raw = r.get("capacity", "")
        if raw == "":
            capacity = 1
        else:
            try:
                capacity = int(raw)
            except ValueError:
                capacity = -1
            if capacity < 1:
                raise InputError(
                    f"offers file {path}, line {r['_line']}: capacity {raw!r} is not a whole number of 1 or more"
                )
        out.append(OfferItem(r["offer_id"], r["school_urn"], r["text"], r.get("theme") or None, capacity))
    return out


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
    out = []
    for r in read_rows(path, SCHOOLS_COLUMNS, "schools", SCHOOLS_OPTIONAL):
        if not r["URN"]:
            continue
        out.append(
            SchoolInfo(
                urn=r["URN"],
                name=r.get("EstablishmentName", ""),
                phase=r.get("PhaseOfEducation (name)") or None,
                local_authority=r.get("LA (name)") or None,
                trust=r.get("Trusts (name)") or None,
                easting=_float(r.get("Easting")),
                northing=_float(r.get("Northing")),
                fsm_percent=_float(r.get("PercentageFSM")),
            )
        )
    return out


def read_history(path) -> list[PastPairing]:
    rows = read_rows(path, HISTORY_COLUMNS, "history")
    _require(rows, ("giver_urn", "taker_urn"), "history", path)
    out = []
    for r in rows:
        try:
            date = datetime.date.fromisoformat(r["date"])
        except ValueError:
            raise InputError(
                f"history file {path}, line {r['_line']}: date {r['date']!r} is not an ISO date (YYYY-MM-DD)"
            ) from None
        out.append(PastPairing(r["giver_urn"], r["taker_urn"], date))
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
