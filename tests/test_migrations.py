"""The migrations are the schema: they must build exactly what the models describe, on every backend."""
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import select

from models.db import alembic_config, current_revision, make_engine, upgrade
from models.tables import SQLModel


def test_models_and_migrations_agree(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_every_table_is_created(engine):
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables
    assert current_revision(engine) is not None


def test_upgrade_is_idempotent(engine):
    before = current_revision(engine)
    upgrade(engine)
    assert current_revision(engine) == before


def test_the_history_is_one_line_and_every_step_goes_down_and_up(tmp_path):
    """Two branches adding migrations at once would leave two heads (and `db upgrade` would refuse);
    a downgrade that does not undo its upgrade leaves a schema the models no longer describe."""
    from alembic import command
    from alembic.script import ScriptDirectory

    engine = make_engine(f"sqlite:///{tmp_path / 'steps.db'}")
    config = alembic_config(engine)
    script = ScriptDirectory.from_config(config)
    assert len(script.get_heads()) == 1, script.get_heads()
    steps = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in steps:
        command.upgrade(config, revision)
        assert current_revision(engine) == revision
    for revision in reversed(steps):
        command.downgrade(config, "-1")
        assert revision not in (current_revision(engine) or "")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    engine.dispose()


def test_a_fresh_sqlite_file_is_created_from_nothing(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    upgrade(engine)
    assert "need" in inspect(engine).get_table_names()
    engine.dispose()


def test_postgres_urls_from_hosting_platforms_are_accepted():
    from models.db import normalise_url

    assert normalise_url("postgres://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url(None) == "sqlite:///collab.db"
    assert normalise_url("  ") == "sqlite:///collab.db"


def test_the_request_guard_migration_goes_down_and_up_again(engine):
    """0002 adds the replay store and the event dedupe table; downgrading removes just those."""
    from alembic import command

    from models.db import alembic_config

    command.downgrade(alembic_config(engine), "0001")
    assert not {"seenrequest", "seenevent"} & set(inspect(engine).get_table_names())
    assert "need" in inspect(engine).get_table_names()
    upgrade(engine, "0002_request_guard")
    assert {"seenrequest", "seenevent"} <= set(inspect(engine).get_table_names())
    upgrade(engine)


def test_0004_marks_as_chosen_the_themes_a_person_changed(engine):
    """Posts from before 0004 do not say who set their theme: one that differs from the model's
    suggestion for its text was changed by a person and stays a choice; one that agrees becomes
    a suggestion."""
    from datetime import datetime, timezone

    from alembic import command
    from sqlalchemy import text

    from matching.themes import infer_theme
    from models import Need, Offer, School, Workspace
    from models.db import session_scope

    typed = "need help with persistent absence in Year 9"
    suggested = infer_theme(typed)
    other = "send" if suggested != "send" else "reading"
    with session_scope(engine) as session:
        workspace, school = Workspace(team_id="T0MIGRATE1"), School(urn="100001", name="Old School")
        session.add_all([workspace, school])
        session.flush()
        ids = workspace.id, school.id
    command.downgrade(alembic_config(engine), "0003_unpaired_needs")
    now = datetime.now(timezone.utc)
    with engine.begin() as connection:
        for table, theme in (("need", suggested), ("need", other), ("offer", other)):
            extra = ", urgency" if table == "need" else ", capacity_per_term, format"
            values = ", 'normal'" if table == "need" else ", 1, 'any'"
            connection.execute(text(
                f"INSERT INTO {table} (workspace_id, school_id, text, theme, status, created_at, updated_at{extra}) "
                f"VALUES (:w, :s, :t, :theme, 'open', :now, :now{values})"),
                dict(w=ids[0], s=ids[1], t=typed, theme=theme, now=now))
    upgrade(engine)
    with session_scope(engine) as session:
        needs = {n.theme: n.theme_chosen for n in session.exec(select(Need).where(Need.workspace_id == ids[0]))}
        offers = [o.theme_chosen for o in session.exec(select(Offer).where(Offer.workspace_id == ids[0]))]
    assert needs == {suggested: False, other: True}
    assert offers == [True]
