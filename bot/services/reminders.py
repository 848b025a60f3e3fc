"""Lead review reminders: a DM to each lead when proposals have waited two days or more for a decision.

Sent by the daily ``review_reminders`` job. Never when nothing has waited that long; to each lead
(COLLAB_LEADS and appointed leads, unless they paused) at most once every two days: the ledger key
carries the local date (``review_reminder:{workspace}:{lead}:{YYYY-MM-DD}``), and a lead who was
sent one yesterday is not sent another today. No Slack here: it goes through the outbox.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from bot.domain.pairings import State
from bot.domain.time import aware
from bot.services.reports import REVIEW_WAIT
from models import OutgoingMessage, Pairing, Workspace

KIND = "review_reminder"
EVERY = timedelta(days=2)


def waiting(session: Session, workspace: Workspace, now: datetime) -> tuple[int, datetime | None]:
    """(proposals waiting for a decision, when the oldest was proposed) if any has waited two days or more."""
    created = [aware(c) for c in session.exec(
        select(Pairing.created_at).where(Pairing.workspace_id == workspace.id, Pairing.state == State.PROPOSED)
    ).all()]
    if not created or now - min(created) < REVIEW_WAIT:
        return 0, None
    return len(created), min(created)


def key_prefix(workspace: Workspace, lead: str) -> str:
    return f"{KIND}:{workspace.id}:{lead}:"


def last_reminded(session: Session, workspace: Workspace, lead: str, before: date) -> date | None:
    """The local date of the last reminder sent to this lead, before `before`."""
    prefix = key_prefix(workspace, lead)
    keys = session.exec(
        select(OutgoingMessage.idempotency_key).where(
            OutgoingMessage.workspace_id == workspace.id, OutgoingMessage.kind == KIND,
            OutgoingMessage.status == "sent",
            OutgoingMessage.idempotency_key.startswith(prefix, autoescape=True),
        )
    ).all()
    days = []
    for key in keys:
        try:
            days.append(date.fromisoformat(key[len(prefix):]))
        except ValueError:
            continue
    days = [d for d in days if d < before]
    return max(days, default=None)


