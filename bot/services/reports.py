"""What leads see of their network as a whole: the pairings export (CSV) and the network report.

Both are read-only and scoped to one workspace. Data for improvement, not fear: the report
counts the network and its themes, never ranks or names schools, and shows impact only as an
average. No Slack here (the listener uploads); the chart is drawn in :mod:`bot.messages.reports`.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, select

from bot.domain.pairings import HELPED, State
from bot.domain.people import FORGOTTEN
from bot.domain.time import aware
from bot.services.gaps import network_gaps
from models import Feedback, Member, Need, Offer, Pairing, School, Workspace

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# The export's columns, headed in words a lead's spreadsheet can show as they are.
CSV_COLUMNS = (
    "Pairing", "State",
    "Needing school URN", "Needing school", "Need theme", "Need", "Need posted by",
    "Offering school URN", "Offering school", "Offer theme", "Offer", "Offer posted by",
    "Why paired", "Proposed", "Decided by", "Decided", "Reason for rejecting",
    "Introduced", "Connected", "Completed", "Impact (needing school)", "Impact (offering school)",
)
EXPORT_STATES = {
    "proposed": "Waiting for review", "approved": "Approved", "rejected": "Not approved",
    "introduced": "Introduced", "connected": "Connected", "declined": "Didn't go ahead", "completed": "Completed",
}
# Shown where a person's name was when they used forget-me, or Slack could not tell us their name.
NO_NAME = "a former member"

REVIEW_WAIT = timedelta(days=2)


def safe_cell(value) -> str:
    """A cell a spreadsheet shows as text: a leading = + - @ (or tab / CR) gets a ' in front."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    moment = aware(moment)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def _rows(session: Session, workspace: Workspace):
    return session.exec(
        select(Pairing, Need, Offer)
        .join(Need, Need.id == Pairing.need_id)
        .join(Offer, Offer.id == Pairing.offer_id)
        .where(Pairing.workspace_id == workspace.id, Need.workspace_id == workspace.id,
               Offer.workspace_id == workspace.id)
        .order_by(Pairing.id)
    ).all()


def export_people(session: Session, workspace: Workspace) -> set[str]:
    """The Slack ids whose names the export shows: who posted each need and offer, who decided."""
    rows = _rows(session, workspace)
    member_ids = {n.member_id for _, n, _ in rows} | {o.member_id for _, _, o in rows}
    member_ids.discard(None)
    people = {p.decided_by for p, _, _ in rows if p.decided_by and p.decided_by != FORGOTTEN}
    if member_ids:
        people |= set(session.exec(select(Member.slack_user_id).where(Member.id.in_(member_ids))).all())
    return people


def pairings_csv(session: Session, workspace: Workspace, zone: ZoneInfo | str = "Europe/London",
                 names: dict[str, str] | None = None) -> str:
    """Every pairing of this workspace, one row each, oldest first, times in the network's zone.

    `names` maps Slack ids to people's names (the Slack edge looks them up); an id without a name,
    or a person who used forget-me, shows as "a former member", never as a raw id.
    """
    from matching.themes import THEME_LABELS

    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    names = names or {}
    rows = _rows(session, workspace)
    school_ids = {n.school_id for _, n, _ in rows} | {o.school_id for _, _, o in rows}
    schools = {s.id: s for s in session.exec(select(School).where(School.id.in_(school_ids))).all()} if school_ids else {}
    member_ids = ({n.member_id for _, n, _ in rows} | {o.member_id for _, _, o in rows}) - {None}
    posters = dict(session.exec(select(Member.id, Member.slack_user_id).where(Member.id.in_(member_ids))).all()) \
        if member_ids else {}
    impacts: dict[tuple[int, str], int] = {}
    pairing_ids = [p.id for p, _, _ in rows]
    if pairing_ids:
        for pid, side, impact in session.exec(
            select(Feedback.pairing_id, Feedback.side, Feedback.impact).where(Feedback.pairing_id.in_(pairing_ids))
        ).all():
            impacts[(pid, side)] = impact

    def person(slack_id: str | None) -> str:
        if not slack_id:
            return ""
        return names.get(slack_id) or NO_NAME

    def poster(member_id: int | None) -> str:
        return person(posters.get(member_id)) if member_id else NO_NAME

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for pairing, need, offer in rows:
        taker, giver = schools[need.school_id], schools[offer.school_id]
        reason = (pairing.reason or "").strip()
        writer.writerow([safe_cell(v) for v in (
            pairing.id, EXPORT_STATES.get(pairing.state, pairing.state),
            taker.urn, taker.name, THEME_LABELS.get(need.theme, need.theme), need.text, poster(need.member_id),
            giver.urn, giver.name, THEME_LABELS.get(offer.theme, offer.theme), offer.text, poster(offer.member_id),
            reason[4:].strip() if reason.lower().startswith("why:") else reason,
            _when(pairing.created_at, zone), person(pairing.decided_by), _when(pairing.decided_at, zone),
            pairing.reject_reason or "",
            _when(pairing.introduced_at, zone), _when(pairing.connected_at, zone), _when(pairing.completed_at, zone),
            impacts.get((pairing.id, "taker")), impacts.get((pairing.id, "giver")),
        )])
    return out.getvalue()


# --------------------------------------------------------------------------- the network report

@dataclass
class ThemeReport:
    needs: int = 0
    offers_open: int = 0
    pairings: dict[str, int] = field(default_factory=dict)  # state -> count
    impacts: list[int] = field(default_factory=list)

    @property
    def average_impact(self) -> float | None:
        return sum(self.impacts) / len(self.impacts) if self.impacts else None


@dataclass
class Quartile:
    """Schools in one quarter of the network by share of pupils on free school meals, and their needs."""

    label: str           # "Highest quarter"
    low: float           # its range of % FSM
    high: float
    schools: int = 0
    needs: int = 0       # needs posted in the period
    met: int = 0         # of those, introduced to a school that could help (or further)

    @property
    def share_met(self) -> float | None:
        return self.met / self.needs if self.needs else None


@dataclass
class Exchange:
    """How help flowed across the network's schools in the period: counts of schools, none named."""

    gave_and_received: int = 0
    gave_only: int = 0
    received_only: int = 0
    neither: int = 0


QUARTILE_LABELS = ("Lowest quarter", "Second quarter", "Third quarter", "Highest quarter")
MIN_SCHOOLS_FOR_QUARTILES = 4


@dataclass
class NetworkReport:
    at: datetime
    since: datetime | None = None      # the start of the period the year-so-far figures cover
    needs_open: int = 0        # open and not yet taken by an approved pairing (proposals still count as open)
    needs_open_suggested: int = 0  # of those, whose theme is our suggestion: nobody at the school confirmed it
    needs_paired: int = 0      # approved or introduced
    needs_connected: int = 0
    needs_completed: int = 0
    offers_open: int = 0
    schools_taking_part: int = 0
    schools_gave: int = 0
    schools_received: int = 0
    waiting_review: int = 0           # proposals waiting for a lead
    waiting_review_long: int = 0      # of those, waiting two days or more
    feedback_count: int = 0
    average_impact: float | None = None
    by_theme: dict[str, ThemeReport] = field(default_factory=dict)
    # The school year so far (from `since`)
    needs_posted: int = 0
    introductions: int = 0           # introduced (and anything after) in the period
    connections: int = 0
    year_by_theme: dict[str, dict[str, int]] = field(default_factory=dict)  # pairings proposed in the period
    quartiles: list[Quartile] = field(default_factory=list)  # empty: too few schools with a known % FSM
    fsm_unknown_needs: int = 0
    exchange: Exchange = field(default_factory=Exchange)
    # Themes where waiting needs outnumber the places still free (bot/services/gaps.py): what a lead can act on.
    gaps: list = field(default_factory=list)

    @property
    def year_pairings(self) -> int:
        return sum(sum(c.values()) for c in self.year_by_theme.values())

    def year_states(self) -> list[str]:
        seen = {s for c in self.year_by_theme.values() for s in c}
        return [s for s in State if s in seen] + sorted(seen - set(State))

    @property
    def pairings(self) -> int:
        return sum(sum(t.pairings.values()) for t in self.by_theme.values())

    def states(self) -> list[str]:
        """The states that occur, in lifecycle order."""
        seen = {s for t in self.by_theme.values() for s in t.pairings}
        return [s for s in State if s in seen] + sorted(seen - set(State))


# A need's furthest pairing decides where it counts.
_NEED_STAGE = {State.COMPLETED: 3, State.CONNECTED: 2, State.APPROVED: 1, State.INTRODUCED: 1}


def network_report(session: Session, workspace: Workspace, now: datetime, since: datetime | None = None) -> NetworkReport:
    """The network's counts, by theme, and the average impact from feedback; with `since` (the start
    of the school year) the year so far too: needs met by share of disadvantaged pupils, and how help
    flowed. Names no school."""
    now = aware(now)
    since = aware(since)
    report = NetworkReport(at=now, since=since, gaps=network_gaps(session, workspace, now))
    needs = session.exec(select(Need).where(Need.workspace_id == workspace.id)).all()
    offers = session.exec(select(Offer).where(Offer.workspace_id == workspace.id)).all()
    rows = session.exec(
        select(Pairing, Need, Offer)
        .join(Need, Need.id == Pairing.need_id)
        .join(Offer, Offer.id == Pairing.offer_id)
        .where(Pairing.workspace_id == workspace.id)
    ).all()

    def theme(name: str) -> ThemeReport:
        return report.by_theme.setdefault(name, ThemeReport())

    stage: dict[int, int] = {}
    gave, received = set(), set()
    for pairing, need, offer in rows:
        counts = theme(need.theme).pairings
        counts[pairing.state] = counts.get(pairing.state, 0) + 1
        if pairing.state in _NEED_STAGE:
            stage[need.id] = max(stage.get(need.id, 0), _NEED_STAGE[pairing.state])
        if pairing.state in HELPED:
            gave.add(offer.school_id)
            received.add(need.school_id)
        if pairing.state == State.PROPOSED:
            report.waiting_review += 1
            if now - aware(pairing.created_at) >= REVIEW_WAIT:
                report.waiting_review_long += 1

    for need in needs:
        theme(need.theme).needs += 1
        level = stage.get(need.id, 0)
        if level == 3:
            report.needs_completed += 1
        elif level == 2:
            report.needs_connected += 1
        elif level == 1:
            report.needs_paired += 1
        elif need.status == "open":
            report.needs_open += 1
            report.needs_open_suggested += not need.theme_chosen
    for offer in offers:
        if offer.status == "open":
            report.offers_open += 1
            theme(offer.theme).offers_open += 1

    need_theme = {p.id: n.theme for p, n, _ in rows}
    if need_theme:
        impacts = session.exec(
            select(Feedback.pairing_id, Feedback.impact).where(Feedback.pairing_id.in_(list(need_theme)))
        ).all()
        for pid, impact in impacts:
            theme(need_theme[pid]).impacts.append(impact)
        values = [i for _, i in impacts]
        report.feedback_count = len(values)
        report.average_impact = sum(values) / len(values) if values else None

    member_schools = session.exec(
        select(Member.school_id).where(Member.workspace_id == workspace.id, Member.school_id.is_not(None))
    ).all()
    report.schools_taking_part = len(
        set(member_schools) | {n.school_id for n in needs} | {o.school_id for o in offers})
    report.schools_gave, report.schools_received = len(gave), len(received)
    report.by_theme = dict(sorted(report.by_theme.items()))
    if since is not None:
        taking_part = set(member_schools) | {n.school_id for n in needs} | {o.school_id for o in offers}
        _year_so_far(session, report, since, needs, rows, taking_part)
    return report


def _in(moment: datetime | None, since: datetime) -> bool:
    return moment is not None and aware(moment) >= since


def _year_so_far(session: Session, report: NetworkReport, since: datetime, needs, rows, taking_part: set) -> None:
    """The school year's figures: all counts, computed from rows already read plus the schools' % FSM."""
    year_needs = [n for n in needs if _in(n.created_at, since)]
    report.needs_posted = len(year_needs)
    met, gave, received = set(), set(), set()
    for pairing, need, offer in rows:
        if _in(pairing.created_at, since):
            counts = report.year_by_theme.setdefault(need.theme, {})
            counts[pairing.state] = counts.get(pairing.state, 0) + 1
        if pairing.state in HELPED and _in(pairing.introduced_at or pairing.updated_at, since):
            report.introductions += 1
            met.add(need.id)
            gave.add(offer.school_id)
            received.add(need.school_id)
            if pairing.state in (State.CONNECTED, State.COMPLETED):
                report.connections += 1
    report.year_by_theme = dict(sorted(report.year_by_theme.items()))
    report.exchange = Exchange(
        gave_and_received=len(gave & received), gave_only=len(gave - received),
        received_only=len(received - gave), neither=len(taking_part - gave - received))

    ids = taking_part | {n.school_id for n in year_needs}
    fsm = dict(session.exec(select(School.id, School.fsm_percent).where(School.id.in_(ids))).all()) if ids else {}
    known = sorted(v for sid, v in fsm.items() if sid in taking_part and v is not None)
    report.fsm_unknown_needs = sum(1 for n in year_needs if fsm.get(n.school_id) is None)
    if len(known) < MIN_SCHOOLS_FOR_QUARTILES:
        return
    cuts = [known[(len(known) * q) // 4] for q in (1, 2, 3)]

    def quarter(value: float) -> int:
        return sum(value >= c for c in cuts)

    bands = [[v for v in known if quarter(v) == q] for q in range(4)]
    report.quartiles = [Quartile(QUARTILE_LABELS[q], min(b), max(b), len(b)) for q, b in enumerate(bands) if b]
    by_label = {row.label: row for row in report.quartiles}
    for need in year_needs:
        value = fsm.get(need.school_id)
        if value is None or need.school_id not in taking_part:
            continue
        row = by_label[QUARTILE_LABELS[quarter(value)]]
        row.needs += 1
        row.met += need.id in met


def count_rows(session: Session, workspace: Workspace) -> int:
    """How many pairings the export would hold."""
    return session.exec(select(func.count(Pairing.id)).where(Pairing.workspace_id == workspace.id)).one()
