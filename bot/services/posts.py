"""Needs and offers: what a school asks for and what it can give."""
from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bot.domain.errors import InvalidInput, NotFound
from bot.domain.posts import FORMATS, KINDS, LIVE, MAX_CAPACITY, STATUSES, URGENCIES, clean_text
from bot.services.members import require_school
from matching.themes import THEMES, infer_theme
from models import Need, Offer, School, Workspace, utcnow

TABLES = {"need": Need, "offer": Offer}


def check_theme(theme: str | None, text: str) -> str:
    if theme is None or theme == "":
        return infer_theme(text)
    if theme not in THEMES:
        raise InvalidInput(f"{theme!r} is not one of the themes: {', '.join(THEMES)}.")
    return theme


def post_need(
    session: Session, workspace: Workspace, user_id: str, text: str,
    theme: str | None = None, urgency: str = "normal",
) -> Need:
    member, school = require_school(session, workspace, user_id)
    text = clean_text(text)
    if urgency not in URGENCIES:
        raise InvalidInput(f"Urgency must be one of: {', '.join(URGENCIES)}.")
    need = Need(
        workspace_id=workspace.id, school_id=school.id, member_id=member.id,
        text=text, theme=check_theme(theme, text), urgency=urgency,
    )
    session.add(need)
    session.flush()
    return need


def post_offer(
    session: Session, workspace: Workspace, user_id: str, text: str,
    theme: str | None = None, capacity: int = 1, format: str = "any",
) -> Offer:
    member, school = require_school(session, workspace, user_id)
    text = clean_text(text)
    if not isinstance(capacity, int) or not 1 <= capacity <= MAX_CAPACITY:
        raise InvalidInput(f"Capacity per term must be a whole number from 1 to {MAX_CAPACITY}.")
    if format not in FORMATS:
        raise InvalidInput(f"Format must be one of: {', '.join(FORMATS)}.")
    offer = Offer(
        workspace_id=workspace.id, school_id=school.id, member_id=member.id,
        text=text, theme=check_theme(theme, text), capacity_per_term=capacity, format=format,
    )
    session.add(offer)
    session.flush()
    return offer


@dataclass
class SchoolPosts:
    school: School
    needs: list[Need]
    offers: list[Offer]


def list_posts(session: Session, workspace: Workspace, user_id: str) -> SchoolPosts:
    """The school's open and paused posts (closed and expired ones are history)."""
    _, school = require_school(session, workspace, user_id)
    live = LIVE
    needs = session.exec(
        select(Need).where(Need.workspace_id == workspace.id, Need.school_id == school.id, Need.status.in_(live))
        .order_by(Need.created_at, Need.id)
    ).all()
    offers = session.exec(
        select(Offer).where(Offer.workspace_id == workspace.id, Offer.school_id == school.id, Offer.status.in_(live))
        .order_by(Offer.created_at, Offer.id)
    ).all()
    return SchoolPosts(school, list(needs), list(offers))


def own_post(session: Session, workspace: Workspace, user_id: str, kind: str, post_id: int) -> Need | Offer:
    """Only a member of the school that wrote a post may change it."""
    if kind not in KINDS:
        raise InvalidInput(f"Unknown kind of post {kind!r}.")
    _, school = require_school(session, workspace, user_id)
    post = session.get(TABLES[kind], post_id)
    if post is None or post.workspace_id != workspace.id or post.school_id != school.id:
        raise NotFound(f"That {kind} isn't one of your school's, so you can't change it.")
    return post


def set_status(session: Session, workspace: Workspace, user_id: str, kind: str, post_id: int, status: str) -> Need | Offer:
    if status not in STATUSES:
        raise InvalidInput(f"Status must be one of: {', '.join(STATUSES)}.")
    post = own_post(session, workspace, user_id, kind, post_id)
    if post.status != status:
        post.status = status
        post.updated_at = utcnow()
    return post


def set_theme(session: Session, workspace: Workspace, user_id: str, kind: str, post_id: int, theme: str) -> Need | Offer:
    post = own_post(session, workspace, user_id, kind, post_id)
    post.theme = check_theme(theme, post.text)
    post.updated_at = utcnow()
    return post
