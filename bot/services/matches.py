"""A school's view of its pairings: what it asked for, who it was paired with, where it has got to."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from bot.domain.pairings import VISIBLE_TO_SCHOOLS, State
from bot.services.members import require_school
from models import Need, Offer, Pairing, School, Workspace

# Pairings shown at once by `/collab matches` and App Home (each is one or two blocks; Slack allows 50).
PAGE = 10


@dataclass
class SchoolPairing:
    pairing: Pairing
    role: str  # "receiving" (our need) or "giving" (our offer)
    partner: School
    need: Need
    offer: Offer


@dataclass
class SchoolPairings:
    """One page of a school's pairings, newest change first."""

    school: School
    items: list[SchoolPairing]
    total: int
    start: int = 0

    @property
    def next_start(self) -> int | None:
        after = self.start + len(self.items)
        return after if after < self.total else None


def _of_school(workspace: Workspace, school: School, states):
    return (
        Pairing.workspace_id == workspace.id,
        Pairing.state.in_(states),
        or_(Need.school_id == school.id, Offer.school_id == school.id),
    )


def pairings_of_school(session: Session, workspace: Workspace, school: School, states,
                       start: int = 0, limit: int | None = None) -> list[SchoolPairing]:
    """The school's pairings in these states, each seen from the school's side (giving or receiving).

    One query, partner schools included, reading only the rows asked for.
    """
    taker, giver = aliased(School), aliased(School)
    query = (
        select(Pairing, Need, Offer, taker, giver)
        .join(Need, Need.id == Pairing.need_id)
        .join(Offer, Offer.id == Pairing.offer_id)
        .join(taker, taker.id == Need.school_id)
        .join(giver, giver.id == Offer.school_id)
        .where(*_of_school(workspace, school, states))
        .order_by(Pairing.updated_at.desc(), Pairing.id.desc())
        .offset(start)
    )
    if limit is not None:
        query = query.limit(limit)
    result = []
    for pairing, need, offer, need_school, offer_school in session.exec(query).all():
        receiving = need.school_id == school.id
        partner = offer_school if receiving else need_school
        result.append(SchoolPairing(pairing, "receiving" if receiving else "giving", partner, need, offer))
    return result


def count_pairings_of_school(session: Session, workspace: Workspace, school: School, states) -> int:
    return session.exec(
        select(func.count(Pairing.id))
        .join(Need, Need.id == Pairing.need_id)
        .join(Offer, Offer.id == Pairing.offer_id)
        .where(*_of_school(workspace, school, states))
    ).one()


def school_pairings(session: Session, workspace: Workspace, user_id: str, start: int = 0,
                    limit: int = PAGE) -> SchoolPairings:
    """One page of the pairings a member's school can see (approved onwards)."""
    _, school = require_school(session, workspace, user_id)
    total = count_pairings_of_school(session, workspace, school, VISIBLE_TO_SCHOOLS)
    start = max(0, min(start, ((total - 1) // limit) * limit if total else 0))  # past the end: the last page
    items = pairings_of_school(session, workspace, school, VISIBLE_TO_SCHOOLS, start, limit)
    return SchoolPairings(school, items, total, start)


# What App Home shows a school: pairings still going on (not declined, not completed).
CURRENT = (State.APPROVED, State.INTRODUCED, State.CONNECTED)


def current_pairings(session: Session, workspace: Workspace, school: School, limit: int = PAGE) -> SchoolPairings:
    total = count_pairings_of_school(session, workspace, school, CURRENT)
    return SchoolPairings(school, pairings_of_school(session, workspace, school, CURRENT, 0, limit), total)
