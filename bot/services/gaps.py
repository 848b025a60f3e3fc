"""The network's gaps: themes where schools need more help than other schools are offering.

A gap is what a lead can act on: the matcher cannot pair a need with an offer nobody has made,
so the lead's job is to find a school that could offer it. Counted on what is live now: needs
open and not yet taken by an agreed pairing, against open offers' places left this term, per
theme. Counts only: no school is named, so a gap never points at a school.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.services.rounds import open_needs, open_offers
from models import Workspace


@dataclass(frozen=True)
class Gap:
    theme: str
    needs: int    # open needs on this theme still waiting for a pairing
    places: int   # places left this term on open offers of this theme

    @property
    def short_by(self) -> int:
        return self.needs - self.places


def network_gaps(session: Session, workspace: Workspace, now: datetime, limit: int | None = 5) -> list[Gap]:
    """Themes whose waiting needs outnumber the places offered, the widest gap first."""
    needs = Counter(n.theme or "other" for n in open_needs(session, workspace))
    places = Counter()
    for offer, left in open_offers(session, workspace, now):
        places[offer.theme or "other"] += left
    gaps = [Gap(theme, count, places[theme]) for theme, count in needs.items() if count > places[theme]]
    gaps.sort(key=lambda g: (-g.short_by, -g.needs, g.theme))
    return gaps if limit is None else gaps[:limit]
