"""One way to hold a database row while working on it: take it, keep it alive, give it back.

A scheduled run (:class:`models.JobRun`) and a message being sent (:class:`models.OutgoingMessage`)
are both held this way. The holder stamps the row when it takes it; the stamp is its *token*.
While the work goes on a :class:`KeepAlive` thread renews the stamp every third of the lease, so a
short lease is safe however long the work takes; a process that dies stops renewing, and once the
stamp is older than the lease anyone may take the row over. Every renewal and the final release
compare the token first, so a holder that was taken over (it stalled for longer than the lease)
cannot overwrite the new holder's work.

A dropped database connection is not the end of the work: :func:`retrying` runs a transaction
again on a fresh connection (SQLAlchemy invalidates the broken one).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, TypeVar

from sqlalchemy import and_, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from models import utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")

# A dropped connection is retried this many times, waiting a little longer each time.
DB_ATTEMPTS = 4
DB_WAITS = (0.0, 0.2, 1.0)


@dataclass(frozen=True)
class Lease:
    """How one table holds its rows: which column is the key, the stamp and the 'held' status."""

    model: type
    key: str            # the unique key column
    stamp: str          # the column the holder renews (its token)
    held: str           # the status a held row has ("running", "sending")
    duration: timedelta

    @property
    def renew_every(self) -> float:
        return self.duration.total_seconds() / 3

    def column(self, name: str):
        return getattr(self.model, name)


def is_disconnect(error: BaseException) -> bool:
    """True for a database error that means the connection is gone (not a bad query)."""
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def retrying(engine: Engine, work: Callable[[Session], T], attempts: int = DB_ATTEMPTS) -> T:
    """Run `work(session)` in one transaction; on a dropped connection, again on a fresh one.

    Only for work that is safe to repeat whole (each of this module's statements is: a claim, a
    renewal and a release are compare-and-set updates).
    """
    for attempt in range(attempts):
        try:
            with Session(engine, expire_on_commit=False) as session:
                result = work(session)
                session.commit()
                return result
        except DBAPIError as error:
            if not is_disconnect(error) or attempt == attempts - 1:
                raise
            log.warning("database connection lost; reconnecting (attempt %d of %d)", attempt + 2, attempts)
            time.sleep(DB_WAITS[min(attempt, len(DB_WAITS) - 1)])
    raise AssertionError("unreachable")


def take(session: Session, lease: Lease, key: str, now: datetime, free: tuple[str, ...] = (),
         stale: bool = True, **values) -> bool:
    """Hold the row `key` if its status is one of `free`, or (`stale`) it is held but its stamp is stale.

    One UPDATE with the condition in its WHERE clause, so of several processes taking the same
    row at once exactly one wins.
    """
    ways = [lease.column("status").in_(free)] if free else []
    if stale:
        ways.append(and_(lease.column("status") == lease.held, lease.column(lease.stamp) < now - lease.duration))
    taken = session.exec(
        update(lease.model)
        .where(lease.column(lease.key) == key, or_(*ways))
        .values({"status": lease.held, lease.stamp: now, **values})
    ).rowcount
    return taken == 1


def renew(engine: Engine, lease: Lease, key: str, token: datetime) -> datetime | None:
    """Move the stamp on; the new token, or None if the row is no longer ours."""
    now = utcnow()
    if now <= token:  # a frozen or stepped-back clock: the stamp must still change hands
        now = token + timedelta(microseconds=1)

    def work(session: Session) -> bool:
        return session.exec(
            update(lease.model)
            .where(lease.column(lease.key) == key, lease.column(lease.stamp) == token,
                   lease.column("status") == lease.held)
            .values({lease.stamp: now})
        ).rowcount == 1

    return now if retrying(engine, work) else None


def release(engine: Engine, lease: Lease, key: str, token: datetime, **values) -> bool:
    """Write how the work ended, if the row is still ours (same token). False if it was taken over."""

    def work(session: Session) -> bool:
        return session.exec(
            update(lease.model)
            .where(lease.column(lease.key) == key, lease.column(lease.stamp) == token)
            .values(values)
        ).rowcount == 1

    return retrying(engine, work)


class KeepAlive:
    """Renew a lease in the background while the `with` block runs.

    ``token`` is the current stamp (release with it). If a renewal finds the row taken over,
    ``lost`` is set and renewing stops; a failed renewal (database down) is tried again next time.
    """

    def __init__(self, engine: Engine, lease: Lease, key: str, token: datetime, every: float | None = None):
        self.engine, self.lease, self.key, self.token = engine, lease, key, token
        self.every = every if every is not None else lease.renew_every
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "KeepAlive":
        self._thread = threading.Thread(target=self._run, name="collab-lease", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def current(self) -> datetime:
        with self._lock:
            return self.token

    def finish(self, **values) -> bool:
        """Stop renewing and write how the work ended, with the token as it is now (no renewal can race it)."""
        self._stop.set()
        with self._lock:
            return release(self.engine, self.lease, self.key, self.token, **values)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with self._lock:
                try:
                    new = renew(self.engine, self.lease, self.key, self.token)
                except Exception:  # the database is away: keep the old token, try again next time
                    log.warning("could not renew a lease; will try again", exc_info=True)
                    continue
                if new is None:
                    log.warning("a lease was taken over by another process")
                    self.lost.set()
                    return
                self.token = new
