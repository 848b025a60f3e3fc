"""The engine through its public API: match(...) (propose keeps a compatibility contract, see test_round_result)."""
from __future__ import annotations

import dataclasses
import datetime
import random

import numpy as np
import pytest

import matching.candidates as candidates
import matching.engine as engine
import matching.text as text
from matching import NeedItem, OfferItem, PastPairing, SchoolInfo, Weights, match
from tests.matching.test_assign import exact_optimum


pytestmark = pytest.mark.usefixtures("keyword_default_model")

TODAY = datetime.date(2026, 1, 15)

NEED_TEXTS = [
    "Help with persistent absence in Year 9",
    "We need support to improve early reading and phonics in reception",
    "Our maths teaching needs work on times tables and arithmetic fluency",
    "Behaviour at lunchtime and low-level disruption in lessons",
    "Improving the curriculum sequencing in history and geography",
    "Support for pupils with SEND in mainstream classes, especially autism",
    "Closing gaps for disadvantaged pupils and pupil premium strategy",
    "Checking pupils' understanding and using retrieval practice",
    "Governor training and reducing staff workload",
    "Careers guidance and work experience for the sixth form",
]
OFFER_TEXTS = [
    "First-day calling and family liaison that halved persistent absence",
    "Our phonics lead can coach reception staff in systematic synthetic phonics and early reading",
    "Maths mastery: we teach times tables and arithmetic with daily fluency practice",
    "Calm behaviour routines that cut low-level disruption in lessons",
    "A well-sequenced history and geography curriculum we are happy to share",
    "Our SENCo runs training on adapting lessons for pupils with autism",
    "Pupil premium strategy that closed gaps for disadvantaged pupils",
    "Retrieval practice and low-stakes quizzes to check understanding",
    "Governors' workload charter and training for new governors",
    "Careers fair and work experience placements for sixth form students",
]


def school(urn, **kw):
    return SchoolInfo(urn=urn, name=kw.pop("name", f"School {urn}"), **kw)


def random_round(seed: int, n_schools=6, n_needs=8, n_offers=6):
    rng = random.Random(seed)
    urns = [str(100000 + k) for k in range(n_schools)]
    needs = [NeedItem(f"N{k:02d}", rng.choice(urns), rng.choice(NEED_TEXTS) + rng.choice(["", " please", " in Year 5"]))
             for k in range(n_needs)]
    offers = [OfferItem(f"O{k:02d}", rng.choice(urns), rng.choice(OFFER_TEXTS), capacity=rng.randint(1, 3))
              for k in range(n_offers)]
    schools = [school(u, phase=rng.choice(["Primary", "Secondary", None]),
                      local_authority=rng.choice(["Surrey", "Kent"]), trust=rng.choice(["T1", "T2", None]),
                      easting=rng.uniform(500000, 540000), northing=rng.uniform(100000, 140000),
                      fsm_percent=rng.uniform(2, 50)) for u in urns]
    history = [PastPairing(rng.choice(urns), rng.choice(urns), TODAY - datetime.timedelta(days=rng.randint(0, 700)))
               for _ in range(rng.randint(0, 6))]
    return needs, offers, schools, history


def run(*args, **kw):
    kw.setdefault("today", TODAY)
    return match(*args, **kw).proposals


def test_assignment_is_the_exact_optimum_over_all_eligible_pairs(theme_model):
    for seed in range(40):
        needs, offers, schools, history = random_round(seed)
        weights = Weights(repeat_penalty=0.3, cross_trust=0.05)
        listed = run(needs, offers, schools, history, weights=weights, top_k=len(offers), theme_model=theme_model)
        # the assignment considers only pairs likely enough (top-k lists every pair)
        every = [p for p in listed if p.probability >= weights.min_relevance and p.score > 0]
        chosen = run(needs, offers, schools, history, weights=weights, theme_model=theme_model)
        need_ix = {n.id: i for i, n in enumerate(needs)}
        offer_ix = {o.id: j for j, o in enumerate(offers)}
        pn = np.array([need_ix[p.need_id] for p in every], dtype=int)
        po = np.array([offer_ix[p.offer_id] for p in every], dtype=int)
        w = np.array([round(p.score * 10_000) for p in every])
        cap = np.array([o.capacity for o in offers])
        # the rule of the round: an offer's places go to different schools
        school_ix = {u: k for k, u in enumerate(sorted({n.school_urn for n in needs}))}
        group = po * len(school_ix) + np.array([school_ix[needs[i].school_urn] for i in pn], dtype=int)
        best = exact_optimum(pn, po, w, cap, len(needs), group)
        assert sum(round(p.score * 10_000) for p in chosen) == pytest.approx(best), seed
        # limits
        assert len({p.need_id for p in chosen}) == len(chosen)
        used = {}
        for p in chosen:
            used[p.offer_id] = used.get(p.offer_id, 0) + 1
        assert all(used[o.id] <= o.capacity for o in offers if o.id in used)
        taker = {n.id: n.school_urn for n in needs}
        assert len({(p.offer_id, taker[p.need_id]) for p in chosen}) == len(chosen)
        # a chosen pair has the same score as in top-k mode
        scores = {(p.need_id, p.offer_id): p.score for p in every}
        for p in chosen:
            assert p.rank == 1 and scores[(p.need_id, p.offer_id)] == p.score


def test_never_a_school_with_itself(theme_model):
    needs = [NeedItem("n1", "1", "phonics and early reading"), NeedItem("n2", "2", "phonics and early reading")]
    offers = [OfferItem("o1", "1", "phonics and early reading coaching", capacity=2)]
    for top_k in (None, 5):
        out = run(needs, offers, top_k=top_k, theme_model=theme_model)
        assert [(p.need_id, p.offer_id) for p in out] == [("n2", "o1")]
    for seed in range(20):
        needs, offers, schools, history = random_round(seed, n_schools=3)
        urn_n = {n.id: n.school_urn for n in needs}
        urn_o = {o.id: o.school_urn for o in offers}
        for p in run(needs, offers, schools, history, top_k=10, theme_model=theme_model):
            assert urn_n[p.need_id] != urn_o[p.offer_id]


def test_deterministic_and_independent_of_input_order(theme_model):
    needs, offers, schools, history = random_round(5, n_needs=12, n_offers=9)
    first = run(needs, offers, schools, history, theme_model=theme_model)
    assert first
    for seed in range(4):
        rng = random.Random(seed)
        n2, o2, s2 = needs[:], offers[:], schools[:]
        rng.shuffle(n2), rng.shuffle(o2), rng.shuffle(s2)
        assert run(n2, o2, s2, history, theme_model=theme_model) == first


def test_top_k_ranks_and_order(theme_model):
    needs, offers, schools, history = random_round(9, n_needs=5, n_offers=8)
    out = run(needs, offers, schools, history, top_k=3, theme_model=theme_model)
    by_need = {}
    for p in out:
        by_need.setdefault(p.need_id, []).append(p)
    for ps in by_need.values():
        assert [p.rank for p in ps] == list(range(1, len(ps) + 1))
        assert len(ps) <= 3
        assert all(a.score >= b.score for a, b in zip(ps, ps[1:]))


def test_obvious_pairs_from_text_alone():
    # no schools, no themes, no history: text (and inferred themes) must still pair sensibly
    needs = [NeedItem(f"n{k}", f"1{k}", t) for k, t in enumerate(NEED_TEXTS)]
    offers = [OfferItem(f"o{k}", f"2{k}", t) for k, t in enumerate(OFFER_TEXTS)]
    out = run(needs, offers)
    assert {(p.need_id, p.offer_id) for p in out} == {(f"n{k}", f"o{k}") for k in range(len(NEED_TEXTS))}


def _two_needs_one_offer(fsm_a=None, fsm_b=None, history=()):
    needs = [NeedItem("a", "A", "help with persistent absence"), NeedItem("b", "B", "help with persistent absence")]
    offers = [OfferItem("o", "C", "we cut persistent absence with first-day calling")]
    schools = [school("A", name="Ash School", fsm_percent=fsm_a), school("B", name="Birch School", fsm_percent=fsm_b), school("C")]
    return needs, offers, schools, list(history)


def test_an_offers_places_go_to_different_schools():
    """Two places on one attendance offer: the school with more pupils on free school meals asks
    twice, another school once. Both schools get a place; the second need of the first school
    waits, told the likely offers went to other needs."""
    needs = [NeedItem("a1", "A", "persistent absence in year 9", "attendance"),
             NeedItem("a2", "A", "attendance of disadvantaged pupils", "attendance"),
             NeedItem("b1", "B", "persistent absence is high", "attendance")]
    offers = [OfferItem("o", "C", "our attendance officer on persistent absence", "attendance", 2)]
    schools = [SchoolInfo("A", "Ash", fsm_percent=45), SchoolInfo("B", "Birch", fsm_percent=10), SchoolInfo("C", "Cedar")]
    result = match(needs, offers, schools, today=TODAY)
    paired = {p.need_id for p in result.proposals}
    assert len(paired) == 2 and "b1" in paired and len(paired & {"a1", "a2"}) == 1
    assert [u.reason for u in result.unmatched] == ["offers_taken"]


def test_disadvantage_puts_the_poorer_school_first():
    needs, offers, schools, _ = _two_needs_one_offer(fsm_a=5, fsm_b=40)
    out = run(needs, offers, schools)
    assert [p.need_id for p in out] == ["b"]
    assert "Birch School has 40 % of pupils on free school meals" in out[0].reason
    needs, offers, schools, _ = _two_needs_one_offer(fsm_a=40, fsm_b=5)
    assert [p.need_id for p in run(needs, offers, schools)] == ["a"]
    # switched off: tie -> first need id
    needs, offers, schools, _ = _two_needs_one_offer(fsm_a=5, fsm_b=40)
    out = run(needs, offers, schools, weights=Weights(disadvantage=0))
    assert "free school meals" not in out[0].reason


def test_reciprocity_a_school_that_has_given_gets_help_sooner():
    gave = [PastPairing("B", "Z", TODAY - datetime.timedelta(days=30))]
    needs, offers, schools, history = _two_needs_one_offer(history=gave)
    out = run(needs, offers, schools, history)
    assert [p.need_id for p in out] == ["b"]
    assert "has helped other schools once" in out[0].reason
    # only giving counts: a school that received is not pushed back
    received = [PastPairing("Z", "B", TODAY - datetime.timedelta(days=30))]
    needs, offers, schools, history = _two_needs_one_offer(history=received)
    a, b = (run(needs, offers, schools, history, top_k=1))
    assert a.score == b.score


def test_repeat_penalty_applies_within_the_window_only():
    needs = [NeedItem("n", "A", "help with persistent absence")]
    offers = [OfferItem("o1", "B", "persistent absence support"), OfferItem("o2", "C", "persistent absence support")]
    recent = [PastPairing("B", "A", TODAY - datetime.timedelta(days=100))]
    assert run(needs, offers, history=recent)[0].offer_id == "o2"
    old = [PastPairing("B", "A", TODAY - datetime.timedelta(days=400))]
    # outside the 365-day window it is not a repeat (but B has given, which does not matter here)
    assert run(needs, offers, history=old, weights=Weights(reciprocity=0))[0].offer_id == "o1"
    # either direction counts as the same two schools
    reverse = [PastPairing("A", "B", TODAY - datetime.timedelta(days=10))]
    assert run(needs, offers, history=reverse, weights=Weights(reciprocity=0))[0].offer_id == "o2"
    # shorter window
    w = Weights(repeat_window_days=50, reciprocity=0)
    assert run(needs, offers, history=recent, weights=w)[0].offer_id == "o1"
    # with only the repeated school available, the default penalty rules the pair out
    assert run(needs, offers[:1], history=recent) == []
    # a small penalty only lowers the score
    soft = run(needs, offers[:1], history=recent, weights=Weights(repeat_penalty=0.1), top_k=1)
    plain = run(needs, offers[:1], top_k=1)
    assert soft[0].score == pytest.approx(plain[0].score - 0.1, abs=1e-4)  # A (in need) never gave: no bonus


def test_place_and_phase_and_cross_trust():
    needs = [NeedItem("n", "A", "help with persistent absence")]
    offers = [OfferItem("far", "B", "persistent absence support"), OfferItem("near", "C", "persistent absence support")]
    schools = [school("A", easting=500000, northing=100000, phase="Primary", trust="T1"),
               school("B", easting=600000, northing=100000, phase="Primary", trust="T1"),
               school("C", easting=503000, northing=104000, phase="Primary", trust="T1")]
    out = run(needs, offers, schools, top_k=2)
    assert [p.offer_id for p in out] == ["near", "far"]
    assert "5 km apart" in out[0].reason and "100 km apart" in out[1].reason
    schools[1] = dataclasses.replace(schools[1], local_authority="Kent")
    schools[0] = dataclasses.replace(schools[0], local_authority="Kent")
    out = run(needs, offers, schools, top_k=2)
    assert out[0].offer_id == "far" and "both in Kent" in out[0].reason  # same LA beats 5 km
    # phase
    schools = [school("A", phase="Primary"), school("B", phase="Secondary"), school("C", phase="Primary")]
    assert [p.offer_id for p in run(needs, offers, schools, top_k=2)] == ["near", "far"]
    # an unknown phase fits nothing (not even the last phase seen)
    schools = [school("A"), school("B", phase="Secondary"), school("C", phase="Primary")]
    out = run(needs, offers, schools, top_k=2)
    assert out[0].score == out[1].score
    from matching.engine import phase_fit
    assert phase_fit("Primary", "Middle deemed primary") == 0.5 and phase_fit("Primary", "Not applicable") == 0
    assert phase_fit("16 plus", "Secondary") == 0.5 and phase_fit("Nursery", "Secondary") == 0
    # cross-trust preference, off by default
    schools = [school("A", trust="T1"), school("B", trust="T2"), school("C", trust="T1")]
    out = run(needs, offers, schools, top_k=2)
    assert out[0].score == out[1].score
    out = run(needs, offers, schools, top_k=2, weights=Weights(cross_trust=0.1))
    assert out[0].offer_id == "far" and "across trusts" in out[0].reason


def test_given_themes_are_used_and_checked(theme_model):
    needs = [NeedItem("n", "A", "support for our new staff", theme="Early years")]
    offers = [OfferItem("o1", "B", "support for our new staff", theme="early_years"),
              OfferItem("o2", "C", "support for our new staff", theme="behaviour")]
    # top-k lists both; the other-theme offer (same text only: raw relevance = text weight) is unlikely
    out = run(needs, offers, top_k=2, theme_model=theme_model)
    assert [p.offer_id for p in out] == ["o1", "o2"]
    assert out[0].probability > 0.8 and out[1].probability < Weights().min_relevance
    assert out[0].score - out[1].score == pytest.approx(out[0].probability - out[1].probability, abs=2e-3)
    # the assignment proposes only the likely one
    assert [p.offer_id for p in run(needs, offers, theme_model=theme_model)] == ["o1"]
    assert theme_model.calls == 0  # nothing to infer
    with pytest.raises(ValueError, match="unknown theme 'spelling bee'"):
        run([NeedItem("n", "A", "x", theme="spelling bee")], offers, theme_model=theme_model)


def test_input_validation():
    n = [NeedItem("n", "A", "x")]
    with pytest.raises(ValueError, match="duplicate need id 'n'"):
        run(n + n, [OfferItem("o", "B", "x")])
    with pytest.raises(ValueError, match="capacity"):
        run(n, [OfferItem("o", "B", "x", capacity=-1)])
    with pytest.raises(ValueError, match="top_k"):
        run(n, [OfferItem("o", "B", "x")], top_k=0)
    assert run([], [OfferItem("o", "B", "x")]) == []
    assert run(n, []) == []


def test_weights_from_mapping():
    w = Weights.from_mapping({"disadvantage": "0.5", "repeat_window_days": "30"})
    assert w.disadvantage == 0.5 and w.repeat_window_days == 30 and w.text == Weights().text
    assert Weights.from_mapping({"candidates_per_need": 30.0}).candidates_per_need == 30
    with pytest.raises(ValueError, match="whole number"):
        Weights.from_mapping({"repeat_window_days": 7.5})
    with pytest.raises(ValueError, match="unknown weight 'colour'"):
        Weights.from_mapping({"colour": 1})
    with pytest.raises(ValueError):
        Weights(place=-1)


def test_large_round_path_is_valid_and_consistent(monkeypatch, theme_model):
    """Force candidate generation and regional blocks on a small round."""
    rng = random.Random(3)
    urns = [str(k) for k in range(60)]
    schools = [school(u, easting=400000 + 1000 * k, northing=200000 + (k % 7) * 3000, local_authority=f"LA{k // 10}",
                      fsm_percent=rng.uniform(0, 50)) for k, u in enumerate(urns)]
    needs = [NeedItem(f"N{k:03d}", rng.choice(urns), rng.choice(NEED_TEXTS)) for k in range(150)]
    offers = [OfferItem(f"O{k:03d}", rng.choice(urns), rng.choice(OFFER_TEXTS), capacity=rng.randint(1, 3))
              for k in range(120)]
    exact = run(needs, offers, schools, top_k=3, theme_model=theme_model)
    monkeypatch.setattr(candidates, "ALL_PAIRS_LIMIT", 0)
    monkeypatch.setattr(candidates, "BLOCK_NEEDS", 40)
    monkeypatch.setattr(candidates, "MIN_MAX_DF", 1)

    def fitted(top_k=None):
        return engine.Matcher(Weights(candidates_per_need=5), theme_model, top_k).fit(needs, offers, schools, today=TODAY)

    rnd = fitted()
    assert len(candidates.regional_blocks(rnd.features_)) >= 3
    top = fitted(3).propose().proposals
    chosen = rnd.propose().proposals
    exact_scores = {(p.need_id, p.offer_id): p.score for p in exact}
    top_scores = {(p.need_id, p.offer_id): p.score for p in top}
    for key in set(exact_scores) & set(top_scores):
        assert exact_scores[key] == top_scores[key]  # same pair, same score, whatever the path
    assert len({p.need_id for p in chosen}) == len(chosen) > 100
    # optimal over the candidate pairs the engine considered
    pairs = rnd.pairs_
    ok = (pairs.probability >= Weights().min_relevance) & (pairs.score > 0)
    group = pairs.offer[ok] * rnd.features_.n_school_ids + rnd.features_.need_school[pairs.need[ok]]
    best = exact_optimum(pairs.need[ok], pairs.offer[ok], pairs.score[ok],
                         np.array([o.capacity for o in rnd.offers_]), len(needs), group)
    assert sum(round(p.score * 10_000) for p in chosen) == pytest.approx(best)
    # a second run gives exactly the same result, and so does asking the same matcher twice
    assert fitted().propose() == rnd.propose() and rnd.propose().proposals == chosen
    assert fitted(3).propose().proposals == top
    # top-k larger than the candidates per need: every need still gets K offers
    eight = fitted(8).propose().proposals
    per_need = {}
    for p in eight:
        per_need[p.need_id] = per_need.get(p.need_id, 0) + 1
    assert set(per_need.values()) == {8} and len(per_need) == len(needs)


def test_blocks_in_forked_workers_give_the_serial_result(monkeypatch, theme_model):
    """The command line scores regional blocks in forked processes; the library call in the
    calling process. Same pairs, same order, same result, exclusions included."""
    needs, offers, schools, history = random_round(5, n_schools=30, n_needs=120, n_offers=100)
    monkeypatch.setattr(candidates, "ALL_PAIRS_LIMIT", 0)
    monkeypatch.setattr(candidates, "BLOCK_NEEDS", 30)
    monkeypatch.setattr(candidates, "MIN_MAX_DF", 1)
    monkeypatch.setattr(engine, "cores", lambda: 2)
    monkeypatch.setattr(text, "PARALLEL_TOKENISE_FROM", 1)  # the posts are tokenised in two processes too
    exclude = [(needs[0].id, offers[0].id), (needs[1].id, offers[2].id)]

    def fitted(parallel, top_k=None):
        return engine.Matcher(Weights(candidates_per_need=6), theme_model, top_k, parallel=parallel).fit(
            needs, offers, schools, history, today=TODAY, exclude=exclude)

    serial, forked = fitted(False), fitted(True)
    assert len(candidates.CandidateBlocks(serial.features_, 6).blocks) >= 3
    for name in ("need", "offer", "probability", "score"):
        np.testing.assert_array_equal(getattr(forked.pairs_, name), getattr(serial.pairs_, name))
    assert forked.propose() == serial.propose()
    assert fitted(True, 4).propose() == fitted(False, 4).propose()


def test_themes_read_from_the_word_counts_give_the_round_of_themes_read_from_the_texts():
    """The shipped model takes the round's word counts instead of tokenising the texts again;
    the round is the one it gives from the texts (probabilities to about 1e-7)."""
    from matching.themes import DEFAULT_MODEL_PATH, ThemeModel

    model = ThemeModel.load(DEFAULT_MODEL_PATH)

    class FromTexts:  # the same model, asked through predict_proba(texts) only
        kind_aware, reads_word_counts, relevance_ = True, False, model.relevance_
        membership_ = model.membership_  # read from the texts too

        def __init__(self):
            self.calls = 0

        def predict_proba(self, texts, kinds=None):
            self.calls += 1
            return model.predict_proba(texts, kinds)

    needs, offers, schools, history = random_round(21, n_needs=40, n_offers=30)
    texts_model = FromTexts()
    from_words = engine.Matcher(None, model, 4).fit(needs, offers, schools, history, today=TODAY)
    from_texts = engine.Matcher(None, texts_model, 4).fit(needs, offers, schools, history, today=TODAY)
    assert texts_model.calls == 1
    np.testing.assert_allclose(from_words.features_.p_need, from_texts.features_.p_need, atol=1e-6)
    np.testing.assert_allclose(from_words.features_.p_offer, from_texts.features_.p_offer, atol=1e-6)
    np.testing.assert_allclose(from_words.features_.q_offer, from_texts.features_.q_offer, atol=1e-6)
    assert not np.allclose(from_words.features_.q_offer, from_words.features_.p_offer)  # membership was used
    np.testing.assert_allclose(from_words.pairs_.probability, from_texts.pairs_.probability, atol=1e-6)
    pairs = lambda m: [(p.need_id, p.offer_id, p.rank) for p in m.propose().proposals]  # noqa: E731
    assert pairs(from_words) == pairs(from_texts)