"""The demo network shipped in bot/data imports like a GIAS file and its posts fit the product."""
from __future__ import annotations

import csv
from pathlib import Path

from sqlmodel import select

import bot
from bot.domain.posts import MAX_CAPACITY, MAX_POST_CHARS
from bot.services.schools import import_schools, read_gias
from matching.themes import THEMES
from models import School
from models.db import session_scope

DATA = Path(bot.__file__).parent / "data"
# British National Grid extent of England (metres), with a little margin.
ENGLAND_EASTING = (80_000, 660_000)
ENGLAND_NORTHING = (0, 660_000)


def posts() -> list[dict]:
    with (DATA / "demo_posts.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_demo_schools_import_open_and_placed_in_england(engine):
    gias = read_gias(DATA / "demo_schools.csv")
    with session_scope(engine) as session:
        counts = import_schools(session, gias)
    assert counts.skipped == [] and counts.warnings == []
    assert counts.added == len(gias) >= 20
    with session_scope(engine) as session:
        schools = session.exec(select(School)).all()
    assert len(schools) == counts.added
    assert all(s.is_open for s in schools)
    for school in schools:
        assert ENGLAND_EASTING[0] < school.easting < ENGLAND_EASTING[1], school.name
        assert ENGLAND_NORTHING[0] < school.northing < ENGLAND_NORTHING[1], school.name
        assert school.local_authority and school.postcode and school.phase != ""
    assert len({s.local_authority for s in schools}) == 2
    assert {"Primary", "Secondary"} <= {s.phase for s in schools}
    shares = [s.fsm_percent for s in schools if s.fsm_percent is not None]
    assert min(shares) < 10 and max(shares) > 30  # a mix of disadvantage


def test_every_demo_post_belongs_to_a_demo_school_and_fits_a_post():
    urns = {row["URN"] for row in read_gias(DATA / "demo_schools.csv")}
    rows = posts()
    assert rows and list(rows[0]) == ["school_urn", "kind", "text", "source", "capacity", "theme"]
    for row in rows:
        assert row["school_urn"] in urns
        assert row["kind"] in {"need", "offer"}
        assert row["source"] in {"ofsted", "written"}
        assert 0 < len(row["text"].strip()) <= MAX_POST_CHARS
        # places per term: offers only, within what the offer form allows
        if row["kind"] == "offer":
            assert row["capacity"].isdigit() and 1 <= int(row["capacity"]) <= MAX_CAPACITY
        else:
            assert row["capacity"] == ""
        # a theme its poster chose (the written posts) or none (Ofsted's: our suggestion stands)
        assert (row["theme"] in THEMES) if row["source"] == "written" else row["theme"] == ""
    for urn in urns:  # every school both asks and gives
        assert {r["kind"] for r in rows if r["school_urn"] == urn} == {"need", "offer"}
    assert {r["source"] for r in rows} == {"ofsted", "written"}


def test_the_demo_carries_the_open_government_licence_attribution():
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    assert "Contains public sector information licensed under the Open Government Licence v3.0." in readme
