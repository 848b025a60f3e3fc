"""After an introduction: ask whether the schools connected, and later what difference it made.

* Follow-up: 7 days after the introduction, each side (the poster, or their school's members
  if the poster has left) is asked "Have you connected with …?". "Not yet" asks again 7 days
  after that answer; each asking is a new round with its own key
  (`followup:{pairing}:{round}:{user}`), so a rerun never asks twice in the same round.
* Feedback: 28 days after "yes", each side is asked for feedback (`feedback:{pairing}:{user}`).
  The pairing is completed when both sides have answered, or 14 days after the last request
  went out.
* Someone paused gets nothing until they resume; what they missed is sent on the first run after.

This module says what is due; bot/delivery/followups.py sends it (the scheduler runs it once a day).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.domain.time import aware
from bot.services.pairings import (
    not_yet_answers,
)
from bot.services.workspaces import installed_workspaces
from models import Pairing, Workspace

log = logging.getLogger(__name__)

FOLLOWUP_AFTER = timedelta(days=7)
FEEDBACK_AFTER = timedelta(days=28)
COMPLETE_AFTER_REQUEST = timedelta(days=14)


def due_pairings(session: Session, state: str, since, before: datetime) -> list[tuple[Workspace, list[int]]]:
    """Per installed workspace, its pairings in `state` whose `since` moment is no later than `before`."""
    return [
        (workspace, list(session.exec(
            select(Pairing.id)
            .where(Pairing.workspace_id == workspace.id, Pairing.state == state, since <= before)
            .order_by(Pairing.id)
        ).all()))
        for workspace in installed_workspaces(session)
    ]


def followup_round(session, pairing: Pairing) -> tuple[int, datetime]:
    """(which asking this is, when it is due): 7 days after the introduction or the last "not yet"."""
    answers = not_yet_answers(session, pairing.id)
    since = aware(answers[-1].at) if answers else aware(pairing.introduced_at)
    return 1 + len(answers), since + FOLLOWUP_AFTER


