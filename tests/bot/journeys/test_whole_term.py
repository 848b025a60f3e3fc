"""A network through a whole autumn term, with the stub standing in for Slack: posts, round, review,
introductions, follow-ups, feedback, digests and nudges; the right messages to the right people,
each exactly once. Staff and leads act through signed HTTP requests; the clock's jobs run at
their scheduled moments under freezegun."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlmodel import select

from bot.scheduling import jobs
from bot.scheduling.registry import Runtime
from bot.slack.app import make_client
from bot.slack.messenger import SlackMessenger
from models import Need, OutgoingMessage, Pairing
from models.db import session_scope
from tests.bot.commands.test_staff_commands import element
from tests.bot.conftest import LEAD, REVIEW_CHANNEL
from tests.support.network import COLGATE, HINCHLEY, STAFF, STMARY, STMARYRC
from tests.support.slack_requests import radio
from tests.support.slack_stub import dm_channel_id

MONDAY = datetime(2026, 9, 14, 6, 0, tzinfo=timezone.utc)  # Monday 14 September, 07:00 in London


@pytest.fixture
def clock(engine, settings):
    """What `collab clock` builds and passes to every run."""
    return Runtime(settings, engine, SlackMessenger(make_client(settings)))


def at(moment):
    return freeze_time(moment, tick=True)


def sent_to(slack, channel=None, text=None):
    calls = [c for c in slack.calls_to("chat.postMessage", ok=True)]
    if channel:
        calls = [c for c in calls if c.params["channel"] == channel]
    if text:
        calls = [c for c in calls if text in (c.params.get("text") or "")]
    return calls


def wait_until(predicate, timeout=10.0):
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def pairing_for(engine, need_text) -> Pairing:
    with session_scope(engine) as session:
        need = session.exec(select(Need).where(Need.text == need_text)).one()
        return session.exec(select(Pairing).where(Pairing.need_id == need.id)).one()


ABSENCE = "help with persistent absence in Year 9"
PHONICS = "support with phonics teaching in reception and Year 1"


def test_a_network_goes_through_a_whole_term(sender, slack, engine, schools, settings, clock):
    # Week 1, Monday morning: staff join and post, in their own words, through /collab.
    with at(MONDAY):
        for user, urn in STAFF.items():
            assert "joined" in sender.command(f"join {urn}", user_id=user).json()["text"].lower()
        for user, text in [(COLGATE, f"need {ABSENCE}"),
                           (HINCHLEY, "offer first-day calling and family liaison that halved persistent absence"),
                           (STMARY, f"need {PHONICS}"),
                           (STMARYRC, "offer we can share our phonics scheme and train your teaching assistants")]:
            reply = sender.command(text, user_id=user).json()
            assert "saved" in reply["text"].lower()
            # Each says our suggested theme is right, so the round takes it as given.
            sender.action("post_theme_ok", element(reply["blocks"], "post_theme_ok")["value"], user_id=user)
        slack.wait_for_response(4)
        with session_scope(engine) as session:
            assert all(n.theme_chosen for n in session.exec(select(Need)))

    # 07:30: the weekly round proposes both pairings and posts one review card for each.
    with at(MONDAY + timedelta(minutes=30)):
        assert jobs.run_job(clock, "round").status == "done"
        assert jobs.run_job(clock, "round").status == "busy"  # a second clock, or a rerun: nothing more
    cards = sent_to(slack, REVIEW_CHANNEL)
    assert len(cards) == 2
    absence, phonics = pairing_for(engine, ABSENCE), pairing_for(engine, PHONICS)
    card = next(c for c in cards if "Colgate Primary School needs" in c.params["text"])
    assert "Hinchley Wood School can offer" in card.params["text"]

    # The lead approves both; a double click on the first changes nothing more.
    with at(MONDAY + timedelta(minutes=45)):
        for pairing in (absence, phonics, absence):
            sender.action("pairing_approve", str(pairing.id), user_id=LEAD, channel_id=REVIEW_CHANNEL,
                          message={"ts": pairing.review_ts, "blocks": []})
        wait_until(lambda: {pairing_for(engine, t).state for t in (ABSENCE, PHONICS)} == {"introduced"})
        slack.wait_for("chat.update", 2)
    groups = sorted(sorted(c.params["users"].split(",")) for c in slack.calls_to("conversations.open"))
    assert groups == sorted([sorted([COLGATE, HINCHLEY, LEAD]), sorted([STMARY, STMARYRC, LEAD])])
    intros = [c for c in sent_to(slack) if c.params["channel"].startswith("G")]  # group conversations
    assert len(intros) == 2

    # 08:00: the digest, one per person, mentioning the new introduction; a rerun sends nothing.
    with at(MONDAY + timedelta(hours=1)):
        assert jobs.run_job(clock, "digest").status == "done"
        assert jobs.run_job(clock, "digest").status == "busy"
    # Everyone gets one, and the lead's carries the network summary.
    digests = [c for c in sent_to(slack) if c.params["channel"] in {*STAFF, LEAD}]
    assert Counter(c.params["channel"] for c in digests) == Counter([*STAFF, LEAD])

    # A week later: "Have you connected?" to both sides of both pairings.
    with at(MONDAY + timedelta(days=7, hours=2)):
        assert jobs.run_job(clock, "followups").status == "done"
    asked = {c.params["channel"] for c in sent_to(slack, text="Have you connected")}
    assert asked == set(STAFF)
    with at(MONDAY + timedelta(days=7, hours=3)):
        before = len(slack.responses)
        sender.action("followup_yes", f"{absence.id}:1:yes", user_id=COLGATE, channel_id=dm_channel_id(COLGATE),
                      message={"blocks": []})
        sender.action("followup_no", f"{phonics.id}:1:no", user_id=STMARY, channel_id=dm_channel_id(STMARY),
                      message={"blocks": []})
        answers = slack.wait_for_response(before + 2)[before:]
    assert pairing_for(engine, ABSENCE).state == "connected", [a.text for a in answers]
    assert pairing_for(engine, PHONICS).state == "declined", [a.text for a in answers]

    # 28 days after "yes": both sides are asked for feedback, and both give it.
    connected = pairing_for(engine, ABSENCE).connected_at
    with at(connected + timedelta(days=28, hours=1)):
        assert jobs.run_job(clock, "feedback").status == "done"
        requests = sent_to(slack, text="How did working with")
        assert {c.params["channel"] for c in requests} == {COLGATE, HINCHLEY}
        for user in (COLGATE, HINCHLEY):
            before = len(slack.calls_to("views.open"))
            sender.action("feedback_open", str(absence.id), user_id=user, channel_id=dm_channel_id(user),
                          message={"blocks": []})
            modal = slack.wait_for("views.open", before + 1)[-1].json("view")
            response = sender.view_submission("feedback_modal", {
                "impact": {"value": radio("4")},
                "what_changed": {"value": {"type": "plain_text_input", "value": "Year 9 attendance up 3 points"}},
                "comment": {"value": {"type": "plain_text_input", "value": None}},
            }, private_metadata=modal["private_metadata"], user_id=user)
            assert response.status_code == 200
    assert pairing_for(engine, ABSENCE).state == "completed"

    # Twelve weeks on, the posts still open are asked "still needed?", once each.
    with at(MONDAY + timedelta(weeks=12, days=1, hours=3)):
        assert jobs.run_job(clock, "expiry").status == "done"
        assert jobs.run_job(clock, "expiry").status == "busy"
    prompts = sent_to(slack, text="still")
    assert prompts and {c.params["channel"] for c in prompts} <= set(STAFF)

    # Exactly once, all term: every message Slack accepted is one ledger row, and no key twice.
    with session_scope(engine) as session:
        ledger = session.exec(select(OutgoingMessage).where(OutgoingMessage.status == "sent")).all()
    assert len(ledger) == len(sent_to(slack))
    assert len({row.idempotency_key for row in ledger}) == len(ledger)
    kinds = Counter(row.kind for row in ledger)
    assert kinds["review_card"] == 2 and kinds["digest"] == len(STAFF) + 1
