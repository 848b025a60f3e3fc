"""The weekly digest: one DM per person, about their school's week and the network's.

``digest_facts`` reads the database and returns facts; bot/messages/digests.py words them and
bot/delivery/digests.py sends one per member who has not paused (people without a school only
if they are leads) through the outbox, keyed ``digest:{ISO week in the network's time zone}:{Slack
user id}``, so a rerun of a crashed run, or a second clock, never sends anyone two digests in a week.

What a school sees is about itself and never compares it with another school: its new
pairings and introductions, its needs still waiting and why, what it has given and received
this school year, and one line about the network as a whole. Leads also get the network's
counts by theme.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.config import Settings
from bot.domain.pairings import AGREED, CONNECTED, UNDER_WAY, State
from bot.domain.time import aware
from bot.services.calendar import half_term_start, iso_week, school_year_start
from bot.services.matches import pairings_of_school
from bot.services.members import is_paused
from bot.services.reciprocity import give_receive, helped_pairings
from bot.services.gaps import network_gaps
from models import Member, Need, Offer, Pairing, School, Workspace

KIND = "digest"
WEEK = timedelta(days=7)


@dataclass
class Event:
    """Something that happened to one of the school's pairings this past week."""

    what: str  # approved, introduced, connected, completed
    role: str  # receiving (our need) or giving (our offer)
    partner: School
    need: Need
    offer: Offer
    at: datetime


@dataclass
class Waiting:
    need: Need
    reason: str  # review, no_offer, full, no_close_offer


@dataclass
class ThemeCounts:
    waiting: int = 0
    in_progress: int = 0
    connected: int = 0


@dataclass
class NetworkSummary:
    needs_waiting: int
    in_progress: int
    connected: int
    offers_open: int
    by_theme: dict[str, ThemeCounts]
    # Themes where waiting needs outnumber the places still free (bot/services/gaps.py).
    gaps: list = field(default_factory=list)


@dataclass
class DigestFacts:
    user_id: str
    school: School | None
    week_of: datetime
    events: list[Event] = field(default_factory=list)
    waiting: list[Waiting] = field(default_factory=list)
    given: int = 0
    received: int = 0
    schools_helping: int = 0
    network: NetworkSummary | None = None


def _within(moment: datetime | None, start: datetime, end: datetime) -> bool:
    moment = aware(moment)
    return moment is not None and start <= moment < end


def school_events(session: Session, workspace: Workspace, school: School, now: datetime) -> list[Event]:
    start = now - WEEK
    events = []
    for item in sorted(pairings_of_school(session, workspace, school, AGREED), key=lambda i: i.pairing.id):
        pairing, role, partner, need, offer = item.pairing, item.role, item.partner, item.need, item.offer
        # The latest step this week is the news; an approval already introduced is old news.
        for what, at in (
            ("completed", pairing.completed_at),
            ("connected", pairing.connected_at),
            ("introduced", pairing.introduced_at),
            ("approved", pairing.decided_at if pairing.state == State.APPROVED else None),
        ):
            if _within(at, start, now):
                events.append(Event(what, role, partner, need, offer, aware(at)))
                break
    return events


def capacity_left(session: Session, workspace: Workspace, now: datetime) -> dict[int, int]:
    """Open offers by id → slots left this term, by the same rule the rounds use."""
    from bot.services.rounds import capacity_used

    used = capacity_used(session, workspace, now)
    offers = session.exec(select(Offer).where(Offer.workspace_id == workspace.id, Offer.status == "open")).all()
    return {o.id: o.capacity_per_term - used[o.id] for o in offers}


def waiting_needs(session: Session, workspace: Workspace, school: School, now: datetime,
                  run: "RunFacts | None" = None) -> list[Waiting]:
    needs = session.exec(
        select(Need).where(Need.workspace_id == workspace.id, Need.school_id == school.id, Need.status == "open")
        .order_by(Need.created_at, Need.id)
    ).all()
    if not needs:
        return []
    states: dict[int, set[str]] = {}
    for need_id, state in session.exec(
        select(Pairing.need_id, Pairing.state).where(Pairing.need_id.in_([n.id for n in needs]))
    ).all():
        states.setdefault(need_id, set()).add(state)
    run = run or run_facts(session, workspace, now)
    others = [o for o in run.open_offers if o.school_id != school.id]
    left = run.capacity_left
    result = []
    for need in needs:
        mine = states.get(need.id, set())
        # A need is waiting until a lead has approved a pairing for it (and again if that fell through).
        if mine & set(AGREED):
            continue
        same_theme = [o for o in others if o.theme == need.theme]
        if State.PROPOSED in mine:
            reason = "review"
        elif not same_theme:
            reason = "no_offer"
        elif all(left.get(o.id, 0) <= 0 for o in same_theme):
            reason = "full"
        else:
            reason = "no_close_offer"
        result.append(Waiting(need, reason))
    return result


def schools_helping(session: Session, workspace: Workspace, since: datetime) -> int:
    """How many schools gave or received help (an introduction or more) since `since`."""
    schools = set()
    for _, taker, giver in helped_pairings(session, workspace, since):
        schools.update((taker, giver))
    return len(schools)


def network_summary(session: Session, workspace: Workspace, now: datetime, settings: Settings) -> NetworkSummary:
    since = school_year_start(now, settings)
    by_theme: dict[str, ThemeCounts] = {}
    needs = session.exec(select(Need).where(Need.workspace_id == workspace.id)).all()
    need_theme = {n.id: n.theme for n in needs}
    taken = set(session.exec(
        select(Pairing.need_id).where(Pairing.workspace_id == workspace.id, Pairing.state.in_(AGREED))
    ).all())
    for need in needs:
        if need.status == "open" and need.id not in taken:
            by_theme.setdefault(need.theme, ThemeCounts()).waiting += 1
    for pairing in session.exec(
        select(Pairing).where(Pairing.workspace_id == workspace.id, Pairing.state.in_(UNDER_WAY + CONNECTED))
    ).all():
        counts = by_theme.setdefault(need_theme.get(pairing.need_id, "other"), ThemeCounts())
        if pairing.state in UNDER_WAY:
            counts.in_progress += 1
        elif (aware(pairing.connected_at or pairing.introduced_at or pairing.created_at)) >= since:
            counts.connected += 1
    offers_open = len(session.exec(
        select(Offer.id).where(Offer.workspace_id == workspace.id, Offer.status == "open")
    ).all())
    return NetworkSummary(
        needs_waiting=sum(c.waiting for c in by_theme.values()),
        in_progress=sum(c.in_progress for c in by_theme.values()),
        connected=sum(c.connected for c in by_theme.values()),
        offers_open=offers_open,
        by_theme={t: c for t, c in sorted(by_theme.items()) if c.waiting or c.in_progress or c.connected},
        gaps=network_gaps(session, workspace, now),
    )


def _is_lead(member: Member, settings: Settings) -> bool:
    return bool(member.is_lead or member.slack_user_id in settings.leads)


@dataclass
class RunFacts:
    """What every digest of one run shares, read once per run instead of once per member.

    The workspace-wide facts (open offers and their capacity left, schools helping, the network
    summary for leads) and, per school, what all its members are told (filled in as schools come
    up). Without it a 2,000-member run re-read the whole workspace 2,000 times.
    """

    open_offers: list[Offer]
    capacity_left: dict[int, int]
    schools_helping: int | None = None
    network: NetworkSummary | None = None
    schools: dict[int, tuple] = field(default_factory=dict)


def run_facts(session: Session, workspace: Workspace, now: datetime) -> RunFacts:
    offers = session.exec(select(Offer).where(Offer.workspace_id == workspace.id, Offer.status == "open")).all()
    return RunFacts(open_offers=list(offers), capacity_left=capacity_left(session, workspace, now))


def digest_facts(session: Session, workspace: Workspace, member: Member, now: datetime, settings: Settings,
                 run: RunFacts | None = None) -> DigestFacts:
    """One member's digest facts. Pass the run's :class:`RunFacts` when composing many digests at once."""
    now = aware(now)
    run = run or run_facts(session, workspace, now)
    school = session.get(School, member.school_id) if member.school_id else None
    facts = DigestFacts(user_id=member.slack_user_id, school=school, week_of=now)
    if school is not None:
        if school.id not in run.schools:
            run.schools[school.id] = (
                school_events(session, workspace, school, now),
                waiting_needs(session, workspace, school, now, run),
                give_receive(session, workspace, school.id, school_year_start(now, settings)),
            )
        facts.events, facts.waiting, (facts.given, facts.received) = run.schools[school.id]
    if run.schools_helping is None:
        run.schools_helping = schools_helping(session, workspace, half_term_start(now, settings))
    facts.schools_helping = run.schools_helping
    if _is_lead(member, settings):
        if run.network is None:
            run.network = network_summary(session, workspace, now, settings)
        facts.network = run.network
    return facts


def digest_key(now: datetime, settings: Settings, user_id: str) -> str:
    return f"{KIND}:{iso_week(now, settings)}:{user_id}"


def recipients(session: Session, workspace: Workspace, now: datetime, settings: Settings) -> list[Member]:
    """Everyone who gets a digest: members not paused, with a school or a lead; configured leads too."""
    rows = session.exec(select(Member).where(Member.workspace_id == workspace.id).order_by(Member.id)).all()
    chosen = [m for m in rows if not is_paused(m, now) and (m.school_id is not None or _is_lead(m, settings))]
    known = {m.slack_user_id for m in rows}
    for user_id in sorted(settings.leads - known):
        # A lead named in COLLAB_LEADS who never used /collab: not stored, still told.
        chosen.append(Member(workspace_id=workspace.id, slack_user_id=user_id, is_lead=True))
    return chosen


