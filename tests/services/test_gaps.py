"""The network's gaps: themes where needs outnumber the places offered, counted on what is live now."""
from __future__ import annotations

from models import utcnow
from models.db import session_scope
from tests.support import network as net
from bot.services.gaps import network_gaps


def gaps(engine):
    with session_scope(engine) as session:
        return [(g.theme, g.needs, g.places) for g in network_gaps(session, net.workspace(engine), utcnow(), limit=None)]


def test_a_theme_with_more_needs_than_places_is_a_gap_and_a_covered_one_is_not(engine):
    net.network(engine)  # one absence need, one absence offer with one place
    assert gaps(engine) == []
    net.need(engine, net.STMARY, net.PHONICS_NEED, theme="reading")
    net.need(engine, net.STMARYRC, "phonics catch-up for pupils in Year 2 who fell behind", theme="reading")
    net.offer(engine, net.HINCHLEY, net.PHONICS_OFFER, capacity=1, theme="reading")
    net.need(engine, net.STMARY, "our pupils' attendance on Fridays is poor, we want ideas", theme="attendance")
    assert gaps(engine) == [("attendance", 2, 1), ("reading", 2, 1)]


def test_more_places_cover_the_needs_and_the_widest_gap_comes_first(engine):
    net.network(engine)
    for user in (net.STMARY, net.STMARYRC, net.HINCHLEY):
        net.need(engine, user, "we need help with the teaching of early reading and phonics", theme="reading")
    net.offer(engine, net.COLGATE, "we have spare places on our attendance training", capacity=3, theme="attendance")
    net.need(engine, net.STMARY, "help with SEND provision for autistic pupils in mainstream", theme="send")
    assert gaps(engine) == [("reading", 3, 0), ("send", 1, 0)]


def test_a_round_records_each_need_it_left_and_why(engine):
    from sqlmodel import select

    from bot.config import Settings
    from bot.services import rounds
    from bot.services.gaps import left_behind
    from models import UnpairedNeed

    net.network(engine)  # the absence need and offer: paired
    send = net.need(engine, net.STMARY, "help with SEND provision for autistic pupils in mainstream", theme="send")
    with session_scope(engine) as session:
        done = rounds.propose_round(session, net.workspace(engine), Settings(review_channel="C1"))
        assert done.proposals == 1
        left = left_behind(session, done.id)
        assert left.by_reason == {"offers_taken": 0, "no_offer_on_theme": 1, "too_unlikely": 0}
        assert left.themes_nobody_offers == ["send"]
        [left] = session.exec(select(UnpairedNeed)).all()
        assert (left.need_id, left.theme, left.reason) == (send, "send", "no_offer_on_theme")
    with session_scope(engine) as session:  # the next round leaves it again, and says so again
        again = rounds.propose_round(session, net.workspace(engine), Settings(review_channel="C1"))
        assert again.proposals == 0 and left_behind(session, again.id).by_reason["no_offer_on_theme"] == 1


def test_a_need_whose_only_offer_was_rejected_is_left_with_a_reason(engine):
    from sqlmodel import select

    from bot.config import Settings
    from bot.services import pairings, rounds
    from bot.services.gaps import left_behind
    from models import Pairing

    net.network(engine)
    settings = Settings(review_channel="C1", leads=frozenset({"U0LEAD0001"}))
    with session_scope(engine) as session:
        rounds.propose_round(session, net.workspace(engine), settings)
    with session_scope(engine) as session:
        pairing = session.exec(select(Pairing)).one()
        pairings.reject(session, net.workspace(engine), pairing.id, "U0LEAD0001", reason="not this one",
                        leads=settings.leads)
    with session_scope(engine) as session:
        again = rounds.propose_round(session, net.workspace(engine), settings)
        left = left_behind(session, again.id).by_reason
        assert again.proposals == 0 and sum(left.values()) == 1 and left["no_offer_on_theme"] == 0
