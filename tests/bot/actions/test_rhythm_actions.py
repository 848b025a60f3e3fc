"""The buttons on scheduled messages, clicked through the real app: Offer something, Yes keep it, Close it."""
from __future__ import annotations

from datetime import timedelta

from models import Need, Offer, utcnow
from models.db import session_scope
from tests.bot.conftest import DEPUTY
from tests.support.rhythm import Network


def _post(engine, table, user=DEPUTY, school="colgate", asked=True):
    net = Network(engine)
    if user not in net.members:
        with session_scope(engine) as session:
            from bot.services.members import get_member

            member = get_member(session, net.workspace(session), user)
            if member is None:
                net.member(user, school)
    long_ago = utcnow() - timedelta(weeks=13)
    with session_scope(engine) as session:
        row = table(workspace_id=net.workspace_id, school_id=net.school[school], text="help with attendance in Year 9",
                    theme="attendance", created_at=long_ago, updated_at=long_ago,
                    renew_asked_at=utcnow() - timedelta(days=1) if asked else None)
        session.add(row)
        session.flush()
        return row.id


def test_offer_something_opens_the_offer_form(sender, slack, engine):
    sender.action("offer_something", "reciprocity", user_id=DEPUTY, trigger_id="13345224609.738474920.8088930838d88f008e0")
    call = slack.wait_for("views.open")[0]
    assert call.params["trigger_id"] == "13345224609.738474920.8088930838d88f008e0"
    view = call.json("view")
    assert view["callback_id"] == "offer_modal"
    assert {b["block_id"] for b in view["blocks"]} == {"text", "theme", "capacity", "format"}


def test_yes_keep_it_renews_the_post(sender, slack, engine):
    need_id = _post(engine, Need)
    sender.action("renew_keep", f"need:{need_id}", user_id=DEPUTY)
    response = slack.wait_for_response(1)[0]
    assert response.text == "Kept: your need stays open." and response.json("replace_original") is True
    with session_scope(engine) as session:
        need = session.get(Need, need_id)
        assert need.renew_asked_at is None and need.status == "open"
        assert need.updated_at > need.created_at + timedelta(weeks=12)  # the clock starts again now


def test_close_it_closes_the_post(sender, slack, engine):
    offer_id = _post(engine, Offer)
    sender.action("renew_close", f"offer:{offer_id}", user_id=DEPUTY)
    assert slack.wait_for_response(1)[0].text == "Closed: your offer won't be matched any more."
    with session_scope(engine) as session:
        assert session.get(Offer, offer_id).status == "closed"


def test_only_the_schools_members_can_answer(sender, slack, engine):
    need_id = _post(engine, Need)
    Network(engine).member("U0OTHER001", "hinchley")
    sender.action("renew_close", f"need:{need_id}", user_id="U0OTHER001")
    assert "isn't one of your school's" in slack.wait_for_response(1)[0].text
    with session_scope(engine) as session:
        assert session.get(Need, need_id).status == "open"


def test_a_stale_button_value_is_explained(sender, slack, engine):
    _post(engine, Need)
    sender.action("renew_keep", "pairing:abc", user_id=DEPUTY)
    assert "out of date" in slack.wait_for_response(1)[0].text
