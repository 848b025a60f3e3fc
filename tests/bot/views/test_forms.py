"""The need and offer forms: a good submission saves; a bad one keeps the form open with the problem shown."""
from __future__ import annotations

import json

from sqlmodel import select

from models import Need, Offer
from models.db import session_scope
from tests.bot.commands.test_staff_commands import join
from tests.support.slack_requests import number, plain
from tests.support.slack_requests import select as chosen


def need_values(text, theme=None, urgency="normal"):
    return {"text": {"value": plain(text)}, "theme": {"value": chosen(theme)}, "urgency": {"value": chosen(urgency)}}


def offer_values(text, capacity="2", fmt="visit", theme="reading"):
    return {"text": {"value": plain(text)}, "theme": {"value": chosen(theme)},
            "capacity": {"value": number(capacity)}, "format": {"value": chosen(fmt)}}


def test_need_form_saves_and_confirms_in_the_channel(sender, slack, engine, schools):
    join(sender)
    response = sender.view_submission("need_modal", need_values("Support for pupils with SEND in mainstream classes",
                                                                "send", "high"),
                                      private_metadata=json.dumps({"channel": "C0GENERAL1"}))
    assert response.status_code == 200 and response.text == ""
    call = slack.wait_for("chat.postEphemeral")[0]
    assert call.params["channel"] == "C0GENERAL1"
    with session_scope(engine) as session:
        need = session.exec(select(Need)).one()
        assert (need.theme, need.urgency, need.theme_chosen) == ("send", "high", True)  # picked in the form


def test_offer_form_saves_capacity_and_format(sender, slack, engine, schools):
    join(sender)
    sender.view_submission("offer_modal", offer_values("Our phonics lead can train your reception team"))
    slack.wait_for("chat.postMessage")
    with session_scope(engine) as session:
        offer = session.exec(select(Offer)).one()
        assert (offer.capacity_per_term, offer.format, offer.theme) == (2, "visit", "reading")
        assert offer.theme_chosen


def test_a_form_left_without_a_theme_gets_our_suggestion(sender, slack, engine, schools):
    join(sender)
    sender.view_submission("need_modal", need_values("Support with phonics teaching in reception and Year 1"),
                           private_metadata=json.dumps({"channel": "C0GENERAL1"}))
    slack.wait_for("chat.postEphemeral")
    with session_scope(engine) as session:
        need = session.exec(select(Need)).one()
        assert (need.theme, need.theme_chosen) == ("reading", False)


def test_too_short_text_keeps_the_form_open_with_the_problem(sender, engine, schools):
    join(sender)
    body = sender.view_submission("need_modal", need_values("help")).json()
    assert body["response_action"] == "errors"
    assert "at least" in body["errors"]["text"]
    with session_scope(engine) as session:
        assert session.exec(select(Need)).all() == []


def test_bad_capacity_points_at_the_capacity_field(sender, engine, schools):
    join(sender)
    body = sender.view_submission("offer_modal", offer_values("Our phonics lead can train your team", capacity="40")).json()
    assert body["response_action"] == "errors" and "capacity" in body["errors"]
    body = sender.view_submission("offer_modal", offer_values("Our phonics lead can train your team", capacity="two")).json()
    assert "capacity" in body["errors"]


def test_form_from_someone_who_left_their_school_says_how_to_join(sender, schools):
    body = sender.view_submission("need_modal", need_values("Help with attendance in Year 9 please")).json()
    assert body["response_action"] == "errors" and "/collab join" in body["errors"]["text"]
