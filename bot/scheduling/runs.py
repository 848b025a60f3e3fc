"""Claims on scheduled runs: one :class:`~models.JobRun` row per job and period, held by a lease.

The row's ``run_key`` (``digest:2026-W48``) is unique: the insert that wins runs the period and any
other clock process gets ``busy``. The winner holds the row with the shared lease
(:mod:`bot.delivery.leases`): ``started_at`` is its stamp, renewed every 20 s while the job runs,
so a row left ``running`` by a process that died is taken over a minute later (at the next clock
start or catch-up) instead of after an hour. A row that ended ``failed`` (an exception) or
``incomplete`` (Slack was unreachable for some messages) is taken over at once.
"""
from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.delivery.leases import Lease, release, retrying, take
from models import JobRun, utcnow

JOB_LEASE = Lease(JobRun, key="run_key", stamp="started_at", held="running", duration=timedelta(seconds=60))
RETAKE_AT_ONCE = ("failed", "incomplete")
SETTLED = ("done", "skipped")


def new_holder() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim_run(engine: Engine, run_key: str, holder: str, now: datetime | None = None) -> datetime | None:
    """The lease token if this caller now holds `run_key` (a new row, or a dead or failed run taken over)."""
    now = now or utcnow()

    def insert(session: Session) -> bool:
        session.add(JobRun(run_key=run_key, holder=holder, started_at=now, status="running"))
        return True

    try:
        if retrying(engine, insert):
            return now
    except IntegrityError:
        pass
    taken = retrying(engine, lambda session: take(session, JOB_LEASE, run_key, now, free=RETAKE_AT_ONCE,
                                                  holder=holder, finished_at=None))
    return now if taken else None


def finish_run(engine: Engine, run_key: str, token: datetime, status: str) -> bool:
    """Record how the run ended, unless another process has taken it over meanwhile."""
    return release(engine, JOB_LEASE, run_key, token, status=status, finished_at=utcnow())


def mark_step(session: Session, step_key: str, holder: str) -> bool:
    """Record a step as done inside the caller's transaction: False if it was done before.

    The marker commits or rolls back with the work it guards, so a step (a round's proposals)
    happens exactly once however often its job is rerun.
    """
    try:
        with session.begin_nested():
            session.add(JobRun(run_key=step_key, holder=holder, status="done", finished_at=utcnow()))
        return True
    except IntegrityError:
        return False


def job_run(engine: Engine, run_key: str) -> JobRun | None:
    return retrying(engine, lambda session: session.exec(select(JobRun).where(JobRun.run_key == run_key)).first())
