"""A pairing's messages: its review card, the card updated with the decision, and the introduction."""
from __future__ import annotations

import logging

from sqlmodel import select

from bot.delivery.outbox import PermanentError, TemporaryError, send_once
from bot.delivery.results import IntroResult
from bot.domain.pairings import INTRODUCED_OR_LATER, SYSTEM, State
from bot.domain.people import FORGOTTEN
from bot.messages import pairings as blocks
from bot.services.pairings import WrongState, contacts, load_view, mark_introduced
from models import Pairing, Workspace
from models.db import session_scope

log = logging.getLogger(__name__)


def introduce(engine, messenger, workspace: Workspace, pairing_id: int, settings) -> IntroResult:
    """Open a group DM with both schools' posters and the approving lead, and introduce them.

    Keyed `intro:{pairing_id}`: a double click, a Slack retry or two leads at once send one
    introduction. A poster who has left is replaced by their school's other members; if a
    school has nobody left, the lead is told instead and the pairing stays approved.
    """

    with session_scope(engine) as session:
        view = load_view(session, workspace, pairing_id)
        state = view.pairing.state
        if state in INTRODUCED_OR_LATER:
            return IntroResult("already_introduced", channel=view.pairing.conversation_id)
        if state != State.APPROVED:
            raise WrongState(view.pairing, State.INTRODUCED)
        who = contacts(session, workspace, view)
        taker_ids = [m.slack_user_id for m in who["taker"]]
        giver_ids = [m.slack_user_id for m in who["giver"]]
        lead = view.pairing.decided_by if view.pairing.decided_by not in (None, FORGOTTEN) else None
        missing = [school for school, ids in ((view.need_school, taker_ids), (view.offer_school, giver_ids)) if not ids]
        if missing:
            problem = blocks.no_contact_text(view, missing)
        else:
            text, intro_blocks = blocks.introduction(view, taker_ids, giver_ids, lead)
    if missing:
        if lead:
            send_once(engine, messenger, key=f"intro-missing:{pairing_id}", kind="intro_problem", recipient=lead,
                      text=problem, workspace_id=workspace.id)
        return IntroResult("no_contact", missing=[s.name for s in missing])
    group = sorted(set(taker_ids + giver_ids + ([lead] if lead else [])))
    outcome = send_once(
        engine, messenger, key=f"intro:{pairing_id}", kind="introduction", recipient=f"pairing:{pairing_id}",
        text=text, blocks=intro_blocks, workspace_id=workspace.id, group=group,
    )
    if outcome.delivered:
        with session_scope(engine) as session:
            try:
                mark_introduced(session, workspace, pairing_id, outcome.channel, actor=lead or SYSTEM)
            except WrongState:
                pass  # someone else recorded it a moment ago
    return IntroResult(outcome.status, channel=outcome.channel, error=outcome.error)



def update_review_card(engine, messenger, workspace: Workspace, pairing_id: int, settings) -> bool:
    """Show the decision on the review card in place (chat.update); False if there is no card or Slack said no."""

    with session_scope(engine) as session:
        view = load_view(session, workspace, pairing_id)
        if not (view.pairing.review_channel and view.pairing.review_ts):
            return False
        text, card = blocks.decided_card(view, settings.zone)
        channel, ts = view.pairing.review_channel, view.pairing.review_ts
    try:
        messenger.update(channel, ts, text, card)
    except (PermanentError, TemporaryError):
        return False
    return True


def post_review_cards(engine, messenger, workspace: Workspace, settings) -> dict:
    """Post a review card for every proposed pairing that has none yet; remember where it is.

    Keyed `review:{pairing_id}` in the outbox, so a rerun or a crash halfway never posts a card twice.
    Returns counts: {"posted": n, "failed": n, "waiting": n} (+ "no_channel": n when
    COLLAB_REVIEW_CHANNEL is unset: nothing is posted and nothing raised, so a scheduled round still runs).
    """

    counts = {"posted": 0, "failed": 0, "waiting": 0}
    if workspace.uninstalled_at is not None:
        return counts
    with session_scope(engine) as session:
        ids = session.exec(
            select(Pairing.id).where(Pairing.workspace_id == workspace.id, Pairing.state == State.PROPOSED,
                                     Pairing.review_ts.is_(None)).order_by(Pairing.id)
        ).all()
    if not settings.review_channel:
        # Nowhere to post: the proposals keep (no review_ts) and get cards once the channel is set.
        log.warning("COLLAB_REVIEW_CHANNEL is not set: %d review card(s) not posted", len(ids))
        counts["no_channel"] = len(ids)
        return counts
    for pairing_id in ids:
        with session_scope(engine) as session:
            text, body = blocks.review_card(load_view(session, workspace, pairing_id))
        outcome = send_once(engine, messenger, key=f"review:{pairing_id}", kind="review_card",
                            recipient=settings.review_channel, text=text, blocks=body, workspace_id=workspace.id)
        if outcome.delivered and outcome.ts:
            with session_scope(engine) as session:
                pairing = session.get(Pairing, pairing_id)
                pairing.review_channel, pairing.review_ts = outcome.channel, outcome.ts
            counts["posted"] += 1
        elif outcome.status == "failed":
            counts["failed"] += 1
        else:
            counts["waiting"] += 1
    return counts
