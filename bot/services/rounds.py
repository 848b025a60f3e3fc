"""A matching round: run the engine on a workspace's open needs and offers, keep its proposals
as pairings for leads to review, and post a review card for each.

What goes in:
* needs that are open and not already in a live pairing (proposed, approved, introduced, connected);
* offers that are open and have capacity left *this term*.

"This term" is a rolling 13 weeks (a school term is 12 to 14 weeks), the same window every
time: an offer's capacity in use is its live pairings (proposed ones included, so a second
round before the review cannot overbook it) plus those completed in the last 13 weeks.
Rejected and declined pairings use nothing, so rejecting or "it didn't happen" frees a slot.

A (need, offer) pair that has ever had a pairing row is never proposed again: the engine is
asked for each need's best candidates and the optimal capacity-respecting assignment is then
made over the pairs that remain, so a rejected pair leaves room for the next best offer.
"""
from __future__ import annotations

import logging
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.domain.errors import InvalidInput
from bot.domain.pairings import AGREED, LIVE, State
from bot.domain.time import aware
from models import MatchRound, Need, Offer, Pairing, PairingEvent, School, Workspace, utcnow

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
    """Run the engine and store its proposals as `proposed` pairings. No Slack here."""
    from matching import NeedItem, OfferItem, SchoolInfo, propose
    from matching.engine import SCORE_DECIMALS

    now = utcnow()
    today = today or now.astimezone(settings.zone).date()
    needs = open_needs(session, workspace)
    offers = open_offers(session, workspace, now)
    match_round = MatchRound(workspace_id=workspace.id, started_by=started_by[:32], started_at=now,
                             needs_considered=len(needs), offers_considered=len(offers))
    session.add(match_round)
    session.flush()
    if not needs or not offers:
        return match_round

    school_ids = {n.school_id for n in needs} | {o.school_id for o, _ in offers}
    schools = session.exec(select(School).where(School.id.in_(list(school_ids)))).all()
    urn = {s.id: s.urn for s in schools}
    infos = [SchoolInfo(urn=s.urn, name=s.name, phase=s.phase, local_authority=s.local_authority, trust=s.trust,
                        easting=s.easting, northing=s.northing, fsm_percent=s.fsm_percent) for s in schools]
    need_ids = [n.id for n in needs]
    taken = defaultdict(set)  # need id -> offer ids it has ever been paired with
    for need_id, offer_id in session.exec(
        select(Pairing.need_id, Pairing.offer_id).where(Pairing.need_id.in_(need_ids))
    ).all():
        taken[need_id].add(offer_id)

    weights = weights_for(settings)
    k = weights.candidates_per_need + max((len(v) for v in taken.values()), default=0)
    candidates = propose(
        [NeedItem(id=str(n.id), school_urn=urn[n.school_id], text=n.text, theme=n.theme) for n in needs],
        [OfferItem(id=str(o.id), school_urn=urn[o.school_id], text=o.text, theme=o.theme, capacity=left)
         for o, left in offers],
        infos, history(session, workspace), weights=weights, today=today, top_k=k,
    )
    candidates = [c for c in candidates if int(c.offer_id) not in taken[int(c.need_id)]]
    chosen = _assign(candidates, {o.id: left for o, left in offers}, SCORE_DECIMALS)

    made = 0
    for proposal in chosen:
        pairing = Pairing(
            workspace_id=workspace.id, round_id=match_round.id, need_id=int(proposal.need_id),
            offer_id=int(proposal.offer_id), state=State.PROPOSED.value, score=float(proposal.score),
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


def _assign(candidates, capacity: dict[int, int], decimals: int):
    """The optimal capacity-respecting assignment over the remaining candidate pairs."""
    from matching.assign import optimal_assignment

    if not candidates:
        return []
    need_index = {nid: i for i, nid in enumerate(sorted({c.need_id for c in candidates}))}
    offer_list = sorted({c.offer_id for c in candidates}, key=int)
    offer_index = {oid: j for j, oid in enumerate(offer_list)}
    pair_need = np.array([need_index[c.need_id] for c in candidates], dtype=np.int64)
    pair_offer = np.array([offer_index[c.offer_id] for c in candidates], dtype=np.int64)
    weight = np.array([int(round(c.score * 10**decimals)) for c in candidates], dtype=np.int64)
    cap = np.array([capacity[int(oid)] for oid in offer_list], dtype=np.int64)
    picked = optimal_assignment(pair_need, pair_offer, weight, cap, len(need_index))
    return sorted((candidates[i] for i in picked), key=lambda c: (int(c.need_id), int(c.offer_id)))


# --------------------------------------------------------------------------- review cards

