"""A matching round: run the engine on a workspace's open needs and offers, keep its proposals
as pairings for leads to review, and post a review card for each.

What goes in:
* needs that are open and not already in a live pairing (proposed, approved, introduced, connected);
* offers that are open and have capacity left *this term*.

"This term" is a rolling 13 weeks (a school term is 12 to 14 weeks), the same window every
time: an offer's capacity in use is its live pairings (proposed ones included, so a second
round before the review cannot overbook it) plus those completed in the last 13 weeks.
Rejected and declined pairings use nothing, so rejecting or "it didn't happen" frees a slot.

A (need, offer) pair that has ever had a pairing row is never proposed again: the engine is told
to exclude it, and makes its optimal capacity-respecting assignment over the pairs that remain,
so a rejected pair leaves room for the next best offer. Each need the round leaves is recorded
with the engine's reason (no offer on its theme; the closest offers too unlikely; the likely
offers' places went to other needs), so a lead can see what is missing, not just "3 of 6 paired".
"""
from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.domain.errors import InvalidInput
from bot.domain.pairings import AGREED, LIVE, State
from bot.domain.posts import short_need
from bot.domain.time import aware
from models import MatchRound, Need, Offer, Pairing, PairingEvent, School, UnpairedNeed, Workspace, utcnow

log = logging.getLogger(__name__)

TERM = timedelta(weeks=13)


def capacity_used(session: Session, workspace: Workspace, now: datetime) -> Counter:
    """Offer id -> slots in use this term (live pairings + completed in the last 13 weeks)."""
    since = aware(now) - TERM
    rows = session.exec(
        select(Pairing.offer_id, func.count())
        .where(
            Pairing.workspace_id == workspace.id,
            or_(Pairing.state.in_(LIVE), (Pairing.state == State.COMPLETED) & (Pairing.completed_at >= since)),
        )
        .group_by(Pairing.offer_id)
    ).all()
    return Counter({offer_id: n for offer_id, n in rows})


def open_needs(session: Session, workspace: Workspace) -> list[Need]:
    held = select(Pairing.need_id).where(Pairing.workspace_id == workspace.id, Pairing.state.in_(LIVE))
    return list(session.exec(
        select(Need).where(Need.workspace_id == workspace.id, Need.status == "open", Need.id.not_in(held))
        .order_by(Need.id)
    ).all())


def open_offers(session: Session, workspace: Workspace, now: datetime) -> list[tuple[Offer, int]]:
    """Open offers with the number of slots they have left this term (only those with some)."""
    used = capacity_used(session, workspace, now)
    offers = session.exec(
        select(Offer).where(Offer.workspace_id == workspace.id, Offer.status == "open").order_by(Offer.id)
    ).all()
    return [(o, o.capacity_per_term - used[o.id]) for o in offers if o.capacity_per_term - used[o.id] > 0]


def history(session: Session, workspace: Workspace):
    from matching import PastPairing

    rows = session.exec(
        select(Pairing, Need.school_id, Offer.school_id)
        .join(Need, Need.id == Pairing.need_id).join(Offer, Offer.id == Pairing.offer_id)
        .where(Pairing.workspace_id == workspace.id, Pairing.state.in_(AGREED))
    ).all()
    urns = _urns(session, {s for _, a, b in rows for s in (a, b)})
    return [
        PastPairing(giver_urn=urns[giver], taker_urn=urns[taker],
                    date=aware(p.introduced_at or p.decided_at or p.created_at).date())
        for p, taker, giver in rows
    ]


def _urns(session: Session, school_ids) -> dict[int, str]:
    if not school_ids:
        return {}
    return dict(session.exec(select(School.id, School.urn).where(School.id.in_(list(school_ids)))).all())


def given_theme(post: Need | Offer) -> str | None:
    """The theme a round takes as given; None leaves the engine to read it from the text, as
    probabilities. A theme a person chose is given. So is our suggestion for a short need (at
    most SHORT_NEED_WORDS words): it names one thing, the suggestion is nearly always right,
    and its probabilities from so few words are too thin to reach the threshold. A long need's
    suggestion, and an offer's, are read again: taken as given, a wrong guess (a third of
    report-style needs) looks like a sure fit, and an offer would lose its other themes.
    Measured in docs/quality.md, "Chosen and suggested themes"."""
    if post.theme_chosen or (isinstance(post, Need) and short_need(post.text)):
        return post.theme
    return None


def weights_for(settings):
    from matching import Weights

    mapping = dict(settings.weights or {})
    mapping["repeat_window_days"] = int(settings.repeat_window_days)
    try:
        return Weights.from_mapping(mapping)
    except ValueError as problem:
        raise InvalidInput(f"Matching weights are wrong: {problem}") from None


def propose_round(
    session: Session, workspace: Workspace, settings, started_by: str = "scheduler", today: date | None = None,
) -> MatchRound:
    """Run the engine and store its proposals as `proposed` pairings, and the needs it left with
    the engine's reason for each (``UnpairedNeed``). No Slack here."""
    from matching import NeedItem, OfferItem, SchoolInfo, match

    now = utcnow()
    today = today or now.astimezone(settings.zone).date()
    needs = open_needs(session, workspace)
    offers = open_offers(session, workspace, now)
    match_round = MatchRound(workspace_id=workspace.id, started_by=started_by[:32], started_at=now,
                             needs_considered=len(needs), offers_considered=len(offers))
    session.add(match_round)
    session.flush()
    if not needs:
        return match_round

    school_ids = {n.school_id for n in needs} | {o.school_id for o, _ in offers}
    schools = session.exec(select(School).where(School.id.in_(list(school_ids)))).all()
    urn = {s.id: s.urn for s in schools}
    infos = [SchoolInfo(urn=s.urn, name=s.name, phase=s.phase, local_authority=s.local_authority, trust=s.trust,
                        easting=s.easting, northing=s.northing, fsm_percent=s.fsm_percent) for s in schools]
    # A pair that has ever had a pairing row (rejected, declined, done) is never proposed again.
    tried = session.exec(
        select(Pairing.need_id, Pairing.offer_id).where(Pairing.need_id.in_([n.id for n in needs]))
    ).all()
    result = match(
        [NeedItem(id=str(n.id), school_urn=urn[n.school_id], text=n.text, theme=given_theme(n)) for n in needs],
        [OfferItem(id=str(o.id), school_urn=urn[o.school_id], text=o.text, theme=given_theme(o), capacity=left)
         for o, left in offers],
        infos, history(session, workspace), weights=weights_for(settings), today=today,
        exclude=[(str(need_id), str(offer_id)) for need_id, offer_id in tried],
    )
    for left in result.unmatched:
        closest = ",".join(f"{offer_id}:{probability:.2f}" for offer_id, probability in left.closest)
        session.add(UnpairedNeed(round_id=match_round.id, need_id=int(left.need_id), theme=left.theme[:40],
                                 reason=left.reason[:40], closest=closest[:200]))
    chosen = result.proposals

    made = 0
    for proposal in chosen:
        pairing = Pairing(
            workspace_id=workspace.id, round_id=match_round.id, need_id=int(proposal.need_id),
            offer_id=int(proposal.offer_id), state=State.PROPOSED.value, score=float(proposal.score),
            probability=float(proposal.probability),
            reason=proposal.reason, created_at=now, updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(pairing)
                session.flush()
                session.add(PairingEvent(pairing_id=pairing.id, from_state=None, to_state=State.PROPOSED.value,
                                         actor=started_by[:32], at=now, note=f"round {match_round.id}"))
                session.flush()
        except IntegrityError:  # a concurrent round proposed the same pair a moment ago
            log.info("pair already proposed by a concurrent round; skipped")
            continue
        made += 1
    match_round.proposals = made
    session.flush()
    return match_round



# --------------------------------------------------------------------------- review cards

