"""Expiry: "still needed?" after twelve weeks, closed as expired if nobody answers in two more."""
from __future__ import annotations

from datetime import timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import select

from bot.delivery import expiry as expiry_delivery
from bot.services import expiry, posts
from bot.domain.errors import InvalidInput, NotFound
from models import Member, Need, Offer
from models.db import session_scope
from tests.support.rhythm import Network, ledger, messenger_for, posted_to, utc

POSTED = utc(2026, 9, 7, 10, 0)
DUE = POSTED + timedelta(weeks=12)


@pytest.fixture
def net(engine):
    net = Network(engine)
    net.member("U0COLGATE1", "colgate")
    net.member("U0COLGATE2", "colgate")
    net.member("U0HINCHLY1", "hinchley")
    return net


def prompts(engine, net, settings, at):
    with freeze_time(at):
        return expiry_delivery.send_expiry_prompts(engine, messenger_for(settings), net.workspace(), at, settings)


def expire(engine, net, settings, at) -> int:
    with freeze_time(at), session_scope(engine) as session:
        return expiry.expire_unanswered(session, net.workspace(session), at, settings)


def status(engine, table, post_id) -> str:
    with session_scope(engine) as session:
        return session.get(table, post_id).status


def test_after_twelve_weeks_the_poster_is_asked_once(engine, net, settings, slack):
    need_id = net.need("colgate", by="U0COLGATE1", created=POSTED)
    net.offer("hinchley", by="U0HINCHLY1", created=POSTED + timedelta(days=1))  # a day younger

    assert prompts(engine, net, settings, DUE - timedelta(minutes=1)).sent == 0
    assert prompts(engine, net, settings, DUE).sent == 1
    assert prompts(engine, net, settings, DUE + timedelta(hours=3)).sent == 0  # a rerun the same day
    assert prompts(engine, net, settings, DUE + timedelta(days=1)).sent == 1   # the offer's turn

    assert posted_to(slack) == ["U0COLGATE1", "U0HINCHLY1"]
    call = slack.calls_to("chat.postMessage")[0]
    assert "Is this still needed?" in call.params["text"]
    buttons = [(e["action_id"], e["value"]) for b in call.json("blocks") if b["type"] == "actions"
               for e in b["elements"]]
    assert buttons == [("renew_keep", f"need:{need_id}"), ("renew_close", f"need:{need_id}")]
    assert ledger(engine, "expiry")[0].idempotency_key == f"expiry:need:{need_id}:2026-11-30:U0COLGATE1"


def test_if_the_poster_has_left_the_schools_members_are_asked(engine, net, settings, slack):
    net.member("U0PAUSED01", "colgate", paused_until=DUE + timedelta(weeks=4))
    net.need("colgate", by="U0COLGATE1", created=POSTED)
    with session_scope(engine) as session:
        from bot.services.members import forget_me

        forget_me(session, net.workspace(session), "U0COLGATE1")

    prompts(engine, net, settings, DUE)

    assert sorted(posted_to(slack)) == ["U0COLGATE2"]  # not the one who paused


def test_unanswered_for_two_weeks_it_expires_and_is_not_matched(engine, net, settings, slack):
    from bot.services.rounds import open_needs

    need_id = net.need("colgate", by="U0COLGATE1", created=POSTED)
    prompts(engine, net, settings, DUE)

    assert expire(engine, net, settings, DUE + timedelta(weeks=2) - timedelta(minutes=1)) == 0
    assert expire(engine, net, settings, DUE + timedelta(weeks=2)) == 1
    assert status(engine, Need, need_id) == "expired"
    assert expire(engine, net, settings, DUE + timedelta(weeks=3)) == 0
    with session_scope(engine) as session:
        assert open_needs(session, net.workspace(session)) == []
    assert prompts(engine, net, settings, DUE + timedelta(weeks=3)).sent == 0  # nobody asked about it again


def test_yes_keep_it_starts_the_clock_again(engine, net, settings, slack):
    need_id = net.need("colgate", by="U0COLGATE1", created=POSTED)
    prompts(engine, net, settings, DUE)
    kept_at = DUE + timedelta(days=3)
    with freeze_time(kept_at), session_scope(engine) as session:
        need = expiry.renew(session, net.workspace(session), "U0COLGATE2", "need", need_id)  # any colleague may
        assert need.renew_asked_at is None and need.status == "open"

    assert expire(engine, net, settings, DUE + timedelta(weeks=6)) == 0
    assert status(engine, Need, need_id) == "open"
    assert prompts(engine, net, settings, kept_at + timedelta(weeks=12) - timedelta(hours=1)).sent == 0
    assert prompts(engine, net, settings, kept_at + timedelta(weeks=12)).sent == 1  # asked again, new key
    assert len({m.idempotency_key for m in ledger(engine, "expiry")}) == 2


def test_changing_the_post_after_the_question_counts_as_an_answer(engine, net, settings, slack):
    need_id = net.need("colgate", by="U0COLGATE1", created=POSTED)
    prompts(engine, net, settings, DUE)
    with freeze_time(DUE + timedelta(days=1)), session_scope(engine) as session:
        posts.set_theme(session, net.workspace(session), "U0COLGATE1", "need", need_id, "behaviour")

    assert expire(engine, net, settings, DUE + timedelta(weeks=3)) == 0
    assert status(engine, Need, need_id) == "open"


def test_keep_on_an_expired_post_reopens_it_and_close_closes(engine, net, settings, slack):
    need_id = net.need("colgate", by="U0COLGATE1", created=POSTED)
    offer_id = net.offer("colgate", by="U0COLGATE1", created=POSTED)
    prompts(engine, net, settings, DUE)
    expire(engine, net, settings, DUE + timedelta(weeks=2))
    assert status(engine, Need, need_id) == status(engine, Offer, offer_id) == "expired"

    with freeze_time(DUE + timedelta(weeks=2, days=1)), session_scope(engine) as session:
        ws = net.workspace(session)
        assert expiry.renew(session, ws, "U0COLGATE1", "need", need_id).status == "open"
        assert expiry.close(session, ws, "U0COLGATE1", "offer", offer_id).status == "expired"
    with session_scope(engine) as session:
        ws = net.workspace(session)
        need = expiry.close(session, ws, "U0COLGATE1", "need", need_id)
        assert need.status == "closed"
        with pytest.raises(InvalidInput, match="already closed"):
            expiry.renew(session, ws, "U0COLGATE1", "need", need_id)


def test_a_second_click_changes_nothing(engine, net, settings, slack):
    need_id = net.need("colgate", by="U0COLGATE1", created=POSTED)
    prompts(engine, net, settings, DUE)
    with freeze_time(DUE + timedelta(days=1)), session_scope(engine) as session:
        first = expiry.renew(session, net.workspace(session), "U0COLGATE1", "need", need_id).updated_at
    with freeze_time(DUE + timedelta(days=2)), session_scope(engine) as session:
        second = expiry.renew(session, net.workspace(session), "U0COLGATE1", "need", need_id).updated_at
    assert second == first


def test_only_the_schools_members_may_answer(engine, net, settings, slack):
    need_id = net.need("colgate", by="U0COLGATE1", created=POSTED)
    prompts(engine, net, settings, DUE)
    with session_scope(engine) as session:
        ws = net.workspace(session)
        with pytest.raises(NotFound):
            expiry.renew(session, ws, "U0HINCHLY1", "need", need_id)
        with pytest.raises(NotFound):
            expiry.close(session, ws, "U0HINCHLY1", "need", need_id)
    assert status(engine, Need, need_id) == "open"


def test_paused_and_closed_posts_are_left_alone(engine, net, settings, slack):
    net.need("colgate", by="U0COLGATE1", created=POSTED, status="paused")
    net.need("colgate", by="U0COLGATE1", created=POSTED, status="closed")
    assert prompts(engine, net, settings, DUE + timedelta(weeks=20)).sent == 0
    assert expire(engine, net, settings, DUE + timedelta(weeks=30)) == 0


def test_another_workspaces_posts_are_not_touched(engine, net, settings, slack):
    other = Network(engine, team="T0OTHER01")
    other.member("U0ELSEWHR1", "colgate")
    theirs = other.need("colgate", by="U0ELSEWHR1", created=POSTED)
    prompts(engine, net, settings, DUE)
    assert expire(engine, net, settings, DUE + timedelta(weeks=3)) == 0
    assert slack.calls_to("chat.postMessage") == []
    with session_scope(engine) as session:
        assert session.get(Need, theirs).renew_asked_at is None
        assert session.exec(select(Member)).all()
