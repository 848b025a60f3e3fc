"""Themes of needs and offers, and the model that infers a theme from free text.

The taxonomy is the one in ``../shared/data/themes.md`` (16 themes, one primary per post,
optional secondaries). A post that carries a theme (chosen in the Slack modal) uses it; a post
without one gets it inferred by :class:`ThemeModel`, a multinomial logistic regression over
word TF-IDF features trained by ``python -m matching.training`` (see docs/quality.md).

The shipped model is ``matching/data/theme_model.joblib``: scikit-learn objects only, loaded
with joblib, no network access.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Iterable, Sequence

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

THEMES: tuple[str, ...] = (
    "reading",
    "writing",
    "maths",
    "curriculum",
    "assessment",
    "teaching",
    "send",
    "disadvantage",
    "behaviour",
    "attendance",
    "personal_development",
    "early_years",
    "post16_careers",
    "leadership",
    "safeguarding",
    "other",
)

THEME_LABELS: dict[str, str] = {
    "reading": "Reading and phonics",
    "writing": "Writing, spelling and oracy",
    "maths": "Maths",
    "curriculum": "Curriculum design",
    "assessment": "Assessment and feedback",
    "teaching": "Teaching quality",
    "send": "SEND and inclusion",
    "disadvantage": "Disadvantaged pupils",
    "behaviour": "Behaviour",
    "attendance": "Attendance",
    "personal_development": "Personal development and wellbeing",
    "early_years": "Early years",
    "post16_careers": "Sixth form and careers",
    "leadership": "Leadership and governance",
    "safeguarding": "Safeguarding",
    "other": "Something else",
}

THEME_INDEX: dict[str, int] = {t: i for i, t in enumerate(THEMES)}

DEFAULT_MODEL_PATH = Path(__file__).with_name("data") / "theme_model.joblib"

# Distribution given to a text with no known word: mostly "other", a little of everything.
FEATURELESS = np.full(len(THEMES), 0.75 / (len(THEMES) - 1))
FEATURELESS[THEME_INDEX["other"]] = 0.25

_APOSTROPHES = re.compile("[\u2018\u2019\u02bc`]")
_DIGITS = re.compile(r"\d+")
_SKLEARN_TOKENS = r"(?u)\b\w\w+\b"  # TfidfVectorizer's default token_pattern


def normalise(text: str) -> str:
    """Lower-case, straighten apostrophes, fold numbers: Ofsted prose and Slack posts alike."""
    text = _APOSTROPHES.sub("'", str(text or "").lower())
    return _DIGITS.sub("0", text)


class ThemeModel(ClassifierMixin, BaseEstimator):
    """Text -> probability over :data:`THEMES` (columns always in that order).

    ``fit(texts, labels, sample_weight=None)`` takes one theme name per text; multi-labelled
    examples (an offer's secondaries) are passed as extra rows with a smaller weight.

    Kind-aware: ``need_model_`` (optional, set by ``fit_needs``) is a second model of the same
    kind trained for needs, whose wording ("The school should ensure that staff deliver ...")
    and themes (curriculum, teaching, assessment, leadership) differ from offers'.
    ``predict_proba(texts, kinds=[...])`` sends the rows whose kind is ``"need"`` to it; without
    ``kinds`` (or without a need model) every row uses the main model, as before.
    """

    need_model_ = None
    relevance_ = None
    """RelevanceCalibration fitted by matching.training (raw relevance -> probability), or None."""

    def __init__(self, C: float = 4.0, ngram_max: int = 1, min_df: int = 2, class_weight="balanced"):
        self.C = C
        self.ngram_max = ngram_max
        self.min_df = min_df
        self.class_weight = class_weight

    # -- training -------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[str], sample_weight=None):
        labels = [str(label) for label in labels]
        unknown = sorted(set(labels) - set(THEMES))
        if unknown:
            raise ValueError(f"unknown themes: {unknown}; expected one of {THEMES}")
        self.vectorizer_ = TfidfVectorizer(
            preprocessor=normalise,
            ngram_range=(1, self.ngram_max),
            min_df=self.min_df,
            sublinear_tf=True,
            dtype=np.float32,
        )
        X = self.vectorizer_.fit_transform(list(texts))
        y = np.array([THEME_INDEX[label] for label in labels])
        self.classifier_ = LogisticRegression(
            C=self.C, max_iter=2000, class_weight=self.class_weight
        )
        self.classifier_.fit(X, y, sample_weight=sample_weight)
        self.classes_ = np.array(THEMES)
        # where each of the classifier's classes goes among the 16 output columns
        self.columns_ = np.asarray(self.classifier_.classes_, dtype=int)
        return self

    def fit_needs(self, texts: Sequence[str], labels: Sequence[str], sample_weight=None):
        """Fit the need model (same hyperparameters) on need texts; returns self."""
        self.need_model_ = ThemeModel(self.C, self.ngram_max, self.min_df, self.class_weight).fit(
            texts, labels, sample_weight=sample_weight
        )
        return self

    @property
    def kind_aware(self) -> bool:
        """True when needs have their own model (the engine then passes ``kinds``)."""
        return self.need_model_ is not None

    # -- inference ------------------------------------------------------------------------
    def predict_proba(self, texts: Iterable[str], kinds: Sequence[str] | None = None) -> np.ndarray:
        """Rows of probabilities over THEMES. ``kinds`` (optional, one of "need"/"offer" per
        text) routes needs to the need model when there is one."""
        if kinds is not None and self.need_model_ is not None:
            texts = list(texts)
            return self._by_kind(len(texts), kinds, lambda model, rows: model.predict_proba(
                [t for t, keep in zip(texts, rows) if keep]))
        # the vectorizer normalises (its preprocessor); doing it here too cost 0.5 s per 120k texts
        texts = [str(t or "") for t in texts]
        out = np.zeros((len(texts), len(THEMES)), dtype=np.float64)
        if not texts:
            return out
        # Synthetic and real workloads repeat texts: transform each distinct text once.
        unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
        X = self.vectorizer_.transform(unique)
        proba = self.classifier_.predict_proba(X)
        full = np.zeros((len(unique), len(THEMES)))
        full[:, self.columns_] = proba
        # No known word at all ("", "🙂", "thanks"): the classifier would answer with its class
        # priors, which are meaningless here; say "other" and stay neutral towards every theme.
        blank = np.diff(X.indptr) == 0
        if blank.any():
            full[blank] = FEATURELESS
        out[:] = full[inverse.reshape(-1)]
        return out

    @property
    def reads_word_counts(self) -> bool:
        """True when :meth:`predict_proba_words` gives what :meth:`predict_proba` would: word
        unigrams of the default token pattern after :func:`normalise` (the shipped model's
        form), for the need model too."""
        v = getattr(self, "vectorizer_", None)
        ok = (v is not None and v.analyzer == "word" and v.ngram_range == (1, 1) and v.preprocessor is normalise
              and v.tokenizer is None and v.stop_words is None and v.token_pattern == _SKLEARN_TOKENS
              and v.sublinear_tf and v.norm == "l2" and v.use_idf and v.smooth_idf)
        return ok and (self.need_model_ is None or self.need_model_.reads_word_counts)

    def predict_proba_words(self, words: Sequence[str], counts, kinds: Sequence[str] | None = None) -> np.ndarray:
        """:meth:`predict_proba` of the texts whose words ``counts`` counts (rows: texts,
        columns: ``words``, every ``\\w\\w+`` token lower-cased, as ``matching.text.count_words``
        gives), so that a round tokenises its texts once. Only when :attr:`reads_word_counts`.

        The same probabilities to about 1e-7 (tf-idf in float64 here, float32 in the
        vectorizer): normalising a whole text and then finding its tokens gives the tokens of
        normalising each token, because lower-casing, straightening apostrophes and folding
        digits keep word characters word characters; a token that lower-cases into two (a
        dotted capital I) is split the same way here."""
        if not self.reads_word_counts:
            raise ValueError("this theme model does not read word counts; use predict_proba(texts)")
        from matching.text import WordCounts, sublinear_tfidf

        counts = sp.csr_matrix(counts)
        if kinds is not None and self.need_model_ is not None:
            return self._by_kind(counts.shape[0], kinds,
                                 lambda model, rows: model.predict_proba_words(words, counts[rows]))
        vocab = self.vectorizer_.vocabulary_
        pattern = re.compile(self.vectorizer_.token_pattern)
        # words that normalise alike ("year 9", "year 10") add up in one feature
        X = WordCounts(list(words), counts).mapped(
            lambda word: [vocab[t] for t in pattern.findall(normalise(word)) if t in vocab], len(vocab))
        X = sublinear_tfidf(X, self.vectorizer_.idf_.astype(np.float64))
        full = np.zeros((X.shape[0], len(THEMES)))
        if X.shape[0]:
            full[:, self.columns_] = self.classifier_.predict_proba(X)
        blank = np.diff(X.indptr) == 0  # no known word: as in predict_proba
        full[blank] = FEATURELESS
        return full

    def _by_kind(self, n: int, kinds: Sequence[str], predict) -> np.ndarray:
        """Needs' rows through the need model, the others through this one:
        ``predict(model, rows)`` gives the rows' probabilities (``rows`` a boolean mask)."""
        if len(kinds) != n:
            raise ValueError(f"{len(kinds)} kinds for {n} texts")
        is_need = np.array([k == "need" for k in kinds], dtype=bool)
        out = np.zeros((n, len(THEMES)), dtype=np.float64)
        if is_need.any():
            out[is_need] = predict(self.need_model_, is_need)
        if (~is_need).any():
            out[~is_need] = predict(self, ~is_need)
        return out

    def predict(self, texts: Iterable[str], kinds: Sequence[str] | None = None) -> list[str]:
        proba = self.predict_proba(texts, kinds)
        return [THEMES[i] for i in proba.argmax(axis=1)]

    # -- persistence ----------------------------------------------------------------------
    def save(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, path, compress=3)
        return path

    @classmethod
    def load(cls, path) -> "ThemeModel":
        model = joblib.load(Path(path))
        if not isinstance(model, cls):
            raise TypeError(f"{path} holds a {type(model).__name__}, not a ThemeModel")
        return model


@functools.lru_cache(maxsize=1)
def default_theme_model() -> ThemeModel:
    """The shipped model (``matching/data/theme_model.joblib``), loaded once, offline."""
    return ThemeModel.load(DEFAULT_MODEL_PATH)


@functools.lru_cache(maxsize=1)
def shipped_relevance():
    """The shipped model's relevance calibration (for theme models that carry none)."""
    model = joblib.load(DEFAULT_MODEL_PATH)
    cal = getattr(model, "relevance_", None)
    if cal is None:
        raise RuntimeError(f"{DEFAULT_MODEL_PATH} has no relevance calibration; run python -m matching.training")
    return cal


def infer_theme(text: str, kind: str | None = None) -> str:
    """The most likely theme of one post (``kind`` "need" or "offer" if known); ``other`` for
    empty or theme-less text."""
    if not re.search(r"\w", str(text or "")):
        return "other"
    return default_theme_model().predict([text], None if kind is None else [kind])[0]
