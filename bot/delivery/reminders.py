"""Reminders to leads that proposals are waiting for review (bot/services/reminders)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.delivery.outbox import Messenger, send_once
from bot.delivery.results import RunSummary
from bot.domain.time import aware
from bot.messages.reports import review_reminder
from bot.services.calendar import local_date
from bot.services.members import get_member, is_paused, leads
from bot.services.reminders import EVERY, KIND, key_prefix, last_reminded, waiting
from models import Workspace
from models.db import session_scope


def send_review_reminders(
    engine: Engine, messenger: Messenger, workspace: Workspace, now: datetime, settings: Settings,
) -> RunSummary:

    now = aware(now)
    today = local_date(now, settings)
    summary = RunSummary()
    with session_scope(engine) as session:
        workspace = session.get(Workspace, workspace.id)
        count, oldest = waiting(session, workspace, now)
        if not count:
            return summary
        due = []
        for lead in leads(session, workspace, settings.leads):
            member = get_member(session, workspace, lead)
            if member is not None and is_paused(member, now):
                continue
            last = last_reminded(session, workspace, lead, today)
            if last is not None and today - last < EVERY:
                continue
            due.append(lead)
    text, blocks = review_reminder(count, oldest, settings.review_channel, settings.zone)
    for lead in due:
        outcome = send_once(
            engine, messenger, key=f"{key_prefix(workspace, lead)}{today.isoformat()}", kind=KIND,
            recipient=lead, text=text, blocks=blocks, workspace_id=workspace.id,
        )
        summary.add(outcome.status)
    return summary
