"""After an introduction: the follow-up and feedback questions bot/services/followups finds due, each asked once."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from bot.delivery.outbox import send_once, sent_message
from bot.domain.pairings import SYSTEM, State
from bot.domain.people import FORGOTTEN
from bot.domain.time import aware
from bot.messages import pairings as blocks
from bot.services import members
from bot.services.followups import FEEDBACK_AFTER, FOLLOWUP_AFTER, COMPLETE_AFTER_REQUEST, due_pairings, followup_round
from bot.services.pairings import WrongState, complete, contacts, load_view
from models import Feedback, Pairing, Workspace
from models.db import session_scope



def _due(engine, state, since, before):
    with session_scope(engine) as session:
        return due_pairings(session, state, since, before)

def send_due_followups(engine, messenger, now: datetime, settings) -> int:
    """Ask both sides of every pairing introduced a week ago (or "not yet" a week ago). Returns messages sent."""
    now = aware(now)
    sent = 0
    for workspace, ids in _due(engine, State.INTRODUCED, Pairing.introduced_at, now - FOLLOWUP_AFTER):
        for pairing_id in ids:
            messages = []
            with session_scope(engine) as session:
                view = load_view(session, workspace, pairing_id)
                round_no, due = followup_round(session, view.pairing)
                if due > now:
                    continue
                for side, people in contacts(session, workspace, view).items():
                    for member in people:
                        if members.is_paused(member, now):
                            continue
                        text, body = blocks.followup(pairing_id, round_no, view.other_school(side))
                        messages.append((member.slack_user_id, f"followup:{pairing_id}:{round_no}:{member.slack_user_id}", text, body))
            for user, key, text, body in messages:
                outcome = send_once(engine, messenger, key=key, kind="followup", recipient=user, text=text,
                                    blocks=body, workspace_id=workspace.id)
                sent += outcome.status == "sent"
    return sent



def send_due_feedback_requests(engine, messenger, now: datetime, settings) -> int:
    """Ask both sides of every pairing connected 28 days ago for feedback; complete the ones that are done.
    Returns messages sent."""
    now = aware(now)
    sent = 0
    for workspace, ids in _due(engine, State.CONNECTED, Pairing.connected_at, now - FEEDBACK_AFTER):
        for pairing_id in ids:
            messages, waiting = [], []
            with session_scope(engine) as session:
                view = load_view(session, workspace, pairing_id)
                answered = set(session.exec(select(Feedback.side).where(Feedback.pairing_id == pairing_id)).all())
                for side, people in contacts(session, workspace, view).items():
                    if side in answered:
                        continue
                    for member in people:
                        key = f"feedback:{pairing_id}:{member.slack_user_id}"
                        waiting.append(key)
                        if members.is_paused(member, now):
                            continue
                        text, body = blocks.feedback_request(pairing_id, view.other_school(side))
                        messages.append((member.slack_user_id, key, text, body))
            for user, key, text, body in messages:
                outcome = send_once(engine, messenger, key=key, kind="feedback_request", recipient=user, text=text,
                                    blocks=body, workspace_id=workspace.id)
                sent += outcome.status == "sent"
            complete_if_done(engine, workspace, pairing_id, waiting, now)
    return sent



def tell_lead_it_did_not_happen(engine, messenger, workspace: Workspace, pairing_id: int) -> bool:
    """When a school says a pairing didn't happen, the lead who approved it hears once, so the
    network's view of what works is not left to the digest."""
    with session_scope(engine) as session:
        view = load_view(session, workspace, pairing_id)
        lead = view.pairing.decided_by
        if view.pairing.state != State.DECLINED or not lead or lead == FORGOTTEN:
            return False
        text, body = blocks.declined_notice(view)
    outcome = send_once(engine, messenger, key=f"declined:{pairing_id}", kind="declined_notice",
                        recipient=lead, text=text, blocks=body, workspace_id=workspace.id)
    return outcome.status == "sent"


def complete_if_done(engine, workspace: Workspace, pairing_id: int, waiting_keys: list[str], now: datetime) -> None:
    """Complete a pairing whose outstanding feedback requests all went out at least 14 days ago."""
    with session_scope(engine) as session:
        asked = []
        for key in waiting_keys:
            row = sent_message(session, key)
            if row is None or row.status not in ("sent", "failed"):
                return  # someone (paused, or a send to retry) hasn't been asked yet
            asked.append(aware(row.sent_at or row.created_at))
        if asked and max(asked) + COMPLETE_AFTER_REQUEST > now:
            return
        try:
            complete(session, workspace, pairing_id, now, actor=SYSTEM,
                     note="feedback window closed" if waiting_keys else "both sides gave feedback")
        except WrongState:
            pass
