"""Cross-validated accuracy of the need's primary theme, for comparing need models.

    .venv/bin/python bench/need_theme_cv.py [--data ../shared/data] [--folds 5] [--seeds 0 1 2]
                                            [--configs shipped ...] [--teacher-cache DIR]

Same protocol as bench/quality.py: ``StratifiedGroupKFold`` stratified on need/offer, grouped by
school, several shuffles; for each fold a need model is trained by ``matching.training`` without
the fold's items (their texts removed from every source, the weak and self-training sentences
too) and predicts the fold's needs. Prints accuracy (primary theme = argmax), "among the need's
themes" (argmax is the primary or a secondary) and the mean probability of the true primary.

``--teacher-cache DIR``: sentence embeddings made once by bench/embed_teacher.py (an optional
experiment: sentence-transformers, outside the runtime) for the configs named ``teacher*``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from matching import training  # noqa: E402
from quality import cv_folds  # noqa: E402
from matching.themes import THEME_INDEX, THEMES, ThemeModel  # noqa: E402
from matching.training import _key, _self_train, build_need_training_set  # noqa: E402


def _fit(ts, **params):
    return ThemeModel(**params).fit(ts.texts, ts.labels, sample_weight=np.array(ts.weights))


def _self_train_rounds(ts, pool, rounds, threshold, weight, **params):
    model = _fit(ts, **params)
    for _ in range(rounds):
        cur = training.TrainingSet(list(ts.texts), list(ts.labels), list(ts.weights))
        used = {_key(t) for t in ts.texts}
        rest = [s for s in pool if _key(s) not in used]
        proba = model.predict_proba(rest)
        for text, b, c in zip(rest, proba.argmax(axis=1), proba.max(axis=1)):
            if c >= threshold:
                cur.add(text, THEMES[b], weight)
        model = _fit(cur, **params)
    return model


def cfg_shipped(items, sents, excl, teacher):
    return training.train_need_model(items, sents, excl, _labelled())


def cfg_gold_only(items, sents, excl, teacher):
    """The need model as shipped before the extra labelled sentences (matching/data/*_labels.csv)."""
    return training.train_need_model(items, sents, excl, class_weight="balanced")


_FOLD: list = []  # the fold being predicted (set by main)
_LABELLED: list = []  # the extra labelled sentences, read once (set by main)


def _labelled():
    """The extra labelled sentences, less those of the fold's schools (grouped by school, as the folds)."""
    return training.labelled_without(_FOLD, _LABELLED)


def _labelled_cfg(weight):
    def f(items, sents, excl, teacher):
        saved = training.LABELLED_WEIGHT
        training.LABELLED_WEIGHT = weight
        try:
            return training.train_need_model(items, sents, excl, _labelled())
        finally:
            training.LABELLED_WEIGHT = saved
    return f


def _params_cfg(**params):
    def f(items, sents, excl, teacher):
        nts, pool = build_need_training_set(items, sents, excl)
        return _self_train(nts, pool, params)
    return f


def _rounds_cfg(rounds, threshold, weight):
    def f(items, sents, excl, teacher):
        nts, pool = build_need_training_set(items, sents, excl)
        return _self_train_rounds(nts, pool, rounds, threshold, weight)
    return f


def _reweighted(gold_need=None, gold_offer=None, weak=None, secondary=None):
    def f(items, sents, excl, teacher):
        saved = (training.NEED_GOLD_WEIGHT, training.WEAK_WEIGHT, training.SECONDARY_WEIGHT)
        try:
            if secondary is not None:
                training.SECONDARY_WEIGHT = secondary
            if gold_need is not None:
                training.NEED_GOLD_WEIGHT = gold_need
            if weak is not None:
                training.WEAK_WEIGHT = weak
            its = items
            if gold_offer == 0:
                its = [x for x in items if x.kind == "need"]
            nts, pool = build_need_training_set(its, sents, excl)
        finally:
            training.NEED_GOLD_WEIGHT, training.WEAK_WEIGHT, training.SECONDARY_WEIGHT = saved
        return _self_train(nts, pool, {})
    return f


def _spread_cfg(alpha=0.2, k=10, threshold=0.6, weight=0.2, replace_weak=False):
    """Label spreading over a kNN graph of TF-IDF vectors of the gold items + need sentences;
    confident spread labels of the unlabelled sentences join the need model's data."""
    def f(items, sents, excl, teacher):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.semi_supervised import LabelSpreading

        nts, pool = build_need_training_set(items, sents, excl)
        excluded = {_key(t) for t in excl}
        gold = [x for x in items if _key(x.text) not in excluded]
        texts = [x.text for x in gold] + pool
        y = np.full(len(texts), -1)
        y[: len(gold)] = [THEME_INDEX[x.primary] for x in gold]
        weak = {}
        if not replace_weak:
            for i, s in enumerate(pool):
                lab = training.need_weak_label(s)
                if lab:
                    y[len(gold) + i] = THEME_INDEX[lab]
                    weak[i] = lab
        from matching.themes import normalise
        X = TfidfVectorizer(preprocessor=normalise, min_df=2, sublinear_tf=True).fit_transform(texts)
        ls = LabelSpreading(kernel="knn", n_neighbors=k, alpha=alpha, max_iter=100).fit(X.toarray() if False else X, y)
        dist = ls.label_distributions_[len(gold):]
        cls = ls.classes_
        if replace_weak:
            keep = training.TrainingSet()
            for t, l, w in zip(nts.texts, nts.labels, nts.weights):
                if w != training.WEAK_WEIGHT or _key(t) not in {_key(p) for p in pool}:
                    keep.add(t, l, w)
            nts = keep
        for i, s in enumerate(pool):
            if i in weak:
                continue
            b = dist[i].argmax()
            if dist[i, b] >= threshold:
                nts.add(s, THEMES[cls[b]], weight)
        return _fit(nts)
    return f


def load_teacher(cache: Path) -> dict:
    """{normalised text: unit embedding} from bench/embed_teacher.py's cache."""
    z = np.load(Path(cache) / "embeddings.npz", allow_pickle=True)
    return {str(t): x for t, x in zip(z["texts"], z["X"])}


class _Teacher:
    """Logistic regression on sentence embeddings (texts looked up in the cache)."""

    def __init__(self, teacher, C=4.0):
        self.teacher, self.C = teacher, C

    def fit(self, ts):
        from sklearn.linear_model import LogisticRegression

        rows = [(self.teacher[_key(t)], THEME_INDEX[l], w) for t, l, w in zip(ts.texts, ts.labels, ts.weights)
                if _key(t) in self.teacher]
        X = np.vstack([r[0] for r in rows])
        self.clf = LogisticRegression(C=self.C, max_iter=3000, class_weight="balanced").fit(
            X, [r[1] for r in rows], sample_weight=[r[2] for r in rows])
        return self

    def predict_proba(self, texts):
        X = np.vstack([self.teacher[_key(t)] for t in texts])
        out = np.zeros((len(texts), len(THEMES)))
        out[:, self.clf.classes_] = self.clf.predict_proba(X)
        return out


def _teacher_cfg(direct=False, threshold=0.5, weight=0.3, C=4.0, replace_weak=False, blend=None, gold_only=False, soft=False, relabel_weak=False):
    """Embedding teacher (training time only): fit on the fold's training rows that have an
    embedding, pseudo-label the unlabelled need sentences, train the TF-IDF student on them."""
    def f(items, sents, excl, teacher):
        nts, pool = build_need_training_set(items, sents, excl)
        if gold_only:
            gold_keys = {_key(x.text) for x in items}
            tts = training.TrainingSet()
            for t, l, w in zip(nts.texts, nts.labels, nts.weights):
                if _key(t) in gold_keys:
                    tts.add(t, l, w)
        else:
            tts = nts
        tm = _Teacher(teacher, C).fit(tts)
        if direct:
            return tm
        pool_keys = {_key(p) for p in pool}
        student = training.TrainingSet()
        for t, l, w in zip(nts.texts, nts.labels, nts.weights):
            if replace_weak and w == training.WEAK_WEIGHT and _key(t) in pool_keys:
                continue
            student.add(t, l, w)
        labelled = {_key(t) for t in student.texts}
        rest = [p for p in pool if _key(p) not in labelled and _key(p) in teacher]
        if relabel_weak:  # the teacher's labels for every pool sentence, weak ones included
            student = training.TrainingSet()
            for t, l, w in zip(nts.texts, nts.labels, nts.weights):
                if not (w == training.WEAK_WEIGHT and _key(t) in pool_keys):
                    student.add(t, l, w)
            rest = [p for p in pool if _key(p) in teacher]
        proba = tm.predict_proba(rest)
        if blend is not None:  # mix with the TF-IDF model's own belief (self-training)
            proba = blend * proba + (1 - blend) * _fit(nts).predict_proba(rest)
        if soft:  # the teacher's whole distribution, one row per theme it gives >= 0.1
            for text, row in zip(rest, proba):
                for b in np.flatnonzero(row >= 0.1):
                    student.add(text, THEMES[b], weight * row[b])
            return _fit(student)
        for text, b, c in zip(rest, proba.argmax(axis=1), proba.max(axis=1)):
            if c >= threshold:
                student.add(text, THEMES[b], weight)
        return _fit(student)
    return f


class _Pool:
    def __init__(self, a, b, wa, geometric):
        self.a, self.b, self.wa, self.geometric = a, b, wa, geometric

    def predict_proba(self, texts):
        pa, pb = self.a.predict_proba(texts), self.b.predict_proba(texts)
        if self.geometric:
            z = self.wa * np.log(pa + 1e-9) + (1 - self.wa) * np.log(pb + 1e-9)
            z = np.exp(z - z.max(axis=1, keepdims=True))
            return z / z.sum(axis=1, keepdims=True)
        return self.wa * pa + (1 - self.wa) * pb


def _main_pool_cfg(wa=0.5, geometric=True, with_teacher=False):
    """The need model pooled with the main (offer) model, or with the embedding teacher."""
    def f(items, sents, excl, teacher):
        need = training.train_need_model(items, sents, excl)
        if with_teacher:
            return _Pool(need, _teacher_cfg(direct=True)(items, sents, excl, teacher), wa, geometric)
        main = training.train(items, training.load_sentences(), excl, need_model=False, calibrate=False)
        return _Pool(need, main, wa, geometric)
    return f


CONFIGS = {
    "pool_main_geo0.5": _main_pool_cfg(),
    "pool_main_geo0.7": _main_pool_cfg(0.7),
    "pool_main_arith0.5": _main_pool_cfg(geometric=False),
    "pool_teacher_arith0.5": _main_pool_cfg(geometric=False, with_teacher=True),
    "pool_teacher_geo0.5": _main_pool_cfg(with_teacher=True),
    "teacher_direct": _teacher_cfg(direct=True),
    "teacher_direct_gold": _teacher_cfg(direct=True, gold_only=True),
    "teacher_student": _teacher_cfg(),
    "teacher_student_t0.7": _teacher_cfg(threshold=0.7),
    "teacher_student_replace": _teacher_cfg(replace_weak=True, threshold=0.0),
    "teacher_student_blend": _teacher_cfg(blend=0.5),
    "teacher_soft": _teacher_cfg(soft=True),
    "teacher_soft_w0.6": _teacher_cfg(soft=True, weight=0.6),
    "teacher_relabel_soft": _teacher_cfg(soft=True, relabel_weak=True, weight=0.3),
    "teacher_relabel_soft_w0.6": _teacher_cfg(soft=True, relabel_weak=True, weight=0.6),
    "shipped": cfg_shipped,
    "gold_only": cfg_gold_only,
    **{f"labelled_w{w:g}": _labelled_cfg(w) for w in (0.5, 2.0, 3.0)},  # shipped: 1
    "C1": _params_cfg(C=1.0),
    "C16": _params_cfg(C=16.0),
    "unbalanced": _params_cfg(class_weight=None),
    "min_df1": _params_cfg(min_df=1),
    "min_df3": _params_cfg(min_df=3),
    "C2": _params_cfg(C=2.0),
    "C8": _params_cfg(C=8.0),
    "self0": _rounds_cfg(0, 0.6, 0.2),
    "self2": _rounds_cfg(2, 0.6, 0.2),
    "self1_t0.5": _rounds_cfg(1, 0.5, 0.2),
    "self1_t0.8_w0.3": _rounds_cfg(1, 0.8, 0.3),
    "needs_only_gold": _reweighted(gold_offer=0),
    "gold_need5": _reweighted(gold_need=5.0),
    "weak0.15": _reweighted(weak=0.15),
    "secondary0": _reweighted(secondary=0.0),
    "secondary0.25": _reweighted(secondary=0.25),
    "secondary0.75": _reweighted(secondary=0.75),
    "gold_need2": _reweighted(gold_need=2.0),
    "weak0.6": _reweighted(weak=0.6),
    "spread": _spread_cfg(),
    "spread_a0.5": _spread_cfg(alpha=0.5),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=training.DEFAULT_DATA_DIR)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--configs", nargs="+", default=["shipped"])
    ap.add_argument("--teacher-cache", type=Path)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    dev = training.load_dev(args.data)
    need_sentences = training.load_need_sentences(args.data)
    _LABELLED[:] = training.load_labelled()
    unknown = [c for c in args.configs if c not in CONFIGS]
    if unknown:
        ap.error(f"unknown configs {unknown}; known: {', '.join(CONFIGS)}")
    if any("teacher" in c or "static" in c for c in args.configs) and not args.teacher_cache:
        ap.error("the teacher configs need --teacher-cache (made by bench/embed_teacher.py)")
    teacher = None
    if args.teacher_cache:
        teacher = load_teacher(args.teacher_cache)
        global WORDS_CACHE
        WORDS_CACHE = args.teacher_cache
    res = {c: {s: [] for s in args.seeds} for c in args.configs}
    for seed in args.seeds:
        for k, test, train_items in cv_folds(dev, args.folds, seed):
            _FOLD[:] = test
            needs = [x for x in test if x.kind == "need"]
            for c in args.configs:
                model = CONFIGS[c](train_items, need_sentences, [x.text for x in test], teacher)
                p = model.predict_proba([x.text for x in needs])
                y = np.array([THEME_INDEX[x.primary] for x in needs])
                top = p.argmax(axis=1)
                among = np.array([training.THEMES[t] in x.themes for t, x in zip(top, needs)])
                res[c][seed].append(np.c_[top == y, among, p[np.arange(len(y)), y]])
            print(f"seed {seed} fold {k} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    print(f"need primary theme, {args.folds}-fold CV x seeds {args.seeds} (± = sd over shuffles)")
    print("| need model | accuracy | among its themes | mean p(primary) |")
    print("| --- | ---: | ---: | ---: |")
    for c in args.configs:
        allrows = np.vstack([np.vstack(v) for v in res[c].values()])
        by_seed = np.array([np.vstack(v).mean(axis=0) for v in res[c].values()])
        m, sd = allrows.mean(axis=0), by_seed.std(axis=0)
        print(f"| {c} | {m[0]:.3f} ± {sd[0]:.3f} | {m[1]:.3f} ± {sd[1]:.3f} | {m[2]:.3f} |", flush=True)
    print(f"{time.perf_counter() - t0:.0f} s")
    return 0



class _StaticEmb:
    """TF-IDF + a dense part: the TF-IDF-weighted mean of static word vectors (each vocabulary
    word embedded alone by the sentence model at training time), logistic regression on both."""

    def __init__(self, words, beta=1.0):
        self.words, self.beta = words, beta

    def _features(self, texts):
        import scipy.sparse as sp
        from sklearn.preprocessing import normalize

        X = self.vec.transform(texts)
        D = normalize(np.asarray(X @ self.W))
        return sp.hstack([X, sp.csr_matrix(self.beta * D)]).tocsr()

    def fit(self, ts):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from matching.themes import normalise
        self.vec = TfidfVectorizer(preprocessor=normalise, min_df=2, sublinear_tf=True).fit(ts.texts)
        dim = next(iter(self.words.values())).shape[0]
        self.W = np.vstack([self.words.get(w, np.zeros(dim, np.float32)) for w in self.vec.get_feature_names_out()])
        self.clf = LogisticRegression(C=4.0, max_iter=3000, class_weight="balanced").fit(
            self._features(ts.texts), [THEME_INDEX[l] for l in ts.labels], sample_weight=ts.weights)
        return self

    def predict_proba(self, texts):
        out = np.zeros((len(texts), len(THEMES)))
        out[:, self.clf.classes_] = self.clf.predict_proba(self._features(list(texts)))
        return out


def _static_cfg(beta):
    def f(items, sents, excl, teacher):
        z = np.load(Path(WORDS_CACHE) / "words.npz", allow_pickle=True)
        words = {str(w): x for w, x in zip(z["words"], z["W"])}
        nts, pool = build_need_training_set(items, sents, excl)
        model = _StaticEmb(words, beta).fit(nts)
        used = {_key(t) for t in nts.texts}
        rest = [s for s in pool if _key(s) not in used]
        proba = model.predict_proba(rest)
        for text, b, c in zip(rest, proba.argmax(axis=1), proba.max(axis=1)):
            if c >= training.SELF_THRESHOLD:
                nts.add(text, THEMES[b], training.SELF_WEIGHT)
        return _StaticEmb(words, beta).fit(nts)
    return f


WORDS_CACHE = "."
CONFIGS.update({f"static_words_b{b:g}": _static_cfg(b) for b in (0.5, 1.0, 2.0)})


if __name__ == "__main__":
    raise SystemExit(main())
