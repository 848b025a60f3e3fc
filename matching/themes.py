"""Themes of needs and offers, and the model that infers a theme from free text.

The taxonomy is the one in ``../shared/data/themes.md`` (16 themes, one primary per post,
optional secondaries). A post that carries a theme (chosen in the Slack modal) uses it; a post
without one gets it inferred by :class:`ThemeModel`, a multinomial logistic regression over
word TF-IDF features trained by ``python -m matching.training`` (see docs/quality.md).

The shipped model is ``matching/data/theme_model.npz``: numpy arrays only (no pickle), loaded
offline without scikit-learn.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import scipy.sparse as sp

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

DEFAULT_MODEL_PATH = Path(__file__).with_name("data") / "theme_model.npz"
MODEL_FORMAT = "collab theme model 1"  # the first array of a model file (ThemeModel.save)
_ARRAYS = ("words", "idf", "coef", "intercept", "columns")  # one fitted model's arrays in that file

# Distribution given to a text with no known word: mostly "other", a little of everything.
FEATURELESS = np.full(len(THEMES), 0.75 / (len(THEMES) - 1))
FEATURELESS[THEME_INDEX["other"]] = 0.25

_APOSTROPHES = re.compile("[\u2018\u2019\u02bc`]")
_DIGITS = re.compile(r"\d+")
_SKLEARN_TOKENS = r"(?u)\b\w\w+\b"  # TfidfVectorizer's default token_pattern
_TOKENS = re.compile(_SKLEARN_TOKENS)


def normalise(text: str) -> str:
    """Lower-case, straighten apostrophes, fold numbers: Ofsted prose and Slack posts alike."""
    text = _APOSTROPHES.sub("'", str(text or "").lower())
    return _DIGITS.sub("0", text)


class ThemeModel:
    """Text -> probability over :data:`THEMES` (columns always in that order).

    ``fit(texts, labels, sample_weight=None)`` takes one theme name per text; multi-labelled
    examples (an offer's secondaries) are passed as extra rows with a smaller weight.

    scikit-learn trains it (word unigram ``TfidfVectorizer`` -> multinomial
    ``LogisticRegression``) and the fit keeps only what predicting needs, as plain arrays:
    the vocabulary, the idf weights, the coefficients. So a round never imports scikit-learn
    (1 s of every ``collab match`` on this machine, docs/matching.md) and a model file is
    numpy data, not a pickle: loading one runs no code. ``predict_proba`` computes what the
    fitted vectorizer and classifier would (a test checks it against them).

    Kind-aware: ``need_model_`` (optional, set by ``fit_needs``) is a second model of the same
    kind trained for needs, whose wording ("The school should ensure that staff deliver ...")
    and themes (curriculum, teaching, assessment, leadership) differ from offers'.
    ``predict_proba(texts, kinds=[...])`` sends the rows whose kind is ``"need"`` to it; without
    ``kinds`` (or without a need model) every row uses the main model, as before.
    """

    need_model_ = None
    membership_ = None  # an offer's chance of each theme being among its themes (fit_membership)
    link_ = "softmax"  # "sigmoid" for a membership model: one yes/no classifier per theme
    relevance_ = None
    """RelevanceCalibration fitted by matching.training (raw relevance -> probability), or None."""

    def __init__(self, C: float = 4.0, min_df: int = 2, class_weight="balanced"):
        self.C = C
        self.min_df = min_df
        self.class_weight = class_weight

    # -- training -------------------------------------------------------------------------
    def fit(self, texts: Sequence[str], labels: Sequence[str], sample_weight=None):
        from sklearn.linear_model import LogisticRegression

        labels = [str(label) for label in labels]
        _check_themes(labels)
        vectorizer = self._vectorizer()
        X = vectorizer.fit_transform(list(texts))
        y = np.array([THEME_INDEX[label] for label in labels])
        classifier = LogisticRegression(C=self.C, max_iter=2000, class_weight=self.class_weight)
        classifier.fit(X, y, sample_weight=sample_weight)
        words = vectorizer.get_feature_names_out()
        coef = np.asarray(classifier.coef_, dtype=np.float64)
        intercept = np.asarray(classifier.intercept_, dtype=np.float64)
        if coef.shape[0] == 1:  # two classes: P(second) = sigmoid(z), i.e. a softmax over (0, z)
            coef, intercept = np.vstack([np.zeros_like(coef), coef]), np.r_[0.0, intercept]
        return self._set(words, vectorizer.idf_, coef, intercept, classifier.classes_)

    def _vectorizer(self):
        """The word TF-IDF every part of the model is fitted on (what ``predict_proba_words``
        computes from word counts)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(preprocessor=normalise, token_pattern=_SKLEARN_TOKENS, min_df=self.min_df,
                               sublinear_tf=True, dtype=np.float32)

    def _new_membership(self) -> "ThemeModel":
        member = ThemeModel(self.C, self.min_df, None)
        member.link_ = "sigmoid"
        return member

    def _set(self, words, idf, coef, intercept, columns) -> "ThemeModel":
        self.vocabulary_ = {str(w): j for j, w in enumerate(words)}
        self.idf_ = np.asarray(idf, dtype=np.float64)
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = np.asarray(intercept, dtype=np.float64)
        # where each row of coef_ goes among the 16 output columns
        self.columns_ = np.asarray(columns, dtype=np.int64)
        n_words, n_classes = len(self.vocabulary_), len(self.columns_)
        if (self.idf_.shape != (n_words,) or self.coef_.shape != (n_classes, n_words)
                or self.intercept_.shape != (n_classes,) or len(set(self.columns_.tolist())) != n_classes
                or not ((0 <= self.columns_) & (self.columns_ < len(THEMES))).all()):
            raise ValueError("inconsistent theme model arrays")
        return self

    def fit_needs(self, texts: Sequence[str], labels: Sequence[str], sample_weight=None):
        """Fit the need model (same hyperparameters) on need texts; returns self."""
        self.need_model_ = ThemeModel(self.C, self.min_df, self.class_weight).fit(
            texts, labels, sample_weight=sample_weight
        )
        return self

    def fit_membership(self, texts: Sequence[str], theme_sets: Sequence[Iterable[str]]):
        """Fit the offer membership model: per theme, a logistic regression of "is this theme
        among the offer's themes" (primary or secondary) on the same word TF-IDF; returns self.

        Why: a pair is good when the need's theme is *among* the offer's themes, and an offer
        usually has several. The main model spreads one unit of probability over an offer's
        themes, so a clear reading offer that also builds pupils' confidence scores lower on
        reading than a vague one; membership scores each theme on its own."""
        from sklearn.linear_model import LogisticRegression

        sets = [set(map(str, ts)) for ts in theme_sets]
        _check_themes(set().union(*sets))
        vectorizer = self._vectorizer()
        X = vectorizer.fit_transform(list(texts))
        coef = np.zeros((len(THEMES), X.shape[1]))
        intercept = np.zeros(len(THEMES))
        for t, theme in enumerate(THEMES):
            y = np.array([theme in ts for ts in sets])
            if 0 < y.sum() < len(y):
                clf = LogisticRegression(C=self.C, max_iter=2000).fit(X, y)
                coef[t], intercept[t] = clf.coef_[0], clf.intercept_[0]
            else:  # a theme never (or always) seen: its base rate, whatever the words
                rate = np.clip(y.mean() if len(y) else 0.0, 1e-4, 1 - 1e-4)
                intercept[t] = np.log(rate / (1 - rate))
        self.membership_ = self._new_membership()._set(vectorizer.get_feature_names_out(), vectorizer.idf_, coef,
                                                       intercept, np.arange(len(THEMES)))
        return self

    @property
    def kind_aware(self) -> bool:
        """True when needs have their own model (the engine then passes ``kinds``)."""
        return self.need_model_ is not None

    @property
    def reads_word_counts(self) -> bool:
        """True once fitted: :meth:`predict_proba_words` then gives what :meth:`predict_proba`
        gives (the engine asks this of any theme model it is handed)."""
        return hasattr(self, "coef_")

    # -- inference ------------------------------------------------------------------------
    def predict_proba(self, texts: Iterable[str], kinds: Sequence[str] | None = None) -> np.ndarray:
        """Rows of probabilities over THEMES. ``kinds`` (optional, one of "need"/"offer" per
        text) routes needs to the need model when there is one."""
        if kinds is not None and self.need_model_ is not None:
            texts = list(texts)
            return self._by_kind(len(texts), kinds, lambda model, rows: model.predict_proba(
                [t for t, keep in zip(texts, rows) if keep]))
        from matching.text import count_words

        self._check_fitted()
        texts = [str(t or "") for t in texts]
        if not texts:
            return np.zeros((0, len(THEMES)))
        # Synthetic and real workloads repeat texts: read each distinct text once.
        unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
        tokens = count_words(unique.tolist())
        return self.predict_proba_words(tokens.words, tokens.counts)[inverse.reshape(-1)]

    def predict_proba_words(self, words: Sequence[str], counts, kinds: Sequence[str] | None = None) -> np.ndarray:
        """Probabilities of the texts whose words ``counts`` counts (rows: texts, columns:
        ``words``, every ``\\w\\w+`` token lower-cased, as ``matching.text.count_words`` gives):
        the one way this model reads text, so that a round tokenises its texts once and
        :meth:`predict_proba` is this after ``count_words``.

        What the fitted TfidfVectorizer would give (a test checks it on odd texts): normalising
        a whole text and then finding its tokens gives the tokens of normalising each token,
        because lower-casing, straightening apostrophes and folding digits keep word characters
        word characters; a token that lower-cases into two (a dotted capital I) is split the
        same way here."""
        from matching.text import WordCounts

        counts = sp.csr_matrix(counts)
        if kinds is not None and self.need_model_ is not None:
            return self._by_kind(counts.shape[0], kinds,
                                 lambda model, rows: model.predict_proba_words(words, counts[rows]))
        self._check_fitted()
        vocab = self.vocabulary_
        # words that normalise alike ("year 9", "year 10") add up in one feature
        X = WordCounts(list(words), counts).mapped(
            lambda word: [vocab[t] for t in _TOKENS.findall(normalise(word)) if t in vocab], len(vocab))
        return self._from_counts(X)

    def _from_counts(self, counts: sp.csr_matrix) -> np.ndarray:
        """Probabilities from texts' counts of the vocabulary's words: sublinear tf-idf, L2
        rows, softmax of the linear scores (what TfidfVectorizer + LogisticRegression do)."""
        from matching.text import sublinear_tfidf

        X = sublinear_tfidf(counts, self.idf_)
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        if self.link_ == "sigmoid":  # a membership model: each theme yes or no on its own
            scores = 1.0 / (1.0 + np.exp(-scores))
        else:
            scores -= scores.max(axis=1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=1, keepdims=True)
        full = np.zeros((X.shape[0], len(THEMES)))
        full[:, self.columns_] = scores
        # No known word at all ("", "🙂", "thanks"): the classifier would answer with its class
        # priors, which are meaningless here; say "other" and stay neutral towards every theme.
        full[np.diff(X.indptr) == 0] = FEATURELESS
        return full

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise ValueError("this theme model is not fitted yet: call fit() or ThemeModel.load()")

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
    def _arrays(self, prefix: str) -> dict[str, np.ndarray]:
        words = np.array(sorted(self.vocabulary_, key=self.vocabulary_.get), dtype=str)  # in column order
        values = (words, self.idf_, self.coef_, self.intercept_, self.columns_)
        return {f"{prefix}{name}": v for name, v in zip(_ARRAYS, values)}

    def save(self, path) -> Path:
        """One ``.npz`` file (numpy arrays only): both models, the themes they were trained for
        and the relevance calibration. Written whole, then renamed."""
        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"format": np.array(MODEL_FORMAT), "themes": np.array(THEMES),
                  "params": np.array([self.C, self.min_df]),
                  "class_weight": np.array(str(self.class_weight)), **self._arrays("main_")}
        if self.need_model_ is not None:
            arrays.update(self.need_model_._arrays("need_"))
        if self.membership_ is not None:
            arrays.update(self.membership_._arrays("member_"))
        if self.relevance_ is not None:
            arrays["relevance"] = self.relevance_.to_array()
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:  # a file object: np.savez would add ".npz" to a name
            np.savez_compressed(f, **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path) -> "ThemeModel":
        """A model saved by :meth:`save`. Anything else is refused with a ValueError that says
        what the file is: a pickle (the ``.joblib`` models of earlier versions too) is never
        unpickled, since unpickling a file runs whatever code it names."""
        from matching.relevance import RelevanceCalibration

        path = Path(path)
        arrays = _read_arrays(path)
        if str(arrays.get("format", "")) != MODEL_FORMAT:
            raise ValueError(f"{path} is not a Collab theme model file")
        if tuple(arrays.get("themes", np.array([])).tolist()) != THEMES:
            raise ValueError(f"{path} was trained for other themes than Collab's")
        try:
            C, min_df = arrays["params"].tolist()
            weight = str(arrays["class_weight"])
            model = cls(C, int(min_df), None if weight == "None" else weight)
            model._set(*(arrays[f"main_{k}"] for k in _ARRAYS))
            if "need_words" in arrays:
                model.need_model_ = cls(model.C, model.min_df, model.class_weight)._set(
                    *(arrays[f"need_{k}"] for k in _ARRAYS))
            if "member_words" in arrays:
                model.membership_ = model._new_membership()._set(*(arrays[f"member_{k}"] for k in _ARRAYS))
            if "relevance" in arrays:
                model.relevance_ = RelevanceCalibration.from_array(arrays["relevance"])
        except (KeyError, ValueError, TypeError) as exc:
            raise ValueError(f"{path} is not a usable Collab theme model file ({exc})") from None
        return model


def _check_themes(names: Iterable[str]) -> None:
    unknown = sorted(set(names) - set(THEMES))
    if unknown:
        raise ValueError(f"unknown themes: {unknown}; expected one of {THEMES}")


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file, never unpickling; what the file is otherwise, in words."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return {name: z[name] for name in z.files}
    except FileNotFoundError:
        raise ValueError(f"{path}: file not found") from None
    except ValueError as exc:
        if "pickled" in str(exc):  # numpy's refusal
            raise ValueError(f"{path} holds pickled Python objects, which Collab does not load (a .joblib "
                             "model of an earlier version: retrain with python -m matching.training)") from None
        raise ValueError(f"{path} is not a Collab theme model file ({exc})") from None
    except Exception as exc:  # unreadable, truncated, a zip of something else
        raise ValueError(f"{path} is not a Collab theme model file ({type(exc).__name__})") from None


@functools.lru_cache(maxsize=1)
def default_theme_model() -> ThemeModel:
    """The shipped model (``matching/data/theme_model.npz``), loaded once, offline."""
    return ThemeModel.load(DEFAULT_MODEL_PATH)


@functools.lru_cache(maxsize=1)
def shipped_relevance():
    """The shipped model's relevance calibration (for theme models that carry none), read alone
    from the shipped file."""
    from matching.relevance import RelevanceCalibration

    with np.load(DEFAULT_MODEL_PATH, allow_pickle=False) as z:
        cal = RelevanceCalibration.from_array(z["relevance"]) if "relevance" in z.files else None
    if cal is None:
        raise RuntimeError(f"{DEFAULT_MODEL_PATH} has no relevance calibration; run python -m matching.training")
    return cal


def infer_theme(text: str, kind: str | None = None) -> str:
    """The most likely theme of one post (``kind`` "need" or "offer" if known); ``other`` for
    empty or theme-less text."""
    if not re.search(r"\w", str(text or "")):
        return "other"
    return default_theme_model().predict([text], None if kind is None else [kind])[0]
