"""Plain data the engine takes in: needs, offers, schools and past pairings.

Frozen dataclasses so that a round's input cannot change under the engine's feet and
items can be used as dictionary keys. No Slack, no database: the bot and the command
line both build these from their own sources.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass


@dataclass(frozen=True)
class NeedItem:
    """Something a school needs help with. ``theme`` is one of ``themes.THEMES`` or None."""

    id: str
    school_urn: str
    text: str
    theme: str | None = None


@dataclass(frozen=True)
class OfferItem:
    """Something a school can offer; ``capacity`` is how many needs it can take per round."""

    id: str
    school_urn: str
    text: str
    theme: str | None = None
    capacity: int = 1


@dataclass(frozen=True)
class SchoolInfo:
    """What the engine knows about a school (from GIAS). Unknown fields are None."""

    urn: str
    name: str = ""
    phase: str | None = None
    local_authority: str | None = None
    trust: str | None = None
    easting: float | None = None
    northing: float | None = None
    fsm_percent: float | None = None


@dataclass(frozen=True)
class PastPairing:
    """A pairing that happened: ``giver_urn`` helped ``taker_urn`` on ``date``."""

    giver_urn: str
    taker_urn: str
    date: datetime.date


@dataclass(frozen=True)
class Proposal:
    """One proposed pairing. ``rank`` is 1 in an assignment, 1..K in top-k mode. ``score``
    orders pairs (probability plus the place, phase, disadvantage... terms); ``probability``
    is the estimated chance that a network lead would call the pair a good fit."""

    need_id: str
    offer_id: str
    rank: int
    score: float
    reason: str
    probability: float = 0.0
