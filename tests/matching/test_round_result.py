"""What a round says beyond its proposals: unpaired needs with reasons, gaps, exclusions, top-k."""
from __future__ import annotations

import datetime

import pytest

from matching import Gap, Matcher, NeedItem, OfferItem, Weights, gaps, likely_fit, match, propose

pytestmark = pytest.mark.usefixtures("keyword_default_model")

TODAY = datetime.date(2026, 1, 15)


def run(needs, offers, **kw):
    kw.setdefault("today", TODAY)
    return match(needs, offers, **kw)


def test_every_unpaired_need_gets_its_reason():
    needs = [
        NeedItem("n1", "A", "help with maths times tables"),  # paired
        NeedItem("n2", "C", "help with maths number work"),  # the one maths offer is taken: capacity 1
        NeedItem("n3", "A", "our safeguarding culture and online safety"),  # nobody offers safeguarding
        NeedItem("n4", "A", "reading and phonics in reception"),  # only a far-fetched reading offer
        NeedItem("n5", "B", "attendance and persistent absence"),  # the only attendance offer is its own school's
    ]
    offers = [
        OfferItem("o1", "B", "we teach times tables and maths number work", capacity=1),
        OfferItem("o2", "B", "attendance first day calling"),
        OfferItem("o3", "C", "books", theme="reading"),
    ]
    # a threshold between the maths pair and the far-fetched reading pair, whatever the shipped
    # calibration makes of them
    likely = {(p.need_id, p.offer_id): p.probability for p in run(needs, offers, top_k=3).proposals}
    assert likely["n4", "o3"] < likely["n1", "o1"]
    cut = (likely["n4", "o3"] + likely["n1", "o1"]) / 2
    result = run(needs, offers, weights=Weights(min_relevance=cut))
    assert [(p.need_id, p.offer_id) for p in result.proposals] == [("n1", "o1")]
    why = {u.need_id: u for u in result.unmatched}
    assert set(why) == {"n2", "n3", "n4", "n5"}
    assert why["n2"].reason == "offers_taken" and why["n2"].closest[0][0] == "o1"
    assert why["n3"].reason == "no_offer_on_theme" and why["n3"].theme == "safeguarding"
    assert "No other school in the network offers help with safeguarding" in why["n3"].describe()
    assert why["n5"].reason == "no_offer_on_theme"  # its own school's offer does not count
    n4 = why["n4"]
    assert n4.reason == "too_unlikely" and n4.theme == "reading"
    assert [o for o, _ in n4.closest][0] == "o3" and len(n4.closest) <= 3
    assert all(p < cut for _, p in n4.closest)
    assert all(a >= b for (_, a), (_, b) in zip(n4.closest, n4.closest[1:]))
    assert "o3 (likely fit:" in n4.describe()
    assert result.unmatched_counts() == {"offers_taken": 1, "no_offer_on_theme": 2, "too_unlikely": 1}
    # every need is either paired or explained, never both
    assert {p.need_id for p in result.proposals} | set(why) == {n.id for n in needs}
    assert not {p.need_id for p in result.proposals} & set(why)


def test_no_offers_at_all_means_every_need_is_a_gap():
    result = run([NeedItem("n1", "A", "maths times tables")], [])
    assert result.proposals == [] and [u.reason for u in result.unmatched] == ["no_offer_on_theme"]
    assert result.gaps == [Gap("maths", 1, 0, 0)]


def test_gaps_are_themes_where_needs_outnumber_places():
    needs = [NeedItem(f"n{k}", "A", "maths times tables") for k in range(3)] + [NeedItem("r", "A", "phonics reading")]
    offers = [OfferItem("o1", "B", "maths mastery", capacity=2), OfferItem("o2", "B", "phonics", capacity=1),
              OfferItem("o3", "C", "attendance calling", capacity=5)]
    assert gaps(needs, offers) == [Gap("maths", 3, 1, 2)]
    assert gaps(needs, offers[1:]) == [Gap("maths", 3, 0, 0)]
    assert run(needs, offers).gaps == [Gap("maths", 3, 1, 2)]
    assert Gap("maths", 3, 1, 2).describe() == "Maths: 3 needs, 2 places offered"
    assert gaps([], offers) == []


def test_excluded_pairs_are_never_proposed():
    needs = [NeedItem("n1", "A", "maths times tables"), NeedItem("n2", "C", "maths number")]
    offers = [OfferItem("o1", "B", "maths times tables coaching"), OfferItem("o2", "D", "maths times tables help")]
    before = {(p.need_id, p.offer_id) for p in propose(needs, offers, today=TODAY)}
    assert len(before) == 2
    tried = sorted(before)[0]
    after = run(needs, offers, exclude=[tried])
    assert tried not in {(p.need_id, p.offer_id) for p in after.proposals}
    listed = run(needs, offers, top_k=5, exclude=[tried]).proposals
    assert tried not in {(p.need_id, p.offer_id) for p in listed}
    assert len(listed) == 3
    # unknown ids in the exclusions are ignored
    assert run(needs, offers, exclude=[("zz", "o1"), ("n1", "zz")]) == run(needs, offers)


def test_top_k_lists_k_offers_whatever_the_threshold():
    needs = [NeedItem("n1", "A", "maths times tables"), NeedItem("n2", "A", "something quite unrelated")]
    offers = [OfferItem(f"o{k}", f"S{k}", text) for k, text in
              enumerate(["maths mastery", "phonics", "attendance calling", "governor workload", "wellbeing clubs"])]
    offers.append(OfferItem("own", "A", "maths at our own school"))
    strict = Weights(min_relevance=0.99)
    out = run(needs, offers, weights=strict, top_k=3).proposals
    per_need = {}
    for p in out:
        per_need.setdefault(p.need_id, []).append(p)
    assert {k: len(v) for k, v in per_need.items()} == {"n1": 3, "n2": 3}
    assert all(p.offer_id != "own" for p in out)
    assert per_need["n1"][0].offer_id == "o0" and per_need["n1"][0].probability > per_need["n1"][1].probability
    # fewer only when fewer offers of other schools exist (5 here)
    assert len(run(needs, offers, weights=strict, top_k=10).proposals) == 10
    # the assignment under that threshold proposes nothing
    assert propose(needs, offers, weights=strict, today=TODAY) == []


def test_matcher_is_a_plain_estimator():
    m = Matcher(weights=Weights(), top_k=2)
    assert m.top_k == 2 and not hasattr(m, "pairs_")
    needs, offers = [NeedItem("n1", "A", "maths")], [OfferItem("o1", "B", "maths")]
    fitted = m.fit(needs, offers, today=TODAY)
    assert fitted is m and len(m.pairs_) == 1
    assert m.propose() == m.propose()


def test_likely_fit_in_words():
    assert likely_fit(0.8) == "likely fit: 8 in 10" and likely_fit(0.04) == "likely fit: 0 in 10"
    assert likely_fit(0.96) == "likely fit: 10 in 10"


def test_propose_is_the_proposals_of_match_in_both_modes():
    """One way to do it: propose() is match().proposals, top-k included (K offers whatever the threshold)."""
    needs = [NeedItem("n1", "A", "maths times tables")]
    offers = [OfferItem("o1", "B", "maths times tables mastery"), OfferItem("o2", "C", "phonics"),
              OfferItem("o3", "D", "maths number work")]
    every = run(needs, offers, top_k=3).proposals
    assert len(every) == 3
    assert propose(needs, offers, top_k=3, today=TODAY) == every
    assert propose(needs, offers, today=TODAY) == run(needs, offers).proposals


def test_most_likely_pairs_per_need_in_any_order():
    """Each need's three most probable pairs (ties: lower offer), whether the pairs come grouped
    by need as the engine makes them (the fast path) or shuffled (the sorting path)."""
    import numpy as np

    from matching.unmatched import most_likely

    rng = np.random.default_rng(7)
    n = 40
    grouped = [(i, j) for i in rng.permutation(n)[:35] for j in sorted(rng.choice(60, rng.integers(1, 7), replace=False))]
    need = np.array([i for i, _ in grouped])
    offer = np.array([j for _, j in grouped])
    probability = rng.choice([0.1, 0.5, 0.5, 0.8, 0.9], len(grouped))  # many ties
    expected = np.full((n, 3), -1)
    for i in range(n):
        mine = sorted(np.flatnonzero(need == i), key=lambda p: (-probability[p], offer[p]))[:3]
        expected[i, : len(mine)] = mine
    np.testing.assert_array_equal(most_likely(need, offer, probability, n, 3), expected)
    shuffle = rng.permutation(len(need))
    got = most_likely(need[shuffle], offer[shuffle], probability[shuffle], n, 3)
    np.testing.assert_array_equal(np.where(got >= 0, shuffle[np.maximum(got, 0)], -1), expected)
    assert (most_likely(need[:0], offer[:0], probability[:0], n, 3) == -1).all()
