"""The life of a pairing: its states, the moves between them, and the groups of states the rules talk about.

    proposed → approved | rejected          (a lead decides)
    approved → introduced                   (the group DM went out)
    introduced → connected | declined       (a side answers the follow-up)
    connected → completed                   (both sides gave feedback, or time ran out)

The states are stored as their values (plain text), so ``pairing.state == State.APPROVED``
and ``Pairing.state.in_(LIVE)`` work on rows read from the database.
"""
from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    """Where a pairing has got to. Listed in the order a pairing moves, endings last."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    INTRODUCED = "introduced"
    CONNECTED = "connected"
    COMPLETED = "completed"
    DECLINED = "declined"
    REJECTED = "rejected"

    def can_become(self, other: "State") -> bool:
        return other in MOVES.get(self, frozenset())


MOVES: dict[State, frozenset[State]] = {
    State.PROPOSED: frozenset({State.APPROVED, State.REJECTED}),
    State.APPROVED: frozenset({State.INTRODUCED}),
    State.INTRODUCED: frozenset({State.CONNECTED, State.DECLINED}),
    State.CONNECTED: frozenset({State.COMPLETED}),
}

# A lead's decision on a proposal.
DECISIONS = (State.APPROVED, State.REJECTED)
# The pairing holds its need and a slot of its offer's capacity (a round will not propose either again).
LIVE = (State.PROPOSED, State.APPROVED, State.INTRODUCED, State.CONNECTED)
# A lead said yes and it has not fallen through: the need is taken, and the two schools count
# as having worked together (the engine's history of who helped whom).
AGREED = (State.APPROVED, State.INTRODUCED, State.CONNECTED, State.COMPLETED)
# Approved and on its way: not yet connected.
UNDER_WAY = (State.APPROVED, State.INTRODUCED)
# The two schools connected.
CONNECTED = (State.CONNECTED, State.COMPLETED)
# The schools were introduced: help was given and received.
HELPED = (State.INTRODUCED, State.CONNECTED, State.COMPLETED)
# The introduction has gone out (whatever happened next).
INTRODUCED_OR_LATER = (State.INTRODUCED, State.CONNECTED, State.DECLINED, State.COMPLETED)
# Staff see pairings once a lead has approved them; proposals and rejections are the leads' business.
VISIBLE_TO_SCHOOLS = (State.APPROVED, State.INTRODUCED, State.CONNECTED, State.DECLINED, State.COMPLETED)

# A side's answer to "Have you connected?" and the state it moves the pairing to
# ("not yet" leaves it introduced and asks again in a week).
ANSWERS = {"yes": State.CONNECTED, "no": State.DECLINED, "not_yet": State.INTRODUCED}
# taker: the school with the need; giver: the school with the offer.
SIDES = ("taker", "giver")
# "What difference did it make?", 1 to 5: the feedback scale both sides answer on.
IMPACTS = {
    1: "Not much yet",
    2: "A little",
    3: "Some difference",
    4: "A real difference",
    5: "A big difference",
}
# Who moved a pairing when nobody clicked (a scheduled job).
SYSTEM = "collab"
