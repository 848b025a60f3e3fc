"""What the scheduler sends (digest, follow-up, feedback request, expiry prompt, reciprocity invitation,
review reminder) reaches the stub Slack within Block Kit's rules, and its buttons work through signed HTTP.

The autouse check in tests/bot/conftest.py holds every message here to the rules; each test also says
how many it sent, so the check cannot pass on nothing.
"""
from __future__ import annotations

import json
from datetime import timedelta

from freezegun import freeze_time

from bot.delivery.digests import send_digests
from bot.delivery.expiry import send_expiry_prompts
from bot.delivery.followups import send_due_feedback_requests, send_due_followups
from bot.delivery.reciprocity import send_reciprocity_invitations
from bot.delivery.reminders import send_review_reminders
from models import Need
from models.db import session_scope
from tests.bot.conftest import LEAD
from tests.support.block_kit import sent_counts, sent_problems
from tests.support.rhythm import Network, messenger_for, utc

NOW = utc(2026, 11, 23, 9, 0)  # a Monday in the autumn term
COLGATE, HINCHLEY = "U0COLGATE1", "U0HINCHLY1"


def network(engine):
    net = Network(engine)
    net.member(COLGATE, "colgate")
    net.member(HINCHLEY, "hinchley")
    net.member(LEAD, None, lead=True)
    return net


def everything_said(slack) -> str:
    return json.dumps([(c.params.get("text"), c.json("blocks")) for c in slack.calls_to("chat.postMessage")],
                      ensure_ascii=False)


def test_the_weeks_messages_obey_block_kit_and_read_well(engine, slack, settings):
    net = network(engine)
    messenger = messenger_for(settings)
    ws = net.workspace()
    introduced = net.pairing("colgate", "hinchley", "introduced", at=NOW - timedelta(days=7))
    connected = net.pairing("colgate", "stmary", "connected", at=NOW - timedelta(days=28))
    for _ in range(3):
        net.pairing("colgate", "stmaryrc", "completed", at=NOW - timedelta(days=40))
    net.pairing("stmary", "hinchley", "proposed", at=NOW - timedelta(days=3))
    net.need("colgate", by=COLGATE, created=NOW - timedelta(weeks=12))
    net.offer("hinchley", by=HINCHLEY, created=NOW - timedelta(weeks=20), status="closed")
    with freeze_time(NOW):
        assert send_due_followups(engine, messenger, NOW, settings) >= 2
        assert send_due_feedback_requests(engine, messenger, NOW, settings) >= 1
        assert send_expiry_prompts(engine, messenger, ws, NOW, settings).sent >= 1
        assert send_reciprocity_invitations(engine, messenger, ws, NOW, settings).sent >= 1
        assert send_review_reminders(engine, messenger, ws, NOW, settings).sent >= 1
        assert send_digests(engine, messenger, ws, NOW, settings).sent >= 3
    assert sent_counts(slack) >= 9 and sent_problems(slack) == []
    said = everything_said(slack)
    assert ":school:" not in said and "(s)" not in said
    assert "1 needs" not in said and "1 offers" not in said
    assert "free school meals" not in said
    assert introduced and connected


def test_the_expiry_prompts_buttons_answer_within_the_rules(engine, slack, settings, sender):
    net = network(engine)
    need_id = net.need("colgate", by=COLGATE, created=NOW - timedelta(weeks=12))
    with freeze_time(NOW):
        assert send_expiry_prompts(engine, messenger_for(settings), net.workspace(), NOW, settings).sent == 1
    [prompt] = slack.calls_to("chat.postMessage")
    keep = next(e for b in prompt.json("blocks") if b["type"] == "actions" for e in b["elements"])
    sender.action(keep["action_id"], keep["value"], user_id=COLGATE, message={"blocks": prompt.json("blocks")})
    [answer] = slack.wait_for_response(1)
    assert "stays open" in answer.text
    sender.action("offer_something", "reciprocity", user_id=COLGATE)
    [form] = slack.wait_for("views.open")
    assert form.json("view")["callback_id"] == "offer_modal"
    with session_scope(engine) as session:
        assert session.get(Need, need_id).status == "open"
