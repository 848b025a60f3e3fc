"""One place answers problems (bot/slack/listeners/problems.py): a CollabError becomes the user's reply on
every surface, anything else an apology with status 200, and nothing they typed reaches the log."""
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


def test_an_unexpected_failure_is_an_apology_with_status_200_and_logs_no_typed_text(
        sender, slack, engine, monkeypatch, caplog):
    from bot.services import posts

    def broken(session, workspace, user_id, text, *rest):
        raise RuntimeError(f"secret words: {text}")  # an exception message holding what was typed

    monkeypatch.setattr(posts, "post_need", broken)
    Network(engine).member(DEPUTY, "colgate")
    with caplog.at_level(logging.DEBUG):
        response = sender.command("need help with persistent absence please", user_id=DEPUTY)
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral" and "Sorry, something went wrong" in body["text"]
    assert "help with persistent absence please" in body["text"]  # what they typed comes back
    # Type and traceback only: the exception's message (which held the typed words) is not logged.
    assert "a listener failed with RuntimeError" in caplog.text
    assert "persistent absence" not in caplog.text


def test_an_unexpected_failure_after_the_ack_is_answered_too(sender, slack, engine, monkeypatch):
    from bot.services import posts

    monkeypatch.setattr(posts, "set_status", lambda *a, **k: 1 / 0)
    net = Network(engine)
    net.member(DEPUTY, "colgate")
    sender.action("post_close", f"need:{net.need('colgate')}:0", user_id=DEPUTY)
    [answer] = slack.wait_for_response(1)
    assert "Sorry, something went wrong" in answer.text


def test_an_unexpected_failure_in_a_form_keeps_it_open_with_an_apology(sender, engine, monkeypatch):
    from bot.messages.posts import post_modal
    from bot.services import posts
    from tests.support.slack_requests import plain, select

    monkeypatch.setattr(posts, "post_need", lambda *a, **k: 1 / 0)
    Network(engine).member(DEPUTY, "colgate")
    values = {"text": {"value": plain("help with persistent absence in Year 9")},
              "theme": {"value": select(None)}, "urgency": {"value": select("normal")}}
    response = sender.view_submission("need_modal", values, user_id=DEPUTY, blocks=post_modal("need")["blocks"])
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == ["text"] and body["errors"]["text"].startswith("Sorry, something went wrong")

