"""Databases in the states a deploy meets them: not there, there but empty, unreachable, current."""
from __future__ import annotations

import sqlite3
import uuid

import pytest
from sqlalchemy import text

from models.db import make_engine
from tests.conftest import BACKENDS, POSTGRES_URL, _with_search_path
from tests.bot.test_serve import free_port


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path):
    """A database that exists and answers but has no Collab schema (no migration run), per backend."""
    if request.param == "sqlite":
        path = tmp_path / "empty.db"
        sqlite3.connect(path).close()
        yield f"sqlite:///{path}"
        return
    schema = f"collab_empty_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(POSTGRES_URL, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def unreachable_postgres_url():
    """A PostgreSQL URL (with a password that must never be shown) where nothing listens."""
    return f"postgresql://collab:hunter2-not-shown@127.0.0.1:{free_port()}/collab"
