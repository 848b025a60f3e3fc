"""Text representation and explanations."""
from __future__ import annotations

import re

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

import matching.text as text_module

from matching.explain import explain
from matching.text import TextVectorizer, _pair_dot, count_words

TEXTS = [
    "Help with persistent absence in Year 9",
    "First-day calling halved persistent absence",
    "Phonics and early reading",
    "Our phonic programme for early readers",
    "",
    "the and of",  # stop words only
]


def test_identical_texts_have_similarity_one_and_unrelated_low():
    mats = TextVectorizer().fit_transform(TEXTS + [TEXTS[0]])
    sim = mats.all_pairs(mats)
    assert sim[0, 6] == pytest.approx(1.0, abs=1e-5)
    assert sim[0, 1] > sim[0, 2]
    assert sim[2, 3] > 0.2  # character n-grams let 'phonics'/'phonic', 'reading'/'readers' meet
    assert sim[4, 0] == 0 and sim[5, 5] == 0  # empty texts match nothing
    assert ((sim >= 0) & (sim <= 1 + 1e-6)).all()


@pytest.mark.parametrize("ngrams", [(4, 4), (3, 5)])
def test_char_ngrams_equal_sklearn_char_wb_counts(ngrams):
    vec = TextVectorizer(stop_words=(), char_ngram_range=ngrams)
    vec.fit(["phonics reading", "reading for pleasure"])
    counts = vec.word_counts(["phonics reading"]) @ vec.char_map_
    ours = {g: counts[0, j] for g, j in vec.char_vocabulary_.items() if counts[0, j]}
    ref = CountVectorizer(analyzer="char_wb", ngram_range=vec.char_ngram_range).fit(["phonics reading"])
    theirs = dict(zip(ref.get_feature_names_out(), ref.transform(["phonics reading"]).toarray()[0]))
    assert ours == theirs


def test_pair_similarity_equals_all_pairs():
    rng = np.random.default_rng(0)
    words = "reading phonics maths behaviour absence attendance curriculum staff training governors".split()
    texts = [" ".join(rng.choice(words, rng.integers(0, 6))) for _ in range(80)]
    mats = TextVectorizer().fit_transform(texts)
    full = mats.all_pairs(mats)
    rows, cols = rng.integers(0, 80, 500), rng.integers(0, 80, 500)
    np.testing.assert_allclose(mats.pair_similarity(mats, rows, cols), full[rows, cols], atol=1e-6)
    # chunks of 7 pairs (not a divisor of 500) exercise the chunk boundaries
    np.testing.assert_allclose(_pair_dot(mats.chars, mats.chars, rows, cols, pairs_at_once=7),
                               (mats.chars @ mats.chars.T).toarray()[rows, cols], atol=1e-6)


def test_transform_matches_fit_transform():
    vec = TextVectorizer()
    fitted = vec.fit_transform(TEXTS)
    again = vec.transform(TEXTS)
    np.testing.assert_allclose(fitted.chars.toarray(), again.chars.toarray(), atol=1e-6)
    np.testing.assert_allclose(fitted.words.toarray(), again.words.toarray(), atol=1e-6)


def test_weights_are_sklearns_tfidf_in_every_chunking(monkeypatch):
    """Our in-place tf-idf is scikit-learn's TfidfTransformer(sublinear_tf=True), l2 rows,
    whatever the slices it is computed in (one text, one entry at a time)."""
    texts = TEXTS + ["absence absence absence persistent", "reading reading phonics"] * 3
    reference = TextVectorizer().fit(texts)
    counts = reference.word_counts(texts)
    words = TfidfTransformer(sublinear_tf=True).fit_transform(counts.copy()).toarray()
    chars = TfidfTransformer(sublinear_tf=True).fit_transform(counts @ reference.char_map_).toarray()
    for tokenise, entries in [(5_000, 1 << 22), (1, 1), (2, 3)]:
        monkeypatch.setattr(text_module, "TOKENISE_TEXTS", tokenise)
        monkeypatch.setattr(text_module, "TFIDF_ENTRIES", entries)
        mats = TextVectorizer().fit_transform(texts)
        np.testing.assert_allclose(mats.words.toarray(), words, atol=1e-12)
        np.testing.assert_allclose(mats.chars.toarray(), chars, atol=1e-12)


def test_fit_split_gives_the_rows_of_the_whole():
    texts = TEXTS + ["Help with absence", "Early reading"]
    whole = TextVectorizer().fit_transform(texts)
    for at in (0, 3, len(texts)):
        first, second = TextVectorizer().fit_split(count_words(texts), at)
        for part, rows in ((first, slice(0, at)), (second, slice(at, None))):
            np.testing.assert_allclose(part.words.toarray(), whole.words[rows].toarray(), atol=1e-12)
            np.testing.assert_allclose(part.chars.toarray(), whole.chars[rows].toarray(), atol=1e-12)


def reason(**kw):
    base = dict(need_theme="attendance", offer_theme="attendance", shared_terms=["absence", "persistent"],
                same_la=None, distance_km=12.4, need_school_name="Colgate Primary School", fsm_percent=35.0,
                times_given=0, cross_trust=False)
    base.update(kw)
    return explain(**base)


def test_explanation_like_the_spec():
    text = reason()
    assert text == ("Why: both about attendance and both mention 'absence' and 'persistent'; 12 km apart; "
                    "Colgate Primary School has 35 % of pupils on free school meals.")
    assert "\n" not in text


def test_explanation_parts():
    assert "both in Surrey, 3 km apart" in reason(same_la="Surrey", distance_km=3.2)
    assert "less than 1 km apart" in reason(distance_km=0.4)
    assert "apart" not in reason(distance_km=None)
    assert "free school meals" not in reason(fsm_percent=8)  # only mentioned when it is why
    assert "has helped other schools twice" in reason(times_given=2)
    assert "across trusts" in reason(cross_trust=True)
    assert reason(need_theme="send", offer_theme="teaching", distance_km=None, fsm_percent=None) == \
        "Why: about SEND and teaching; both mention 'absence' and 'persistent'."
    assert reason(need_theme="other", offer_theme="other", shared_terms=[], distance_km=None, fsm_percent=None) == \
        "Why: closely related posts."


def test_explanations_never_show_scores_or_american_spelling():
    for kw in [{}, {"same_la": "Kent"}, {"times_given": 5}, {"need_theme": "behaviour", "offer_theme": "maths"}]:
        text = reason(**kw)
        assert not re.search(r"\d\.\d", text)
        assert "score" not in text.lower() and "behavior" not in text and "math " not in text


def test_text_alone_with_the_shipped_theme_model():
    """No schools, no themes, no history, the real default theme model: obvious pairs found."""
    import matching.themes as themes
    from matching import NeedItem, OfferItem, propose
    from tests.matching.test_engine import NEED_TEXTS, OFFER_TEXTS

    try:
        themes.default_theme_model()
    except (FileNotFoundError, OSError):
        pytest.skip("no shipped theme model in this checkout yet")
    needs = [NeedItem(f"n{k}", f"1{k}", t) for k, t in enumerate(NEED_TEXTS)]
    offers = [OfferItem(f"o{k}", f"2{k}", t) for k, t in enumerate(OFFER_TEXTS)]
    out = propose(needs, offers)
    right = sum((p.need_id[1:] == p.offer_id[1:]) for p in out)
    assert right >= 9, [(p.need_id, p.offer_id) for p in out]


def test_stop_words_are_scikit_learns_read_without_importing_it():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from matching.text import english_stop_words

    assert english_stop_words() == ENGLISH_STOP_WORDS and len(ENGLISH_STOP_WORDS) > 300


AWKWARD = [
    "café naïve ﬁne e\u0301t\u00e9 _a_ x y 1 22 ½ ² x² a_b",  # accents, a combining mark, a ligature, digits
    "NBSP\xa0here’s “quoted” – dash — … emoji 😀ok",
    "\ud800lone surrogate from JSON",  # json.loads lets a lone surrogate through
    "a\x00b cc\x00dd",  # a NUL inside a post is a space, never a post boundary
    "",
    "   ",
    "Ωmega σσ ΣΣ İstanbul straße STRASSE ǅungla",
    "日本語テキスト 中文",
    "tab\tnew\nline\rcr\x0b\x0c\x1c\x1d\x1e\x1f\x85end\u2028sep\u3000wide",
    "I a é x",  # one-character runs only
]


def _by_the_pattern(texts):
    """What count_words must give: the matches of \\w\\w+ in each text, lower-cased."""
    index, lengths, ids = {}, [], []
    for t in texts:
        tokens = re.findall(r"\w\w+", t.replace("\x00", " "))
        lengths.append(len(tokens))
        ids += [index.setdefault(w.lower(), len(index)) for w in tokens]
    return list(index), lengths, ids


def _ofsted_sample() -> list[str]:
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "data" / "ofsted_sample.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        return [r["text"] for r in csv.DictReader(fh)]


@pytest.mark.parametrize("chunk", [1, 3, 5_000])
def test_tokens_are_the_patterns_matches(monkeypatch, chunk):
    """The tokeniser splits on non-word characters instead of running the pattern; it must find
    exactly the pattern's tokens, on awkward text, on random mixtures of it and on real posts."""
    import random

    rng = random.Random(7)
    pool = "".join(AWKWARD) + "abcXYZ019_ '-.,;:!?()[]/\\\"\n"
    mixed = ["".join(rng.choice(pool) for _ in range(rng.randrange(0, 60))) for _ in range(300)]
    monkeypatch.setattr(text_module, "TOKENISE_TEXTS", chunk)
    for texts in (AWKWARD, mixed, _ofsted_sample()[:400]):
        words, lengths, ids = text_module._tokenise(texts, 0, len(texts))
        want_words, want_lengths, want_ids = _by_the_pattern(texts)
        assert words == want_words
        assert lengths.tolist() == want_lengths and ids.tolist() == want_ids
