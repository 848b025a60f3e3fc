"""One place answers problems (bot/slack/listeners/problems.py): a CollabError becomes the user's reply for
commands and buttons, anything else an apology with status 200, and nothing they typed reaches the log.
(Modal submissions map problems to their fields; a listener that fails outright is the request guard's.)"""
from __future__ import annotations

import logging

from tests.support.rhythm import Network

DEPUTY = "U0DEPUTY01"


def test_an_out_of_date_button_is_explained_where_it_was_clicked(sender, slack, engine):
    Network(engine).member(DEPUTY, "colgate")
    for action_id, value in (("post_close", "nonsense"), ("renew_keep", "x:y"), ("pairing_approve", "abc")):
        assert sender.action(action_id, value, user_id=DEPUTY).status_code == 200
    answers = slack.wait_for_response(3)
    assert all(a.json("replace_original") is False and a.json("response_type") == "ephemeral" for a in answers)
    assert all(":warning:" in a.blocks[0]["text"]["text"] for a in answers)
    assert sum("out of date" in a.text for a in answers) == 3


def test_a_problem_from_app_home_comes_by_dm(sender, slack, engine):
    Network(engine).member(DEPUTY, "colgate")
    sender.action("post_close", "need:999999:0", user_id=DEPUTY, view={"type": "home", "blocks": []})
    [dm] = slack.wait_for("chat.postMessage")
    assert dm.params["channel"] == DEPUTY and "isn't one of your school's" in dm.params["text"]


def test_an_unexpected_failure_after_the_ack_is_answered_too_and_logs_no_typed_text(
        sender, slack, engine, monkeypatch, caplog):
    from bot.services import posts

    def broken(session, workspace, user_id, kind, post_id, status):
        raise RuntimeError(f"secret words: {user_id}")  # an exception message quoting someone

    monkeypatch.setattr(posts, "set_status", broken)
    net = Network(engine)
    net.member(DEPUTY, "colgate")
    with caplog.at_level(logging.DEBUG):
        sender.action("post_close", f"need:{net.need('colgate')}:0", user_id=DEPUTY)
        [answer] = slack.wait_for_response(1)
    assert "Sorry, something went wrong" in answer.text
    assert "a listener failed with RuntimeError at " in caplog.text
    assert "secret words" not in caplog.text and DEPUTY not in caplog.text

