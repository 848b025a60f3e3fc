"""Round quality: how many of the good pairings a labelled round allows does `collab match` find?

    .venv/bin/python bench/round_quality.py [--data ../shared/data] [--folds 5] [--seeds 0 1]
                                            [--thresholds T ...] [--target 0.8] [--calibration-folds 3]
                                            [--out bench/out/round_quality]

Labelled rounds from cross-validation folds of the hand-labelled items (160 needs, 480 offers):

* The items are split into ``--folds`` folds, stratified by need/offer and grouped by school
  (no school on both sides), per shuffle (``--seeds``).
* For each fold a theme model (with its relevance calibration, itself fitted on out-of-fold
  pairs of the training items only) is trained on the other folds, the fold's texts removed
  from every source: no item is both in the training and in the round.
* The round is the fold's needs and offers; each offer gets a capacity drawn from 1, 2, 3
  (probabilities 0.6, 0.3, 0.1, seeded), as leads post them.
* The real command line runs in assignment mode (``collab match --needs --offers --model
  --unmatched``) at the default threshold, or at each of ``--thresholds``, and in top-k mode
  (``--top-k 10``).

Reported, pooled over all folds (± = standard deviation over shuffles):

* precision: share of proposed pairs that are good (the need's primary theme is among the
  offer's themes);
* found: good pairs proposed / the most good pairs any assignment could make, a maximum flow
  over the labels (source -> need 1, need -> offer 1 when good and of another school, offer ->
  sink its capacity: ``scipy.sparse.csgraph.maximum_flow``);
* needs left unpaired with each reason (``--unmatched``);
* top-k: P@1, P@5 (missing ranks count as not good) and MRR@10.

Choosing the threshold (``Weights.min_relevance``): with several ``--thresholds``, each fold
gets the smallest threshold whose pooled precision on the *other* folds of its shuffle is at
least ``--target`` (the most precise one if none is); the "selected" row is measured on the
held-out folds only, and the threshold picked most often is the suggested default.
(``--calibration-folds``: out-of-fold trainings behind each fold model's calibration; 3 keeps
the run short on a shared machine, the shipped model uses 5.)
"""
from __future__ import annotations

import argparse
from collections import Counter
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_flow

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from sklearn.model_selection import StratifiedGroupKFold  # noqa: E402

from matching import training  # noqa: E402
from matching.unmatched import REASONS  # noqa: E402
from matching.weights import Weights  # noqa: E402
from quality import collab_command, metrics, write_round  # noqa: E402


def max_good_pairs(needs, offers, capacity: dict[str, int]) -> int:
    """The most good pairs one assignment can hold (each need once, each offer up to capacity)."""
    n, m = len(needs), len(offers)
    src, sink = n + m, n + m + 1
    rows, cols, caps = [], [], []
    for i, x in enumerate(needs):
        rows.append(src), cols.append(i), caps.append(1)
        for j, o in enumerate(offers):
            if x.primary in o.themes and x.urn != o.urn:
                rows.append(i), cols.append(n + j), caps.append(1)
    for j, o in enumerate(offers):
        rows.append(n + j), cols.append(sink), caps.append(capacity[o.item_id])
    graph = sp.csr_matrix((np.array(caps, dtype=np.int32), (rows, cols)), shape=(n + m + 2,) * 2)
    return int(maximum_flow(graph, src, sink).flow_value)


def run_cli(n_path, o_path, out: Path, model: Path, *extra) -> list[dict]:
    cmd = collab_command() + ["match", "--needs", str(n_path), "--offers", str(o_path), "--model", str(model),
                              "--out", str(out), "--quiet", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"collab match failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    with open(out, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=training.DEFAULT_DATA_DIR)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--thresholds", type=float, nargs="+", default=[Weights().min_relevance],
                    help="min_relevance values to run the assignment at (default: the shipped default)")
    ap.add_argument("--target", type=float, default=0.8, help="round precision the selected threshold must reach")
    ap.add_argument("--calibration-folds", type=int, default=3)
    ap.add_argument("--out", type=Path, help="keep fold models and CSVs here (default: a temporary folder)")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    dev = training.load_dev(args.data)
    sentences = training.load_sentences(args.data)
    need_sentences = training.load_need_sentences(args.data)
    workdir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="collab-round-quality-"))
    workdir.mkdir(parents=True, exist_ok=True)
    ths = sorted(args.thresholds)
    # per threshold, per seed: [proposed, good, bound, needs, *reasons]
    totals = {t: {s: np.zeros(4 + len(REASONS)) for s in args.seeds} for t in ths}
    per_fold = {t: {s: [] for s in args.seeds} for t in ths}
    topk = {s: [] for s in args.seeds}
    kinds, groups = [x.kind for x in dev], [x.urn for x in dev]
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        splitter = StratifiedGroupKFold(args.folds, shuffle=True, random_state=seed)
        for k, (_, test_idx) in enumerate(splitter.split(np.zeros(len(dev)), kinds, groups)):
            test = [dev[i] for i in test_idx]
            ids = {x.item_id for x in test}
            model = training.train([x for x in dev if x.item_id not in ids], sentences, [x.text for x in test],
                                   need_sentences=need_sentences, calibration_folds=args.calibration_folds)
            model_path = model.save(workdir / f"seed{seed}_fold{k}.joblib")
            needs = [x for x in test if x.kind == "need"]
            offers = [x for x in test if x.kind == "offer"]
            capacity = {o.item_id: int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1])) for o in offers}
            tag = f"s{seed}f{k}"
            n_path, o_path = write_round(workdir, tag, needs, offers, capacity)
            bound = max_good_pairs(needs, offers, capacity)
            theme = {x.item_id: x.primary for x in needs}
            othemes = {o.item_id: o.themes for o in offers}
            for t in ths:
                left_path = workdir / f"{tag}_t{t:g}_unmatched.csv"
                rows = run_cli(n_path, o_path, workdir / f"{tag}_t{t:g}_out.csv", model_path,
                               "--weight", f"min_relevance={t}", "--unmatched", str(left_path))
                good = sum(theme[r["need_id"]] in othemes[r["offer_id"]] for r in rows)
                with open(left_path, newline="", encoding="utf-8-sig") as fh:
                    reasons = [r["reason"] for r in csv.DictReader(fh)]
                counts = np.array([len(rows), good, bound, len(needs), *[reasons.count(r) for r in REASONS]], float)
                totals[t][seed] += counts
                per_fold[t][seed].append(counts)
            ranked: dict[str, list[tuple[int, str]]] = {x.item_id: [] for x in needs}
            for r in run_cli(n_path, o_path, workdir / f"{tag}_top.csv", model_path, "--top-k", "10"):
                ranked[r["need_id"]].append((int(r["rank"]), r["offer_id"]))
            topk[seed].append(metrics({i: [o for _, o in sorted(v)] for i, v in ranked.items()}, theme, othemes))
            print(f"seed {seed} fold {k}: {len(needs)} needs, {len(offers)} offers ({sum(capacity.values())} places), "
                  f"at most {bound} good pairs ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    print()
    print(f"Labelled rounds: {args.folds}-fold CV x {len(args.seeds)} shuffles (seeds {args.seeds}), "
          f"`collab match` in assignment mode; pooled over folds, ± = sd over shuffles")
    labels = [f"left: {r}" for r in REASONS]
    print("| min_relevance | proposals | precision | good found / possible | " + " | ".join(labels) + " |")
    print("| ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in labels) + " |")
    for t in ths:
        per_seed = totals[t]
        tot = sum(per_seed.values())
        prec = [c[1] / max(c[0], 1) for c in per_seed.values()]
        found = [c[1] / max(c[2], 1) for c in per_seed.values()]
        left = " | ".join(f"{int(v)}" for v in tot[4:])
        print(f"| {t:g} | {int(tot[0])} | {tot[1] / max(tot[0], 1):.3f} ± {np.std(prec):.3f} | "
              f"{int(tot[1])} / {int(tot[2])} = {tot[1] / max(tot[2], 1):.3f} ± {np.std(found):.3f} | {left} |")
    print(f"(needs in all rounds: {int(tot[3])})")
    if len(ths) > 1:
        picks, sel = [], np.zeros(4 + len(REASONS))
        for s_ in args.seeds:
            for k in range(args.folds):
                def prec(t):
                    c = sum(per_fold[t][s_][j] for j in range(args.folds) if j != k)
                    return c[1] / max(c[0], 1)
                ok = [t for t in ths if prec(t) >= args.target]
                pick = ok[0] if ok else max(ths, key=prec)
                picks.append(pick)
                sel += per_fold[pick][s_][k]
        left = " | ".join(f"{int(v)}" for v in sel[4:])
        print(f"| selected on the other folds (precision >= {args.target:g}) | {int(sel[0])} | "
              f"{sel[1] / max(sel[0], 1):.3f} | {int(sel[1])} / {int(sel[2])} = {sel[1] / max(sel[2], 1):.3f} | {left} |")
        print(f"picks per fold: {dict(sorted(Counter(picks).items()))}; suggested default min_relevance = "
              f"{Counter(picks).most_common(1)[0][0]:g}")
    allrows = np.vstack([np.vstack(f) for f in topk.values()])
    by_seed = np.array([np.vstack(f).mean(axis=0) for f in topk.values()])
    m, sd = allrows.mean(axis=0), by_seed.std(axis=0)
    print(f"top-k (`--top-k 10`): P@1 {m[0]:.3f} ± {sd[0]:.3f}, P@5 {m[1]:.3f} ± {sd[1]:.3f}, "
          f"MRR@10 {m[2]:.3f} ± {sd[2]:.3f} over {len(allrows)} needs")
    print(f"{time.perf_counter() - t0:.0f} s; fold files in {workdir}")
    if not args.out:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
