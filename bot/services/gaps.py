"""The network's gaps: themes where schools need more help than other schools are offering.

A gap is what a lead can act on: the matcher cannot pair a need with an offer nobody has made,
so the lead's job is to find a school that could offer it. Counted on what is live now (needs
open and not yet in a live pairing, against open offers' places left this term) by the engine's
own `matching.gaps`, so the round, `collab match` and the lead's report agree. Counts only: no
school is named, so a gap never points at a school.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, func, select

from bot.services.rounds import open_needs, open_offers
from matching import Gap, NeedItem, OfferItem, gaps
from matching.unmatched import NO_OFFER_ON_THEME, REASONS
from models import UnpairedNeed, Workspace


def network_gaps(session: Session, workspace: Workspace, now: datetime, limit: int | None = 5) -> list[Gap]:
    """Themes whose waiting needs outnumber the places still free, the widest gap first."""
    needs = [NeedItem(id=str(n.id), school_urn=str(n.school_id), text=n.text, theme=n.theme or "other")
             for n in open_needs(session, workspace)]
    offers = [OfferItem(id=str(o.id), school_urn=str(o.school_id), text=o.text, theme=o.theme or "other",
                        capacity=left) for o, left in open_offers(session, workspace, now)]
    found = gaps(needs, offers) if needs else []
    return found if limit is None else found[:limit]


@dataclass(frozen=True)
class LeftBehind:
    """What a round left: how many needs by the engine's reason (every reason present, 0 when none),
    and the themes of those no school offers help on, commonest first."""

    by_reason: dict[str, int]
    themes_nobody_offers: list[str]


def left_behind(session: Session, round_id: int) -> LeftBehind:
    rows = session.exec(
        select(UnpairedNeed.reason, UnpairedNeed.theme, func.count())
        .where(UnpairedNeed.round_id == round_id).group_by(UnpairedNeed.reason, UnpairedNeed.theme)
    ).all()
    by_reason = dict.fromkeys(REASONS, 0)
    unoffered = []
    for reason, theme, count in rows:
        by_reason[reason] = by_reason.get(reason, 0) + count
        if reason == NO_OFFER_ON_THEME:
            unoffered.append((theme, count))
    themes = [theme for theme, _ in sorted(unoffered, key=lambda row: (-row[1], row[0]))]
    return LeftBehind(by_reason, themes)
