"""Shared fixtures: a migrated database on SQLite and, when configured, on PostgreSQL.

`make test` runs every database test on SQLite. With COLLAB_TEST_POSTGRES_URL set (CI sets it
to the local server) every database test runs on PostgreSQL too, and an unreachable server is
an error, never a skip. `make test` runs the tests on several processes (pytest-xdist): each has
its own SQLite files (its own temporary folder) and its own PostgreSQL schema, so none sees
another's data.
"""
from __future__ import annotations

import os
import shutil
import uuid

# One BLAS/OpenMP thread per process, set before numpy is first imported, and inherited by every
# subprocess a test starts. The tests' arrays are small: with OpenBLAS's default of a thread per
# core, L-BFGS (the theme model's fits) spends most of its time in threads waiting for each other,
# and far more when the two cores are busy with other work (another test worker, a subprocess):
# the relevance fixture took 59 s of CPU with the default, 11 s with one thread (its assertions pass either way).
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import freezegun  # noqa: E402
import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402

from models.db import make_engine, upgrade  # noqa: E402
from models.tables import SQLModel  # noqa: E402

# Each freeze_time() start looks through every loaded module for the clock functions to swap: with
# the numerical libraries loaded that is 2,100 modules and 50 ms, some 140 times a run. numpy,
# scipy, scikit-learn and matplotlib are left out (15 ms): they keep the real functions, and a clock
# read with one of them within five frames up the stack gets real time. None of them reads the
# clock for Collab or calls back into Collab code that does.
freezegun.configure(extend_ignore_list=["numpy", "scipy", "sklearn", "matplotlib"])

POSTGRES_URL = os.environ.get("COLLAB_TEST_POSTGRES_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def pytest_report_header(config):
    return f"collab database backends: {', '.join(BACKENDS)}"


def pytest_sessionstart(session):
    """An unreachable PostgreSQL stops the run before any test, in one line: checked here, in the
    main process before pytest-xdist starts its workers (a worker stopping mid-run is reported as
    a crash of whichever test it was on, and the reason is lost)."""
    if not POSTGRES_URL or hasattr(session.config, "workerinput"):
        return
    engine = make_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:
        pytest.exit(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}", returncode=3)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """Migrate once, copy per test: the migrations are what make the schema, and copying is fast."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema():
    """A private schema for this test run, migrated once, dropped at the end."""
    if not POSTGRES_URL:
        pytest.skip("COLLAB_TEST_POSTGRES_URL is not set")
    schema = f"collab_test_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # an unreachable server must fail the run loudly
        pytest.exit(f"PostgreSQL at {POSTGRES_URL} is unreachable: {exc}", returncode=3)
    url = _with_search_path(POSTGRES_URL, schema)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _with_search_path(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    """A URL to an empty, fully migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "collab.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_schema")
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(text("DROP TABLE IF EXISTS apscheduler_jobs"))
    engine.dispose()
    yield url


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def slack():
    """The stub Slack Web API: records every call, can answer 429 or errors on demand."""
    from tests.support.slack_stub import SlackStub

    with SlackStub() as stub:
        yield stub


# The three tiers of docs/architecture.md, by where a test lives, so `-m unit` runs the fast ones alone.
TIERS = (
    ("e2e", ("tests/bot/", "tests/faults/", "tests/security/", "tests/deploy/", "tests/test_demo.py", "tests/test_serve")),
    ("integration", ("tests/services/", "tests/test_migrations.py", "tests/test_clock.py", "tests/test_cli_rhythm.py")),
)


def pytest_collection_modifyitems(config, items):
    root = str(config.rootpath) + "/"
    for item in items:
        where = str(item.path).replace(root, "", 1)
        tier = next((name for name, places in TIERS if where.startswith(places)), "unit")
        item.add_marker(tier)
