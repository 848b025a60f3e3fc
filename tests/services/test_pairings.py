"""The pairing state machine on both backends: allowed moves, refusals, audit trail, and one winner in a race."""
from __future__ import annotations

import threading
from datetime import datetime, timezone

import pytest
from sqlmodel import select

from bot.messages.pairings import wrong_state_text
from bot.config import Settings
from bot.services import members, pairings, rounds
from bot.domain.errors import NotALead, NotFound
from models import Feedback, Pairing, PairingEvent
from models.db import make_engine, session_scope
from tests.support import network as net

LEAD, OTHER_LEAD = "U0LEAD0001", "U0LEAD0002"
LEADS = frozenset({LEAD, OTHER_LEAD})
NOW = datetime(2026, 3, 2, 8, 12, tzinfo=timezone.utc)


@pytest.fixture
def proposed(engine) -> int:
    net.network(engine)
    with session_scope(engine) as session:
        rounds.propose_round(session, net.workspace(engine), Settings())
        return session.exec(select(Pairing)).one().id


def act(engine, fn, *args, **kw):
    with session_scope(engine) as session:
        return fn(session, net.workspace(engine), *args, **kw)


def test_whole_lifecycle_with_audit_trail(engine, proposed):
    act(engine, pairings.approve, proposed, LEAD, NOW, leads=LEADS)
    act(engine, pairings.mark_introduced, proposed, "G1", NOW)
    act(engine, pairings.record_followup_answer, proposed, net.COLGATE, "not_yet", NOW)
    act(engine, pairings.record_followup_answer, proposed, net.HINCHLEY, "yes", NOW)
    act(engine, pairings.record_feedback, proposed, net.COLGATE, 5, "attendance up", "thank you", NOW)
    pairing, _ = act(engine, pairings.record_feedback, proposed, net.HINCHLEY, 3, "we learnt too", "", NOW)
    assert pairing.state == "completed" and pairing.completed_at
    with session_scope(engine) as session:
        trail = [(e.from_state, e.to_state, e.actor) for e in session.exec(select(PairingEvent).order_by(PairingEvent.id))]
        sides = {f.side: f.impact for f in session.exec(select(Feedback))}
    assert trail == [
        (None, "proposed", "scheduler"), ("proposed", "approved", LEAD), ("approved", "introduced", "collab"),
        ("introduced", "introduced", net.COLGATE), ("introduced", "connected", net.HINCHLEY),
        ("connected", "completed", net.HINCHLEY),
    ]
    assert sides == {"taker": 5, "giver": 3}


def test_wrong_state_changes_nothing_and_says_who_decided(engine, proposed):
    act(engine, pairings.approve, proposed, LEAD, NOW, leads=LEADS)
    with pytest.raises(pairings.WrongState) as late:
        act(engine, pairings.reject, proposed, OTHER_LEAD, NOW, "no", leads=LEADS)
    assert wrong_state_text(late.value, "Europe/London") == f"Already approved by <@{LEAD}> at Mon 08:12: nothing changed."
    with pytest.raises(pairings.WrongState):
        act(engine, pairings.record_followup_answer, proposed, net.COLGATE, "yes", NOW)  # not introduced yet
    with pytest.raises(pairings.WrongState):
        act(engine, pairings.record_feedback, proposed, net.COLGATE, 4)
    with session_scope(engine) as session:
        pairing = session.get(Pairing, proposed)
        assert (pairing.state, pairing.decided_by, pairing.reject_reason) == ("approved", LEAD, None)
        assert len(session.exec(select(PairingEvent)).all()) == 2


def test_only_leads_decide_and_only_the_two_schools_answer(engine, proposed):
    with pytest.raises(NotALead):
        act(engine, pairings.approve, proposed, net.COLGATE, NOW, leads=LEADS)
    with session_scope(engine) as session:
        members.set_lead(session, net.workspace(engine), net.STMARY, True)  # an appointed lead
    act(engine, pairings.approve, proposed, net.STMARY, NOW)
    act(engine, pairings.mark_introduced, proposed, "G1", NOW)
    with pytest.raises(NotFound):
        act(engine, pairings.record_followup_answer, proposed, net.STMARYRC, "yes", NOW)
    with pytest.raises(NotFound):
        act(engine, pairings.approve, 9999, LEAD, NOW, leads=LEADS)


def test_pairings_are_scoped_to_their_workspace(engine, proposed):
    with session_scope(engine) as session:
        from bot.services.workspaces import ensure_workspace

        other = ensure_workspace(session, "T0OTHER01")
        with pytest.raises(NotFound):
            pairings.approve(session, other, proposed, LEAD, NOW, leads=LEADS)


def test_second_feedback_from_the_same_side_replaces_the_first(engine, proposed):
    act(engine, pairings.approve, proposed, LEAD, NOW, leads=LEADS)
    act(engine, pairings.mark_introduced, proposed, "G1", NOW)
    act(engine, pairings.record_followup_answer, proposed, net.COLGATE, "yes", NOW)
    act(engine, pairings.record_feedback, proposed, net.COLGATE, 2, "a start")
    pairing, feedback = act(engine, pairings.record_feedback, proposed, net.COLGATE, 4, "more now")
    assert pairing.state == "connected"
    with session_scope(engine) as session:
        assert [(f.side, f.impact, f.what_changed) for f in session.exec(select(Feedback))] == [("taker", 4, "more now")]


def test_two_processes_approving_and_rejecting_at_once_have_one_winner(engine, database_url, proposed):
    engines = [make_engine(database_url) for _ in range(6)]
    barrier = threading.Barrier(len(engines))
    results = []

    def decide(i, eng):
        barrier.wait()
        try:
            with session_scope(eng) as session:
                ws = net.workspace(eng)
                if i % 2:
                    pairings.approve(session, ws, proposed, LEAD, NOW, leads=LEADS)
                else:
                    pairings.reject(session, ws, proposed, OTHER_LEAD, NOW, "no", leads=LEADS)
            results.append("won")
        except pairings.WrongState:
            results.append("late")

    threads = [threading.Thread(target=decide, args=(i, e)) for i, e in enumerate(engines)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for e in engines:
        e.dispose()
    assert sorted(results) == ["late"] * 5 + ["won"]
    with session_scope(engine) as session:
        decisions = session.exec(select(PairingEvent).where(PairingEvent.from_state == "proposed")).all()
        assert len(decisions) == 1
        assert session.get(Pairing, proposed).state == decisions[0].to_state
