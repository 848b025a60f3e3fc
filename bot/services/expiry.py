"""Needs and offers that may have gone stale: ask "still needed?", then close them if nobody answers.

The clock for an open post starts at its ``updated_at``: set when it is posted, when someone
renews it ("Yes, keep it"), and whenever the school changes it (theme, pause, resume), since a
post someone is looking after is not stale. After ``settings.expiry_weeks`` we set
``renew_asked_at`` and DM the poster (or, if they have left the school or paused, the
school's other members who have not paused). The DM's ledger key carries the day we asked,
so a rerun never asks twice. If nobody renews or changes the post within ``ANSWER_WEEKS``
of the question, it becomes ``expired`` and is no longer matched; "Yes, keep it" on an expired
post reopens it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.config import Settings
from bot.domain.time import aware
from bot.services import posts
from bot.domain.errors import InvalidInput
from bot.services.members import is_paused, members_of_school
from models import Member, Need, Offer, Workspace, utcnow

ANSWER_WEEKS = 2
KIND = "expiry"
KINDS = (("need", Need), ("offer", Offer))


def clock_start(post: Need | Offer) -> datetime:
    return aware(post.updated_at or post.created_at)


def answered_since_asked(post: Need | Offer) -> bool:
    """Renewed or changed after we asked: the school is looking after it."""
    asked = aware(post.renew_asked_at)
    return asked is not None and clock_start(post) > asked


@dataclass
class Prompt:
    kind: str
    post_id: int
    key: str
    recipients: list[str]
    weeks: int


def mark_due(session: Session, workspace: Workspace, now: datetime, settings: Settings) -> int:
    """Start the two-week question for open posts past their time; forget questions answered by a change."""
    limit = now - timedelta(weeks=settings.expiry_weeks)
    marked = 0
    for _, table in KINDS:
        for post in session.exec(
            select(table).where(table.workspace_id == workspace.id, table.status == "open")
        ).all():
            if answered_since_asked(post):
                post.renew_asked_at = None
            if post.renew_asked_at is None and clock_start(post) <= limit:
                post.renew_asked_at = now  # updated_at stays put: asking is not a change by the school
                marked += 1
    session.flush()
    return marked


def _recipients(session: Session, workspace: Workspace, post: Need | Offer, now: datetime) -> list[Member]:
    colleagues = [m for m in members_of_school(session, workspace, post.school_id) if not is_paused(m, now)]
    poster = next((m for m in colleagues if m.id == post.member_id), None)
    return [poster] if poster is not None else colleagues


def prompt_key(kind: str, post: Need | Offer, settings: Settings, user_id: str) -> str:
    asked = aware(post.renew_asked_at).astimezone(settings.zone).date().isoformat()
    return f"{KIND}:{kind}:{post.id}:{asked}:{user_id}"


def pending_prompts(session: Session, workspace: Workspace, now: datetime, settings: Settings) -> list[Prompt]:
    """The questions asked and not yet answered or expired, with who to ask."""
    prompts = []
    for kind, table in KINDS:
        for post in session.exec(
            select(table).where(
                table.workspace_id == workspace.id, table.status == "open", table.renew_asked_at.is_not(None)
            ).order_by(table.id)
        ).all():
            if answered_since_asked(post):
                continue
            weeks = max(settings.expiry_weeks, (now - clock_start(post)).days // 7)
            users = [m.slack_user_id for m in _recipients(session, workspace, post, now)]
            key = prompt_key(kind, post, settings, "")
            prompts.append(Prompt(kind, post.id, key, users, weeks))
    return prompts


def expire_unanswered(session: Session, workspace: Workspace, now: datetime, settings: Settings) -> int:
    """Close (as ``expired``) the open posts whose question has gone unanswered for two weeks."""
    now = aware(now)
    cutoff = now - timedelta(weeks=ANSWER_WEEKS)
    expired = 0
    for _, table in KINDS:
        for post in session.exec(
            select(table).where(
                table.workspace_id == workspace.id, table.status == "open", table.renew_asked_at.is_not(None)
            )
        ).all():
            if answered_since_asked(post) or aware(post.renew_asked_at) > cutoff:
                continue
            post.status = "expired"
            expired += 1
    session.flush()
    return expired


def renew(session: Session, workspace: Workspace, user_id: str, kind: str, post_id: int, now: datetime | None = None) -> Need | Offer:
    """"Yes, keep it": the clock starts again (and an expired post reopens). Clicking twice changes nothing more."""
    post = posts.own_post(session, workspace, user_id, kind, post_id)
    if post.status == "closed":
        raise InvalidInput(f"That {kind} was already closed. Post it again with `/collab {kind}` if it's still needed.")
    if post.status == "open" and post.renew_asked_at is None:
        return post  # nothing was asked, or it was already kept
    post.status = "open" if post.status == "expired" else post.status
    post.renew_asked_at = None
    post.updated_at = now or utcnow()
    session.flush()
    return post


def close(session: Session, workspace: Workspace, user_id: str, kind: str, post_id: int) -> Need | Offer:
    """"Close it": the post is closed by its school (an expired one stays expired)."""
    post = posts.own_post(session, workspace, user_id, kind, post_id)
    if post.status in ("open", "paused"):
        posts.set_status(session, workspace, user_id, kind, post_id, "closed")
    post.renew_asked_at = None
    session.flush()
    return post
