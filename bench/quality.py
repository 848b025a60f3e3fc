"""Measured matching quality: P@1, P@5 and MRR@10 of ``collab match --top-k 10``.

    .venv/bin/python bench/quality.py [--data ../shared/data] [--folds 5] [--seeds 0 1 2]
                                      [--text-weights 0 0.2 0.4 0.6] [--out bench/out/quality]

Protocol (docs/quality.md explains the choices):

* The 640 hand-labelled dev items (160 needs, 480 offers) are split into K folds, stratified by
  kind (need/offer) and grouped by school (URN), so each fold has about 32 needs and 96 offers
  and no school sits in two folds. Repeated with several shuffles (``--seeds``).
* For each fold a theme model is trained by ``matching.training.train`` on everything except
  that fold's items: its gold labels are dropped and its texts are removed from the seed, weak
  and self-training data too. The model is saved and handed to the real command line.
* ``collab match --needs N.csv --offers O.csv --top-k 10 --model fold.joblib`` ranks the fold's
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


def collab_command() -> list[str]:
    exe = Path(sys.executable).with_name("collab")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("collab")
    return [found] if found else [sys.executable, "-m", "bot.cli"]


def run_match(needs, offers, workdir: Path, tag: str, model: Path | None, weights: dict[str, float], top_k=10):
    """Write the CSVs, run the real CLI, return {need_id: [offer_id, ...] by rank}."""
    n_path, o_path, out = workdir / f"{tag}_needs.csv", workdir / f"{tag}_offers.csv", workdir / f"{tag}_out.csv"
    with open(n_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["need_id", "school_urn", "text"])
        w.writerows([x.item_id, x.urn, x.text] for x in needs)
    with open(o_path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["offer_id", "school_urn", "text", "capacity"])
        w.writerows([x.item_id, x.urn, x.text, 1] for x in offers)
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
    args = ap.parse_args(argv)

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
    y = [x.kind for x in dev]
    groups = [x.urn for x in dev]
    for seed in args.seeds:
        splitter = StratifiedGroupKFold(args.folds, shuffle=True, random_state=seed)
        for k, (_, test_idx) in enumerate(splitter.split(np.zeros(len(dev)), y, groups)):
            test = [dev[i] for i in test_idx]
            test_ids = {x.item_id for x in test}
            train_items = [x for x in dev if x.item_id not in test_ids]
            model = training.train(train_items, sentences, exclude_texts=[x.text for x in test])
            model_path = model.save(workdir / f"seed{seed}_fold{k}.joblib")
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


if __name__ == "__main__":
    raise SystemExit(main())
