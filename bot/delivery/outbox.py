"""Every message Collab sends goes through here, so that each is sent exactly once.

A message has an idempotency key (e.g. ``digest:2026-W48:U123``). The ledger row for that key
is claimed before Slack is called and marked sent after, so a crash halfway through a digest
run, a retry by the scheduler or a second clock process never sends the same message twice.
The one window left open is a process killed between Slack accepting a message and the
ledger recording it; after the claim lease expires that one message may be sent again.
Permanent errors (user deactivated, channel gone) are recorded and never retried.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, Sequence

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from models import OutgoingMessage, utcnow

CLAIM_LEASE = timedelta(minutes=10)


class PermanentError(Exception):
    """Slack will never accept this message (e.g. user_not_found); don't try again."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class TemporaryError(Exception):
    """Slack is busy or unreachable even after polite retries; try again on the next run."""


class Messenger(Protocol):
    """The few things the use cases need from Slack; bot/messenger.py implements it with slack_sdk."""

    def post(self, channel: str, text: str, blocks: list | None = None) -> tuple[str, str]: ...
    def update(self, channel: str, ts: str, text: str, blocks: list | None = None) -> None: ...
    def open_conversation(self, user_ids: Sequence[str]) -> str: ...


@dataclass
class Outcome:
    status: str  # sent, already_sent, in_progress, failed, retry_later
    channel: str | None = None
    ts: str | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status in ("sent", "already_sent")


def send_once(
    engine: Engine, messenger: Messenger, *, key: str, kind: str, recipient: str, text: str,
    blocks: list | None = None, workspace_id: int | None = None, group: Sequence[str] | None = None,
) -> Outcome:
    """Send one message unless the ledger says it was sent. `group` opens a group DM with those users."""
    row = _claim(engine, key, kind, recipient, workspace_id)
    if isinstance(row, Outcome):
        return row
    try:
        channel = messenger.open_conversation(group) if group else recipient
        channel, ts = messenger.post(channel, text, blocks)
    except PermanentError as error:
        _finish(engine, row.id, status="failed", error=error.code)
        return Outcome("failed", error=error.code)
    except TemporaryError as error:
        _finish(engine, row.id, status="pending", error=str(error)[:200], claimed_at=None)
        return Outcome("retry_later", error=str(error)[:200])
    except BaseException:
        _finish(engine, row.id, status="pending", error="interrupted", claimed_at=None)
        raise
    _finish(engine, row.id, status="sent", channel=channel, ts=ts, sent_at=utcnow(), error=None)
    return Outcome("sent", channel, ts)


def _claim(engine: Engine, key: str, kind: str, recipient: str, workspace_id: int | None):
    now = utcnow()
    with Session(engine) as session:
        try:
            session.add(OutgoingMessage(idempotency_key=key, kind=kind, recipient=recipient, workspace_id=workspace_id))
            session.commit()
        except IntegrityError:
            session.rollback()
        claimed = session.exec(
            update(OutgoingMessage)
            .where(
                OutgoingMessage.idempotency_key == key,
                or_(
                    OutgoingMessage.status == "pending",
                    (OutgoingMessage.status == "sending") & (OutgoingMessage.claimed_at < now - CLAIM_LEASE),
                ),
            )
            .values(status="sending", claimed_at=now, attempts=OutgoingMessage.attempts + 1)
        ).rowcount
        session.commit()
        row = session.exec(select(OutgoingMessage).where(OutgoingMessage.idempotency_key == key)).one()
        if claimed == 1:
            return row
        if row.status == "sent":
            return Outcome("already_sent", row.channel, row.ts)
        if row.status == "failed":
            return Outcome("failed", error=row.error)
        return Outcome("in_progress")


def _finish(engine: Engine, row_id: int, **values) -> None:
    with Session(engine) as session:
        session.exec(update(OutgoingMessage).where(OutgoingMessage.id == row_id).values(**values))
        session.commit()


def sent_message(session: Session, key: str) -> OutgoingMessage | None:
    return session.exec(select(OutgoingMessage).where(OutgoingMessage.idempotency_key == key)).first()
