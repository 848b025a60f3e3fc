"""The fault-injection suite: Slack and the database fail at the worst moments; nothing is lost or doubled.

Each test runs the real digest job (bot/scheduling) against the stub Slack, on SQLite and, when
COLLAB_TEST_POSTGRES_URL is set, PostgreSQL, breaks something mid-run (a process killed or
interrupted while Slack holds its answer, an answer dropped or timed out after the message was
posted, 429 storms, 5xx with odd bodies, permanent errors, enforced rate limits, dropped
database connections) and then lets the next run or catch-up finish. The verdict is read from
what the stub actually posted: every member has exactly one digest, and the ledger agrees.
"""
from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, text

from bot.scheduling.registry import Runtime
from models.db import make_engine
from tests.support.rhythm import Network, ledger, messenger_for, settings_for
from tests.support.slack_stub import dm_channel_id

PEOPLE = [f"U0FAULT{n:03d}" for n in range(1, 9)]
SCHOOLS = ["colgate", "hinchley", "stmary", "stmaryrc"]


def due_now_schedule(settings) -> str:
    """A daily schedule that fired two minutes ago, so catch-up sees this period as due."""
    moment = datetime.now(settings.zone) - timedelta(minutes=2)
    return f"daily {moment:%H:%M}"


@pytest.fixture
def settings(database_url, slack):
    base = settings_for(database_url, slack.api_url, leads=frozenset())
    # No back-off sleeps; a short client timeout so a held answer is given up on quickly.
    return dataclasses.replace(base, slack_retry_wait=0, slack_timeout=1.0, digest_cron=due_now_schedule(base))


@pytest.fixture
def people(engine):
    net = Network(engine)
    for n, user in enumerate(PEOPLE):
        net.member(user, SCHOOLS[n % len(SCHOOLS)])
    return PEOPLE


@pytest.fixture
def runtime(engine, settings):
    return Runtime(settings, engine, messenger_for(settings))


def assert_each_got_exactly_one(slack, engine, people):
    """What Slack holds (including posts whose answer was lost): one digest per person; the ledger agrees."""
    posted = Counter(channel for channel, _ts in slack.messages)
    assert posted == Counter({dm_channel_id(user): 1 for user in people}), posted
    rows = ledger(engine, "digest")
    assert sorted(r.recipient for r in rows) == sorted(people)
    assert {r.status for r in rows} == {"sent"}, [(r.recipient, r.status, r.error) for r in rows]
    by_channel = {channel: ts for channel, ts in slack.messages}
    assert {r.ts for r in rows} == set(by_channel.values())  # the ledger points at the very messages


class DatabaseDrops:
    """Drop the database connection under the next statements that match, as a server restart would.

    SQLite: the connection is closed under SQLAlchemy. PostgreSQL: its backend is terminated
    (pg_terminate_backend) from a second connection, so the client sees what it would in production.
    """

    def __init__(self, engine, database_url: str):
        self.engine = engine
        self.admin = make_engine(database_url) if engine.dialect.name == "postgresql" else None
        self.rules: list[list] = []
        self.dropped = 0
        self.invalidated = 0  # connections SQLAlchemy threw away: proof each drop really broke one
        event.listen(engine, "before_cursor_execute", self._maybe_drop)
        event.listen(engine, "invalidate", self._count)

    def arm(self, contains: str, times: int = 1, skip: int = 0, param: object | None = None) -> None:
        """Drop on `times` statements containing `contains` (and `param` among the values), after `skip`."""
        self.rules.append([contains.lower(), param, skip, times])

    def _maybe_drop(self, conn, _cursor, statement, parameters, _context, _many) -> None:
        values = parameters.values() if isinstance(parameters, dict) else (parameters or ())
        for rule in self.rules:
            contains, param, skip, times = rule
            if times <= 0 or contains not in statement.lower() or (param is not None and param not in values):
                continue
            if skip:
                rule[2] -= 1
                return
            rule[3] -= 1
            self.dropped += 1
            raw = conn.connection.dbapi_connection
            if self.admin is None:
                raw.close()
            else:
                with self.admin.connect() as admin:
                    admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": raw.info.backend_pid})
            return

    def _count(self, *_args) -> None:
        self.invalidated += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._maybe_drop)
        event.remove(self.engine, "invalidate", self._count)
        if self.admin is not None:
            self.admin.dispose()


@pytest.fixture
def drops(engine, database_url):
    dropper = DatabaseDrops(engine, database_url)
    yield dropper
    dropper.close()
