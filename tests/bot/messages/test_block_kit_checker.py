"""The Block Kit checker itself: each rule it claims fails on a payload that breaks it."""
from __future__ import annotations

from tests.support.block_kit import message_problems, view_problems


def button(action_id, text="Go", value="v"):
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id, "value": value}


def section(text="hi", **extra):
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def test_a_good_message_passes():
    assert message_problems({"text": "hi", "blocks": [section(), {"type": "actions",
                             "elements": [button("a"), button("b")]}]}) == []


def test_action_id_twice_in_one_block_is_caught_though_slack_sdk_allows_it():
    problems = message_problems({"text": "x", "blocks": [{"type": "actions", "elements": [button("a"), button("a")]}]})
    assert any("'a' used twice in one block" in p for p in problems)
    # The same action_id in two different blocks is allowed.
    assert message_problems({"text": "x", "blocks": [{"type": "actions", "elements": [button("a")]},
                                                     {"type": "actions", "elements": [button("a")]}]}) == []


def test_block_counts_differ_for_messages_and_views():
    blocks = [section() for _ in range(51)]
    assert any("51 blocks (limit 50)" in p for p in message_problems({"text": "x", "blocks": blocks}))
    home = {"type": "home", "blocks": blocks}
    assert view_problems(home) == []
    assert any("101 blocks (limit 100)" in p for p in view_problems({"type": "home", "blocks": (blocks * 2)[:101]}))


def test_text_limits_and_duplicate_block_ids():
    problems = message_problems({"text": "x", "blocks": [section("a" * 3001, block_id="b"), section(block_id="b")]})
    assert any("3001 characters" in p for p in problems)
    assert any("block_id 'b' used twice" in p for p in problems)
    assert any("button text" in p or "slack_sdk" in p
               for p in message_problems({"text": "x", "blocks": [{"type": "actions", "elements": [button("a", "b" * 80)]}]}))
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "A title far too long for Slack"}, "blocks": []}
    assert any("title" in p for p in view_problems(modal))
