"""The life of a pairing, as a small state machine with an audit trail.

    proposed → approved | rejected          (a lead decides)
    approved → introduced                   (the group DM went out)
    introduced → connected | declined       (a side answers the follow-up)
    connected → completed                   (both sides gave feedback, or time ran out)

Every move is one conditional UPDATE (``… WHERE id = ? AND state = ?``) whose row count says
whether this caller won: two leads clicking Approve at the same moment, in two processes, on
SQLite or PostgreSQL, give exactly one approval; the other gets ``WrongState`` saying who got
there first. Every move writes a PairingEvent (who, when, from, to). No Slack here.

Capacity is not stored: an offer's capacity in use is derived from its live pairings (see
``rounds.capacity_used``), so approving keeps a slot taken and rejecting or declining frees it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from bot.domain.errors import CollabError, InvalidInput, NotALead, NotFound
from bot.domain.pairings import ANSWERS, IMPACTS, CONNECTED, DECISIONS, SIDES, SYSTEM, State
from bot.domain.time import aware
from bot.services import members
from bot.services.workspaces import is_lead
from models import Feedback, Member, Need, Offer, Pairing, PairingEvent, School, Workspace, utcnow

NOT_YET_NOTE = "follow-up: not yet"
MAX_FEEDBACK_CHARS = 2000

class WrongState(CollabError):
    """The pairing has already moved on; nothing was changed. It carries the facts (who moved it, when);
    bot/messages/pairings.wrong_state_text puts them into words."""

    def __init__(self, pairing: Pairing, wanted: str):
        self.pairing = pairing
        self.state = pairing.state
        self.wanted = wanted
        # A late decision is told about the decision, even if the pairing has moved on since.
        decision = wanted in DECISIONS and pairing.decided_by and pairing.state != State.PROPOSED
        self.decision = (State.REJECTED if pairing.state == State.REJECTED else State.APPROVED) if decision else None
        self.by = pairing.decided_by if decision else None
        self.at = pairing.decided_at if decision else pairing.updated_at
        super().__init__(f"This pairing is already {self.state}: nothing changed.")


@dataclass
class PairingView:
    """A pairing with everything a message about it needs."""

    pairing: Pairing
    need: Need
    offer: Offer
    need_school: School
    offer_school: School

    def school_of(self, side: str) -> School:
        return self.need_school if side == "taker" else self.offer_school

    def other_school(self, side: str) -> School:
        return self.offer_school if side == "taker" else self.need_school


def get_pairing(session: Session, workspace: Workspace, pairing_id: int, *, fresh: bool = True) -> Pairing:
    statement = select(Pairing).where(Pairing.id == pairing_id, Pairing.workspace_id == workspace.id)
    if fresh:
        statement = statement.execution_options(populate_existing=True)
    pairing = session.exec(statement).first()
    if pairing is None:
        raise NotFound("I can't find that pairing any more. `/collab review` shows what is waiting.")
    return pairing


def load_view(session: Session, workspace: Workspace, pairing_id: int) -> PairingView:
    pairing = get_pairing(session, workspace, pairing_id)
    need, offer = session.get(Need, pairing.need_id), session.get(Offer, pairing.offer_id)
    return PairingView(pairing, need, offer, session.get(School, need.school_id), session.get(School, offer.school_id))


def _transition(
    session: Session, workspace: Workspace, pairing_id: int, from_state: str, to_state: str,
    actor: str, now: datetime, note: str | None = None, **values,
) -> Pairing:
    """Move one pairing from `from_state` to `to_state` if, and only if, it is still there."""
    if not State(from_state).can_become(State(to_state)):
        raise ValueError(f"a pairing never moves from {from_state} to {to_state}")
    moved = session.exec(
        update(Pairing)
        .where(Pairing.id == pairing_id, Pairing.workspace_id == workspace.id, Pairing.state == from_state)
        .values(state=str(to_state), updated_at=now, **values)
    ).rowcount
    pairing = get_pairing(session, workspace, pairing_id)
    if moved != 1:
        raise WrongState(pairing, to_state)
    session.add(PairingEvent(pairing_id=pairing_id, from_state=str(from_state), to_state=str(to_state), actor=actor,
                             at=now, note=note))
    session.flush()
    return pairing


def _require_lead(session: Session, workspace: Workspace, user_id: str, leads: frozenset[str]) -> None:
    if not is_lead(session, workspace, user_id, leads):
        raise NotALead()


def approve(
    session: Session, workspace: Workspace, pairing_id: int, lead_user_id: str, now: datetime | None = None,
    *, leads: frozenset[str] = frozenset(),
) -> Pairing:
    """A lead says yes. Only leads (COLLAB_LEADS or appointed); a second click changes nothing."""
    _require_lead(session, workspace, lead_user_id, leads)
    now = aware(now or utcnow())
    return _transition(session, workspace, pairing_id, State.PROPOSED, State.APPROVED, lead_user_id, now,
                       decided_by=lead_user_id, decided_at=now)


def reject(
    session: Session, workspace: Workspace, pairing_id: int, lead_user_id: str, now: datetime | None = None,
    reason: str | None = None, *, leads: frozenset[str] = frozenset(),
) -> Pairing:
    """A lead says no, optionally saying why. The pair is never proposed again (one row per pair)."""
    _require_lead(session, workspace, lead_user_id, leads)
    now = aware(now or utcnow())
    reason = (reason or "").strip()[:MAX_FEEDBACK_CHARS] or None
    return _transition(session, workspace, pairing_id, State.PROPOSED, State.REJECTED, lead_user_id, now, note=reason,
                       decided_by=lead_user_id, decided_at=now, reject_reason=reason)


def mark_introduced(
    session: Session, workspace: Workspace, pairing_id: int, conversation_id: str | None,
    now: datetime | None = None, actor: str = SYSTEM,
) -> Pairing:
    now = aware(now or utcnow())
    return _transition(session, workspace, pairing_id, State.APPROVED, State.INTRODUCED, actor, now,
                       introduced_at=now, conversation_id=conversation_id)


def side_of(session: Session, workspace: Workspace, view: PairingView, user_id: str) -> str:
    """Which side of the pairing this person is on, by their school (or as a poster)."""
    member = members.get_member(session, workspace, user_id)
    if member is not None:
        if member.id == view.need.member_id or member.school_id == view.need.school_id:
            return "taker"
        if member.id == view.offer.member_id or member.school_id == view.offer.school_id:
            return "giver"
    raise NotFound("This pairing is between two other schools, so only they can answer for it.")


def record_followup_answer(
    session: Session, workspace: Workspace, pairing_id: int, user_id: str, answer: str,
    now: datetime | None = None,
) -> Pairing:
    """`yes` → connected, `no` (it didn't happen) → declined (frees the offer), `not_yet` → ask again in a week."""
    if answer not in ANSWERS:
        raise InvalidInput(f"Unknown answer {answer!r}.")
    now = aware(now or utcnow())
    view = load_view(session, workspace, pairing_id)
    side_of(session, workspace, view, user_id)
    if answer == "not_yet":
        if view.pairing.state != State.INTRODUCED:
            raise WrongState(view.pairing, State.INTRODUCED)
        session.add(PairingEvent(pairing_id=pairing_id, from_state=State.INTRODUCED.value, to_state=State.INTRODUCED.value,
                                 actor=user_id, at=now, note=NOT_YET_NOTE))
        session.flush()
        return view.pairing
    extra = {"connected_at": now} if answer == "yes" else {}
    return _transition(session, workspace, pairing_id, State.INTRODUCED, ANSWERS[answer], user_id, now, **extra)


def record_feedback(
    session: Session, workspace: Workspace, pairing_id: int, user_id: str, impact: int,
    what_changed: str = "", comment: str = "", now: datetime | None = None,
) -> tuple[Pairing, Feedback]:
    """Keep one side's feedback (a second answer from the same school replaces the first);
    when both sides have answered the pairing is completed."""
    if not isinstance(impact, int) or impact not in IMPACTS:
        raise InvalidInput("Please choose how much difference it made.")
    now = aware(now or utcnow())
    view = load_view(session, workspace, pairing_id)
    if view.pairing.state not in CONNECTED:
        raise WrongState(view.pairing, State.COMPLETED)
    side = side_of(session, workspace, view, user_id)
    member = members.get_member(session, workspace, user_id)
    feedback = session.exec(select(Feedback).where(Feedback.pairing_id == pairing_id, Feedback.side == side)).first()
    if feedback is None:
        feedback = Feedback(pairing_id=pairing_id, side=side, impact=impact)
        session.add(feedback)
    feedback.member_id = member.id if member else None
    feedback.impact = impact
    feedback.what_changed = (what_changed or "").strip()[:MAX_FEEDBACK_CHARS]
    feedback.comment = (comment or "").strip()[:MAX_FEEDBACK_CHARS]
    feedback.created_at = now
    session.flush()
    sides = set(session.exec(select(Feedback.side).where(Feedback.pairing_id == pairing_id)).all())
    pairing = view.pairing
    if sides >= set(SIDES) and pairing.state == State.CONNECTED:
        try:
            pairing = complete(session, workspace, pairing_id, now, actor=user_id, note="both sides gave feedback")
        except WrongState:
            pairing = get_pairing(session, workspace, pairing_id)
    return pairing, feedback


def complete(
    session: Session, workspace: Workspace, pairing_id: int, now: datetime | None = None,
    actor: str = SYSTEM, note: str | None = None,
) -> Pairing:
    now = aware(now or utcnow())
    return _transition(session, workspace, pairing_id, State.CONNECTED, State.COMPLETED, actor, now, note=note,
                       completed_at=now)


def contacts(session: Session, workspace: Workspace, view: PairingView) -> dict[str, list[Member]]:
    """Who speaks for each side: the poster, or if they have left, the school's other members."""
    found: dict[str, list[Member]] = {}
    for side, post in (("taker", view.need), ("giver", view.offer)):
        poster = session.get(Member, post.member_id) if post.member_id else None
        if poster is not None and poster.workspace_id == workspace.id:
            found[side] = [poster]
        else:
            found[side] = members.members_of_school(session, workspace, post.school_id)[:3]
    return found


def not_yet_answers(session: Session, pairing_id: int) -> list[PairingEvent]:
    return list(session.exec(
        select(PairingEvent)
        .where(PairingEvent.pairing_id == pairing_id, PairingEvent.note == NOT_YET_NOTE)
        .order_by(PairingEvent.at, PairingEvent.id)
    ).all())


def pending(session: Session, workspace: Workspace, limit: int = 20) -> list[PairingView]:
    """Proposals waiting for a lead, best first."""
    ids = session.exec(
        select(Pairing.id).where(Pairing.workspace_id == workspace.id, Pairing.state == State.PROPOSED)
        .order_by(Pairing.score.desc(), Pairing.id).limit(limit)
    ).all()
    return [load_view(session, workspace, pid) for pid in ids]


def count_pending(session: Session, workspace: Workspace) -> int:
    from sqlalchemy import func

    return session.exec(
        select(func.count()).select_from(Pairing)
        .where(Pairing.workspace_id == workspace.id, Pairing.state == State.PROPOSED)
    ).one()


# --------------------------------------------------------------------------- Slack-facing steps
# These send through the outbox (exactly once per key) and the Messenger protocol only.


