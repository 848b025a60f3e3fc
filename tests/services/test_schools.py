"""GIAS import: real column order, every field quoted, Windows-1252 or UTF-8, on every backend."""
from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli.schools import ProgressBar, add_schools_command
from bot.domain.errors import InvalidInput
from bot.services.schools import ImportCounts, decode, import_schools, read_gias
from models import School
from models.db import session_scope
from models.tables import SQLModel

# The 135 columns of GIAS's edubasealldata CSV, in the order of the real download
# (from ../shared/data/gias_and_ofsted_columns.txt, section A).
GIAS_COLUMNS = """URN|LA (code)|LA (name)|EstablishmentNumber|EstablishmentName|TypeOfEstablishment (code)|
TypeOfEstablishment (name)|EstablishmentTypeGroup (code)|EstablishmentTypeGroup (name)|EstablishmentStatus (code)|
EstablishmentStatus (name)|ReasonEstablishmentOpened (code)|ReasonEstablishmentOpened (name)|OpenDate|
ReasonEstablishmentClosed (code)|ReasonEstablishmentClosed (name)|CloseDate|PhaseOfEducation (code)|
PhaseOfEducation (name)|StatutoryLowAge|StatutoryHighAge|Boarders (code)|Boarders (name)|NurseryProvision (name)|
OfficialSixthForm (code)|OfficialSixthForm (name)|Gender (code)|Gender (name)|ReligiousCharacter (code)|
ReligiousCharacter (name)|ReligiousEthos (name)|Diocese (code)|Diocese (name)|AdmissionsPolicy (code)|
AdmissionsPolicy (name)|SchoolCapacity|SpecialClasses (code)|SpecialClasses (name)|CensusDate|NumberOfPupils|
NumberOfBoys|NumberOfGirls|PercentageFSM|TrustSchoolFlag (code)|TrustSchoolFlag (name)|Trusts (code)|Trusts (name)|
SchoolSponsorFlag (name)|SchoolSponsors (name)|FederationFlag (name)|Federations (code)|Federations (name)|UKPRN|
FEHEIdentifier|FurtherEducationType (name)|LastChangedDate|Street|Locality|Address3|Town|County (name)|Postcode|
SchoolWebsite|TelephoneNum|HeadTitle (name)|HeadFirstName|HeadLastName|HeadPreferredJobTitle|
BSOInspectorateName (name)|InspectorateReport|DateOfLastInspectionVisit|NextInspectionVisit|TeenMoth (name)|
TeenMothPlaces|CCF (name)|SENPRU (name)|EBD (name)|PlacesPRU|FTProv (name)|EdByOther (name)|Section41Approved (name)|
SEN1 (name)|SEN2 (name)|SEN3 (name)|SEN4 (name)|SEN5 (name)|SEN6 (name)|SEN7 (name)|SEN8 (name)|SEN9 (name)|
SEN10 (name)|SEN11 (name)|SEN12 (name)|SEN13 (name)|TypeOfResourcedProvision (name)|ResourcedProvisionOnRoll|
ResourcedProvisionCapacity|SenUnitOnRoll|SenUnitCapacity|GOR (code)|GOR (name)|DistrictAdministrative (code)|
DistrictAdministrative (name)|AdministrativeWard (code)|AdministrativeWard (name)|ParliamentaryConstituency (code)|
ParliamentaryConstituency (name)|UrbanRural (code)|UrbanRural (name)|GSSLACode (name)|Easting|Northing|MSOA (name)|
LSOA (name)|InspectorateName (name)|SENStat|SENNoStat|BoardingEstablishment (name)|PropsName|PreviousLA (code)|
PreviousLA (name)|PreviousEstablishmentNumber|Country (name)|UPRN|SiteName|QABName (code)|QABName (name)|
EstablishmentAccredited (code)|EstablishmentAccredited (name)|QABReport|CHNumber|MSOA (code)|LSOA (code)|FSM|
AccreditationExpiryDate""".replace("\n", "").split("|")

# Personal data that a real GIAS file carries and Collab must never store.
PERSONAL = {
    "HeadTitle (name)": "Mrs", "HeadFirstName": "Winifred", "HeadLastName": "Quennell-Smythe",
    "HeadPreferredJobTitle": "Executive Headteacher", "PropsName": "Bartholomew Okonkwo-Fairweather",
    "TelephoneNum": "01234567890",
}


def gias_row(urn, name, status="Open", phase="Primary", la="Surrey", trust="", postcode="KT1 1AA",
             easting="518000", northing="167000", pupils="420", fsm="12.5", **extra) -> dict:
    row = {column: "" for column in GIAS_COLUMNS}
    row.update({
        "URN": str(urn), "LA (code)": "936", "LA (name)": la, "EstablishmentNumber": "2001",
        "EstablishmentName": name, "TypeOfEstablishment (name)": "Community school",
        "EstablishmentStatus (code)": "2" if status == "Closed" else "1", "EstablishmentStatus (name)": status,
        "OpenDate": "01-09-1970", "PhaseOfEducation (name)": phase, "StatutoryLowAge": "4",
        "StatutoryHighAge": "11", "NumberOfPupils": pupils, "PercentageFSM": fsm, "Trusts (name)": trust,
        "Postcode": postcode, "Easting": easting, "Northing": northing, "Town": "Kingston upon Thames",
        "Country (name)": "United Kingdom", "LastChangedDate": "03-03-2025", **PERSONAL,
    })
    row.update(extra)
    return row


def write_gias(path: Path, rows: list[dict], encoding: str = "cp1252", columns=GIAS_COLUMNS) -> Path:
    """Write as GIAS does: every field quoted, CRLF line ends, the given encoding."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(column, "") for column in columns])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def run_import(engine, path, **kwargs) -> ImportCounts:
    with session_scope(engine) as session:
        return import_schools(session, read_gias(path), **kwargs)


def schools(engine) -> dict[str, School]:
    with session_scope(engine) as session:
        return {s.urn: s for s in session.exec(select(School)).all()}


def dump(engine) -> str:
    """Every value in every table, as text: what 'stored' means."""
    lines = []
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                lines.append(" ".join(str(v) for v in row))
    return "\n".join(lines)


NETWORK = [
    gias_row(125001, "St Mary’s C of E Primary School", phase="Primary", trust="Good Shepherd Trust",
             fsm="8.1", pupils="210"),
    gias_row(125002, "Ysgol Gymraeg Llundain", phase="Primary", la="Kingston upon Thames", fsm="SUPP"),
    gias_row(125003, "Hinchley Wood School", phase="Secondary", pupils="1250", fsm="", easting="", northing=""),
    gias_row(125004, "Old Mill Nursery", status="Closed", phase="Nursery"),
    gias_row(125005, "Café Côté Pupil Referral Unit", status="Open, but proposed to close", phase="Not applicable"),
    gias_row(125006, "New Horizons Free School", status="Proposed to open", phase="Secondary", pupils=""),
]


def test_windows_1252_file_imports_every_field_and_keeps_curly_apostrophes(engine, tmp_path):
    path = write_gias(tmp_path / "edubasealldata20250303.csv", NETWORK, encoding="cp1252")
    assert b"St Mary\x92s" in path.read_bytes()  # really Windows-1252, as GIAS ships it
    gias = read_gias(path)
    assert gias.encoding == "cp1252" and len(gias) == 6

    counts = run_import(engine, path)

    assert (counts.added, counts.updated, counts.unchanged, counts.closed) == (6, 0, 0, 1)
    assert counts.skipped == [] and counts.warnings == []
    stored = schools(engine)
    mary = stored["125001"]
    assert mary.name == "St Mary’s C of E Primary School"
    assert (mary.phase, mary.local_authority, mary.trust, mary.postcode) == (
        "Primary", "Surrey", "Good Shepherd Trust", "KT1 1AA")
    assert (mary.easting, mary.northing, mary.pupils, mary.fsm_percent, mary.is_open) == (
        518000.0, 167000.0, 210, 8.1, True)
    assert stored["125002"].name == "Ysgol Gymraeg Llundain"
    assert stored["125002"].fsm_percent is None  # "SUPP"
    assert stored["125002"].trust is None  # empty -> None
    hinchley = stored["125003"]
    assert (hinchley.easting, hinchley.northing, hinchley.fsm_percent) == (None, None, None)
    assert stored["125004"].is_open is False
    assert stored["125005"].is_open is True and stored["125005"].phase is None  # "Not applicable"
    assert stored["125005"].name == "Café Côté Pupil Referral Unit"
    assert stored["125006"].is_open is True and stored["125006"].pupils is None


def test_personal_columns_are_read_past_and_never_stored(engine, tmp_path):
    path = write_gias(tmp_path / "gias.csv", NETWORK)
    run_import(engine, path)
    everything = dump(engine)
    assert "St Mary’s C of E Primary School" in everything  # the dump does see what was stored
    for value in PERSONAL.values():
        assert value not in everything
    assert not {"head", "headfirstname", "headlastname", "propsname"} & {
        c.name.lower() for c in School.__table__.columns}


def test_second_import_updates_in_place_without_duplicates(engine, tmp_path):
    run_import(engine, write_gias(tmp_path / "first.csv", NETWORK))
    first_ids = {urn: s.id for urn, s in schools(engine).items()}

    changed = [dict(row) for row in NETWORK]
    changed[0]["EstablishmentStatus (name)"] = "Closed"  # St Mary's closes
    changed[1]["NumberOfPupils"] = "199"
    changed.append(gias_row(125007, "Brand New Academy", trust="Kingston Learning Trust"))
    counts = run_import(engine, write_gias(tmp_path / "second.csv", changed))

    assert (counts.added, counts.updated, counts.unchanged) == (1, 2, 4)
    assert counts.closed == 2
    stored = schools(engine)
    assert len(stored) == 7
    assert {urn: stored[urn].id for urn in first_ids} == first_ids  # same rows, updated in place
    assert stored["125001"].is_open is False
    assert stored["125002"].pupils == 199
    assert stored["125007"].trust == "Kingston Learning Trust"
    before = {urn: s.updated_at for urn, s in stored.items()}

    again = run_import(engine, write_gias(tmp_path / "third.csv", changed))
    assert (again.added, again.updated, again.unchanged) == (0, 0, 7)
    assert {urn: s.updated_at for urn, s in schools(engine).items()} == before


def test_an_extract_without_some_columns_leaves_those_fields_alone(engine, tmp_path):
    run_import(engine, write_gias(tmp_path / "full.csv", NETWORK))
    extract = [{"URN": "125001", "EstablishmentName": "St Mary’s CofE Primary School"}]
    counts = run_import(engine, write_gias(tmp_path / "extract.csv", extract, columns=["URN", "EstablishmentName"]))
    assert (counts.updated, counts.added) == (1, 0)
    mary = schools(engine)["125001"]
    assert mary.name == "St Mary’s CofE Primary School"
    assert (mary.trust, mary.pupils, mary.is_open) == ("Good Shepherd Trust", 210, True)


def test_bad_rows_are_skipped_and_counted_with_the_reason(engine, tmp_path):
    rows = [
        gias_row(125001, "Good School"),
        gias_row("abc", "No Number School"),
        gias_row("", "No URN At All"),
        gias_row(125002, ""),
        gias_row(125001, "Good School Again"),
        gias_row(125003, "Odd Numbers School", easting="somewhere", pupils="lots", fsm="250"),
    ]
    counts = run_import(engine, write_gias(tmp_path / "bad.csv", rows))

    assert counts.added == 2
    assert counts.skipped == [
        "row 3: URN 'abc' is not a number",
        "row 4: URN is empty",
        "row 5: URN 125002 has no EstablishmentName",
        "row 6: URN 125001 appears again (first on row 2)",
    ]
    assert counts.warnings == [
        "row 7: Easting 'somewhere' is not a number; left empty.",
        "row 7: NumberOfPupils 'lots' is not a number; left empty.",
        "row 7: PercentageFSM 250 is not a percentage; left empty.",
    ]
    stored = schools(engine)
    assert set(stored) == {"125001", "125003"} and stored["125001"].name == "Good School"
    odd = stored["125003"]
    assert (odd.easting, odd.northing, odd.pupils, odd.fsm_percent) == (None, 167000.0, None, None)
    assert "4 rows skipped" in counts.summary()


def test_utf8_with_and_without_bom(engine, tmp_path):
    with_bom = write_gias(tmp_path / "bom.csv", NETWORK[:2], encoding="utf-8-sig")
    without = write_gias(tmp_path / "plain.csv", NETWORK[2:4], encoding="utf-8")
    assert with_bom.read_bytes().startswith(b'\xef\xbb\xbf"URN"')
    assert read_gias(with_bom).columns[0] == "URN" and read_gias(with_bom).encoding == "utf-8"
    run_import(engine, with_bom)
    run_import(engine, without)
    stored = schools(engine)
    assert stored["125001"].name == "St Mary’s C of E Primary School"
    assert len(stored) == 4


def test_decode_prefers_utf8_and_falls_back_to_windows_1252():
    assert decode("Mary’s".encode("utf-8")) == ("Mary’s", "utf-8")
    assert decode("\ufeffMary’s".encode("utf-8")) == ("Mary’s", "utf-8")
    assert decode("Mary’s – Café".encode("cp1252")) == ("Mary’s – Café", "cp1252")
    assert decode(b"Mary\x81s")[0] == "Mary\x81s"  # a byte cp1252 leaves undefined is not fatal


@pytest.mark.parametrize("columns, missing", [
    (["LA (name)", "EstablishmentName", "Postcode"], "missing column URN "),
    (["URN", "Name", "Postcode"], "missing column EstablishmentName "),
    (["urn", "school_name", "local_authority"], "missing columns URN, EstablishmentName "),
])
def test_a_file_without_urn_or_name_is_refused_in_one_line(tmp_path, columns, missing):
    path = write_gias(tmp_path / "schools.csv", [{c: "x" for c in columns}], columns=columns)
    with pytest.raises(InvalidInput) as raised:
        read_gias(path)
    message = str(raised.value)
    assert "\n" not in message and str(path) in message and missing in message
    assert "not a GIAS establishment CSV" in message


@pytest.mark.parametrize("content", [b"", b"\r\n\r\n", b"\xef\xbb\xbf"])
def test_an_empty_file_is_refused(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match="empty.csv"):
        read_gias(path)


def test_a_missing_file_or_a_folder_is_refused(tmp_path):
    with pytest.raises(InvalidInput, match="nope.csv: no such file"):
        read_gias(tmp_path / "nope.csv")
    with pytest.raises(InvalidInput, match="folder"):
        read_gias(tmp_path)


def test_a_header_only_file_imports_nothing(engine, tmp_path):
    counts = run_import(engine, write_gias(tmp_path / "header.csv", []))
    assert counts.imported == 0 and counts.skipped == []


def test_progress_is_reported_every_n_rows_and_at_the_end(engine, tmp_path):
    rows = [gias_row(130000 + i, f"School {i}") for i in range(25)]
    calls = []
    counts = run_import(engine, write_gias(tmp_path / "many.csv", rows),
                        progress=lambda done, total: calls.append((done, total)),
                        progress_every=10, batch_size=7)
    assert calls == [(10, 25), (20, 25), (25, 25)]
    assert counts.added == 25 and len(schools(engine)) == 25


def test_batches_do_not_query_per_row(engine, tmp_path):
    """Upserting many rows costs a handful of statements, not one per school."""
    from sqlalchemy import event

    rows = [gias_row(140000 + i, f"School {i}") for i in range(600)]
    run_import(engine, write_gias(tmp_path / "a.csv", rows[:300]))
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        changed = [dict(r, NumberOfPupils="99") for r in rows]
        counts = run_import(engine, write_gias(tmp_path / "b.csv", changed), batch_size=250)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert (counts.added, counts.updated) == (300, 300)
    assert len(statements) < 30


# ----- the command line -----------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="collab")
    add_schools_command(root.add_subparsers(dest="command"))
    return root


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_cli_imports_with_a_progress_bar_and_counts(database_url, engine, tmp_path):
    path = write_gias(tmp_path / "edubasealldata.csv", NETWORK)
    args = parser().parse_args(["schools", "import", str(path), "--database-url", database_url])
    out, err = io.StringIO(), Terminal()
    assert args.func(args, stdout=out, stderr=err) == 0
    assert "\r[" in err.getvalue() and err.getvalue().endswith("] 6/6 schools\n")
    assert out.getvalue().startswith("6 schools imported: 6 added, 0 updated, 0 unchanged (1 of them closed)")
    assert len(schools(engine)) == 6


def test_cli_migrates_a_fresh_database_first(tmp_path):
    path = write_gias(tmp_path / "gias.csv", NETWORK[:1])
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    args = parser().parse_args(["schools", "import", str(path), "--database-url", url])
    out, err = io.StringIO(), io.StringIO()
    assert args.func(args, stdout=out, stderr=err) == 0
    assert "1 added" in out.getvalue()
    assert err.getvalue() == "[##############################] 1/1 schools\n"


def test_cli_uses_database_url_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.chdir(tmp_path)  # no .env here
    path = write_gias(tmp_path / "gias.csv", NETWORK[:2])
    args = parser().parse_args(["schools", "import", str(path)])
    assert args.func(args, stdout=io.StringIO(), stderr=io.StringIO()) == 0
    assert (tmp_path / "env.db").exists()


def test_cli_exits_2_with_one_line_for_a_file_that_wont_do(tmp_path):
    path = write_gias(tmp_path / "not_gias.csv", [{"urn": "1"}], columns=["urn", "name"])
    url = f"sqlite:///{tmp_path / 'untouched.db'}"
    args = parser().parse_args(["schools", "import", str(path), "--database-url", url])
    out, err = io.StringIO(), io.StringIO()
    assert args.func(args, stdout=out, stderr=err) == 2
    assert out.getvalue() == ""
    assert err.getvalue().count("\n") == 1 and "not_gias.csv" in err.getvalue()
    assert "missing columns URN, EstablishmentName" in err.getvalue()
    assert not (tmp_path / "untouched.db").exists()  # the file is checked before the database


def test_progress_bar_renders_like_the_issue_says():
    assert ProgressBar(io.StringIO(), width=10).render(12000, 50000) == "[##........] 12,000/50,000 schools"
    assert ProgressBar(io.StringIO()).render(5, None) == "5 schools"


def test_a_file_that_is_not_valid_csv_is_refused_with_where(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b'"URN","EstablishmentName"\r\n"1","' + b"A" * 200_000 + b'"\r\n')  # over csv's field limit
    with pytest.raises(InvalidInput, match=r"broken.csv: line 2 is not valid CSV"):
        len(read_gias(path))


def test_collab_schools_import_end_to_end(tmp_path, monkeypatch, capsys):
    """Through the real `collab` entry point, in a fresh process, on a fresh database; then again
    and with a missing file through main() in-process (the same code after the entry point: a
    process costs a second or more just to import)."""
    import subprocess
    import sys

    from bot.cli import main

    demo = Path(__file__).parents[2] / "bot" / "data" / "demo_schools.csv"
    database_url = f"sqlite:///{tmp_path / 'collab.db'}"
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url}
    run = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "schools", "import"]
    done = subprocess.run(run + [str(demo)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("24 schools imported: 24 added")

    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("DATABASE_URL", database_url)
    capsys.readouterr()
    assert main(["schools", "import", str(demo)]) == 0
    assert capsys.readouterr().out.startswith("24 schools imported: 0 added, 0 updated, 24 unchanged")
    assert main(["schools", "import", str(tmp_path / "missing.csv")]) == 2
    bad = capsys.readouterr()
    assert bad.out == ""
    assert bad.err.strip().count("\n") == 0 and "missing.csv: no such file" in bad.err
