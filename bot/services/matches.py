"""A school's view of its pairings: what it asked for, who it was paired with, where it has got to."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import Session, select

from bot.domain.pairings import VISIBLE_TO_SCHOOLS
from bot.services.members import require_school
from models import Need, Offer, Pairing, School, Workspace



@dataclass
class SchoolPairing:
    pairing: Pairing
    role: str  # "receiving" (our need) or "giving" (our offer)
    partner: School
    need: Need
    offer: Offer


def pairings_of_school(session: Session, workspace: Workspace, school: School, states) -> list[SchoolPairing]:
    """The school's pairings in these states, each seen from the school's side (giving or receiving)."""
    rows = session.exec(
        select(Pairing, Need, Offer)
        .join(Need, Need.id == Pairing.need_id)
        .join(Offer, Offer.id == Pairing.offer_id)
        .where(
            Pairing.workspace_id == workspace.id,
            Pairing.state.in_(states),
            or_(Need.school_id == school.id, Offer.school_id == school.id),
        )
        .order_by(Pairing.updated_at.desc(), Pairing.id.desc())
    ).all()
    result = []
    for pairing, need, offer in rows:
        receiving = need.school_id == school.id
        partner = session.get(School, offer.school_id if receiving else need.school_id)
        result.append(SchoolPairing(pairing, "receiving" if receiving else "giving", partner, need, offer))
    return result


def school_pairings(session: Session, workspace: Workspace, user_id: str) -> tuple[School, list[SchoolPairing]]:
    _, school = require_school(session, workspace, user_id)
    return school, pairings_of_school(session, workspace, school, VISIBLE_TO_SCHOOLS)
