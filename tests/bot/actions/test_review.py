"""Rounds, review cards and lead decisions through the real HTTP endpoint and the stub Slack, on both backends."""
from __future__ import annotations

import threading

from sqlmodel import select

from models import OutgoingMessage, Pairing, PairingEvent
from models.db import session_scope
from tests.bot.conftest import LEAD, REVIEW_CHANNEL
from tests.support import network as net
from tests.support.slack_stub import mpim_channel_id

OTHER_LEAD = "U0LEAD0002"


def setup_network(engine):
    net.join_all(engine)
    return net.need(engine, net.COLGATE, net.ABSENCE_NEED, theme="attendance"), \
        net.offer(engine, net.HINCHLEY, net.ABSENCE_OFFER, theme="attendance")


def run_round(sender, slack):
    response = sender.command("round", user_id=LEAD)
    assert response.status_code == 200
    assert "Running a matching round" in response.json()["text"]
    [summary] = slack.wait_for("chat.postEphemeral")
    return summary


def the_pairing(engine) -> Pairing:
    with session_scope(engine) as session:
        return session.exec(select(Pairing)).one()


def card_message(pairing):
    return {"ts": pairing.review_ts, "blocks": []}


def test_round_posts_a_review_card_and_tells_the_lead(sender, slack, engine, schools):
    setup_network(engine)
    summary = run_round(sender, slack)
    assert "1 new pairing" in summary.params["text"] and summary.params["user"] == LEAD
    [card] = slack.calls_to("chat.postMessage")
    assert card.params["channel"] == REVIEW_CHANNEL
    text = " ".join(b.get("text", {}).get("text", "") for b in card.json("blocks") if b["type"] == "section")
    assert "*Colgate Primary School* needs: *help with persistent absence in Year 9" in text
    assert "*Hinchley Wood School* offers:" in text and "Why:" in text
    pairing = the_pairing(engine)
    assert pairing.state == "proposed" and pairing.review_channel == REVIEW_CHANNEL and pairing.review_ts


def test_the_leads_round_summary_says_which_needs_were_left_and_why(sender, slack, engine, schools):
    """Issue 7: not just "1 of 3 needs paired": what is missing, so the lead can find a school to offer it."""
    setup_network(engine)
    net.need(engine, net.STMARY, "help with SEND provision for autistic pupils in mainstream", theme="send")
    net.need(engine, net.STMARYRC, "support for our SENCo with EHCP applications and reviews", theme="send")
    text = run_round(sender, slack).params["text"]
    assert "1 new pairing from 3 open needs" in text
    assert "2 needs left: 2 because no school offers help on their theme yet (SEND and inclusion)." in text


def test_round_and_review_are_for_leads_only(sender, slack, engine, schools):
    setup_network(engine)
    for sub in ("round", "review"):
        body = sender.command(sub, user_id=net.COLGATE).json()
        assert "only network leads" in body["text"]
    assert slack.calls_to("chat.postMessage") == []
    with session_scope(engine) as session:
        assert session.exec(select(Pairing)).all() == []


def test_review_lists_pending_proposals_with_buttons(sender, slack, engine, schools):
    setup_network(engine)
    run_round(sender, slack)
    pairing = the_pairing(engine)
    body = sender.command("review", user_id=LEAD).json()
    buttons = [(e["action_id"], e["value"]) for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == [("pairing_approve", str(pairing.id)), ("pairing_reject", str(pairing.id))]


def test_approve_updates_the_card_and_introduces_both_schools_and_the_lead(sender, slack, engine, schools):
    setup_network(engine)
    run_round(sender, slack)
    pairing = the_pairing(engine)
    sender.action("pairing_approve", str(pairing.id), user_id=LEAD, message=card_message(pairing), channel_id=REVIEW_CHANNEL)
    [update] = slack.wait_for("chat.update")
    assert update.params["ts"] == pairing.review_ts and update.params["channel"] == REVIEW_CHANNEL
    decided = " ".join(b.get("text", {}).get("text", "") for b in update.json("blocks") if b["type"] == "section")
    assert f"Approved by <@{LEAD}>," in decided
    assert not [b for b in update.json("blocks") if b["type"] == "actions"]  # no buttons left to click
    [opened] = slack.wait_for("conversations.open")
    group = sorted(opened.params["users"].split(","))
    assert group == sorted([net.COLGATE, net.HINCHLEY, LEAD])
    intro = slack.wait_for("chat.postMessage", 2)[1]
    assert intro.params["channel"] == mpim_channel_id(group)
    words = " ".join(b.get("text", {}).get("text", "") for b in intro.json("blocks") if b["type"] in ("section",))
    assert net.ABSENCE_NEED in words and net.ABSENCE_OFFER in words
    assert "20-minute call this week" in words and "two times that suit you" in words
    # Both schools read the introduction: the receiving school's share of free school meals is the
    # leads' business (it is on the review card), never shown in front of its partner.
    [card] = [c for c in slack.calls_to("chat.postMessage") if c.params["channel"] == REVIEW_CHANNEL]
    assert "35 % of pupils on free school meals" in str(card.json("blocks"))
    assert "Why we thought of you both:" in words
    assert "free school meals" not in words and "35 %" not in words
    wait_until(lambda: the_pairing(engine).state == "introduced")
    pairing = the_pairing(engine)
    assert pairing.decided_by == LEAD and pairing.introduced_at and pairing.conversation_id == mpim_channel_id(group)
    with session_scope(engine) as session:
        trail = [(e.from_state, e.to_state, e.actor) for e in session.exec(select(PairingEvent).order_by(PairingEvent.id))]
    assert trail == [(None, "proposed", LEAD), ("proposed", "approved", LEAD), ("approved", "introduced", LEAD)]


def test_non_lead_click_is_refused_and_changes_nothing(sender, slack, engine, schools):
    setup_network(engine)
    run_round(sender, slack)
    pairing = the_pairing(engine)
    for action in ("pairing_approve", "pairing_reject"):
        sender.action(action, str(pairing.id), user_id=net.COLGATE, message=card_message(pairing), channel_id=REVIEW_CHANNEL)
    responses = slack.wait_for_response(2)
    assert all("only network leads" in r.text for r in responses)
    assert all(r.json("response_type") == "ephemeral" for r in responses)
    assert the_pairing(engine).state == "proposed"
    assert slack.calls_to("chat.update") == [] and slack.calls_to("views.open") == []
    assert slack.calls_to("conversations.open") == []


def test_double_click_and_slack_retry_give_one_introduction(sender, slack, engine, schools):
    setup_network(engine)
    run_round(sender, slack)
    pairing = the_pairing(engine)
    sender.action("pairing_approve", str(pairing.id), user_id=LEAD, message=card_message(pairing), channel_id=REVIEW_CHANNEL)
    wait_until(lambda: the_pairing(engine).state == "introduced")
    sender.action("pairing_approve", str(pairing.id), user_id=LEAD, message=card_message(pairing), channel_id=REVIEW_CHANNEL)
    sender.action("pairing_approve", str(pairing.id), user_id=LEAD, message=card_message(pairing),
                  channel_id=REVIEW_CHANNEL, retry_num=1)
    late = slack.wait_for_response(2)
    assert all("Already approved by" in r.text for r in late)
    assert len(slack.calls_to("conversations.open")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2  # the card and one introduction
    assert len(slack.calls_to("chat.update")) == 1


def test_two_leads_clicking_at_once_give_one_winner_and_one_introduction(sender, slack, engine, schools):
    setup_network(engine)
    run_round(sender, slack)
    pairing = the_pairing(engine)
    from bot.services import members
    from tests.support.network import workspace

    with session_scope(engine) as session:
        members.set_lead(session, workspace(engine), OTHER_LEAD, True)
    barrier = threading.Barrier(4)

    def click(user):
        barrier.wait()
        sender.action("pairing_approve", str(pairing.id), user_id=user, message=card_message(pairing),
                      channel_id=REVIEW_CHANNEL)

    threads = [threading.Thread(target=click, args=(u,)) for u in (LEAD, OTHER_LEAD, LEAD, OTHER_LEAD)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_until(lambda: the_pairing(engine).state == "introduced")
    slack.wait_for_response(3)  # the three late clicks are told who won
    # No sleep to "prove" nothing else arrives: by now every click's work has ended (the winner's
    # introduction is recorded, after its post; each late click got its answer, its last step).
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert len(slack.calls_to("conversations.open")) == 1
    with session_scope(engine) as session:
        approvals = session.exec(select(PairingEvent).where(PairingEvent.to_state == "approved")).all()
        assert len(approvals) == 1
        intros = session.exec(select(OutgoingMessage).where(OutgoingMessage.kind == "introduction")).all()
        assert [(m.status, m.attempts) for m in intros] == [("sent", 1)]


def test_reject_with_reason_updates_the_card_and_is_never_proposed_again(sender, slack, engine, schools):
    setup_network(engine)
    run_round(sender, slack)
    pairing = the_pairing(engine)
    sender.action("pairing_reject", str(pairing.id), user_id=LEAD, message=card_message(pairing), channel_id=REVIEW_CHANNEL)
    [opened] = slack.wait_for("views.open")
    modal = opened.json("view")
    assert modal["callback_id"] == "reject_modal"
    response = sender.view_submission(
        "reject_modal", {"reason": {"value": {"type": "plain_text_input", "value": "They <!channel> already work together"}}},
        private_metadata=modal["private_metadata"], user_id=LEAD)
    assert response.status_code == 200
    [update] = slack.wait_for("chat.update")
    decided = " ".join(b.get("text", {}).get("text", "") for b in update.json("blocks") if b["type"] == "section")
    assert f"Rejected by <@{LEAD}>" in decided and "They &lt;!channel&gt; already work together" in decided
    pairing = the_pairing(engine)
    assert pairing.state == "rejected" and pairing.reject_reason == "They <!channel> already work together"
    # A second submission (an old modal) changes nothing and says why.
    again = sender.view_submission("reject_modal", {"reason": {"value": {"type": "plain_text_input", "value": "x"}}},
                                   private_metadata=modal["private_metadata"], user_id=LEAD)
    assert again.json()["response_action"] == "errors" and "Already rejected" in again.json()["errors"]["reason"]
    slack.reset()
    run_round(sender, slack)
    assert slack.calls_to("chat.postMessage") == []
    with session_scope(engine) as session:
        assert len(session.exec(select(Pairing)).all()) == 1


def test_app_home_shows_leads_pending_proposals(sender, slack, engine, schools):
    setup_network(engine)
    run_round(sender, slack)
    pairing = the_pairing(engine)
    sender.app_home_opened(LEAD)
    [published] = slack.wait_for("views.publish")
    buttons = [(e["action_id"], e["value"]) for b in published.json("view")["blocks"] if b["type"] == "actions"
               for e in b["elements"]]
    assert ("pairing_approve", str(pairing.id)) in buttons
    slack.reset()
    sender.app_home_opened(net.COLGATE)
    [published] = slack.wait_for("views.publish")
    assert "pairing_approve" not in str(published.json("view"))


def test_a_card_to_a_missing_channel_is_recorded_and_not_retried_forever(sender, slack, engine, schools):
    setup_network(engine)
    slack.error_next("chat.postMessage", "channel_not_found")
    summary = run_round(sender, slack)
    assert "could not be posted" in summary.params["text"]
    slack.reset()
    sender.command("round", user_id=LEAD)
    slack.wait_for("chat.postEphemeral")
    assert slack.calls_to("chat.postMessage") == []  # the permanent failure is not retried
    with session_scope(engine) as session:
        [row] = session.exec(select(OutgoingMessage).where(OutgoingMessage.kind == "review_card")).all()
        assert (row.status, row.error, row.attempts) == ("failed", "channel_not_found", 1)


def wait_until(condition, timeout=5.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_approving_from_app_home_introduces_and_refreshes_home(sender, slack, engine, schools):
    setup_network(engine)
    run_round(sender, slack)
    pairing = the_pairing(engine)
    sender.action("pairing_approve", str(pairing.id), user_id=LEAD, view={"type": "home", "blocks": []})
    slack.wait_for("conversations.open")
    [home] = slack.wait_for("views.publish")
    assert "pairing_approve" not in str(home.json("view"))  # nothing left to review
    assert len(slack.calls_to("chat.update")) == 1
    wait_until(lambda: the_pairing(engine).state == "introduced")
