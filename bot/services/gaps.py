"""The network's gaps: themes where schools need more help than other schools are offering.

A gap is what a lead can act on: the matcher cannot pair a need with an offer nobody has made,
so the lead's job is to find a school that could offer it. Counted on what is live now (needs
open and not yet in a live pairing, against open offers' places left this term) by the engine's
own `matching.gaps`, so the round, `collab match` and the lead's report agree. Counts only: no
school is named, so a gap never points at a school.
"""
from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, func, select

from bot.services.rounds import open_needs, open_offers
from matching import Gap, NeedItem, OfferItem, gaps
from matching.unmatched import REASONS
from models import UnpairedNeed, Workspace


def network_gaps(session: Session, workspace: Workspace, now: datetime, limit: int | None = 5) -> list[Gap]:
    """Themes whose waiting needs outnumber the places offered, the widest gap first."""
    needs = [NeedItem(id=str(n.id), school_urn=str(n.school_id), text=n.text, theme=n.theme or "other")
             for n in open_needs(session, workspace)]
    offers = [OfferItem(id=str(o.id), school_urn=str(o.school_id), text=o.text, theme=o.theme or "other",
                        capacity=left) for o, left in open_offers(session, workspace, now)]
    found = gaps(needs, offers) if needs else []
    return found if limit is None else found[:limit]


def themes_nobody_offers(session: Session, round_id: int) -> list[str]:
    """The themes of the needs a round left because no school offers help on them, commonest first."""
    rows = session.exec(
        select(UnpairedNeed.theme, func.count()).where(UnpairedNeed.round_id == round_id,
                                                       UnpairedNeed.reason == "no_offer_on_theme")
        .group_by(UnpairedNeed.theme)
    ).all()
    return [theme for theme, _ in sorted(rows, key=lambda row: (-row[1], row[0]))]


def reasons_left(session: Session, round_id: int) -> dict[str, int]:
    """How many needs a round left, by the engine's reason (every reason present, 0 when none)."""
    counts = dict.fromkeys(REASONS, 0)
    for reason, count in session.exec(
        select(UnpairedNeed.reason, func.count()).where(UnpairedNeed.round_id == round_id).group_by(UnpairedNeed.reason)
    ).all():
        counts[reason] = counts.get(reason, 0) + count
    return counts
