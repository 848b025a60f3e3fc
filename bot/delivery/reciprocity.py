"""Invitations to offer, for schools that have taken more help than they have given (bot/services/reciprocity)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.delivery.outbox import Messenger, send_once
from bot.delivery.results import RunSummary
from bot.messages.digests import reciprocity_message
from bot.services.reciprocity import KIND, due_invitations, key_prefix, month_key
from models import Workspace
from models.db import session_scope


def send_reciprocity_invitations(
    engine: Engine, messenger: Messenger, workspace: Workspace, now: datetime, settings: Settings,
) -> RunSummary:

    summary = RunSummary()
    with session_scope(engine) as session:
        invitations = due_invitations(session, workspace, now, settings)
    month = month_key(now, settings)
    for invitation in invitations:
        text, blocks = reciprocity_message(invitation.received)
        for user_id in invitation.recipients:
            outcome = send_once(
                engine, messenger, key=f"{key_prefix(workspace, invitation.school_id)}{month}:{user_id}",
                kind=KIND, recipient=user_id, text=text, blocks=blocks, workspace_id=workspace.id,
            )
            summary.add(outcome.status)
    return summary
