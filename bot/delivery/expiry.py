""""Still needed?": the prompts bot/services/expiry finds due, each asked once per question per person."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine

from bot.config import Settings
from bot.delivery.outbox import Messenger, send_once
from bot.delivery.results import RunSummary
from bot.domain.time import aware
from bot.messages.digests import expiry_prompt
from bot.services.expiry import KIND, KINDS, mark_due, pending_prompts
from models import Workspace
from models.db import session_scope


def send_expiry_prompts(engine: Engine, messenger: Messenger, workspace: Workspace, now: datetime, settings: Settings) -> RunSummary:
    """Ask "still needed?" about every open post past its time, once per question per person."""

    now = aware(now)
    summary = RunSummary()
    with session_scope(engine) as session:
        mark_due(session, workspace, now, settings)
    with session_scope(engine) as session:
        prompts = pending_prompts(session, workspace, now, settings)
        messages = []
        for prompt in prompts:
            post = session.get(dict(KINDS)[prompt.kind], prompt.post_id)
            text, blocks = expiry_prompt(prompt.kind, post, prompt.weeks)
            messages += [(prompt.key + user_id, user_id, text, blocks) for user_id in prompt.recipients]
    for key, user_id, text, blocks in messages:
        outcome = send_once(engine, messenger, key=key, kind=KIND, recipient=user_id, text=text, blocks=blocks,
                            workspace_id=workspace.id)
        summary.add(outcome.status)
    return summary
