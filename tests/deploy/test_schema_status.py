"""models.db.schema_status: the one check behind `serve`/`clock` start-up and /healthz."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import text

import models.db
from models.db import head_revisions, make_engine, schema_status, upgrade


def test_a_migrated_database_is_current(engine):
    status = schema_status(engine)
    assert status.ok and status.reachable
    assert status.current == status.heads == head_revisions()


def test_a_missing_sqlite_file_is_reported_and_not_created(tmp_path):
    path = tmp_path / "collab.db"
    engine = make_engine(f"sqlite:///{path}")
    status = schema_status(engine)
    assert not status.ok and not status.reachable
    assert "does not exist yet" in status.problem and "collab db upgrade" in status.problem
    assert not path.exists()
    engine.dispose()


def test_a_database_without_the_schema_says_run_upgrade_then_is_current_after_it(empty_database_url):
    engine = make_engine(empty_database_url)
    status = schema_status(engine)
    assert not status.ok and status.reachable
    assert "has no Collab schema yet: run `collab db upgrade` first" in status.problem
    upgrade(engine)
    assert schema_status(engine).ok
    engine.dispose()


def test_an_unreachable_server_is_reported_without_its_password(unreachable_postgres_url):
    engine = make_engine(unreachable_postgres_url)
    status = schema_status(engine)
    assert not status.ok and not status.reachable
    assert status.problem.startswith("cannot reach the database postgresql+psycopg://collab:***@127.0.0.1:")
    assert "hunter2" not in status.problem and "\n" not in status.problem
    engine.dispose()


def test_a_revision_this_code_does_not_know_is_named(empty_database_url):
    engine = make_engine(empty_database_url)
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    status = schema_status(engine)
    assert not status.ok and status.reachable
    assert "9999_from_the_future, which this version of Collab does not know" in status.problem
    engine.dispose()


NEXT = "9000_next_release"


@pytest.fixture
def newer_code(tmp_path, monkeypatch):
    """The code after a release that adds one migration on top of today's head (a real Alembic
    script, doing nothing). Returns today's head."""
    (today,) = head_revisions()
    migrations = tmp_path / "migrations"
    shutil.copytree(models.db.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / f"{NEXT}.py").write_text(
        f'revision = "{NEXT}"\ndown_revision = "{today}"\nbranch_labels = None\ndepends_on = None\n\n\n'
        "def upgrade() -> None:\n    pass\n\n\ndef downgrade() -> None:\n    pass\n")
    monkeypatch.setattr(models.db, "MIGRATIONS", migrations)
    models.db._migration_scripts.cache_clear()
    yield today
    models.db._migration_scripts.cache_clear()


def test_a_database_behind_the_code_says_run_upgrade(empty_database_url, newer_code):
    engine = make_engine(empty_database_url)
    upgrade(engine, newer_code)
    status = schema_status(engine)
    assert not status.ok and status.reachable
    assert status.problem.endswith(
        f"is at migration {newer_code} but this version of Collab needs {NEXT}: run `collab db upgrade` first")
    upgrade(engine)
    assert schema_status(engine).ok and schema_status(engine).current == (NEXT,)
    engine.dispose()
