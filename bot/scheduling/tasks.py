"""What each scheduled job does: one function per job, registered with one ``@job`` line.

A body gets the :class:`~bot.scheduling.registry.Runtime`, the moment the run started, its run
key and its holder, and returns (incomplete?, a line for the log). Every message goes through the
outbox with an idempotency key, so a body may be run again for the same period at no cost: that
is what makes catch-up and a retry after a dropped database connection safe.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlmodel import select

from bot.delivery.digests import send_digests
from bot.delivery.expiry import send_expiry_prompts
from bot.delivery.followups import send_due_feedback_requests, send_due_followups
from bot.delivery.pairings import introduce, post_review_cards
from bot.delivery.reciprocity import send_reciprocity_invitations
from bot.delivery.reminders import send_review_reminders
from bot.domain.pairings import State
from bot.scheduling.registry import Runtime, job
from bot.scheduling.runs import mark_step
from bot.services import workspaces
from bot.services.expiry import expire_unanswered
from bot.services.rounds import propose_round
from models import Pairing, Workspace
from models.db import session_scope


def installed_workspaces(engine) -> list[Workspace]:
    with session_scope(engine) as session:
        return workspaces.installed_workspaces(session)


@job("round", "round_cron", "Matching round and review cards", in_holidays=True)
def weekly_round(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
    """Rounds run in holidays: the proposals just wait for a lead, and nothing reaches staff until one approves."""
    incomplete, notes = False, []
    for workspace in installed_workspaces(rt.engine):
        with session_scope(rt.engine) as session:
            workspace = session.get(Workspace, workspace.id)
            if mark_step(session, f"{run_key}:ws{workspace.id}", holder):
                round_ = propose_round(session, workspace, rt.settings, started_by="scheduler")
                notes.append(f"{workspace.team_id}: {round_.proposals} proposed")
        cards = post_review_cards(rt.engine, rt.messenger, workspace, rt.settings) or {}
        incomplete |= bool(cards.get("waiting"))
        notes.append(f"{workspace.team_id} cards: {cards}")
    return incomplete, "; ".join(notes)


def _each_workspace(rt: Runtime, now: datetime, send) -> tuple[bool, str]:
    incomplete, notes = False, []
    for workspace in installed_workspaces(rt.engine):
        summary = send(rt.engine, rt.messenger, workspace, now, rt.settings)
        incomplete |= summary.incomplete
        notes.append(f"{workspace.team_id}: {summary}")
    return incomplete, "; ".join(notes)


@job("digest", "digest_cron", "Weekly digest")
def weekly_digest(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
    return _each_workspace(rt, now, send_digests)


@job("followups", "followups_cron", "Follow-up nudges")
def daily_followups(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
    return False, f"{send_due_followups(rt.engine, rt.messenger, now, rt.settings)} follow-ups"


@job("feedback", "followups_cron", "Feedback requests")
def daily_feedback(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
    return False, f"{send_due_feedback_requests(rt.engine, rt.messenger, now, rt.settings)} feedback requests"


@job("reciprocity", "followups_cron", "Reciprocity invitations")
def daily_reciprocity(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
    return _each_workspace(rt, now, send_reciprocity_invitations)


def _expire_and_prompt(engine, messenger, workspace, now, settings):
    with session_scope(engine) as session:
        expired = expire_unanswered(session, session.get(Workspace, workspace.id), now, settings)
    summary = send_expiry_prompts(engine, messenger, workspace, now, settings)
    if expired:
        summary.outcomes["expired"] = expired
    return summary


@job("expiry", "followups_cron", "Still needed? prompts and expiry")
def daily_expiry(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
    return _each_workspace(rt, now, _expire_and_prompt)


@job("review_reminders", "followups_cron", "Review reminders to leads")
def daily_review_reminders(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
    return _each_workspace(rt, now, send_review_reminders)


@job("introductions", "followups_cron", "Introductions approved but never sent", in_holidays=True)
def daily_introductions(rt: Runtime, now: datetime, run_key: str, holder: str) -> tuple[bool, str]:
    """Introduce every pairing a lead approved whose introduction never went (a crash after Approve).

    ``introduce`` is keyed ``intro:{pairing_id}`` in the outbox, so a pairing whose introduction was
    sent but not recorded is only recorded, and one being introduced by a click right now is not
    sent twice. Runs in holidays: the lead has already approved it.
    """
    counts: Counter = Counter()
    for workspace in installed_workspaces(rt.engine):
        with session_scope(rt.engine) as session:
            ids = session.exec(
                select(Pairing.id).where(Pairing.workspace_id == workspace.id, Pairing.state == State.APPROVED)
                .order_by(Pairing.id)
            ).all()
        for pairing_id in ids:
            counts[introduce(rt.engine, rt.messenger, workspace, pairing_id, rt.settings).status] += 1
    incomplete = bool(counts["retry_later"] or counts["in_progress"])
    return incomplete, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing to introduce"
