"""Digest fan-out: how fast one weekly digest run reaches a large network, against Slack's rate limit.

Run from the repository root:

    .venv/bin/python bench/fanout.py                       # 2,000 members, 300 posts a minute, SQLite
    .venv/bin/python bench/fanout.py --rate 0              # no rate limit: the cost of building digests
    .venv/bin/python bench/fanout.py --db postgresql --members 500

It makes a fresh database (a temp SQLite file, or a new PostgreSQL schema dropped afterwards),
migrates it and fills it with a network: ``--members`` staff in schools of 10, each school with an
open need and an open offer, and a pairing for every other school, some introduced this week.
The stub Slack (tests/support/slack_stub.py) enforces a rate limit on chat.postMessage
(``--rate`` calls per rolling minute; past it, HTTP 429 with Retry-After, which the real client
honours: COLLAB_SLACK_RETRY_WAIT = 1). Then the real ``digest`` job runs, and reruns as catch-up
would until every digest is sent, and the script prints digests per second against the floor
(no client can beat it: in a rolling window the first ``rate`` posts go at once, the rest at
rate/60 a second), and checks every member got exactly one digest.
Exit status 1 if anyone got none or two. No pass/fail on speed: figures go in docs/scheduling.md.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.scheduling import jobs  # noqa: E402
from bot.scheduling.registry import Runtime  # noqa: E402
from bot.services.workspaces import ensure_workspace  # noqa: E402
from bot.slack.app import make_client  # noqa: E402
from bot.slack.messenger import SlackMessenger  # noqa: E402
from models import Member, Need, Offer, Pairing, School, utcnow  # noqa: E402
from models.db import make_engine, session_scope, upgrade  # noqa: E402
from tests.support.slack_stub import SlackStub  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
THEMES = ("attendance", "behaviour", "reading", "maths", "send", "wellbeing")


def fill(engine, members: int) -> None:
    now = utcnow()
    with session_scope(engine) as session:
        workspace = ensure_workspace(session, "T0COLLAB1")
        schools = []
        for n in range((members + 9) // 10):
            school = School(urn=f"9{n:05d}", name=f"Bench School {n}", phase="Primary", local_authority="Surrey")
            session.add(school)
            schools.append(school)
        session.flush()
        staff = []
        for n in range(members):
            member = Member(workspace_id=workspace.id, slack_user_id=f"U0B{n:07d}", school_id=schools[n // 10].id)
            session.add(member)
            staff.append(member)
        session.flush()
        needs, offers = [], []
        for n, school in enumerate(schools):
            theme = THEMES[n % len(THEMES)]
            needs.append(Need(workspace_id=workspace.id, school_id=school.id, member_id=staff[n * 10].id,
                              text=f"help with {theme} in Year {n % 6 + 1}", theme=theme))
            offers.append(Offer(workspace_id=workspace.id, school_id=school.id, member_id=staff[n * 10 + 1].id,
                                text=f"we can share our {theme} approach", theme=THEMES[(n + 1) % len(THEMES)]))
        session.add_all(needs + offers)
        session.flush()
        for n in range(0, len(schools) - 1, 2):
            state = "introduced" if n % 4 == 0 else "proposed"
            at = now - timedelta(days=2)
            session.add(Pairing(workspace_id=workspace.id, need_id=needs[n].id, offer_id=offers[n + 1].id, state=state,
                                created_at=at, updated_at=at, decided_at=at if state != "proposed" else None,
                                decided_by="U0LEAD0001" if state != "proposed" else None,
                                introduced_at=at if state == "introduced" else None))


def database(kind: str):
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="collab-fanout-")
        return f"sqlite:///{folder}/fanout.db", lambda: None
    schema = f"collab_fanout_{uuid.uuid4().hex[:8]}"
    admin = make_engine(os.environ.get("COLLAB_BENCH_POSTGRES_URL", DEFAULT_PG))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    base = os.environ.get("COLLAB_BENCH_POSTGRES_URL", DEFAULT_PG)
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}", drop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=300, help="chat.postMessage calls allowed per minute (0: no limit)")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--max-runs", type=int, default=20, help="digest runs at most (the first, then catch-ups)")
    args = parser.parse_args()

    url, drop = database(args.db)
    engine = make_engine(url)
    try:
        upgrade(engine)
        fill(engine, args.members)
        with SlackStub() as slack:
            if args.rate:
                slack.rate_limit("chat.postMessage", args.rate, 60.0)
            settings = Settings(slack_bot_token="xoxb-bench", slack_api_url=slack.api_url, database_url=url,
                                digest_cron="daily 00:00")
            rt = Runtime(settings, engine, SlackMessenger(make_client(settings)))
            started, runs, cpu = time.monotonic(), [], time.process_time()
            while len(runs) < args.max_runs:
                result = jobs.run_job(rt, "digest")
                runs.append(f"{result.status} ({result.detail})")
                if result.status != "incomplete":
                    break
            elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
            got = Counter(c.params.get("channel") for c in slack.calls_to("chat.postMessage", ok=True))
            limited = len(slack.calls_to("chat.postMessage", ok=False))
    finally:
        engine.dispose()
        drop()

    sent = sum(got.values())
    twice = sum(1 for n in got.values() if n > 1)
    missing = args.members - len(got)
    print(f"database {args.db}, {args.members} members, rate limit "
          f"{f'{args.rate} posts/min' if args.rate else 'none'}")
    for n, line in enumerate(runs, 1):
        print(f"  run {n}: {line}")
    print(f"digests sent {sent} to {len(got)} people; none: {missing}; two or more: {twice}; 429s answered: {limited}")
    print(f"elapsed {elapsed:.1f} s, {sent / elapsed:.2f} digests/s, {1000 * elapsed / max(sent, 1):.1f} ms per digest "
          f"(bench process CPU {cpu:.1f} s)")
    if args.rate:
        # A rolling window lets the first `rate` posts go at once; every later one waits its turn.
        floor = max(args.members - args.rate, 0) / (args.rate / 60)
        print(f"rate-limit floor {floor:.0f} s (the first {args.rate} at once, then {args.rate / 60:.2f} a second): "
              f"elapsed is {elapsed / floor:.3f} x the floor" if floor else "everything fits in one window")
    return 1 if missing or twice else 0


if __name__ == "__main__":
    raise SystemExit(main())
