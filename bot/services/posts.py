"""Needs and offers: what a school asks for and what it can give."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
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
        text=text, theme=check_theme(theme, text), theme_chosen=bool(theme), urgency=urgency,
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
        text=text, theme=check_theme(theme, text), theme_chosen=bool(theme), capacity_per_term=capacity,
        format=format,
    )
    session.add(offer)
    session.flush()
    return offer


# Posts shown at once by `/collab list` and App Home: each is two blocks, and Slack allows 50 a message.
PAGE = 10


@dataclass
class SchoolPosts:
    """One page of a school's live posts: needs first, then offers, oldest first within each."""

    school: School
    needs: list[Need]
    offers: list[Offer]
    needs_total: int = 0
    offers_total: int = 0
    start: int = 0  # where this page starts among all of them (0 is the first need)

    @property
    def total(self) -> int:
        return self.needs_total + self.offers_total

    @property
    def next_start(self) -> int | None:
        """Where the next page starts, or None when this is the last."""
        after = self.start + len(self.needs) + len(self.offers)
        return after if after < self.total else None


def _on_a_page(start: int, total: int, limit: int) -> int:
    """`start`, or the last page's start when posts closed since left it past the end."""
    last = ((total - 1) // limit) * limit if total else 0
    return max(0, min(start, last))


def _live(table, workspace: Workspace, school: School):
    return (table.workspace_id == workspace.id, table.school_id == school.id, table.status.in_(LIVE))


def list_posts(session: Session, workspace: Workspace, user_id: str, start: int = 0, limit: int = PAGE) -> SchoolPosts:
    """One page of the school's open and paused posts (closed and expired ones are history).

    Reads two counts and at most `limit` rows, however many posts the school has.
    """
    _, school = require_school(session, workspace, user_id)
    counts = {}
    for kind, table in TABLES.items():
        counts[kind] = session.exec(select(func.count(table.id)).where(*_live(table, workspace, school))).one()
    start = _on_a_page(start, counts["need"] + counts["offer"], limit)
    needs: list = []
    if start < counts["need"]:
        needs = list(session.exec(
            select(Need).where(*_live(Need, workspace, school)).order_by(Need.created_at, Need.id)
            .offset(start).limit(limit)
        ).all())
    offers: list = []
    room = limit - len(needs)
    if room > 0 and counts["offer"]:
        offers = list(session.exec(
            select(Offer).where(*_live(Offer, workspace, school)).order_by(Offer.created_at, Offer.id)
            .offset(max(0, start - counts["need"])).limit(room)
        ).all())
    return SchoolPosts(school, needs, offers, counts["need"], counts["offer"], start)


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
    """A person picks the theme, or says our suggestion is right: either way it is now chosen,
    and rounds take it as given instead of reading the text again."""
    post = own_post(session, workspace, user_id, kind, post_id)
    if not theme:
        raise InvalidInput("Pick one of the themes.")
    post.theme = check_theme(theme, post.text)
    post.theme_chosen = True
    post.updated_at = utcnow()
    return post
