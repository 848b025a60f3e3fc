"""Engines, sessions and migrations: one place that knows SQLite from PostgreSQL."""
from __future__ import annotations

import fcntl
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import alembic  # noqa: F401  (see below)
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

# alembic logs its plugins' set-up at INFO when first imported: importing it here, with the engine
# code and before any process configures logging, keeps those lines out of the clock's and the web
# workers' logs (the schema check imports alembic after start-up otherwise).
DEFAULT_DATABASE_URL = "sqlite:///collab.db"
MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str | None) -> str:
    """Accept URLs as hosting platforms hand them out (`postgres://`) and use psycopg 3."""
    url = (url or "").strip() or DEFAULT_DATABASE_URL
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str | None = None, **kwargs) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if engine.url.database and engine.url.database != ":memory:":
            _serialise_sqlite_writers(engine, engine.url.database)
        return engine
    # No pool_pre_ping: it cost a round trip (and a wake-up of the PostgreSQL backend) on every unit of
    # work. Instead connections are replaced after 30 minutes, TCP keepalives notice a dead server
    # or a dropped connection, and a connection that fails mid-query is invalidated by SQLAlchemy
    # (the pool is emptied on a disconnect error), so one failed request is the worst case.
    kwargs.setdefault("pool_recycle", 1800)
    connect_args = kwargs.setdefault("connect_args", {})
    for key, value in (("keepalives", 1), ("keepalives_idle", 30), ("keepalives_interval", 10),
                       ("keepalives_count", 3), ("connect_timeout", 10)):
        connect_args.setdefault(key, value)
    # Keep as many connections as a server worker's listeners use at once (bot/app.py runs 32):
    # with 10 kept, 50 concurrent slash commands opened and closed ~190 overflow connections a run.
    kwargs.setdefault("pool_size", 24)
    kwargs.setdefault("max_overflow", 8)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets the web and clock processes read while one writes; foreign keys are off by default."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_writer_locks: dict[str, threading.Lock] = {}
_writer_locks_guard = threading.Lock()


def _serialise_sqlite_writers(engine: Engine, database: str) -> None:
    """One writer at a time, queued in the kernel rather than in SQLite's busy handler.

    SQLite allows one write transaction per file. A writer that finds the lock taken waits in
    SQLite's busy handler, which sleeps 1, 2, 5, 10 ... 100 ms between tries: with 50 clients and
    writes in the mix (join, need, offer), the unlucky ones waited 1-2.5 s. Now a connection takes a
    lock before its first INSERT/UPDATE/DELETE (a threading.Lock for the threads of this process,
    then flock on a file beside the database for the other processes: the web workers, the clock,
    the command line) and gives it back when the connection returns to the pool, after COMMIT or
    ROLLBACK. A waiter wakes the moment the lock is free. Reads take no lock (WAL).
    """
    path = f"{database}-collab-write.lock"
    with _writer_locks_guard:
        local = _writer_locks.setdefault(os.path.abspath(path), threading.Lock())

    owner: list[int | None] = [None]  # the thread holding the lock (a nested unit must not wait for itself)

    @event.listens_for(engine, "before_cursor_execute")
    def take(conn, _cursor, statement, _parameters, _context, _executemany):
        info = conn.info
        if ("write_lock" in info or not statement.lstrip()[:7].upper().startswith(_WRITES)
                or owner[0] == threading.get_ident()):
            return
        local.acquire()
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
        except BaseException:
            local.release()
            raise
        owner[0] = threading.get_ident()
        info["write_lock"] = fd

    def give_back(_dbapi_connection, record, *_):
        fd = record.info.pop("write_lock", None) if record is not None else None
        if fd is not None:
            owner[0] = None
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
            finally:
                local.release()

    for name in ("checkin", "invalidate", "close"):
        event.listen(engine, name, give_back)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(engine: Engine):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # configparser treats % as interpolation: escape it (URL-encoded options contain %).
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or upgrade the schema. The only way tables are made, in tests as in production."""
    from alembic import command

    command.upgrade(alembic_config(engine), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()



@dataclass(frozen=True)
class SchemaStatus:
    """Where the database stands against the migrations this code ships.

    ``problem`` is None when the schema is current, else one line an operator can act on;
    ``reachable`` tells "no database" from "a database with the wrong schema" (/healthz says which).
    """

    problem: str | None
    reachable: bool
    current: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problem is None


@lru_cache(maxsize=1)
def _migration_scripts():
    """The migrations on disk: fixed for a running process, so read once (not on every /healthz)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revisions() -> tuple[str, ...]:
    return tuple(sorted(_migration_scripts().get_heads()))


def schema_status(engine: Engine) -> SchemaStatus:
    """Compare the database's Alembic revision with the code's head, changing nothing.

    Never raises for a database problem, so the start-up checks and /healthz share it. A SQLite
    file that does not exist is reported, not created (connecting would make an empty file). An
    unreachable PostgreSQL fails within the engine's connect_timeout. The database URL in the
    message has its password hidden.
    """
    where = engine.url.render_as_string(hide_password=True)
    if _sqlite_file_missing(engine):
        return SchemaStatus(f"the database {where} does not exist yet: run `collab db upgrade` first", False)
    try:
        current = _current_heads(engine)
    except Exception as error:  # any driver or network failure: the caller only needs to know it failed
        first_line = (str(getattr(error, "orig", None) or error).strip().splitlines() or [""])[0].strip()
        because = f" ({first_line})" if first_line else ""
        return SchemaStatus(
            f"cannot reach the database {where}{because}: check DATABASE_URL and that the server is up", False)
    heads = head_revisions()
    if current == heads:
        return SchemaStatus(None, True, current, heads)
    if not current:
        problem = f"the database {where} has no Collab schema yet: run `collab db upgrade` first"
    elif not all(_known(rev) for rev in current):
        problem = (f"the database {where} is at migration {', '.join(current)}, which this version of Collab "
                   f"does not know (its latest is {', '.join(heads)}): run the version that migrated it, or newer")
    else:
        problem = (f"the database {where} is at migration {', '.join(current)} but this version of Collab "
                   f"needs {', '.join(heads)}: run `collab db upgrade` first")
    return SchemaStatus(problem, True, current, heads)


def _current_heads(engine: Engine) -> tuple[str, ...]:
    """Alembic's version table read directly: MigrationContext would log two INFO lines per call,
    and /healthz calls this every few seconds."""
    from sqlalchemy import inspect, text

    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return ()
        return tuple(sorted(row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))))


def _known(revision: str) -> bool:
    from alembic.util import CommandError

    try:
        return _migration_scripts().get_revision(revision) is not None
    except CommandError:  # alembic raises for a revision it has never heard of
        return False


def _sqlite_file_missing(engine: Engine) -> bool:
    database = engine.url.database
    return (engine.url.get_backend_name() == "sqlite" and bool(database) and database != ":memory:"
            and not database.startswith("file:") and not Path(database).exists())

