"""The theme model: interface, probabilities, offline save/load, and plain staff-style posts.

STAFF_POSTS is a small hand-written set of posts as staff write them in Slack (short, plain,
not Ofsted prose). It is never used for training (matching/training.py has its own seed
phrases); bench/quality.py reports the shipped model's accuracy on it as well.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from matching import themes
from matching.themes import THEME_LABELS, THEMES, ThemeModel, default_theme_model, infer_theme

# (text, kind, expected theme) — plain staff-style posts, hand-written, never used in training.
STAFF_POSTS = [
    ("Need help getting our Year 1 phonics screening results up", "need", "reading"),
    ("We can share our phonics scheme and show you how we run daily sessions", "offer", "reading"),
    ("Our KS2 kids don't read for pleasure, looking for ideas", "need", "reading"),
    ("Happy to host a visit to see our whole-class reading lessons", "offer", "reading"),
    ("Boys' extended writing in Year 6 is weak, any help?", "need", "writing"),
    ("We've got a great approach to spelling and handwriting in KS1", "offer", "writing"),
    ("Looking for support with oracy and speaking skills", "need", "writing"),
    ("Need help with times tables, our Year 4 multiplication check was poor", "need", "maths"),
    ("Our maths lead can run a session on teaching for mastery", "offer", "maths"),
    ("Fractions and place value are a weak spot in Year 5", "need", "maths"),
    ("We need to rewrite our history and geography schemes of work", "need", "curriculum"),
    ("Can share our sequenced science curriculum and knowledge organisers", "offer", "curriculum"),
    ("Our foundation subjects lack a clear progression of knowledge", "need", "curriculum"),
    ("Teachers don't check understanding in lessons before moving on", "need", "assessment"),
    ("We can show our low-stakes quizzing and retrieval practice routines", "offer", "assessment"),
    ("Looking for a simpler way to track pupil progress without data overload", "need", "assessment"),
    ("Our ECTs need coaching on clear explanations and modelling", "need", "teaching"),
    ("We run instructional coaching for teachers every fortnight, happy to share", "offer", "teaching"),
    ("Help wanted: adapting lessons so all pupils get enough challenge", "need", "teaching"),
    ("Need advice on getting EHCP applications right", "need", "send"),
    ("Our SENCO can share how we support autistic pupils in mainstream classes", "offer", "send"),
    ("We have a resourced provision for speech and language needs, visits welcome", "offer", "send"),
    ("How do we use our pupil premium money better?", "need", "disadvantage"),
    ("Our disadvantaged pupils are falling behind their peers", "need", "disadvantage"),
    ("We can share our tutoring and catch-up programme for disadvantaged pupils", "offer", "disadvantage"),
    ("Low-level disruption in Year 8 lessons is getting worse", "need", "behaviour"),
    ("We cut suspensions by half with our new behaviour policy, happy to share", "offer", "behaviour"),
    ("Struggling with bullying at lunchtimes", "need", "behaviour"),
    ("Need help with persistent absence in Year 9", "need", "attendance"),
    ("Our first-day calling and family liaison halved persistent absence", "offer", "attendance"),
    ("Punctuality is a problem, lots of pupils arrive late every morning", "need", "attendance"),
    ("We'd like to start more after-school clubs and trips", "need", "personal_development"),
    ("Our RSHE and PSHE programme is strong, can share lesson plans", "offer", "personal_development"),
    ("Looking for ideas to support pupils' mental health and wellbeing", "need", "personal_development"),
    ("Our nursery staff need help with early language in the two-year-old room", "need", "early_years"),
    ("We can show our reception classroom continuous provision", "offer", "early_years"),
    ("Need help with EYFS planning for our new reception teacher", "need", "early_years"),
    ("Our sixth form needs better UCAS and university advice", "need", "post16_careers"),
    ("We can share our careers programme and work experience contacts", "offer", "post16_careers"),
    ("Looking for apprenticeship links for Year 13 students", "need", "post16_careers"),
    ("Our governors want training on holding leaders to account", "need", "leadership"),
    ("We've reduced teacher workload with a new marking policy... happy to talk about leading change", "offer", "leadership"),
    ("New middle leaders need support with subject leadership and monitoring", "need", "leadership"),
    ("Need a review of our safeguarding procedures before inspection", "need", "safeguarding"),
    ("Our DSL can deliver online safety training for staff and parents", "offer", "safeguarding"),
    ("Help with child protection record keeping", "need", "safeguarding"),
]

THEMES_MD_ORDER = (
    "reading", "writing", "maths", "curriculum", "assessment", "teaching", "send", "disadvantage",
    "behaviour", "attendance", "personal_development", "early_years", "post16_careers",
    "leadership", "safeguarding", "other",
)


@pytest.fixture(scope="module")
def model() -> ThemeModel:
    return default_theme_model()


def test_themes_and_labels():
    assert THEMES == THEMES_MD_ORDER
    assert set(THEME_LABELS) == set(THEMES)
    assert THEME_LABELS["send"] == "SEND and inclusion"
    assert THEME_LABELS["post16_careers"] == "Sixth form and careers"
    assert all(0 < len(label) <= 40 for label in THEME_LABELS.values())


def test_default_model_is_cached_and_a_theme_model(model):
    assert isinstance(model, ThemeModel)
    assert default_theme_model() is model


def test_predict_proba_shape_and_sums(model):
    texts = ["phonics", "Leaders should ensure that the curriculum is well sequenced.", "", "🙂", "x" * 5000]
    p = model.predict_proba(texts)
    assert p.shape == (len(texts), len(THEMES))
    assert np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    assert model.predict_proba([]).shape == (0, len(THEMES))
    preds = model.predict(texts)
    assert len(preds) == len(texts) and set(preds) <= set(THEMES)


def test_repeated_texts_get_identical_rows(model):
    p = model.predict_proba(["need help with attendance", "we share our phonics scheme", "need help with attendance"])
    np.testing.assert_array_equal(p[0], p[2])


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂", "!!!", "\u2019", None])
def test_infer_theme_on_empty_or_emoji_text(text):
    assert infer_theme(text) == "other"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("need help with persistent absence in Year 9", "attendance"),
        ("we can share our phonics scheme", "reading"),
        ("Our sixth form careers programme is strong, happy to share", "post16_careers"),
        ("Struggling with low-level disruption in KS3", "behaviour"),
        ("safeguarding audit and DSL supervision", "safeguarding"),
        ("support for pupils with SEND and EHC plans", "send"),
    ],
)
def test_clear_staff_posts(text, expected):
    assert infer_theme(text) == expected


def test_staff_posts_accuracy(model):
    texts = [t for t, _, _ in STAFF_POSTS]
    expected = [e for _, _, e in STAFF_POSTS]
    predicted = model.predict(texts)
    wrong = [(t, e, p) for t, e, p in zip(texts, expected, predicted) if e != p]
    accuracy = 1 - len(wrong) / len(texts)
    # a random model gets about 1/16; the shipped one gets 44/46 (docs/quality.md)
    assert accuracy >= 0.85, wrong
    assert {e for e in expected} == set(THEMES) - {"other"}


def test_save_load_round_trip_offline(tmp_path, monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("the theme model must load without network access")

    texts = ["phonics and early reading", "reading for pleasure", "attendance and absence", "persistent absence",
             "times tables", "maths mastery"]
    labels = ["reading", "reading", "attendance", "attendance", "maths", "maths"]
    m = ThemeModel(min_df=1).fit(texts, labels)
    path = m.save(tmp_path / "m.model")
    assert path == tmp_path / "m.model"  # the name given, nothing added
    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    loaded = ThemeModel.load(path)
    probe = ["help with absence", "phonics", "unknown words only"]
    np.testing.assert_allclose(loaded.predict_proba(probe), m.predict_proba(probe))
    assert loaded.predict(["help with absence"]) == ["attendance"]
    p = loaded.predict_proba(probe)
    assert p.shape == (3, len(THEMES))
    # classes never seen in training get probability 0 but keep their column
    assert p[:2, THEMES.index("send")].max() == 0


def test_shipped_file_loads_offline(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("network")

    monkeypatch.setattr(socket, "socket", no_network)
    m = ThemeModel.load(themes.DEFAULT_MODEL_PATH)
    assert m.predict(["persistent absence"]) == ["attendance"]
    assert themes.DEFAULT_MODEL_PATH.stat().st_size < 5_000_000


def test_fit_rejects_unknown_theme():
    with pytest.raises(ValueError):
        ThemeModel().fit(["a b", "c d"], ["reading", "not_a_theme"])


def test_load_refuses_what_is_not_a_model_and_never_unpickles(tmp_path):
    import pickle
    import zipfile

    marker = tmp_path / "ran"

    class Payload:  # unpickling this would create the marker file
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "evil.joblib").write_bytes(pickle.dumps(Payload()))
    with pytest.raises(ValueError, match="pickled Python objects"):
        ThemeModel.load(tmp_path / "evil.joblib")
    assert not marker.exists()
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as z:
        z.writestr("readme.txt", "hello")
    np.savez(tmp_path / "arrays.npz", x=np.arange(3))
    good = ThemeModel(min_df=1).fit(["phonics reading", "absence attendance"], ["reading", "attendance"])
    good.save(tmp_path / "good.npz")
    (tmp_path / "cut.npz").write_bytes((tmp_path / "good.npz").read_bytes()[:300])
    (tmp_path / "empty.npz").write_bytes(b"")
    for name in ("other.npz", "arrays.npz", "cut.npz", "empty.npz", "absent.npz"):
        with pytest.raises(ValueError, match=re.escape(str(tmp_path / name))):
            ThemeModel.load(tmp_path / name)
    # a model for another set of themes
    with np.load(tmp_path / "good.npz") as z:
        arrays = dict(z)
    arrays["themes"] = np.array(THEMES[:-1])
    np.savez(tmp_path / "themes.npz", **arrays)
    with pytest.raises(ValueError, match="other themes"):
        ThemeModel.load(tmp_path / "themes.npz")


def test_predicts_what_the_fitted_scikit_learn_objects_predict():
    """The model keeps arrays, not scikit-learn objects: its probabilities must be those of a
    TfidfVectorizer + LogisticRegression carrying the same vocabulary, idf and coefficients
    (the shipped model, both parts, on Ofsted prose, staff posts and odd texts)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    shipped = ThemeModel.load(themes.DEFAULT_MODEL_PATH)
    texts = _sample_sentences()[:300] + [t for t, _, _ in STAFF_POSTS] + ODD_TEXTS
    for part in (shipped, shipped.need_model_):
        vec = TfidfVectorizer(preprocessor=themes.normalise, sublinear_tf=True, vocabulary=part.vocabulary_)
        vec.fit([""])
        vec.idf_ = part.idf_
        clf = LogisticRegression()
        clf.coef_, clf.intercept_, clf.classes_ = part.coef_, part.intercept_, part.columns_
        expected = np.zeros((len(texts), len(THEMES)))
        expected[:, part.columns_] = clf.predict_proba(vec.transform(texts))
        blank = vec.transform(texts).getnnz(axis=1) == 0
        expected[blank] = themes.FEATURELESS
        np.testing.assert_allclose(part.predict_proba(texts), expected, atol=1e-9)
    # two themes only: scikit-learn's binary form (one row of coefficients, a sigmoid)
    texts2 = ["phonics reading", "reading books", "absence attendance", "late absence", "reading late"]
    labels2 = ["reading", "reading", "attendance", "attendance", "reading"]
    two = ThemeModel(min_df=1).fit(texts2, labels2)
    vec = TfidfVectorizer(preprocessor=themes.normalise, sublinear_tf=True, dtype=np.float32).fit(texts2)
    clf = LogisticRegression(C=two.C, max_iter=2000, class_weight="balanced").fit(
        vec.transform(texts2), [THEMES.index(label) for label in labels2])
    probe = ["reading absence", "phonics", "late", "attendance books"]
    expected = np.zeros((len(probe), len(THEMES)))
    expected[:, clf.classes_] = clf.predict_proba(vec.transform(probe))
    np.testing.assert_allclose(two.predict_proba(probe), expected, atol=1e-6)


def test_a_round_never_imports_scikit_learn():
    """Importing any of scikit-learn costs about 1 s (it imports scipy.stats); a round, with the
    shipped model loaded from its file, must not need it."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from matching.engine import Matcher\n"
            "from matching.items import NeedItem, OfferItem\n"
            "r = Matcher().fit([NeedItem('n1', 'A', 'help with persistent absence')],\n"
            "                  [OfferItem('o1', 'B', 'our attendance strategy')]).propose()\n"
            "assert r.proposals or r.unmatched\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def _sample_sentences() -> list[str]:
    """Ofsted sentences shipped with the bench (OGL), every kind."""
    import csv
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "bench" / "data" / "ofsted_sample.csv"
    with open(path, encoding="utf-8") as f:
        return [r["text"] for r in csv.DictReader(f)]


ODD_TEXTS = ["", "🙂", "thanks", "Year 9 and Year 10: 2023/24 KS2 SATs", "St Mary\u2019s and St John`s",
             "İstanbul visit, DİSADVANTAGE", "CAPITALS ONLY PHONICS", "phonics\x00reading", "x y z a",
             "co-operative learning; e-safety & SEND", "naïve café résumé ÉCOLE", "ΣΟΦΊΑ σοφία", "___ __init__"]


def test_kinds_send_needs_to_the_need_model(model):
    """A round's word counts with kinds: the need rows are the need model's, the others the
    main model's (each checked against scikit-learn in the test above)."""
    from matching.text import count_words

    texts = _sample_sentences()[:200] + [t for t, _, _ in STAFF_POSTS]
    kinds = ["need" if k % 3 else "offer" for k in range(len(texts))]
    assert model.reads_word_counts and model.kind_aware
    tokens = count_words(texts)
    routed = model.predict_proba_words(tokens.words, tokens.counts, kinds)
    needs = np.array([k == "need" for k in kinds])
    np.testing.assert_allclose(routed[needs], model.need_model_.predict_proba([t for t, n in zip(texts, needs) if n]))
    np.testing.assert_allclose(routed[~needs], model.predict_proba([t for t, n in zip(texts, needs) if not n]))
    np.testing.assert_allclose(model.predict_proba(texts, kinds), routed)
    assert not np.allclose(routed[needs], model.predict_proba([t for t, n in zip(texts, needs) if n]))


def test_an_unfitted_model_says_so():
    model = ThemeModel()
    assert not model.reads_word_counts and not model.kind_aware
    with pytest.raises(ValueError, match="not fitted"):
        model.predict_proba(["phonics"])
    with pytest.raises(ValueError, match="not fitted"):
        model.predict_proba_words(["phonics"], np.ones((1, 1)))
    with pytest.raises(ValueError, match="not fitted"):
        model.save("never-written.npz")
