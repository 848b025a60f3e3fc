"""The follow-up's buttons: one action_id each (Slack wants them unique in a block), and old ones still work."""
from __future__ import annotations

from bot.messages.pairings import followup
from tests.support.block_kit import message_problems
from tests.support.rhythm import Network

DEPUTY = "U0DEPUTY01"


def test_the_follow_up_passes_the_rules_slack_sdk_misses():
    text, blocks = followup(7, 1, type("School", (), {"name": "Hinchley Wood School"})())
    assert message_problems({"text": text, "blocks": blocks}) == []
    ids = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert ids == ["followup_yes", "followup_not_yet", "followup_no"]


def test_follow_ups_sent_before_the_buttons_had_their_own_ids_still_work(sender, slack, engine):
    from models import Pairing
    from models.db import session_scope

    net = Network(engine)
    net.member(DEPUTY, "colgate")
    pid = net.pairing("colgate", "hinchley", "introduced")
    sender.action("followup_answer", f"{pid}:1:yes", user_id=DEPUTY)
    assert "Wonderful" in slack.wait_for_response(1)[0].text
    with session_scope(engine) as session:
        assert session.get(Pairing, pid).state == "connected"
