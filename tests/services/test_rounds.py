"""Matching rounds on both backends: what is proposed, what is never proposed again, capacity across rounds."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


import pytest
from sqlmodel import select

from bot.config import Settings
from bot.delivery import pairings as pairing_delivery
from bot.services import pairings, rounds
from models import MatchRound, Pairing, PairingEvent
from models.db import session_scope
from tests.support import network as net

LEAD = "U0LEAD0001"
SETTINGS = Settings(review_channel="C0REVIEW01", leads=frozenset({LEAD}))


class Recorder:
    """A Messenger that records what would go to Slack."""

    def __init__(self):
        self.posts, self.updates, self.opened = [], [], []

    def post(self, channel, text, blocks=None, key=None):
        self.posts.append((channel, text, blocks))
        return channel, f"1700000000.{len(self.posts):06d}"

    def update(self, channel, ts, text, blocks=None):
        self.updates.append((channel, ts, text, blocks))

    def open_conversation(self, user_ids):
        self.opened.append(sorted(user_ids))
        return "G0GROUP0001"


def run_round(engine, **kw):
    ws = net.workspace(engine)
    with session_scope(engine) as session:
        return rounds.propose_round(session, ws, SETTINGS, **kw)


def all_pairings(engine):
    with session_scope(engine) as session:
        return list(session.exec(select(Pairing).order_by(Pairing.id)).all())


def test_round_proposes_with_reason_score_and_audit_event(engine):
    need_id, offer_id = net.network(engine)
    match_round = run_round(engine, started_by=LEAD)
    assert (match_round.needs_considered, match_round.offers_considered, match_round.proposals) == (1, 1, 1)
    [pairing] = all_pairings(engine)
    assert (pairing.need_id, pairing.offer_id, pairing.state, pairing.round_id) == (need_id, offer_id, "proposed", match_round.id)
    assert 0 < pairing.score and "attendance" in pairing.reason
    with session_scope(engine) as session:
        [event] = session.exec(select(PairingEvent)).all()
        assert (event.from_state, event.to_state, event.actor) == (None, "proposed", LEAD)
        assert session.exec(select(MatchRound)).one().proposals == 1


def test_a_need_with_a_live_pairing_is_not_proposed_again(engine):
    net.network(engine)
    run_round(engine)
    second = run_round(engine)
    assert (second.needs_considered, second.proposals) == (0, 0)
    assert len(all_pairings(engine)) == 1


def test_rejected_pair_is_never_reproposed_but_the_next_best_offer_is(engine):
    need_id, offer_id = net.network(engine)
    other_offer = net.offer(engine, net.STMARY, "our attendance officer shares persistent absence tracking", theme="attendance")
    run_round(engine)
    first = [p for p in all_pairings(engine)][0]
    ws = net.workspace(engine)
    with session_scope(engine) as session:
        pairings.reject(session, ws, first.id, LEAD, reason="already working together", leads=SETTINGS.leads)
    run_round(engine)
    run_round(engine)
    rows = all_pairings(engine)
    pairs = [(p.need_id, p.offer_id, p.state) for p in rows]
    assert pairs.count((first.need_id, first.offer_id, "rejected")) == 1
    assert len(rows) == 2  # the other offer once, the rejected pair never again
    assert {p.offer_id for p in rows} == {offer_id, other_offer}


def test_capacity_is_respected_across_rounds_and_freed_by_rejection(engine):
    net.seed_schools(engine)
    net.join_all(engine)
    offer_id = net.offer(engine, net.HINCHLEY, net.ABSENCE_OFFER, capacity=2, theme="attendance")
    for user in (net.COLGATE, net.STMARY, net.STMARYRC):
        net.need(engine, user, net.ABSENCE_NEED + " at our school", theme="attendance")
    assert run_round(engine).proposals == 2
    assert run_round(engine).proposals == 0  # both slots held by proposals awaiting review
    ws = net.workspace(engine)
    first, second = all_pairings(engine)
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        pairings.approve(session, ws, first.id, LEAD, now, leads=SETTINGS.leads)
        pairings.mark_introduced(session, ws, first.id, "G1", now)
    assert run_round(engine).proposals == 0  # approved and introduced still use their slots
    with session_scope(engine) as session:
        pairings.reject(session, ws, second.id, LEAD, now, leads=SETTINGS.leads)
    third = run_round(engine)
    assert third.proposals == 1  # the rejection freed a slot for the third school
    rows = all_pairings(engine)
    assert len({p.need_id for p in rows}) == 3
    with session_scope(engine) as session:
        used = rounds.capacity_used(session, ws, now)
    assert used[offer_id] == 2


def test_completed_pairings_use_capacity_for_a_term_only(engine):
    need_id, offer_id = net.network(engine)
    run_round(engine)
    [p] = all_pairings(engine)
    ws = net.workspace(engine)
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        pairings.approve(session, ws, p.id, LEAD, now, leads=SETTINGS.leads)
        pairings.mark_introduced(session, ws, p.id, "G1", now)
        pairings.record_followup_answer(session, ws, p.id, net.COLGATE, "yes", now)
        pairings.complete(session, ws, p.id, now)
        assert rounds.capacity_used(session, ws, now)[offer_id] == 1
        assert rounds.capacity_used(session, ws, now + timedelta(weeks=14))[offer_id] == 0


def test_post_review_cards_posts_once_and_remembers_where(engine):
    net.network(engine)
    run_round(engine)
    ws = net.workspace(engine)
    messenger = Recorder()
    assert pairing_delivery.post_review_cards(engine, messenger, ws, SETTINGS)["posted"] == 1
    assert pairing_delivery.post_review_cards(engine, messenger, ws, SETTINGS)["posted"] == 0
    [(channel, text, blocks)] = messenger.posts
    assert channel == "C0REVIEW01"
    shown = "\n".join(b.get("text", {}).get("text", "") for b in blocks if b["type"] == "section")
    assert "*Colgate Primary School* needs: *help with persistent absence" in shown
    assert "*Hinchley Wood School* offers: *first-day calling" in shown
    assert "Why:" in shown
    context = " ".join(e["text"] for b in blocks if b["type"] == "context" for e in b["elements"])
    [pairing] = all_pairings(engine)
    # The engine's calibrated probability, in words a lead reads at a glance.
    assert 0 < pairing.probability <= 1
    assert f"likely fit: {round(10 * pairing.probability)} in 10 · for leads only" in context
    assert (pairing.review_channel, pairing.review_ts) == ("C0REVIEW01", "1700000000.000001")
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"], e["value"]) for e in buttons] == [("pairing_approve", str(pairing.id)), ("pairing_reject", str(pairing.id))]


def test_review_card_escapes_user_text(engine):
    net.seed_schools(engine)
    net.join_all(engine)
    net.need(engine, net.COLGATE, "<!channel> help with persistent absence & <@U0BOSS0001>", theme="attendance")
    net.offer(engine, net.HINCHLEY, "<!here> persistent absence calling <https://evil.example|click>", theme="attendance")
    run_round(engine)
    messenger = Recorder()
    pairing_delivery.post_review_cards(engine, messenger, net.workspace(engine), SETTINGS)
    [(_, text, blocks)] = messenger.posts
    shown = text + json_dump(blocks)
    for raw in ("<!channel>", "<!here>", "<@U0BOSS0001>", "<https://evil"):
        assert raw not in shown
    assert "&lt;!channel&gt;" in shown and "&amp;" in shown


def json_dump(blocks):
    import json

    return json.dumps(blocks)


def test_weights_from_settings_reach_the_engine(engine):
    """A weight set in the environment changes the round; a misspelt one is a clear error, not a crash."""
    from bot.domain.errors import InvalidInput

    net.network(engine)
    ws = net.workspace(engine)
    with session_scope(engine) as session:
        with pytest.raises(InvalidInput, match="unknown weight 'nonsense'"):
            rounds.propose_round(session, ws, Settings(review_channel="C1", weights={"nonsense": 1.0}))
    with session_scope(engine) as session:
        strict = rounds.propose_round(session, ws, Settings(review_channel="C1", weights={"min_relevance": 1.0}))
        assert strict.proposals == 0
        session.rollback()
    with session_scope(engine) as session:
        assert rounds.propose_round(session, ws, Settings(review_channel="C1")).proposals == 1


def test_without_a_review_channel_cards_wait_and_nothing_is_lost(engine):
    net.network(engine)
    run_round(engine)
    ws = net.workspace(engine)
    messenger = Recorder()
    counts = pairing_delivery.post_review_cards(engine, messenger, ws, Settings())
    assert counts["no_channel"] == 1 and messenger.posts == []
    assert pairing_delivery.post_review_cards(engine, messenger, ws, SETTINGS)["posted"] == 1


def test_a_long_needs_suggested_theme_is_read_again_and_a_chosen_one_is_taken_as_given(engine):
    """The same report-style need twice: one school confirmed the theme, the other left our
    suggestion. The confirmed need's pairing is the surer fit: the suggestion is not passed on
    as a choice (docs/quality.md: passed on, every same-theme pair looked certain, precision 0.50)."""
    from bot.services import posts
    from models import Need

    net.seed_schools(engine)
    net.join_all(engine)
    text = ("The school should ensure that staff continue to review and implement plans effectively "
            "to improve attendance, so that pupils benefit from the education that the school provides.")
    chosen = net.need(engine, net.COLGATE, text, theme="attendance")
    suggested = net.need(engine, net.STMARY, text)
    net.offer(engine, net.HINCHLEY, net.ABSENCE_OFFER, capacity=2, theme="attendance")
    with session_scope(engine) as session:
        assert session.get(Need, chosen).theme_chosen and not session.get(Need, suggested).theme_chosen
        assert session.get(Need, suggested).theme == "attendance"  # the same theme, only not confirmed
        assert rounds.given_theme(session.get(Need, suggested)) is None
    run_round(engine)
    probability = {p.need_id: p.probability for p in all_pairings(engine)}
    assert probability.get(suggested, 0.0) < probability[chosen]
    # Once the school says the suggestion is right, it counts as chosen.
    ws = net.workspace(engine)
    with session_scope(engine) as session:
        post = posts.set_theme(session, ws, net.STMARY, "need", suggested, "attendance")
        assert post.theme_chosen and rounds.given_theme(post) == "attendance"


def test_a_short_needs_suggestion_stands_and_an_offers_is_read_again(engine):
    """A short need names one thing: its suggested theme stands, so a plain "phonics" need meets
    a phonics offer (read as probabilities, four words were too thin to reach the threshold)."""
    from models import Need, Offer

    net.seed_schools(engine)
    net.join_all(engine)
    need_id = net.need(engine, net.STMARY, net.PHONICS_NEED)
    offer_id = net.offer(engine, net.STMARYRC, net.PHONICS_OFFER)
    with session_scope(engine) as session:
        need, offer = session.get(Need, need_id), session.get(Offer, offer_id)
        assert not need.theme_chosen and not offer.theme_chosen
        assert rounds.given_theme(need) == need.theme == "reading"
        assert rounds.given_theme(offer) is None
    assert run_round(engine).proposals == 1
    [pairing] = all_pairings(engine)
    assert (pairing.need_id, pairing.offer_id) == (need_id, offer_id)


def test_staff_style_posts_nobody_confirmed_are_paired_on_their_theme():
    """The hand-written staff-style posts as one round, themes as the bot passes them when nobody
    confirmed one (bench/staff_rounds.py --thresholds 0.65, setting "bot": 20 of 20 good at the
    default threshold; with every theme read from the text, 9 of 9)."""
    from matching import OfferItem, NeedItem, match
    from models import Need, Offer
    from tests.matching.test_themes import STAFF_POSTS
    from matching.themes import infer_theme

    posts = [(str(i), text, kind, label) for i, (text, kind, label) in enumerate(STAFF_POSTS)]
    given = {i: rounds.given_theme((Need if kind == "need" else Offer)(text=text, theme=infer_theme(text)))
             for i, text, kind, _ in posts}
    result = match([NeedItem(i, f"n{i}", text, given[i]) for i, text, kind, _ in posts if kind == "need"],
                   [OfferItem(i, f"o{i}", text, given[i], capacity=2) for i, text, kind, _ in posts if kind == "offer"])
    label = {i: lab for i, _, _, lab in posts}
    good = sum(label[p.need_id] == label[p.offer_id] for p in result.proposals)
    assert good >= 12 and good >= 0.9 * len(result.proposals), (good, len(result.proposals))
