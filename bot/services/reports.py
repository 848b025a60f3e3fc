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
from models import Feedback, Member, Need, Offer, Pairing, School, Workspace

# A cell starting with one of these is read as a formula by Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

CSV_COLUMNS = (
    "pairing_id", "state",
    "need_school_urn", "need_school_name", "need_theme", "need_text",
    "offer_school_urn", "offer_school_name", "offer_theme", "offer_text",
    "proposed_at", "decided_at", "introduced_at", "connected_at", "completed_at",
    "decided_by", "impact_from_need_school", "impact_from_offer_school",
)

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


def _decided_by(pairing: Pairing) -> str:
    if pairing.decided_by is None:
        return ""
    return FORGOTTEN if pairing.decided_by == FORGOTTEN else pairing.decided_by


def pairings_csv(session: Session, workspace: Workspace, zone: ZoneInfo | str = "Europe/London") -> str:
    """Every pairing of this workspace, one row each, oldest first, times in the network's zone."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    rows = session.exec(
        select(Pairing, Need, Offer)
        .join(Need, Need.id == Pairing.need_id)
        .join(Offer, Offer.id == Pairing.offer_id)
        .where(Pairing.workspace_id == workspace.id, Need.workspace_id == workspace.id,
               Offer.workspace_id == workspace.id)
        .order_by(Pairing.id)
    ).all()
    school_ids = {n.school_id for _, n, _ in rows} | {o.school_id for _, _, o in rows}
    schools = {s.id: s for s in session.exec(select(School).where(School.id.in_(school_ids))).all()} if school_ids else {}
    impacts: dict[tuple[int, str], int] = {}
    pairing_ids = [p.id for p, _, _ in rows]
    if pairing_ids:
        for pid, side, impact in session.exec(
            select(Feedback.pairing_id, Feedback.side, Feedback.impact).where(Feedback.pairing_id.in_(pairing_ids))
        ).all():
            impacts[(pid, side)] = impact

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for pairing, need, offer in rows:
        taker, giver = schools[need.school_id], schools[offer.school_id]
        writer.writerow([safe_cell(v) for v in (
            pairing.id, pairing.state,
            taker.urn, taker.name, need.theme, need.text,
            giver.urn, giver.name, offer.theme, offer.text,
            _when(pairing.created_at, zone), _when(pairing.decided_at, zone), _when(pairing.introduced_at, zone),
            _when(pairing.connected_at, zone), _when(pairing.completed_at, zone),
            _decided_by(pairing), impacts.get((pairing.id, "taker")), impacts.get((pairing.id, "giver")),
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
class NetworkReport:
    at: datetime
    needs_open: int = 0        # open and not yet taken by an approved pairing (proposals still count as open)
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

    @property
    def pairings(self) -> int:
        return sum(sum(t.pairings.values()) for t in self.by_theme.values())

    def states(self) -> list[str]:
        """The states that occur, in lifecycle order."""
        seen = {s for t in self.by_theme.values() for s in t.pairings}
        return [s for s in State if s in seen] + sorted(seen - set(State))


# A need's furthest pairing decides where it counts.
_NEED_STAGE = {State.COMPLETED: 3, State.CONNECTED: 2, State.APPROVED: 1, State.INTRODUCED: 1}


def network_report(session: Session, workspace: Workspace, now: datetime) -> NetworkReport:
    """The network's counts, by theme, and the average impact from feedback. Names no school."""
    now = aware(now)
    report = NetworkReport(at=now)
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
    return report


def count_rows(session: Session, workspace: Workspace) -> int:
    """How many pairings the export would hold."""
    return session.exec(select(func.count(Pairing.id)).where(Pairing.workspace_id == workspace.id)).one()
