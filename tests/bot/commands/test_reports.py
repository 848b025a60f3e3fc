"""Lead reports: `/collab export` (CSV), `/collab report` (summary and chart) and the daily review reminders,
through signed HTTP requests and the stub Slack, on both backends."""
from __future__ import annotations

import csv
import dataclasses
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlmodel import select

from bot.scheduling import jobs
from bot.scheduling.registry import Runtime
from bot.slack.app import make_client
from bot.slack.messenger import SlackMessenger
from bot.services import members
from bot.services.reminders import waiting
from bot.services.reports import CSV_COLUMNS, network_report
from models import Feedback, Need, Offer, OutgoingMessage, Pairing, School
from models.db import session_scope
from tests.bot.conftest import LEAD
from tests.support import network as net
from tests.support.slack_stub import dm_channel_id

OTHER_TEAM = "T0OTHER001"
OTHER_LEAD = "U0LEAD0002"
APPOINTED = "U0LEAD0003"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday in term, 09:00 in London
PNG = b"\x89PNG\r\n\x1a\n"


def pairing(engine, need_id, offer_id, state, at=T0, team=net.TEAM, **values) -> int:
    ws = net.workspace(engine, team)
    with session_scope(engine) as session:
        row = Pairing(workspace_id=ws.id, need_id=need_id, offer_id=offer_id, state=state, created_at=at,
                      updated_at=at, reason="both about attendance", **values)
        session.add(row)
        session.flush()
        return row.id


def feedback(engine, pairing_id, side, impact):
    with session_scope(engine) as session:
        session.add(Feedback(pairing_id=pairing_id, side=side, impact=impact, comment="it helped"))


def build(engine):
    """Colgate's absence need completed with Hinchley Wood (feedback 4 and 5, decided by a lead who then
    left), a phonics need with a formula-like text proposed to St Mary's, and another network's pairing."""
    net.join_all(engine)
    absence = net.need(engine, net.COLGATE, net.ABSENCE_NEED, theme="attendance")
    offer = net.offer(engine, net.HINCHLEY, net.ABSENCE_OFFER, theme="attendance")
    done = pairing(engine, absence, offer, "completed", decided_by=OTHER_LEAD, decided_at=T0 + timedelta(hours=1),
                   introduced_at=T0 + timedelta(hours=1), connected_at=T0 + timedelta(days=7),
                   completed_at=T0 + timedelta(days=35))
    feedback(engine, done, "taker", 4)
    feedback(engine, done, "giver", 5)
    phonics = net.need(engine, net.STMARYRC, "=HYPERLINK(\"http://evil.example\",\"click\") phonics help",
                       theme="reading")
    share = net.offer(engine, net.STMARY, "@SUM(1+1) we share our phonics scheme", theme="reading")
    waiting = pairing(engine, phonics, share, "proposed", at=T0 + timedelta(days=40))
    with session_scope(engine) as session:
        members.forget_me(session, net.workspace(engine), OTHER_LEAD)
    # Another network: the same schools, its own secrets.
    other = {"U0OTHER001": "126013", "U0OTHER002": "136712"}
    net.join_all(engine, team=OTHER_TEAM, staff=other)
    secret_need = net.need(engine, "U0OTHER001", "OTHER NETWORK SECRET need about attendance", team=OTHER_TEAM,
                           theme="attendance")
    secret_offer = net.offer(engine, "U0OTHER002", "OTHER NETWORK SECRET offer", team=OTHER_TEAM, theme="attendance")
    pairing(engine, secret_need, secret_offer, "connected", team=OTHER_TEAM)
    return done, waiting


def uploaded(slack):
    """(bytes uploaded, the completeUploadExternal call) of the one file sent."""
    [complete] = slack.wait_for("files.completeUploadExternal")
    [upload] = slack.calls_to("upload")
    [described] = complete.json("files")
    assert described["id"] == upload.params["file_id"]
    return upload.body, complete


# --------------------------------------------------------------------------- export

def test_export_sends_the_lead_a_csv_of_this_networks_pairings(sender, slack, engine, schools):
    done, waiting = build(engine)
    response = sender.command("export", user_id=LEAD)
    assert response.status_code == 200 and "Preparing your export" in response.json()["text"]
    data, complete = uploaded(slack)
    assert complete.params["channel_id"] == dm_channel_id(LEAD)
    [opened] = slack.calls_to("conversations.open")
    assert opened.params["users"] == LEAD
    assert "2 pairings" in complete.params["initial_comment"]

    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    assert [r["Pairing"] for r in rows] == [str(done), str(waiting)]
    assert "OTHER NETWORK SECRET" not in data.decode("utf-8-sig")

    first, second = rows
    with session_scope(engine) as session:
        p = session.get(Pairing, done)
        need, offer = session.get(Need, p.need_id), session.get(Offer, p.offer_id)
        taker, giver = session.get(School, need.school_id), session.get(School, offer.school_id)
    assert first["State"] == "Completed"
    assert (first["Needing school URN"], first["Needing school"]) == (taker.urn, taker.name) == ("126013", "Colgate Primary School")
    assert (first["Offering school URN"], first["Offering school"]) == (giver.urn, giver.name)
    # Themes by their label, people by their name (from users.info), never a slug or a Slack id.
    assert (first["Need theme"], first["Need"]) == ("Attendance", need.text)
    assert (first["Offer theme"], first["Offer"]) == ("Attendance", offer.text)
    names = {c.params["user"]: c.response["user"]["real_name"] for c in slack.calls_to("users.info")}
    assert first["Need posted by"] == names[net.COLGATE] and first["Offer posted by"] == names[net.HINCHLEY]
    import re

    people = [r[c] for r in rows for c in ("Need posted by", "Offer posted by", "Decided by")]
    assert people and not [p for p in people if re.fullmatch(r"[UW][A-Z0-9]{2,}", p)]
    assert first["Why paired"] == "both about attendance"
    # Times in London: 2 March is GMT, 6 April (35 days on) is BST.
    assert first["Proposed"] == "2026-03-02 09:00" and first["Decided"] == "2026-03-02 10:00"
    assert first["Introduced"] == "2026-03-02 10:00" and first["Connected"] == "2026-03-09 09:00"
    assert first["Completed"] == "2026-04-06 10:00"
    assert first["Decided by"] == "a former member"  # the lead who decided used forget-me
    assert (first["Impact (needing school)"], first["Impact (offering school)"]) == ("4", "5")

    assert second["State"] == "Waiting for review" and second["Decided by"] == "" and second["Decided"] == ""
    # Cells a spreadsheet would run as formulas are text.
    assert second["Need"].startswith("'=HYPERLINK(")
    assert second["Offer"].startswith("'@SUM(")


def test_export_has_the_reject_reason_and_the_deciders_name(sender, slack, engine, schools):
    net.join_all(engine)
    need = net.need(engine, net.COLGATE, net.ABSENCE_NEED, theme="post16_careers")
    offer = net.offer(engine, net.HINCHLEY, net.ABSENCE_OFFER, theme="send")
    pairing(engine, need, offer, "rejected", decided_by=LEAD, decided_at=T0, reject_reason="they already work together")
    slack.add_user(LEAD, real_name="Pat Lead")
    sender.command("export", user_id=LEAD)
    data, _ = uploaded(slack)
    [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert (row["State"], row["Decided by"], row["Reason for rejecting"]) == (
        "Not approved", "Pat Lead", "they already work together")
    assert (row["Need theme"], row["Offer theme"]) == ("Sixth form and careers", "SEND and inclusion")


def test_report_and_export_are_for_leads_only(sender, slack, engine, schools):
    build(engine)
    for sub in ("export", "report"):
        body = sender.command(sub, user_id=net.COLGATE).json()
        assert "only network leads" in body["text"]
    assert slack.calls_to("files.getUploadURLExternal") == [] and slack.calls_to("upload") == []
    assert slack.calls_to("conversations.open") == [] and slack.calls_to("chat.postMessage") == []


def test_an_appointed_lead_can_export_too(sender, slack, engine, schools):
    build(engine)
    with session_scope(engine) as session:
        members.set_lead(session, net.workspace(engine), APPOINTED, True)
    sender.command("export", user_id=APPOINTED)
    data, complete = uploaded(slack)
    assert complete.params["channel_id"] == dm_channel_id(APPOINTED)
    assert len(list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))) == 3


# --------------------------------------------------------------------------- report

def test_report_sends_a_chart_and_the_networks_counts(sender, slack, engine, schools):
    build(engine)  # pairings from last school year: counted in the totals, not in the year so far
    response = sender.command("report", user_id=LEAD)
    assert "Preparing your report" in response.json()["text"]
    [message] = slack.wait_for("chat.postMessage")
    summary = message.params["text"]
    assert "Needs now: 1 open, 0 paired, 0 connected, 1 completed" in summary
    assert "Offers open: 2" in summary
    assert "Schools taking part: 4; schools that have given help: 1; that have received help: 1" in summary
    assert "Waiting for review: 1" in summary
    assert "Average impact from feedback: 4.5 out of 5 (2 answers)" in summary
    # This network's two needs were posted today (this school year); their pairings date from last March.
    assert "This school year so far" in summary and "2 needs posted, 0 introductions, 0 connected" in summary
    assert "No pairings yet this school year, so no chart" in summary
    assert "Where the network needs offers" not in summary  # the open need has an offer with places
    # No school is named, ranked or compared.
    for school in net.SCHOOLS:
        assert school["name"] not in summary


def this_school_year(days_ago: float = 0):
    """A moment in the current school year, `days_ago` before now, never before 1 September."""
    from bot.config import Settings
    from bot.services.calendar import school_year_start

    now = datetime.now(timezone.utc)
    start = school_year_start(now, Settings())
    return max(start + timedelta(hours=1), now - timedelta(days=days_ago))


def test_report_of_the_school_year_has_a_dated_chart_and_needs_met_by_fsm_quarter(sender, slack, engine, schools):
    net.join_all(engine)
    at = this_school_year(days_ago=20)
    # Colgate (35 % FSM) gets help twice; St Mary's RC (20 %) posts a need still waiting.
    for _ in range(2):
        need = net.need(engine, net.COLGATE, net.ABSENCE_NEED, theme="attendance")
        offer = net.offer(engine, net.HINCHLEY, net.ABSENCE_OFFER, theme="attendance")
        pairing(engine, need, offer, "connected", at=at, introduced_at=at, connected_at=at, decided_by=LEAD,
                decided_at=at)
    net.need(engine, net.STMARYRC, net.PHONICS_NEED, theme="reading")
    sender.command("report", user_id=LEAD)
    data, complete = uploaded(slack)
    assert data.startswith(PNG)
    summary = complete.params["initial_comment"]
    assert "3 needs posted, 2 introductions, 2 connected" in summary
    assert "Highest quarter (35–35 % FSM, 1 school): 2 of 2 needs met (100 %)" in summary
    assert "Third quarter (20–20 % FSM, 1 school): 0 of 1 need met (0 %)" in summary
    assert "1 gave only, 1 received only, 2 not yet either" in summary
    for school in net.SCHOOLS:
        assert school["name"] not in summary
    assert "school year so far" in complete.json("files")[0]["title"]


def test_the_chart_draws_the_year_with_counts_and_dates(engine, schools):
    from bot.messages.reports import STATE_COLOURS, render_chart

    net.join_all(engine)
    at = this_school_year(days_ago=10)
    need = net.need(engine, net.COLGATE, net.ABSENCE_NEED, theme="attendance")
    offer = net.offer(engine, net.HINCHLEY, net.ABSENCE_OFFER, theme="attendance")
    pairing(engine, need, offer, "introduced", at=at, introduced_at=at)
    from bot.config import Settings
    from bot.services.calendar import school_year_start

    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        report = network_report(session, net.workspace(engine), now, since=school_year_start(now, Settings()))
    assert report.year_by_theme == {"attendance": {"introduced": 1}}
    assert render_chart(report).startswith(PNG)
    greys = [c for c in STATE_COLOURS.values() if len({c[1:3], c[3:5], c[5:7]}) == 1]
    assert len(greys) == 1 and len(set(STATE_COLOURS.values())) == len(STATE_COLOURS)


def test_report_counts_only_this_network(engine, schools):
    build(engine)
    with session_scope(engine) as session:
        report = network_report(session, net.workspace(engine), T0 + timedelta(days=43))
    assert report.pairings == 2
    assert {t: c.pairings for t, c in report.by_theme.items()} == {
        "attendance": {"completed": 1}, "reading": {"proposed": 1}}
    assert (report.waiting_review, report.waiting_review_long) == (1, 1)
    assert report.by_theme["attendance"].average_impact == 4.5


def test_report_with_no_pairings_says_so_without_a_chart(sender, slack, engine, schools):
    net.join_all(engine)
    sender.command("report", user_id=LEAD)
    [message] = slack.wait_for("chat.postMessage")
    assert message.params["channel"] == dm_channel_id(LEAD)
    assert "Needs now: 0 open" in message.params["text"] and "no chart" in message.params["text"]
    assert slack.calls_to("upload") == []


# --------------------------------------------------------------------------- review reminders

@pytest.fixture
def clock(engine, settings):
    """What `collab clock` builds and passes to every run; `clock(setting=...)` changes its settings."""

    class Clock:
        rt = Runtime(settings, engine, SlackMessenger(make_client(settings)))

        def __call__(self, **changes):
            self.rt = Runtime(dataclasses.replace(settings, **changes), engine, self.rt.messenger)

    return Clock()


def reminders(slack):
    return [c for c in slack.calls_to("chat.postMessage", ok=True) if "waiting for your review" in c.params["text"]]


def waiting_network(engine, at=T0):
    net.seed_schools(engine)
    net.join_all(engine)
    need = net.need(engine, net.COLGATE, net.ABSENCE_NEED, theme="attendance")
    offer = net.offer(engine, net.HINCHLEY, net.ABSENCE_OFFER, theme="attendance")
    pairing(engine, need, offer, "proposed", at=at)
    phonics = net.need(engine, net.STMARYRC, net.PHONICS_NEED, theme="reading")
    share = net.offer(engine, net.STMARY, net.PHONICS_OFFER, theme="reading")
    pairing(engine, phonics, share, "proposed", at=at + timedelta(days=1))
    with session_scope(engine) as session:
        members.set_lead(session, net.workspace(engine), APPOINTED, True)


def test_leads_are_reminded_once_when_proposals_have_waited_two_days(engine, slack, clock):
    waiting_network(engine)
    with freeze_time(T0 + timedelta(days=1)):  # fresh: one day
        assert jobs.run_job(clock.rt, "review_reminders").status == "done"
    assert reminders(slack) == []
    with session_scope(engine) as session:  # the boundary: two days to the minute
        ws = net.workspace(engine)
        assert waiting(session, ws, T0 + timedelta(days=2) - timedelta(minutes=1)) == (0, None)
        assert waiting(session, ws, T0 + timedelta(days=2))[0] == 2

    with freeze_time(T0 + timedelta(days=2)):
        assert jobs.run_job(clock.rt, "review_reminders").status == "done"
    sent = reminders(slack)
    assert sorted(c.params["channel"] for c in sent) == sorted([LEAD, APPOINTED])
    assert {c.params["text"] for c in sent} == {"2 pairings are waiting for your review — /collab review"}

    with freeze_time(T0 + timedelta(days=2, hours=3)):  # the same day again
        assert jobs.run_job(clock.rt, "review_reminders").status == "busy"
        jobs.catch_up(clock.rt, ("review_reminders",))
    with freeze_time(T0 + timedelta(days=3)):  # the next day: too soon
        assert jobs.run_job(clock.rt, "review_reminders").status == "done"
    assert len(reminders(slack)) == 2

    with freeze_time(T0 + timedelta(days=4)):  # two days on, still waiting
        assert jobs.run_job(clock.rt, "review_reminders").status == "done"
    assert len(reminders(slack)) == 4
    with session_scope(engine) as session:
        keys = sorted(m.idempotency_key for m in session.exec(select(OutgoingMessage)).all())
    ws = net.workspace(engine).id
    assert keys == sorted(f"review_reminder:{ws}:{lead}:{day}" for lead in (LEAD, APPOINTED)
                          for day in ("2026-03-04", "2026-03-06"))


def test_no_reminder_when_nothing_waits_long_or_when_decided(engine, slack, clock):
    waiting_network(engine, at=T0)
    with session_scope(engine) as session:
        for row in session.exec(select(Pairing)).all():
            row.state = "approved"
    with freeze_time(T0 + timedelta(days=5)):
        assert jobs.run_job(clock.rt, "review_reminders").status == "done"
    assert reminders(slack) == []


def test_no_reminders_in_school_holidays(engine, slack, clock, tmp_path):
    terms = tmp_path / "terms.txt"
    terms.write_text("2026-03-04,2026-03-04,An INSET day\n")
    clock(term_dates_file=str(terms))
    waiting_network(engine)
    with freeze_time(T0 + timedelta(days=2)):
        assert jobs.run_job(clock.rt, "review_reminders").status == "skipped"
    assert reminders(slack) == []
    with freeze_time(T0 + timedelta(days=3)):  # back at school
        assert jobs.run_job(clock.rt, "review_reminders").status == "done"
    assert len(reminders(slack)) == 2


def test_a_paused_lead_is_not_reminded(engine, slack, clock):
    waiting_network(engine)
    with session_scope(engine) as session:
        members.pause(session, net.workspace(engine), APPOINTED, None)
    with freeze_time(T0 + timedelta(days=2)):
        jobs.run_job(clock.rt, "review_reminders")
    assert [c.params["channel"] for c in reminders(slack)] == [LEAD]


def test_report_names_the_networks_gaps_and_only_this_networks(sender, slack, engine, schools):
    """Issue 7: the themes where needs outnumber the places offered, which a lead can act on."""
    build(engine)
    net.need(engine, net.STMARY, "help with SEND provision for autistic pupils in mainstream", theme="send")
    net.need(engine, "U0OTHER001", "another network's careers need for sixth formers", team=OTHER_TEAM,
             theme="post16_careers")
    sender.command("report", user_id=LEAD)
    summary = slack.wait_for("chat.postMessage")[0].params["text"]
    gaps = summary.split("Where the network needs offers")[1]
    assert "SEND and inclusion: 1 need waiting, 0 places free" in gaps
    assert "careers" not in gaps.lower() and "sixth form" not in gaps.lower()


def test_report_counts_the_open_needs_whose_theme_nobody_confirmed(sender, slack, engine, schools):
    """A lead can ask schools to confirm a suggested theme: confirmed themes are matched as given."""
    build(engine)
    before = to_confirm(report_summary(sender, slack, 0))
    net.need(engine, net.STMARY, "help with SEND provision for autistic pupils in mainstream", theme="send")
    net.need(engine, net.STMARY, "support for our early career teachers with behaviour routines")  # a suggestion
    assert to_confirm(report_summary(sender, slack, 1)) == before + 1


def report_summary(sender, slack, index: int) -> str:
    sender.command("report", user_id=LEAD)
    return slack.wait_for("chat.postMessage", index + 1)[index].params["text"]


def to_confirm(summary: str) -> int:
    """The report's count of open needs with a suggested theme (no line: none)."""
    found = re.search(r"Themes to confirm\*: (\d+) of \d+ open needs", summary)
    return int(found.group(1)) if found else 0
