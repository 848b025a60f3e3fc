"""Help flowing both ways: how much each school has given and received, and a warm invitation to give.

A school *gives* when one of its offers is in a pairing that was introduced (and then maybe
connected or completed); it *receives* when one of its needs is. Declined, rejected and
merely proposed pairings count for neither. "This year" is the school year, from 1 September
in the network's time zone.

A school that has received at least two more than it has given, and has no open offer, is
invited (each of its members who has not paused, by DM) to offer something. The invitation
thanks the school, never mentions another school, is never shown to anyone else, and never
stands in the way of asking for help. It goes at most once a month: its ledger key carries the
month, and a school that had one less than 30 days ago is not asked again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.config import Settings
from bot.domain.pairings import HELPED
from bot.domain.time import aware
from bot.services.calendar import school_year_start
from bot.services.members import is_paused, members_of_school
from models import Need, Offer, OutgoingMessage, Pairing, Workspace

NUDGE_GAP = 2
NUDGE_EVERY = timedelta(days=30)
KIND = "reciprocity"


def helped_at(pairing: Pairing) -> datetime:
    """When the help happened: the introduction (older rows without one: when it was proposed)."""
    moment = pairing.introduced_at or pairing.created_at
    return aware(moment)


def helped_pairings(session: Session, workspace: Workspace, since: datetime) -> list[tuple[Pairing, int, int]]:
    """(pairing, taker school id, giver school id) for every pairing that helped since `since`."""
    rows = session.exec(
        select(Pairing, Need.school_id, Offer.school_id)
        .join(Need, Need.id == Pairing.need_id)
        .join(Offer, Offer.id == Pairing.offer_id)
        .where(Pairing.workspace_id == workspace.id, Pairing.state.in_(HELPED))
    ).all()
    return [(p, taker, giver) for p, taker, giver in rows if helped_at(p) >= since]


def give_receive(session: Session, workspace: Workspace, school_id: int, since: datetime) -> tuple[int, int]:
    """How many times this school has given and received help in this workspace since `since`."""
    given = received = 0
    for _, taker, giver in helped_pairings(session, workspace, since):
        given += giver == school_id
        received += taker == school_id
    return given, received


def has_open_offer(session: Session, workspace: Workspace, school_id: int) -> bool:
    return session.exec(
        select(Offer.id).where(
            Offer.workspace_id == workspace.id, Offer.school_id == school_id, Offer.status == "open"
        ).limit(1)
    ).first() is not None


def month_key(now: datetime, settings: Settings) -> str:
    return now.astimezone(settings.zone).strftime("%Y-%m")


def key_prefix(workspace: Workspace, school_id: int) -> str:
    return f"{KIND}:{workspace.id}:{school_id}:"


def last_invited(session: Session, workspace: Workspace, school_id: int, except_month: str | None = None) -> datetime | None:
    """When this school was last sent an invitation (any member), leaving out one month's batch."""
    prefix = key_prefix(workspace, school_id)
    statement = select(OutgoingMessage.sent_at).where(
        OutgoingMessage.workspace_id == workspace.id,
        OutgoingMessage.kind == KIND,
        OutgoingMessage.status == "sent",
        OutgoingMessage.idempotency_key.startswith(prefix, autoescape=True),
    )
    if except_month:
        statement = statement.where(~OutgoingMessage.idempotency_key.startswith(prefix + except_month + ":", autoescape=True))
    moments = [aware(m) for m in session.exec(statement).all() if m]
    return max(moments, default=None)


@dataclass
class Invitation:
    school_id: int
    received: int
    given: int
    recipients: list[str] = field(default_factory=list)


def due_invitations(session: Session, workspace: Workspace, now: datetime, settings: Settings) -> list[Invitation]:
    """Schools to invite now, with the members (not paused) to send to."""
    since = school_year_start(now, settings)
    given: dict[int, int] = {}
    received: dict[int, int] = {}
    for _, taker, giver in helped_pairings(session, workspace, since):
        given[giver] = given.get(giver, 0) + 1
        received[taker] = received.get(taker, 0) + 1
    month = month_key(now, settings)
    due = []
    for school_id in sorted(received):
        gave = given.get(school_id, 0)
        if received[school_id] - gave < NUDGE_GAP or has_open_offer(session, workspace, school_id):
            continue
        # This month's batch may be part-sent (a crash): carry on with it; an earlier one blocks for 30 days.
        last = last_invited(session, workspace, school_id, except_month=month)
        if last is not None and now - last < NUDGE_EVERY:
            continue
        recipients = [m.slack_user_id for m in members_of_school(session, workspace, school_id) if not is_paused(m, now)]
        if recipients:
            due.append(Invitation(school_id, received[school_id], gave, recipients))
    return due


