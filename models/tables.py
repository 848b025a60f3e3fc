"""The tables Collab keeps, in the words schools use.

A *workspace* is one Slack workspace, which is one network of schools (a trust, a group of
trusts, a local authority). *Schools* are reference data from Get Information about Schools
and are shared by every network; everything people write (needs, offers, pairings, feedback)
belongs to exactly one workspace, so that every query can be scoped to the workspace that
asked.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from sqlalchemy import Column, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Aware UTC: SQLModel's UTCDateTime stores UTC on SQLite and PostgreSQL alike."""
    return datetime.now(timezone.utc)


class Workspace(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(default="", max_length=200)
    installed_at: datetime = Field(default_factory=utcnow)
    # Set when Slack tells us the app was uninstalled or its tokens revoked: we stop sending.
    uninstalled_at: Optional[datetime] = None


class School(SQLModel, table=True):
    """An establishment from GIAS. Only organisational fields: never the head teacher's name."""

    id: Optional[int] = Field(default=None, primary_key=True)
    urn: str = Field(max_length=16, unique=True, index=True)
    name: str = Field(max_length=300, index=True)
    phase: Optional[str] = Field(default=None, max_length=80)
    local_authority: Optional[str] = Field(default=None, max_length=120)
    trust: Optional[str] = Field(default=None, max_length=300)
    postcode: Optional[str] = Field(default=None, max_length=16)
    easting: Optional[float] = None
    northing: Optional[float] = None
    pupils: Optional[int] = None
    fsm_percent: Optional[float] = None
    is_open: bool = Field(default=True)
    updated_at: datetime = Field(default_factory=utcnow)


class Member(SQLModel, table=True):
    """A Slack user in a workspace, linked to one school. Leads review pairings."""

    __table_args__ = (UniqueConstraint("workspace_id", "slack_user_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    slack_user_id: str = Field(max_length=32)
    school_id: Optional[int] = Field(default=None, foreign_key="school.id", index=True)
    is_lead: bool = Field(default=False)
    paused_until: Optional[datetime] = None
    joined_at: datetime = Field(default_factory=utcnow)


class Need(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    # The poster; cleared by forget-me so the school's post (and the counts) survive.
    member_id: Optional[int] = Field(default=None, foreign_key="member.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    theme: str = Field(max_length=40)
    # True when a person picked the theme; False when it is our suggestion, which a round takes
    # as given only for a short need (bot/services/rounds.py:given_theme).
    theme_chosen: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    urgency: str = Field(default="normal", max_length=16)
    status: str = Field(default="open", max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # When we last asked "still needed?"; expiry counts from here.
    renew_asked_at: Optional[datetime] = None


class Offer(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    school_id: int = Field(foreign_key="school.id", index=True)
    member_id: Optional[int] = Field(default=None, foreign_key="member.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))
    theme: str = Field(max_length=40)
    theme_chosen: bool = Field(default=False, sa_column_kwargs={"server_default": false()})  # as Need's
    capacity_per_term: int = Field(default=1)
    format: str = Field(default="any", max_length=24)
    status: str = Field(default="open", max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    renew_asked_at: Optional[datetime] = None


class MatchRound(SQLModel, table=True):
    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    started_at: datetime = Field(default_factory=utcnow)
    started_by: str = Field(default="scheduler", max_length=32)
    needs_considered: int = 0
    offers_considered: int = 0
    proposals: int = 0


class UnpairedNeed(SQLModel, table=True):
    """A need a round left without a proposal, and why: what the lead sees to act on.

    ``reason`` is the engine's (matching.unmatched.REASONS); ``closest`` is up to three
    "offer id:probability" pairs, best first, for the need whose closest offers were too unlikely.
    """

    __table_args__ = (UniqueConstraint("round_id", "need_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    round_id: int = Field(foreign_key="matchround.id", index=True)
    need_id: int = Field(foreign_key="need.id", index=True)
    theme: str = Field(max_length=40)
    reason: str = Field(max_length=40)
    closest: str = Field(default="", max_length=200)


class Pairing(SQLModel, table=True):
    """A proposed need–offer pair and where it has got to. One row per pair, ever."""

    __table_args__ = (UniqueConstraint("need_id", "offer_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: int = Field(foreign_key="workspace.id", index=True)
    round_id: Optional[int] = Field(default=None, foreign_key="matchround.id")
    need_id: int = Field(foreign_key="need.id", index=True)
    offer_id: int = Field(foreign_key="offer.id", index=True)
    state: str = Field(default="proposed", max_length=16, index=True)
    score: float = 0.0
    # The engine's calibrated estimate that a lead would call this a good fit (0-1); None for
    # pairings proposed before the matcher was calibrated.
    probability: Optional[float] = None
    reason: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    decided_by: Optional[str] = Field(default=None, max_length=32)
    decided_at: Optional[datetime] = None
    reject_reason: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    # Where the review card sits, so a decision can update it in place.
    review_channel: Optional[str] = Field(default=None, max_length=32)
    review_ts: Optional[str] = Field(default=None, max_length=32)
    conversation_id: Optional[str] = Field(default=None, max_length=32)
    introduced_at: Optional[datetime] = None
    connected_at: Optional[datetime] = None
    completed_at: Optional[datetime] = None


class PairingEvent(SQLModel, table=True):
    """The audit trail: who moved a pairing from which state to which, and when."""

    id: Optional[int] = Field(default=None, primary_key=True)
    pairing_id: int = Field(foreign_key="pairing.id", index=True)
    from_state: Optional[str] = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    actor: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow)
    note: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))


class Feedback(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("pairing_id", "side"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    pairing_id: int = Field(foreign_key="pairing.id", index=True)
    side: str = Field(max_length=8)  # "giver" or "taker"
    member_id: Optional[int] = Field(default=None, foreign_key="member.id")
    impact: int
    what_changed: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = Field(default_factory=utcnow)


class OutgoingMessage(SQLModel, table=True):
    """The ledger of every message we send, keyed so that a rerun never sends one twice."""

    id: Optional[int] = Field(default=None, primary_key=True)
    workspace_id: Optional[int] = Field(default=None, foreign_key="workspace.id", index=True)
    idempotency_key: str = Field(max_length=200, unique=True, index=True)
    kind: str = Field(max_length=40)
    recipient: str = Field(max_length=64)
    status: str = Field(default="pending", max_length=16, index=True)  # pending, sending, sent, failed
    attempts: int = 0
    # Who is sending it now: a claim older than the lease is taken to have crashed.
    claimed_at: Optional[datetime] = None
    error: Optional[str] = Field(default=None, max_length=200)
    channel: Optional[str] = Field(default=None, max_length=32)
    ts: Optional[str] = Field(default=None, max_length=32)
    created_at: datetime = Field(default_factory=utcnow)
    sent_at: Optional[datetime] = None


class JobRun(SQLModel, table=True):
    """One row per scheduled firing: the unique key is the lease that stops two clocks both running it."""

    id: Optional[int] = Field(default=None, primary_key=True)
    run_key: str = Field(max_length=120, unique=True, index=True)
    holder: str = Field(max_length=120)
    started_at: datetime = Field(default_factory=utcnow)
    finished_at: Optional[datetime] = None
    status: str = Field(default="running", max_length=16)


class SeenRequest(SQLModel, table=True):
    """A signed Slack request already let in, kept for the signature's 5-minute window: a replay of
    the same bytes finds its signature here and changes nothing, whichever worker it reaches."""

    signature: str = Field(primary_key=True, max_length=80)  # "v0=" and 64 hex digits
    seen_at: datetime = Field(default_factory=utcnow, index=True)


class SeenEvent(SQLModel, table=True):
    """An Events API delivery already handled: Slack retries an event (X-Slack-Retry-Num) with the
    same event_id, and a retry must be acknowledged without doing the work again."""

    event_id: str = Field(primary_key=True, max_length=64)
    team_id: str = Field(max_length=32)
    seen_at: datetime = Field(default_factory=utcnow, index=True)
