"""Introductions when people have left, and the `collab round` command line, against the stub Slack."""
from __future__ import annotations

import argparse
import io
import json

import pytest
from sqlmodel import select

from bot.slack.app import make_client
from bot.cli.rounds import add_round_command, run_round
from bot.config import Settings, SettingsError
from bot.slack.messenger import SlackMessenger
from bot.delivery import pairings as pairing_delivery
from bot.services import members, pairings, rounds
from models import Pairing
from models.db import session_scope
from tests.bot.conftest import LEAD
from tests.support import network as net

COLLEAGUE = "U0COLGATE2"


def approved(engine, settings) -> int:
    return net.absence_pairing(engine, settings, LEAD)


def test_a_poster_who_left_is_replaced_by_their_schools_other_members(slack, engine, schools, settings):
    pid = approved(engine, settings)
    ws = net.workspace(engine)
    with session_scope(engine) as session:
        members.join(session, ws, COLLEAGUE, "126013")
        members.forget_me(session, ws, net.COLGATE)
    result = pairing_delivery.introduce(engine, SlackMessenger(make_client(settings)), ws, pid, settings)
    assert result.status == "sent"
    [opened] = slack.calls_to("conversations.open")
    assert sorted(opened.params["users"].split(",")) == sorted([COLLEAGUE, net.HINCHLEY, LEAD])
    with session_scope(engine) as session:
        assert session.get(Pairing, pid).state == "introduced"


def test_when_a_school_has_nobody_left_the_lead_is_told_and_the_pairing_waits(slack, engine, schools, settings):
    pid = approved(engine, settings)
    ws = net.workspace(engine)
    with session_scope(engine) as session:
        members.forget_me(session, ws, net.COLGATE)
    messenger = SlackMessenger(make_client(settings))
    assert pairing_delivery.introduce(engine, messenger, ws, pid, settings).status == "no_contact"
    assert pairing_delivery.introduce(engine, messenger, ws, pid, settings).status == "no_contact"
    [told] = slack.calls_to("chat.postMessage")  # once, however often it is tried
    assert told.params["channel"] == LEAD and "nobody from Colgate Primary School" in told.params["text"]
    assert slack.calls_to("conversations.open") == []
    with session_scope(engine) as session:
        assert session.get(Pairing, pid).state == "approved"


def test_intro_escapes_what_people_typed(slack, engine, schools, settings):
    net.join_all(engine)
    net.need(engine, net.COLGATE, "<!everyone> help with persistent absence", theme="attendance")
    net.offer(engine, net.HINCHLEY, "absence calling <@U0BOSS0001>", theme="attendance")
    ws = net.workspace(engine)
    with session_scope(engine) as session:
        rounds.propose_round(session, ws, settings)
        [pairing] = session.exec(select(Pairing)).all()
        pairings.approve(session, ws, pairing.id, LEAD, leads=settings.leads)
    pairing_delivery.introduce(engine, SlackMessenger(make_client(settings)), ws, pairing.id, settings)
    [intro] = slack.calls_to("chat.postMessage")
    shown = json.dumps(intro.json("blocks"))
    assert "<!everyone>" not in shown and "<@U0BOSS0001>" not in shown and "&lt;!everyone&gt;" in shown


def parse(argv):
    parser = argparse.ArgumentParser()
    add_round_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_round_posts_cards_and_prints_a_summary(slack, engine, schools, settings):
    net.join_all(engine)
    net.need(engine, net.COLGATE, net.ABSENCE_NEED, theme="attendance")
    net.offer(engine, net.HINCHLEY, net.ABSENCE_OFFER, theme="attendance")
    out = io.StringIO()
    assert run_round(parse(["round"]), settings=settings, out=out) == 0
    assert "T0COLLAB1: 1 open need, 1 offer with room; 1 new pairing; 1 review card posted." in out.getvalue()
    assert len(slack.calls_to("chat.postMessage")) == 1
    out = io.StringIO()
    run_round(parse(["round", "--team", "T0COLLAB1"]), settings=settings, out=out)
    assert "0 new pairings; 0 review cards posted" in out.getvalue()


def test_cli_round_needs_the_token_and_the_review_channel(settings):
    for missing, name in (({"slack_bot_token": None}, "SLACK_BOT_TOKEN"), ({"review_channel": None}, "COLLAB_REVIEW_CHANNEL")):
        values = {**settings.__dict__, **missing}
        with pytest.raises(SettingsError, match=name):
            run_round(parse(["round"]), settings=Settings(**values))
