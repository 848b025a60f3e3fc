"""Follow-ups and feedback after an introduction: the scheduler's daily calls under freezegun, the answers
through signed HTTP requests and the stub Slack, on both backends."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from freezegun import freeze_time
from sqlmodel import select

from bot.slack.app import make_client
from bot.slack.messenger import SlackMessenger
from bot.services import members, pairings, rounds
from bot.delivery.followups import send_due_feedback_requests, send_due_followups
from models import Feedback, OutgoingMessage, Pairing
from models.db import session_scope
from tests.bot.conftest import LEAD
from tests.support import network as net
from tests.support.slack_stub import dm_channel_id

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)  # a Monday in term


@pytest.fixture
def messenger(settings):
    return SlackMessenger(make_client(settings))


def introduced(engine, settings, at=T0) -> int:
    """Colgate's absence need paired with Hinchley Wood's offer, approved and introduced at `at`."""
    return net.absence_pairing(engine, settings, LEAD, at, introduced=True)


def state(engine, pairing_id) -> Pairing:
    with session_scope(engine) as session:
        return session.get(Pairing, pairing_id)


def dms(slack, kind_text: str):
    return [c for c in slack.calls_to("chat.postMessage") if kind_text in (c.params.get("text") or "")]


def followups_at(engine, messenger, settings, moment) -> int:
    with freeze_time(moment):
        return send_due_followups(engine, messenger, datetime.now(timezone.utc), settings)


def feedback_at(engine, messenger, settings, moment) -> int:
    with freeze_time(moment):
        return send_due_feedback_requests(engine, messenger, datetime.now(timezone.utc), settings)


def test_follow_up_after_seven_days_then_yes_then_feedback_completes(sender, slack, engine, schools, settings, messenger):
    pid = introduced(engine, settings)
    assert followups_at(engine, messenger, settings, T0 + timedelta(days=6, hours=23)) == 0
    assert followups_at(engine, messenger, settings, T0 + timedelta(days=7)) == 2
    assert followups_at(engine, messenger, settings, T0 + timedelta(days=8)) == 0  # once per round
    asked = {c.params["channel"]: c for c in slack.calls_to("chat.postMessage")}
    assert set(asked) == {net.COLGATE, net.HINCHLEY}
    assert asked[net.COLGATE].params["text"] == "Have you connected with Hinchley Wood School?"
    assert asked[net.HINCHLEY].params["text"] == "Have you connected with Colgate Primary School?"
    labels = [e["text"]["text"] for b in asked[net.COLGATE].json("blocks") if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Yes", "Not yet", "It didn't happen"]

    sender.action("followup_yes", f"{pid}:1:yes", user_id=net.COLGATE, channel_id=dm_channel_id(net.COLGATE),
                  message={"blocks": asked[net.COLGATE].json("blocks")})
    [thanks] = slack.wait_for_response(1)
    assert thanks.json("replace_original") is True and "Wonderful" in thanks.text
    pairing = state(engine, pid)
    assert pairing.state == "connected" and pairing.connected_at
    # The other side answers late: nothing changes, and they are thanked (never "nothing changed").
    sender.action("followup_no", f"{pid}:1:no", user_id=net.HINCHLEY, channel_id=dm_channel_id(net.HINCHLEY),
                  message={"blocks": []})
    late = slack.wait_for_response(2)[1].text
    assert late.startswith("Thank you") and "already heard that you'd connected" in late
    assert "nothing changed" not in late
    assert state(engine, pid).state == "connected"

    connected = state(engine, pid).connected_at
    slack.reset()
    assert feedback_at(engine, messenger, settings, connected + timedelta(days=27)) == 0
    assert feedback_at(engine, messenger, settings, connected + timedelta(days=28)) == 2
    assert feedback_at(engine, messenger, settings, connected + timedelta(days=29)) == 0
    requests = {c.params["channel"]: c for c in slack.calls_to("chat.postMessage")}
    assert set(requests) == {net.COLGATE, net.HINCHLEY}

    for user in (net.COLGATE, net.HINCHLEY):
        slack.reset()
        sender.action("feedback_open", str(pid), user_id=user, channel_id=dm_channel_id(user), message={"blocks": []})
        [opened] = slack.wait_for("views.open")
        modal = opened.json("view")
        assert modal["callback_id"] == "feedback_modal"
        impact = next(b for b in modal["blocks"] if b.get("block_id") == "impact")
        assert [o["text"]["text"] for o in impact["element"]["options"]][-1] == "A big difference"
        response = sender.view_submission("feedback_modal", {
            "impact": {"value": {"type": "radio_buttons", "selected_option": {"value": "4", "text": {"type": "plain_text", "text": "A real difference"}}}},
            "what_changed": {"value": {"type": "plain_text_input", "value": "Year 9 attendance up 3 points"}},
            "comment": {"value": {"type": "plain_text_input", "value": None}},
        }, private_metadata=modal["private_metadata"], user_id=user)
        assert response.json()["response_action"] == "update"
        expected = "connected" if user == net.COLGATE else "completed"
        assert state(engine, pid).state == expected
    with session_scope(engine) as session:
        rows = session.exec(select(Feedback).order_by(Feedback.side)).all()
        assert [(f.side, f.impact, f.what_changed) for f in rows] == [
            ("giver", 4, "Year 9 attendance up 3 points"), ("taker", 4, "Year 9 attendance up 3 points")]
    assert state(engine, pid).completed_at is not None


def test_feedback_without_choosing_impact_keeps_the_modal_open(sender, slack, engine, schools, settings):
    pid = introduced(engine, settings)
    with session_scope(engine) as session:
        pairings.record_followup_answer(session, net.workspace(engine), pid, net.COLGATE, "yes", T0)
    response = sender.view_submission("feedback_modal", {"impact": {"value": {"type": "radio_buttons", "selected_option": None}}},
                                      private_metadata=f'{{"pairing_id": {pid}}}', user_id=net.COLGATE)
    assert response.json()["response_action"] == "errors" and "impact" in response.json()["errors"]
    # Someone from neither school cannot give feedback on it.
    response = sender.view_submission("feedback_modal", {"impact": {"value": {"type": "radio_buttons", "selected_option": {"value": "5"}}}},
                                      private_metadata=f'{{"pairing_id": {pid}}}', user_id=net.STMARY)
    assert response.json()["response_action"] == "errors"
    with session_scope(engine) as session:
        assert session.exec(select(Feedback)).all() == []


def test_not_yet_asks_again_a_week_after_the_answer(sender, slack, engine, schools, settings, messenger):
    pid = introduced(engine, settings)
    assert followups_at(engine, messenger, settings, T0 + timedelta(days=7)) == 2
    with session_scope(engine) as session:
        pairings.record_followup_answer(session, net.workspace(engine), pid, net.HINCHLEY, "not_yet", T0 + timedelta(days=8))
    assert state(engine, pid).state == "introduced"
    assert followups_at(engine, messenger, settings, T0 + timedelta(days=14)) == 0
    assert followups_at(engine, messenger, settings, T0 + timedelta(days=15)) == 2
    with session_scope(engine) as session:
        keys = sorted(m.idempotency_key for m in session.exec(select(OutgoingMessage)))
    assert keys == sorted(f"followup:{pid}:{n}:{u}" for n in (1, 2) for u in (net.COLGATE, net.HINCHLEY))


def test_it_didnt_happen_declines_and_frees_the_offer(sender, slack, engine, schools, settings, messenger):
    pid = introduced(engine, settings)
    second_need = net.need(engine, net.STMARY, "help with persistent absence and attendance in Year 5", theme="attendance")
    ws = net.workspace(engine)
    with session_scope(engine) as session:
        assert rounds.propose_round(session, ws, settings).proposals == 0  # the offer's one slot is in use
    followups_at(engine, messenger, settings, T0 + timedelta(days=7))
    sender.action("followup_no", f"{pid}:1:no", user_id=net.HINCHLEY, channel_id=dm_channel_id(net.HINCHLEY),
                  message={"blocks": []})
    assert "frees the offer" in slack.wait_for_response(1)[0].text
    assert state(engine, pid).state == "declined"
    # The lead who approved it hears once, even if the other side also says so.
    [notice] = [c for c in slack.wait_for("chat.postMessage", 3) if c.params["channel"] == LEAD]
    assert "Colgate Primary School and Hinchley Wood School say their pairing didn't happen" in notice.params["text"]
    sender.action("followup_no", f"{pid}:1:no", user_id=net.COLGATE, channel_id=dm_channel_id(net.COLGATE),
                  message={"blocks": []})
    slack.wait_for_response(2)
    assert len([c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == LEAD]) == 1
    with session_scope(engine) as session:
        assert rounds.propose_round(session, ws, settings).proposals == 1
        proposed = session.exec(select(Pairing).where(Pairing.state == "proposed")).one()
        assert proposed.need_id == second_need


def test_paused_people_are_asked_after_they_resume(sender, slack, engine, schools, settings, messenger):
    introduced(engine, settings)
    ws = net.workspace(engine)
    with session_scope(engine) as session:
        members.pause(session, ws, net.COLGATE, None)
    assert followups_at(engine, messenger, settings, T0 + timedelta(days=7)) == 1
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == [net.HINCHLEY]
    assert followups_at(engine, messenger, settings, T0 + timedelta(days=9)) == 0
    with session_scope(engine) as session:
        members.resume(session, ws, net.COLGATE)
    assert followups_at(engine, messenger, settings, T0 + timedelta(days=10)) == 1
    assert [c.params["channel"] for c in slack.calls_to("chat.postMessage")] == [net.HINCHLEY, net.COLGATE]


def test_feedback_window_closes_fourteen_days_after_the_request(sender, slack, engine, schools, settings, messenger):
    pid = introduced(engine, settings)
    with session_scope(engine) as session:
        pairings.record_followup_answer(session, net.workspace(engine), pid, net.COLGATE, "yes", T0)
    assert feedback_at(engine, messenger, settings, T0 + timedelta(days=28)) == 2
    feedback_at(engine, messenger, settings, T0 + timedelta(days=41))
    assert state(engine, pid).state == "connected"
    feedback_at(engine, messenger, settings, T0 + timedelta(days=42))
    assert state(engine, pid).state == "completed"


def test_a_permanent_slack_error_is_recorded_and_not_retried(sender, slack, engine, schools, settings, messenger):
    introduced(engine, settings)
    slack.error_next("chat.postMessage", "user_not_found")
    assert followups_at(engine, messenger, settings, T0 + timedelta(days=7)) == 1
    assert followups_at(engine, messenger, settings, T0 + timedelta(days=8)) == 0
    assert len(slack.calls_to("chat.postMessage")) == 2  # one failed, one sent, none retried
    with session_scope(engine) as session:
        failed = session.exec(select(OutgoingMessage).where(OutgoingMessage.status == "failed")).all()
        assert [(m.error, m.attempts) for m in failed] == [("user_not_found", 1)]
