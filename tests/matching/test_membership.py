"""The offer membership model: each theme's chance of being *among* an offer's themes, which is
what a good pair asks of the offer (matching/themes.py ``fit_membership``), and how a round
uses it (matching/features.py, scoring.py, candidates.py)."""
from __future__ import annotations

import datetime

import numpy as np
import pytest

from matching import NeedItem, OfferItem, match
from matching.themes import THEMES, FEATURELESS, ThemeModel, normalise

TODAY = datetime.date(2026, 1, 15)

# Offers with two themes each: a reading club is reading AND personal development.
OFFERS = [
    ("our reading club builds confidence and friendships", {"reading", "personal_development"}),
    ("reading club after school with book talk", {"reading", "personal_development"}),
    ("phonics scheme training for teaching assistants", {"reading"}),
    ("phonics catch-up groups every morning", {"reading"}),
    ("clubs and trips for every pupil", {"personal_development"}),
    ("wellbeing ambassadors and clubs at lunchtime", {"personal_development"}),
    ("attendance officer and first day calling", {"attendance"}),
    ("attendance panel with families", {"attendance"}),
] * 3


def _model() -> ThemeModel:
    texts = [t for t, _ in OFFERS]
    primaries = [sorted(s)[0] if len(s) == 1 else "reading" for _, s in OFFERS]
    model = ThemeModel(min_df=1).fit(texts, primaries)
    return model.fit_membership(texts, [s for _, s in OFFERS])


def test_membership_scores_each_theme_on_its_own():
    model = _model()
    q = model.membership_.predict_proba(["reading club for shy pupils"])[0]
    p = model.predict_proba(["reading club for shy pupils"])[0]
    reading, pd = THEMES.index("reading"), THEMES.index("personal_development")
    assert q[reading] > 0.5 and q[pd] > 0.5  # both: the club is both
    assert p[reading] + p[pd] <= 1.0 + 1e-9  # the main model must share one unit between them
    assert q[THEMES.index("send")] < 0.05  # never among any offer's themes: its base rate
    assert not np.isclose(q.sum(), 1.0)


def test_membership_is_what_scikit_learn_fits_per_theme():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    model = _model()
    texts = [t for t, _ in OFFERS]
    vec = TfidfVectorizer(preprocessor=normalise, min_df=1, sublinear_tf=True, dtype=np.float32).fit(texts)
    probe = ["reading club", "attendance and clubs", "phonics for families"]
    for theme in ("reading", "personal_development", "attendance"):
        y = [theme in s for _, s in OFFERS]
        clf = LogisticRegression(C=4.0, max_iter=2000).fit(vec.transform(texts), y)
        np.testing.assert_allclose(model.membership_.predict_proba(probe)[:, THEMES.index(theme)],
                                   clf.predict_proba(vec.transform(probe))[:, 1], atol=1e-6)
    # a text with no known word is neutral, as for the main model
    np.testing.assert_allclose(model.membership_.predict_proba(["zzz"])[0], FEATURELESS)


def test_membership_survives_save_and_load(tmp_path):
    model = _model()
    loaded = ThemeModel.load(model.save(tmp_path / "m.npz"))
    probe = ["reading club", "attendance calling", "nothing known"]
    np.testing.assert_allclose(loaded.membership_.predict_proba(probe), model.membership_.predict_proba(probe))
    np.testing.assert_allclose(loaded.predict_proba(probe), model.predict_proba(probe))
    bare = ThemeModel(min_df=1).fit(["phonics books", "times tables"], ["reading", "maths"])
    assert ThemeModel.load(bare.save(tmp_path / "bare.npz")).membership_ is None


def test_fit_membership_rejects_unknown_themes():
    with pytest.raises(ValueError, match="unknown themes"):
        ThemeModel(min_df=1).fit(["phonics books", "times tables"], ["reading", "maths"]).fit_membership(["phonics books"], [{"poetry"}])


def _theme_part(model, need, offer) -> float:
    """The probability of one pair in a round (its theme similarity is what differs here)."""
    got = match([need], [offer], theme_model=model, today=TODAY, top_k=1).proposals
    return got[0].probability


def test_a_round_uses_membership_for_inferred_offers_and_the_given_theme_otherwise():
    model = _model()
    need = NeedItem("n1", "A", "pupils lack confidence and friendships", theme="personal_development")
    club = OfferItem("o1", "B", "our reading club builds confidence and friendships")
    with_membership = _theme_part(model, need, club)
    bare = ThemeModel(min_df=1).fit([t for t, _ in OFFERS], [sorted(s)[0] if len(s) == 1 else "reading"
                                                            for _, s in OFFERS])
    bare.relevance_ = model.relevance_
    without = _theme_part(bare, need, club)
    # the main model files the club under reading; membership knows it is personal development too
    assert bare.predict([club.text]) == ["reading"]
    assert with_membership > without + 0.1
    # a theme the offer's school chose is certain: membership is not asked
    chosen = OfferItem("o1", "B", club.text, theme="personal_development")
    assert _theme_part(model, need, chosen) == pytest.approx(_theme_part(bare, need, chosen))
    assert _theme_part(model, need, chosen) > with_membership


def test_an_inferred_offer_is_read_by_both_models_in_the_documented_shares():
    from matching import weights
    from matching.engine import Matcher

    model = _model()
    offers = [OfferItem("o1", "B", "our reading club builds confidence and friendships"),
              OfferItem("o2", "C", "attendance officer", theme="attendance")]
    f = Matcher(None, model).fit([NeedItem("n1", "A", "reading")], offers, today=TODAY).features_
    share = weights.MEMBERSHIP_SHARE
    assert 0 < share < 1
    expected = share * model.membership_.predict_proba([offers[0].text])[0] + (1 - share) * f.p_offer[0]
    np.testing.assert_allclose(f.q_offer[0], expected)
    np.testing.assert_allclose(f.member_offer[0], model.membership_.predict_proba([offers[0].text])[0])
    np.testing.assert_allclose(f.q_offer[1], f.p_offer[1])  # given: one-hot, untouched
    np.testing.assert_allclose(f.member_offer[1], f.p_offer[1])
    assert f.q_offer[1, THEMES.index("attendance")] == 1.0


def test_the_reason_says_both_about_the_needs_theme_when_the_offer_likely_covers_it():
    model = _model()
    need = NeedItem("n1", "A", "pupils lack confidence and friendships", theme="personal_development")
    club = OfferItem("o1", "B", "our reading club builds confidence and friendships")
    assert model.predict([club.text]) == ["reading"]  # mostly reading, by the main model
    [p] = match([need], [club], theme_model=model, today=TODAY, top_k=1).proposals
    assert p.reason.startswith("Why: both about personal development")
    # an offer that does not cover the need's theme keeps its own
    calling = OfferItem("o2", "B", "attendance officer and first day calling")
    [p] = match([need], [calling], theme_model=model, today=TODAY, top_k=1).proposals
    assert p.reason.startswith("Why: about personal development and attendance")
