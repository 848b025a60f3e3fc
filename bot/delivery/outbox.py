"""Every message Collab sends goes through here, so that each is sent exactly once.

A message has an idempotency key (e.g. ``digest:2026-W48:U123``) and a ledger row
(:class:`models.OutgoingMessage`) whose status says how far it got:

``pending``  not sent yet, or Slack definitely refused it for now (rate limit, ``ok: false``);
``sending``  a process holds it (a :mod:`lease <bot.delivery.leases>` renewed while it sends);
``unsure``   an attempt may have reached Slack: it was interrupted, killed, timed out, lost its
             answer, or its result could not be written down;
``sent`` / ``failed``  settled; never sent again (``failed`` is a permanent error such as a
             deactivated user).

Every message carries its key (hashed) in Slack's message ``metadata``. Before a message that
is ``unsure``, or ``sending`` with a stale lease (its process died), is sent again, the
conversation's recent history is searched for that key: if Slack has it, the ledger records
it as sent; only if Slack shows no such message is it sent again. What is left is documented in
docs/scheduling.md ("The in-flight window").
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, Sequence

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.delivery.leases import KeepAlive, Lease, retrying, take
from models import OutgoingMessage, utcnow

log = logging.getLogger(__name__)

# A message's lease is renewed every 20 s while it is being sent, so 60 s only decides how soon a
# message whose process died is looked up and finished by the next run.
MESSAGE_LEASE = Lease(OutgoingMessage, key="idempotency_key", stamp="claimed_at", held="sending",
                      duration=timedelta(seconds=60))
# How far back before the first attempt Slack's history is searched (clocks differ a little).
LOOKBACK = timedelta(hours=1)

SETTLED = ("sent", "failed")


class PermanentError(Exception):
    """Slack will never accept this message (e.g. user_not_found); don't try again."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


class TemporaryError(Exception):
    """Slack is busy or unreachable even after polite retries, and did not take the message."""


class UnsureError(TemporaryError):
    """No clear answer came back (timeout, dropped connection, 5xx): Slack may have taken the message."""

    def __init__(self, reason: str, answered: bool = False):
        super().__init__(reason)
        # True for a 5xx: Slack finished with the request, so its history already shows whether
        # the message arrived. False when no answer came: the request may still be in Slack's hands.
        self.answered = answered


class Messenger(Protocol):
    """The few things the use cases need from Slack; bot/slack/messenger.py implements it with slack_sdk."""

    def post(self, channel: str, text: str, blocks: list | None = None, key: str | None = None) -> tuple[str, str]: ...
    def update(self, channel: str, ts: str, text: str, blocks: list | None = None) -> None: ...
    def open_conversation(self, user_ids: Sequence[str]) -> str: ...
    def find_sent(self, channel: str, key: str, since: datetime) -> tuple[str, str] | None: ...


@dataclass
class Outcome:
    status: str  # sent, already_sent, in_progress, failed, retry_later
    channel: str | None = None
    ts: str | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status in ("sent", "already_sent")


@dataclass(frozen=True)
class _Claim:
    token: datetime
    look_first: bool     # an earlier attempt may have reached Slack
    first_try: datetime  # when the message was first queued (where to start looking)


def send_once(
    engine: Engine, messenger: Messenger, *, key: str, kind: str, recipient: str, text: str,
    blocks: list | None = None, workspace_id: int | None = None, group: Sequence[str] | None = None,
) -> Outcome:
    """Send one message unless the ledger (or Slack itself) says it was sent. `group` opens a group DM."""
    claim = _claim(engine, key, kind, recipient, workspace_id)
    if isinstance(claim, Outcome):
        return claim
    with KeepAlive(engine, MESSAGE_LEASE, key, claim.token) as alive:
        return _attempt(engine, messenger, alive, claim, key, recipient, text, blocks, group)


def _attempt(engine, messenger, alive: KeepAlive, claim: _Claim, key, recipient, text, blocks, group) -> Outcome:
    def finish(**values) -> None:
        if not alive.finish(**values):
            log.warning("outbox: another process took over a message while it was being sent")

    posting = False
    try:
        channel = messenger.open_conversation(group) if group else recipient
        if claim.look_first:
            try:
                found = messenger.find_sent(channel, key, claim.first_try - LOOKBACK)
            except PermanentError as error:
                # Slack won't let us look (e.g. missing_scope before the new scopes are approved):
                # we cannot tell whether it arrived, so it is neither re-sent nor given up.
                log.warning("outbox: cannot look up an unsure message (%s); leaving it unsure", error.code)
                finish(status="unsure", error=f"cannot look up: {error.code}"[:200])
                return Outcome("retry_later", error=f"cannot look up: {error.code}")
            if found is not None:
                finish(status="sent", channel=found[0], ts=found[1], sent_at=utcnow(), error=None)
                log.info("outbox: an earlier attempt had reached Slack; recorded it, not sent again")
                return Outcome("already_sent", *found)
        posting = True
        channel, ts = messenger.post(channel, text, blocks, key=key)
    except PermanentError as error:
        finish(status="failed", error=error.code)
        return Outcome("failed", error=error.code)
    except TemporaryError as error:
        reason = str(error)[:200] or type(error).__name__
        # Still unsure if the post may have reached Slack, or if the look-up before it could not finish.
        unsure = (posting and isinstance(error, UnsureError)) or (claim.look_first and not posting)
        finish(status="unsure" if unsure else "pending", error=reason)
        return Outcome("retry_later", error=reason)
    except BaseException:
        # Killed or interrupted: if the post had started, Slack may have it.
        finish(status="unsure" if posting or claim.look_first else "pending", error="interrupted")
        raise
    finish(status="sent", channel=channel, ts=ts, sent_at=utcnow(), error=None)
    return Outcome("sent", channel, ts)


def _claim(engine: Engine, key: str, kind: str, recipient: str, workspace_id: int | None):
    """Hold the message's row, or say why not: already sent, failed, or being sent elsewhere."""

    def insert(session: Session) -> None:
        if session.exec(select(OutgoingMessage.id).where(OutgoingMessage.idempotency_key == key)).first() is None:
            session.add(OutgoingMessage(idempotency_key=key, kind=kind, recipient=recipient, workspace_id=workspace_id))

    try:
        retrying(engine, insert)
    except IntegrityError:
        pass  # another process queued it a moment ago

    now = utcnow()

    def hold(session: Session):
        # Two separate takes, so that whether to look in Slack first is decided atomically with the take.
        if take(session, MESSAGE_LEASE, key, now, free=("pending",), stale=False,
                attempts=OutgoingMessage.attempts + 1):
            look_first = False
        elif take(session, MESSAGE_LEASE, key, now, free=("unsure",), attempts=OutgoingMessage.attempts + 1):
            look_first = True  # unsure, or sending with a stale lease: its process died
        else:
            look_first = None
        row = session.exec(select(OutgoingMessage).where(OutgoingMessage.idempotency_key == key)).one()
        return look_first, row.status, row.channel, row.ts, row.error, row.created_at

    look_first, status, channel, ts, error, created = retrying(engine, hold)
    if look_first is not None:
        return _Claim(now, look_first, created)
    if status == "sent":
        return Outcome("already_sent", channel, ts)
    if status == "failed":
        return Outcome("failed", error=error)
    return Outcome("in_progress")


def sent_message(session: Session, key: str) -> OutgoingMessage | None:
    return session.exec(select(OutgoingMessage).where(OutgoingMessage.idempotency_key == key)).first()
