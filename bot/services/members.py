"""Joining a school, pausing, leads and forget-me: the people side of a network."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, update
from sqlmodel import Session, select

from bot.domain.errors import InvalidInput, NotAMember, NotFound
from bot.domain.people import FOREVER, FORGOTTEN, MAX_PAUSE_WEEKS
from models import (
    Feedback, Member, Need, Offer, OutgoingMessage, Pairing, PairingEvent, School, Workspace, utcnow,
)



def find_schools(session: Session, query: str, limit: int = 10) -> list[School]:
    """A URN finds that school; otherwise every open school whose name contains the words."""
    query = " ".join(query.split())
    if not query:
        raise InvalidInput("Tell me your school's URN or part of its name, e.g. `/collab join 136712`.")
    if query.isascii() and query.isdigit():  # "²" is a digit to isdigit(), but no URN
        return list(session.exec(select(School).where(School.urn == query)).all())
    if len(query) < 3:
        raise InvalidInput("Type at least three letters of your school's name, or its URN.")
    statement = select(School).where(School.is_open == True)  # noqa: E712
    for word in query.split():
        # autoescape: "%" and "_" are letters someone typed, not LIKE wildcards matching every school.
        statement = statement.where(func.lower(School.name).contains(word.lower(), autoescape=True))
    return list(session.exec(statement.order_by(School.name, School.urn).limit(limit)).all())


def get_member(session: Session, workspace: Workspace, user_id: str) -> Member | None:
    return session.exec(
        select(Member).where(Member.workspace_id == workspace.id, Member.slack_user_id == user_id)
    ).first()


def require_school(session: Session, workspace: Workspace, user_id: str) -> tuple[Member, School]:
    member = get_member(session, workspace, user_id)
    if member is None or member.school_id is None:
        raise NotAMember()
    return member, session.get(School, member.school_id)


def join(session: Session, workspace: Workspace, user_id: str, urn: str) -> tuple[Member, School]:
    school = session.exec(select(School).where(School.urn == urn.strip())).first()
    if school is None:
        raise NotFound(f"I can't find a school with URN {urn.strip()}.")
    if not school.is_open:
        raise InvalidInput(f"{school.name} ({school.urn}) is listed as closed, so it can't join.")
    member = get_member(session, workspace, user_id)
    if member is None:
        member = Member(workspace_id=workspace.id, slack_user_id=user_id)
        session.add(member)
    member.school_id = school.id
    session.flush()
    return member, school


def pause(session: Session, workspace: Workspace, user_id: str, weeks: int | None, now: datetime | None = None) -> datetime:
    """Stop digests and nudges to this person until the date returned (or until they resume)."""
    if weeks is not None and not 1 <= weeks <= MAX_PAUSE_WEEKS:
        raise InvalidInput(f"Pause for between 1 and {MAX_PAUSE_WEEKS} weeks, e.g. `/collab pause 2`.")
    member = get_member(session, workspace, user_id)
    if member is None:
        member = Member(workspace_id=workspace.id, slack_user_id=user_id)
        session.add(member)
    now = now or utcnow()
    member.paused_until = FOREVER if weeks is None else now + timedelta(weeks=weeks)
    session.flush()
    return member.paused_until


def resume(session: Session, workspace: Workspace, user_id: str) -> bool:
    member = get_member(session, workspace, user_id)
    if member is None or member.paused_until is None:
        return False
    member.paused_until = None
    return True


def is_paused(member: Member, now: datetime) -> bool:
    return member.paused_until is not None and member.paused_until > now


def set_lead(session: Session, workspace: Workspace, user_id: str, lead: bool) -> bool:
    """Make someone a lead or stop them being one; False when they already were (or weren't), so
    nothing changed. Removing someone Collab has never seen stores nothing about them."""
    member = get_member(session, workspace, user_id)
    if member is None:
        if not lead:
            return False
        member = Member(workspace_id=workspace.id, slack_user_id=user_id)
        session.add(member)
    if bool(member.is_lead) == lead:
        return False
    member.is_lead = lead
    session.flush()
    return True


def forget_me(session: Session, workspace: Workspace, user_id: str) -> bool:
    """Remove every trace of this Slack user; the school's posts and the anonymous counts stay."""
    member = get_member(session, workspace, user_id)
    pairing_ids = select(Pairing.id).where(Pairing.workspace_id == workspace.id)
    session.exec(
        update(PairingEvent)
        .where(PairingEvent.actor == user_id, PairingEvent.pairing_id.in_(pairing_ids))
        .values(actor=FORGOTTEN)
    )
    session.exec(
        update(Pairing)
        .where(Pairing.workspace_id == workspace.id, Pairing.decided_by == user_id)
        .values(decided_by=FORGOTTEN)
    )
    session.exec(
        update(OutgoingMessage)
        .where(OutgoingMessage.workspace_id == workspace.id, OutgoingMessage.recipient == user_id)
        .values(recipient=FORGOTTEN)
    )
    if member is None:
        return False
    for table in (Need, Offer, Feedback):
        session.exec(update(table).where(table.member_id == member.id).values(member_id=None))
    session.delete(member)
    session.flush()
    return True


def members_of_school(session: Session, workspace: Workspace, school_id: int) -> list[Member]:
    return list(
        session.exec(
            select(Member)
            .where(Member.workspace_id == workspace.id, Member.school_id == school_id)
            .order_by(Member.id)
        ).all()
    )


def leads(session: Session, workspace: Workspace, configured: frozenset[str]) -> list[str]:
    rows = session.exec(
        select(Member.slack_user_id).where(
            Member.workspace_id == workspace.id, or_(Member.is_lead == True)  # noqa: E712
        )
    ).all()
    return sorted(set(rows) | set(configured))
