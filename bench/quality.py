"""Measured matching quality: P@1, P@5 and MRR@10 of ``collab match --top-k 10``.

    .venv/bin/python bench/quality.py [--data ../shared/data] [--folds 5] [--seeds 0 1 2]
                                      [--text-weights 0 0.2 0.4 0.6] [--out bench/out/quality]
    .venv/bin/python bench/quality.py --calibration docs/quality_reliability.png [--seeds 0 1]

``--calibration PNG``: only the relevance calibration's check. For each outer fold a model is
trained with its calibration (fitted on out-of-fold pairs of the training folds only,
``--calibration-folds``) and scores the held-out fold's needs x offers; pooled over folds it
prints the Brier score, the expected calibration error and the reliability table, beside
alternatives fitted on the same out-of-fold pairs (raw relevance read as a probability, plain
sigmoid of raw, isotonic regression), and draws the reliability diagram with matplotlib.

Protocol (docs/quality.md explains the choices):

* The 640 hand-labelled dev items (160 needs, 480 offers) are split into K folds, stratified by
  kind (need/offer) and grouped by school (URN), so each fold has about 32 needs and 96 offers
  and no school sits in two folds. Repeated with several shuffles (``--seeds``).
* For each fold a theme model is trained by ``matching.training.train`` on everything except
  that fold's items: its gold labels are dropped and its texts are removed from the seed, weak
  and self-training data too. The model is saved and handed to the real command line.
* ``collab match --needs N.csv --offers O.csv --top-k 10 --model fold.npz`` ranks the fold's
  needs against the fold's offers only: offers the fold model never saw, as in production
  where posts are new. (Ranking against all 480 would put 384 offers whose labels the model
  was trained on in the pool and inflate the figures.)
* A pair is good when the need's primary theme is among the offer's themes. P@1: the top offer
  is good; P@5: share of good offers among the top 5 (missing ranks count as not good);
  MRR@10: 1/rank of the first good offer in the top 10, 0 if none. Averaged over all needs.
* Rows: plain TF-IDF (``--weight text=1 --weight theme=0``, no model), the theme model alone,
  and text/theme mixtures; ``selected`` picks each fold's text weight by P@1 on the other
  folds of the same shuffle. The shipped default is the weight with the best mean P@1.
* Plain staff posts: the shipped model's accuracy on the hand-written set in
  tests/matching/test_themes.py, and P@1 of ``collab match`` with the shipped model and default
  weights on those posts (needs against offers; good = same expected theme).
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sklearn.model_selection import StratifiedGroupKFold  # noqa: E402

from matching import training  # noqa: E402
from matching.themes import DEFAULT_MODEL_PATH, ThemeModel  # noqa: E402

from common import collab_command  # noqa: E402  (bench/ is on the path when a script here runs)


def cv_folds(dev, folds: int, seed: int):
    """(fold number, the fold's items, the other items) for one shuffle: ``StratifiedGroupKFold``
    stratified on need/offer and grouped by school, as every bench here splits."""
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    for k, (_, idx) in enumerate(splitter.split(np.zeros(len(dev)), [x.kind for x in dev], [x.urn for x in dev])):
        test = [dev[i] for i in idx]
        ids = {x.item_id for x in test}
        yield k, test, [x for x in dev if x.item_id not in ids]


def write_round(workdir: Path, tag: str, needs, offers, capacity):
    """The needs and offers CSVs `collab match` reads; `capacity` maps an offer id to its places."""
    n_path, o_path = workdir / f"{tag}_needs.csv", workdir / f"{tag}_offers.csv"
    with open(n_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["need_id", "school_urn", "text"])
        w.writerows([x.item_id, x.urn, x.text] for x in needs)
    with open(o_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["offer_id", "school_urn", "text", "capacity"])
        w.writerows([x.item_id, x.urn, x.text, capacity[x.item_id]] for x in offers)
    return n_path, o_path


def run_match(needs, offers, workdir: Path, tag: str, model: Path | None, weights: dict[str, float], top_k=10):
    """Write the CSVs, run the real CLI, return {need_id: [offer_id, ...] by rank}."""
    n_path, o_path = write_round(workdir, tag, needs, offers, {x.item_id: 1 for x in offers})
    out = workdir / f"{tag}_out.csv"
    cmd = collab_command() + ["match", "--needs", str(n_path), "--offers", str(o_path),
                              "--out", str(out), "--quiet"]
    if top_k is not None:  # None: the optimal assignment (what a round proposes)
        cmd += ["--top-k", str(top_k)]
    if model is not None:
        cmd += ["--model", str(model)]
    for name, value in weights.items():
        cmd += ["--weight", f"{name}={value}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"collab match failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    ranked: dict[str, list[tuple[int, str]]] = {x.item_id: [] for x in needs}
    with open(out, newline="", encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            ranked[row["need_id"]].append((int(row["rank"]), row["offer_id"]))
    return {k: [o for _, o in sorted(v)] for k, v in ranked.items()}


def metrics(ranked: dict[str, list[str]], need_theme: dict[str, str], offer_themes: dict[str, set[str]]):
    """Per-need (P@1, P@5, MRR@10) rows."""
    rows = []
    for need_id, offers in ranked.items():
        good = [need_theme[need_id] in offer_themes[o] for o in offers[:10]]
        good += [False] * (10 - len(good))
        mrr = next((1.0 / (i + 1) for i, g in enumerate(good) if g), 0.0)
        rows.append((float(good[0]), float(np.mean(good[:5])), mrr))
    return np.array(rows)


def load_staff_posts():
    spec = importlib.util.spec_from_file_location("_staff", REPO / "tests" / "matching" / "test_themes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.STAFF_POSTS


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=training.DEFAULT_DATA_DIR)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--text-weights", type=float, nargs="+", default=[0.0, 0.2, 0.4, 0.6])
    ap.add_argument("--out", type=Path, help="keep the fold models and CSVs here (default: a temporary folder)")
    ap.add_argument("--calibration", type=Path, metavar="PNG", help="check the relevance calibration; draw its diagram here")
    ap.add_argument("--calibration-folds", type=int, default=3)
    args = ap.parse_args(argv)
    if args.calibration:
        return calibration_check(args)

    t0 = time.perf_counter()
    dev = training.load_dev(args.data)
    sentences = training.load_sentences(args.data)
    need_theme = {x.item_id: x.primary for x in dev if x.kind == "need"}
    offer_themes = {x.item_id: x.themes for x in dev if x.kind == "offer"}
    workdir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="collab-quality-"))
    workdir.mkdir(parents=True, exist_ok=True)

    configs = {"plain TF-IDF (text only, no theme model)": (None, {"text": 1.0, "theme": 0.0})}
    for tw in args.text_weights:
        name = "theme model only" if tw == 0 else f"text {tw:g} + theme {1 - tw:g}"
        configs[name] = ("model", {"text": tw, "theme": round(1 - tw, 6)})
    # results[config][seed] = list over folds of per-need metric arrays
    results = {c: {s: [] for s in args.seeds} for c in configs}
    for seed in args.seeds:
        for k, test, train_items in cv_folds(dev, args.folds, seed):
            model = training.train(train_items, sentences, exclude_texts=[x.text for x in test],
                                   labelled=training.labelled_without(test))
            model_path = model.save(workdir / f"seed{seed}_fold{k}.npz")
            needs = [x for x in test if x.kind == "need"]
            offers = [x for x in test if x.kind == "offer"]
            for c, (uses_model, weights) in configs.items():
                ranked = run_match(needs, offers, workdir, f"s{seed}f{k}", model_path if uses_model else None, weights)
                results[c][seed].append(metrics(ranked, need_theme, offer_themes))
            print(f"seed {seed} fold {k}: {len(needs)} needs x {len(offers)} offers done "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    def summary(per_seed):
        allrows = np.vstack([np.vstack(folds) for folds in per_seed.values()])
        by_seed = [np.vstack(f).mean(axis=0) for f in per_seed.values()]
        return allrows.mean(axis=0), np.std(by_seed, axis=0), len(allrows) // len(per_seed)

    # text weight chosen per fold on the other folds of the same shuffle (P@1, then MRR)
    mix = [c for c in configs if configs[c][0] == "model"]
    selected = {s: [] for s in args.seeds}
    picks = []
    for s in args.seeds:
        for k in range(args.folds):
            def score(c):
                other = np.vstack([results[c][s][j] for j in range(args.folds) if j != k]).mean(axis=0)
                return (round(other[0], 6), round(other[2], 6))
            best = max(mix, key=score)
            picks.append(configs[best][1]["text"])
            selected[s].append(results[best][s][k])

    print()
    print(f"{args.folds}-fold CV x {len(args.seeds)} shuffles (seeds {args.seeds}); each fold's needs ranked against "
          f"that fold's offers by `collab match --top-k 10`")
    header = f"| {'configuration':<44} | P@1 | P@5 | MRR@10 |"
    print(header)
    print("| " + "-" * 44 + " | ---: | ---: | ---: |")
    table = {}
    for c in configs:
        m, sd, n = summary(results[c])
        table[c] = m
        print(f"| {c:<44} | {m[0]:.3f} ± {sd[0]:.3f} | {m[1]:.3f} ± {sd[1]:.3f} | {m[2]:.3f} ± {sd[2]:.3f} |")
    m, sd, _ = summary(selected)
    print(f"| {'text weight selected on the other folds':<44} | {m[0]:.3f} ± {sd[0]:.3f} | {m[1]:.3f} ± {sd[1]:.3f} "
          f"| {m[2]:.3f} ± {sd[2]:.3f} |")
    print(f"(± = standard deviation over the {len(args.seeds)} shuffles; text weights picked per fold: "
          f"{sorted(set(picks))}, most often {max(set(picks), key=picks.count):g})")
    best = max(mix, key=lambda c: (round(table[c][0], 6), round(table[c][2], 6)))
    print(f"best mean P@1: {best} -> defaults TEXT_WEIGHT={configs[best][1]['text']:g}, "
          f"THEME_WEIGHT={configs[best][1]['theme']:g}")

    # plain staff-style posts, shipped model
    posts = load_staff_posts()
    shipped = ThemeModel.load(DEFAULT_MODEL_PATH)
    pred = shipped.predict([t for t, _, _ in posts])
    acc = np.mean([p == e for p, (_, _, e) in zip(pred, posts)])
    items = [training.DevItem(f"{'N' if kind == 'need' else 'O'}{i:03d}", kind, str(900000 + i), text, theme)
             for i, (text, kind, theme) in enumerate(posts)]
    s_needs = [x for x in items if x.kind == "need"]
    s_offers = [x for x in items if x.kind == "offer"]
    ranked = run_match(s_needs, s_offers, workdir, "staff", None, {})
    sm = metrics(ranked, {x.item_id: x.primary for x in s_needs}, {x.item_id: {x.primary} for x in s_offers}).mean(axis=0)
    base = metrics(run_match(s_needs, s_offers, workdir, "staff_tfidf", None, {"text": 1.0, "theme": 0.0}),
                   {x.item_id: x.primary for x in s_needs}, {x.item_id: {x.primary} for x in s_offers}).mean(axis=0)
    print()
    print(f"plain staff posts ({len(posts)} hand-written, tests/matching/test_themes.py), shipped model:")
    print(f"  theme accuracy {acc:.3f} ({int(round(acc * len(posts)))}/{len(posts)})")
    print(f"  collab match, default weights: {len(s_needs)} needs x {len(s_offers)} offers: "
          f"P@1 {sm[0]:.3f}  P@5 {sm[1]:.3f}  MRR@10 {sm[2]:.3f}")
    print(f"  plain TF-IDF on the same posts:            P@1 {base[0]:.3f}  P@5 {base[1]:.3f}  MRR@10 {base[2]:.3f}")
    print(f"\n{time.perf_counter() - t0:.0f} s; fold models and CSVs in {workdir}")
    if not args.out:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def calibration_check(args) -> int:
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression

    from matching.relevance import brier_score, expected_calibration_error, reliability_table

    t0 = time.perf_counter()
    dev = training.load_dev(args.data)
    sentences = training.load_sentences(args.data)
    need_sentences = training.load_need_sentences(args.data)
    probs: dict[str, list] = {"shipped method: sigmoid of log raw": [], "raw relevance read as a probability": [],
                              "sigmoid of raw": [], "isotonic regression of raw": []}
    goods = []
    for seed in args.seeds:
        for k, test, train_items in cv_folds(dev, args.folds, seed):
            excl = [x.text for x in test]
            # the calibration's own out-of-fold pairs (training folds only), to fit the alternatives too
            labelled = training.labelled_without(test)
            raw_tr, good_tr = training.out_of_fold_pairs(train_items, sentences, excl, folds=args.calibration_folds,
                                                         need_sentences=need_sentences, labelled=labelled)
            model = training.train(train_items, sentences, excl, need_sentences=need_sentences, calibrate=False,
                                   labelled=labelled)
            from matching.relevance import RelevanceCalibration

            model.relevance_ = RelevanceCalibration().fit(raw_tr, good_tr)  # = train(..., calibrate=True)
            raw, good = training.labelled_pairs(model, [x for x in test if x.kind == "need"],
                                                [x for x in test if x.kind == "offer"])
            probs["shipped method: sigmoid of log raw"].append(model.relevance_.predict(raw))
            probs["raw relevance read as a probability"].append(np.clip(raw, 0, 1))
            platt = LogisticRegression(C=100).fit(raw_tr[:, None], good_tr)
            probs["sigmoid of raw"].append(platt.predict_proba(raw[:, None])[:, 1])
            iso = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(raw_tr, good_tr)
            probs["isotonic regression of raw"].append(iso.predict(raw))
            goods.append(good)
            print(f"seed {seed} fold {k}: {len(raw)} held-out pairs ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
    good = np.concatenate(goods)
    print(f"\n{len(good)} held-out labelled pairs ({args.folds}-fold CV x seeds {args.seeds}), "
          f"{good.mean():.3f} of them good; base-rate Brier {brier_score(np.full(len(good), good.mean()), good):.4f}")
    print("| method | Brier | expected calibration error | pairs >= 0.5 | good among them | mean probability |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, ps in probs.items():
        p = np.concatenate(ps)
        hi = p >= 0.5
        print(f"| {name} | {brier_score(p, good):.4f} | {expected_calibration_error(p, good):.4f} | {hi.sum()} | "
              f"{good[hi].mean():.3f} | {p[hi].mean():.3f} |")
    p = np.concatenate(probs["shipped method: sigmoid of log raw"])
    print("\nreliability (shipped method): | bin | mean probability | share good | pairs |")
    for low, mp, share, count in reliability_table(p, good):
        print(f"| {low:.1f}-{low + 0.1:.1f} | {mp:.3f} | {share:.3f} | {count} |")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 5), dpi=110)
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfectly calibrated")
    for name, style in (("shipped method: sigmoid of log raw", "o-"), ("raw relevance read as a probability", "s:")):
        rows = reliability_table(np.concatenate(probs[name]), good)
        ax.plot([r[1] for r in rows], [r[2] for r in rows], style, label=name)
        if name.startswith("shipped"):
            for r in rows:
                ax.annotate(str(r[3]), (r[1], r[2]), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlabel("predicted probability of a good pair (bin mean)")
    ax.set_ylabel("share of pairs that are good")
    ax.set_title(f"Relevance reliability on {len(good)} held-out labelled pairs\n"
                 f"Brier {brier_score(p, good):.4f} (numbers: pairs per bin)", fontsize=9)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    args.calibration.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.calibration)
    print(f"\ndiagram written to {args.calibration}; {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
