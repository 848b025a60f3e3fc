"""Input Slack can send (issue 8): Unicode digits, control and invisible characters, LIKE wildcards,
over-long ids. Each gets a clear answer or a polite one, never a 5xx, and nothing half-saved."""
from __future__ import annotations

import pytest
from sqlmodel import select

from bot.domain.errors import InvalidInput
from bot.domain.posts import clean_text, visible_length, whole_number
from models import Member, Need
from models.db import session_scope
from tests.bot.commands.test_staff_commands import join, reply_text
from tests.security.conftest import LEAD


def stored_needs(engine) -> list[str]:
    with session_scope(engine) as session:
        return [n.text for n in session.exec(select(Need)).all()]


@pytest.mark.parametrize("typed, number", [("12", 12), (" 3 ", 3), ("0", 0), ("²", None), ("①", None),
                                           ("¹2", None), ("١٢", None), ("1234567890", None), ("", None),
                                           ("-1", None), ("1.5", None), (None, None)])
def test_whole_number_reads_only_the_digits_0_to_9(typed, number):
    assert whole_number(typed) == number


def test_invisible_characters_do_not_count_as_words():
    assert visible_length("\u200b" * 50 + "\ufeff\u2060") == 0
    with pytest.raises(InvalidInput, match="invisible"):
        clean_text("\u200b" * 50)
    with pytest.raises(InvalidInput, match="a little more"):
        clean_text("short\u200b\u200b\u200b\u200b\u200b\u200b\u200b")
    assert clean_text("help with\x07 attendance\x1b in Year 9\x00") == "help with attendance in Year 9"
    assert clean_text("two lines\nand a\ttab here") == "two lines\nand a\ttab here"


def test_a_need_of_zero_width_spaces_is_refused_and_not_saved(sender, engine, schools):
    join(sender)
    text = reply_text(sender.command("need " + "\u200b" * 30))
    assert "invisible" in text
    assert stored_needs(engine) == []


def test_control_characters_leave_a_need_before_it_is_saved(sender, engine, schools):
    join(sender)
    assert "saved" in reply_text(sender.command("need help with\x07 persistent absence\x1b in Year 9")).lower()
    assert stored_needs(engine) == ["help with persistent absence in Year 9"]


@pytest.mark.parametrize("query", ["%%%", "___", "%_%", "a%c", "st%"])
def test_like_wildcards_in_a_school_search_match_only_themselves(sender, schools, query):
    text = reply_text(sender.command(f"join {query}"))
    assert "No open school matches" in text
    assert "Colgate" not in text


def test_a_percent_sign_in_a_real_name_is_still_found(sender, engine, schools):
    from models import School

    with session_scope(engine) as session:
        session.add(School(urn="199999", name="The 100% Attendance Academy", phase="Secondary"))
    assert "The 100% Attendance Academy" in reply_text(sender.command("join 100%"))


@pytest.mark.parametrize("urn", ["²", "①²³", "١٢٦٠١٣"])
def test_unicode_digits_are_no_urn(sender, schools, urn):
    response = sender.command(f"join {urn}")
    assert response.status_code == 200
    assert "joined" not in reply_text(response)


@pytest.mark.parametrize("text", ["pause ²", "pause ①", "pause 99999999999999999999"])
def test_unicode_and_huge_numbers_in_pause_get_the_clear_answer(sender, engine, schools, text):
    join(sender)
    response = sender.command(text)
    assert response.status_code == 200 and response.json()["response_type"] == "ephemeral"
    assert "how many weeks as a number" in reply_text(response)
    with session_scope(engine) as session:
        assert all(m.paused_until is None for m in session.exec(select(Member)).all())


def test_a_lead_naming_a_40_character_user_gets_an_answer(sender, schools):
    response = sender.command(f"lead add <@U{'A' * 39}>", user_id=LEAD)
    assert response.status_code == 200 and response.json()["response_type"] == "ephemeral"


def test_a_lead_naming_a_40_character_user_stores_nothing(sender, engine, schools):
    sender.command(f"lead add <@U{'A' * 39}>", user_id=LEAD)
    with session_scope(engine) as session:
        assert [m for m in session.exec(select(Member)).all() if len(m.slack_user_id) > 32] == []


@pytest.mark.parametrize("action_id, value", [
    ("post_pause", "need:²"), ("post_pause", "need:" + "9" * 20), ("post_close", "offer:①"),
    ("pairing_approve", "²"), ("pairing_approve", "9" * 20), ("renew_keep", "need:١٢"),
])
def test_a_forged_button_value_is_told_the_button_is_out_of_date(sender, slack, schools, action_id, value):
    join(sender)
    slack.reset()
    response = sender.action(action_id, value, user_id=LEAD if action_id.startswith("pairing") else None)
    assert response.status_code == 200
    reply = slack.wait_for_response()[-1]
    assert "out of date" in reply.text


def test_slacks_escaped_ampersand_and_brackets_are_stored_as_typed_and_escaped_once(sender, engine, schools):
    """Slack sends a command's `&`, `<` and `>` as `&amp;`, `&lt;` and `&gt;`."""
    join(sender)
    response = sender.command("need help with maths &amp; English for pupils aged &lt;11 &amp;&gt; their families")
    assert stored_needs(engine) == ["help with maths & English for pupils aged <11 &> their families"]
    shown = str(response.json())
    assert "maths &amp; English" in shown and "&amp;amp;" not in shown and "&lt;11" in shown


@pytest.mark.parametrize("metadata", ["[]", '"C0GENERAL1"', '{"channel": 5}', '{"channel": "not a channel"}', "null"])
def test_a_form_with_strange_metadata_saves_once_and_still_answers(sender, slack, engine, schools, metadata):
    """Everything is read before the one transaction that saves: no save-then-fail, so no retry saves twice."""
    from tests.support.slack_requests import plain, select

    join(sender)
    slack.reset()
    values = {"text": {"value": plain("help with persistent absence in Year 9")},
              "theme": {"value": select("attendance")}}
    response = sender.view_submission("need_modal", values, private_metadata=metadata)
    assert response.status_code in (200, 400)  # the guard may refuse a shape Slack never sends
    saved = stored_needs(engine)
    if response.status_code == 200:
        assert response.text == "" and saved == ["help with persistent absence in Year 9"]
        [told] = slack.wait_for("chat.postMessage")  # by DM, since the form's channel is unknown
        assert told.params["channel"] == sender.user_id
    else:
        assert saved == []
