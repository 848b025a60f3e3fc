"""Reciprocity: counting help given and received, and the monthly invitation to give."""
from __future__ import annotations

from datetime import timedelta

from freezegun import freeze_time

from bot.services.calendar import school_year_start
from bot.delivery.reciprocity import send_reciprocity_invitations
from bot.services.reciprocity import give_receive
from models.db import session_scope
from tests.support.rhythm import Network, all_text, ledger, messenger_for, posted_to, utc

NOW = utc(2026, 11, 23, 9, 0)  # a Monday in the autumn term


def test_school_year_starts_on_1_september_at_midnight_in_london(settings):
    # 1 September is in summer time, so the school year starts at 23:00 UTC the day before.
    assert school_year_start(NOW, settings) == utc(2026, 8, 31, 23, 0)
    assert school_year_start(utc(2027, 3, 1), settings) == utc(2026, 8, 31, 23, 0)
    assert school_year_start(utc(2026, 8, 31, 22, 59), settings) == utc(2025, 8, 31, 23, 0)
    assert school_year_start(utc(2026, 8, 31, 23, 0), settings) == utc(2026, 8, 31, 23, 0)


def test_given_and_received_count_only_introductions_and_later_this_year(engine, net, settings):
    this_year = NOW - timedelta(days=20)
    for state in ("introduced", "connected", "completed"):
        net.pairing("colgate", "hinchley", state, at=this_year)
    for state in ("proposed", "approved", "rejected", "declined"):
        net.pairing("colgate", "hinchley", state, at=this_year)
    net.pairing("colgate", "hinchley", "completed", at=utc(2026, 7, 1))  # last school year
    net.pairing("hinchley", "colgate", "connected", at=this_year)
    other = Network(engine, team="T0OTHER01")
    other.pairing("colgate", "stmary", "connected", at=this_year)  # another network's business

    with session_scope(engine) as session:
        ws = net.workspace(session)
        since = school_year_start(NOW, settings)
        assert give_receive(session, ws, net.school["colgate"], since) == (1, 3)
        assert give_receive(session, ws, net.school["hinchley"], since) == (3, 1)
        assert give_receive(session, ws, net.school["stmary"], since) == (0, 0)
        # "since" is honoured: from before last summer the old pairing counts too.
        assert give_receive(session, ws, net.school["colgate"], utc(2026, 1, 1)) == (1, 4)


def _taker(net, received=3, given=0, when=None):
    when = when or NOW - timedelta(days=10)
    for _ in range(received):
        net.pairing("colgate", "hinchley", "connected", at=when)
    for _ in range(given):
        net.pairing("stmary", "colgate", "connected", at=when)


def test_invitation_thanks_the_school_and_never_mentions_another(engine, net, settings, slack):
    net.member("U0COLGATE1", "colgate")
    net.member("U0COLGATE2", "colgate")
    net.member("U0HINCHLY1", "hinchley")
    _taker(net, received=3)

    with freeze_time(NOW):
        summary = send_reciprocity_invitations(engine, messenger_for(settings), net.workspace(), NOW, settings)

    assert summary.sent == 2
    assert sorted(posted_to(slack)) == ["U0COLGATE1", "U0COLGATE2"]
    call = slack.calls_to("chat.postMessage")[0]
    assert call.params["text"] == (
        "Your school has had help three times this year — thank you for taking part. "
        "Is there something your school does well that another school could learn from?")
    words = all_text(call)
    for school in ("Hinchley", "St Mary", "Colgate"):
        assert school not in words
    buttons = [e for b in call.json("blocks") if b["type"] == "actions" for e in b["elements"]]
    assert [(b["action_id"], b["text"]["text"]) for b in buttons] == [("offer_something", "Offer something")]


def test_no_invitation_when_help_is_roughly_even_or_the_school_already_offers(engine, net, settings, slack):
    net.member("U0COLGATE1", "colgate")
    net.member("U0STMARY01", "stmary")
    _taker(net, received=3, given=2)  # colgate: +1 only; stmary: gave 0, received 2 ...
    net.offer("stmary", text="our reading scheme and a visit")  # ... but has an open offer

    with freeze_time(NOW):
        summary = send_reciprocity_invitations(engine, messenger_for(settings), net.workspace(), NOW, settings)

    assert summary.sent == 0
    assert slack.calls_to("chat.postMessage") == []


def test_a_closed_or_paused_offer_is_not_an_open_one(engine, net, settings, slack):
    net.member("U0COLGATE1", "colgate")
    _taker(net, received=2)
    net.offer("colgate", text="an old offer we closed", status="closed")

    with freeze_time(NOW):
        send_reciprocity_invitations(engine, messenger_for(settings), net.workspace(), NOW, settings)

    assert posted_to(slack) == ["U0COLGATE1"]
    assert "twice this year" in slack.calls_to("chat.postMessage")[0].params["text"]


def test_paused_members_get_nothing(engine, net, settings, slack):
    net.member("U0COLGATE1", "colgate", paused_until=NOW + timedelta(weeks=2))
    net.member("U0COLGATE2", "colgate")
    _taker(net, received=3)

    with freeze_time(NOW):
        send_reciprocity_invitations(engine, messenger_for(settings), net.workspace(), NOW, settings)

    assert posted_to(slack) == ["U0COLGATE2"]


def test_at_most_once_a_month(engine, net, settings, slack):
    net.member("U0COLGATE1", "colgate")
    _taker(net, received=3)
    messenger = messenger_for(settings)

    def run(at):
        with freeze_time(at):
            return send_reciprocity_invitations(engine, messenger, net.workspace(), at, settings)

    assert run(NOW).sent == 1
    assert run(NOW + timedelta(days=1)).sent == 0                 # same month: the ledger key stops it
    assert run(utc(2026, 12, 2, 9)).sent == 0                      # new month, but only 9 days on
    assert run(NOW + timedelta(days=29, hours=23)).sent == 0       # still under 30 days
    assert run(NOW + timedelta(days=30)).sent == 1                 # 30 days on, in December: once more
    assert run(NOW + timedelta(days=31)).sent == 0
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert [m.idempotency_key for m in ledger(engine, "reciprocity")] == [
        f"reciprocity:{net.workspace_id}:{net.school['colgate']}:2026-11:U0COLGATE1",
        f"reciprocity:{net.workspace_id}:{net.school['colgate']}:2026-12:U0COLGATE1",
    ]


def test_a_part_sent_batch_is_finished_by_the_rerun_without_repeats(engine, net, settings, slack):
    for user in ("U0COLGATE1", "U0COLGATE2", "U0COLGATE3"):
        net.member(user, "colgate")
    _taker(net, received=4)
    slack.error_next("chat.postMessage", "ratelimited")  # temporary: try again next run
    with freeze_time(NOW):
        first = send_reciprocity_invitations(engine, messenger_for(settings), net.workspace(), NOW, settings)
    assert first.sent == 2 and first.incomplete
    with freeze_time(NOW + timedelta(days=1)):
        second = send_reciprocity_invitations(engine, messenger_for(settings), net.workspace(),
                                              NOW + timedelta(days=1), settings)
    assert second.sent == 1
    assert sorted(posted_to(slack)) == ["U0COLGATE1", "U0COLGATE2", "U0COLGATE3"]


def test_an_invitation_never_stops_the_school_asking_for_help(engine, net, settings):
    from bot.services import posts

    net.member("U0COLGATE1", "colgate")
    _taker(net, received=5)
    with session_scope(engine) as session:
        need = posts.post_need(session, net.workspace(session), "U0COLGATE1", "help with reading for pleasure in KS2", theme="reading")
        assert need.status == "open"
