"""The weekly digest: each recipient's facts from bot/services/digests, built by bot/messages/digests, sent once per ISO week."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.config import Settings
from bot.delivery.outbox import Messenger, send_once, sent_message
from bot.delivery.results import RunSummary
from bot.domain.time import aware
from bot.messages.digests import digest_message
from bot.services.digests import KIND, RunFacts, digest_facts, digest_key, recipients, run_facts
from models import Member, Workspace
from models.db import session_scope


def compose_digest(session: Session, workspace: Workspace, member: Member, now: datetime, settings: Settings,
                   run: RunFacts | None = None) -> tuple[str, list[dict]]:
    """The digest this member would get now: (notification text, blocks). Sends nothing.

    `run` carries the facts every digest of one run shares (read once, see RunFacts).
    """
    return digest_message(digest_facts(session, workspace, member, now, settings, run), settings)



def send_digests(engine: Engine, messenger: Messenger, workspace: Workspace, now: datetime, settings: Settings) -> RunSummary:
    """One digest DM per recipient, each exactly once per ISO week however often this runs."""

    now = aware(now)
    summary = RunSummary()
    with session_scope(engine) as session:
        people = [(m.slack_user_id, m.id) for m in recipients(session, workspace, now, settings)]
        shared = run_facts(session, workspace, now)
    for user_id, member_id in people:
        key = digest_key(now, settings, user_id)
        with session_scope(engine) as session:
            if (done := sent_message(session, key)) is not None and done.status in ("sent", "failed"):
                summary.add("already_sent" if done.status == "sent" else "failed")
                continue  # don't compose what the ledger says is settled
            member = session.get(Member, member_id) if member_id else Member(
                workspace_id=workspace.id, slack_user_id=user_id, is_lead=True)
            if member is None:  # left (forget-me) since the list was made
                continue
            text, blocks = compose_digest(session, workspace, member, now, settings, shared)
        outcome = send_once(
            engine, messenger, key=key, kind=KIND, recipient=user_id, text=text, blocks=blocks,
            workspace_id=workspace.id,
        )
        summary.add(outcome.status)
    return summary
