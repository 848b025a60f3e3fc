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
  (``--top-k 10``) on each mode's files (``schools`` ranks as ``inferred`` does).

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

``--modes`` runs the same rounds (same fold models, same capacities) in other settings too:

* ``inferred`` (default): text only, every theme inferred, no schools file (phase, place,
  disadvantage and reciprocity are neutral);
* ``schools``: with a GIAS-shaped ``--schools`` file made from ``schools_south_east.csv`` and
  ``fsm_2022-23_by_urn.csv`` for the items' real schools (phase, local authority, % FSM;
  Easting/Northing from latitude/longitude by a local flat projection, well under 1 % off in
  distance at this scale), so the additive phase, place and disadvantage terms act as in a
  real round;
* ``given``: as ``inferred`` but each need carries its labelled primary theme in the ``theme``
  column, as when the person posting picks it in the Slack modal (offers still inferred);
* ``suggested``: needs and offers both carry the theme Slack would suggest for them (the fold
  model's main model, as ``infer_theme``) in the ``theme`` column, passed on as if chosen (what
  the bot's rounds did before 7 December 2026);
* ``bot``: the same suggestions, passed as the bot's rounds now pass posts nobody confirmed
  (``bot/services/rounds.py:given_theme``).
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

from matching import training  # noqa: E402
from matching.unmatched import REASONS  # noqa: E402
from matching.weights import Weights  # noqa: E402
from quality import collab_command, cv_folds, metrics, write_round  # noqa: E402


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


def write_schools(path: Path, data_dir: Path, urns) -> Path:
    """A GIAS-shaped schools CSV for ``urns`` from the shared data (see ``--modes schools``)."""
    import math

    with open(data_dir / "schools_south_east.csv", newline="", encoding="utf-8") as fh:
        info = {r["urn"]: r for r in csv.DictReader(fh)}
    fsm = {}
    fsm_path = data_dir / "fsm_2022-23_by_urn.csv"
    if fsm_path.exists():
        with open(fsm_path, newline="", encoding="utf-8") as fh:
            fsm = {r["urn"]: r["fsm_prop"] for r in csv.DictReader(fh)}
    lat0 = math.radians(51.0)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["URN", "EstablishmentName", "PhaseOfEducation (name)", "LA (name)", "Easting", "Northing",
                    "PercentageFSM"])
        for urn in sorted(set(urns)):
            r = info.get(urn)
            if r is None:
                continue
            try:
                lat, lon = float(r["latitude"]), float(r["longitude"])
                east = f"{6371000 * math.radians(lon) * math.cos(lat0):.0f}"
                north = f"{6371000 * math.radians(lat):.0f}"
            except ValueError:
                east = north = ""
            f = fsm.get(urn, "")
            w.writerow([urn, r["school_name"], r["phase"], r["local_authority"], east, north,
                        f if f not in ("z", "x", "c") else ""])
    return path


def round_files(workdir: Path, tag: str, modes, model, needs, offers, capacity, plain) -> dict:
    """(needs CSV, offers CSV) per mode: the plain files, or copies whose ``theme`` column says
    what that mode's posts carry (the labelled primary, or the theme Slack would suggest)."""
    def with_themes(items, kind: str, themes, name: str) -> Path:
        path = workdir / f"{tag}_{kind}s_{name}.csv"
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([f"{kind}_id", "school_urn", "text", "theme"] + (["capacity"] if kind == "offer" else []))
            w.writerows([x.item_id, x.urn, x.text, t] + ([capacity[x.item_id]] if kind == "offer" else [])
                        for x, t in zip(items, themes))
        return path

    paths = {"inferred": plain, "schools": plain}  # the plain files (top-k of a "schools" run ranks them)
    if "given" in modes:
        paths["given"] = (with_themes(needs, "need", [x.primary for x in needs], "given"), plain[1])
    if "suggested" in modes or "bot" in modes:
        from bot.services.rounds import given_theme
        from models import Need, Offer

        # what Slack suggests and stores for a typed post: infer_theme, i.e. the main model
        need_posts = [Need(text=x.text, theme=t) for x, t in zip(needs, model.predict([x.text for x in needs]))]
        offer_posts = [Offer(text=x.text, theme=t) for x, t in zip(offers, model.predict([x.text for x in offers]))]
        for md, theme_of in (("suggested", lambda post: post.theme), ("bot", given_theme)):
            if md in modes:
                paths[md] = (with_themes(needs, "need", [theme_of(p) or "" for p in need_posts], md),
                             with_themes(offers, "offer", [theme_of(p) or "" for p in offer_posts], md))
    return paths


def run_cli(n_path, o_path, out: Path, model: Path, *extra) -> list[dict]:
    cmd = collab_command() + ["match", "--needs", str(n_path), "--offers", str(o_path), "--model", str(model),
                              "--out", str(out), "--quiet", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(f"collab match failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    with open(out, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def report(md, ths, totals, per_fold, args) -> None:
    """The table of one round setting, and the threshold chosen on the other folds."""
    print()
    print(f"Labelled rounds: {args.folds}-fold CV x {len(args.seeds)} shuffles (seeds {args.seeds}), "
          f"`collab match` in assignment mode, rounds '{md}'; pooled over folds, ± = sd over shuffles")
    labels = [f"left: {r}" for r in REASONS]
    print("| min_relevance | proposals | precision | good found / possible | " + " | ".join(labels) + " |")
    print("| ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in labels) + " |")
    for t in ths:
        per_seed = totals[md, t]
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
                    c = sum(per_fold[md, t][s_][j] for j in range(args.folds) if j != k)
                    return c[1] / max(c[0], 1)
                ok = [t for t in ths if prec(t) >= args.target]
                pick = ok[0] if ok else max(ths, key=prec)
                picks.append(pick)
                sel += per_fold[md, pick][s_][k]
        left = " | ".join(f"{int(v)}" for v in sel[4:])
        print(f"| selected on the other folds (precision >= {args.target:g}) | {int(sel[0])} | "
              f"{sel[1] / max(sel[0], 1):.3f} | {int(sel[1])} / {int(sel[2])} = {sel[1] / max(sel[2], 1):.3f} | {left} |")
        print(f"picks per fold: {dict(sorted(Counter(picks).items()))}; suggested default min_relevance = "
              f"{Counter(picks).most_common(1)[0][0]:g}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=training.DEFAULT_DATA_DIR)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--thresholds", type=float, nargs="+", default=[Weights().min_relevance],
                    help="min_relevance values to run the assignment at (default: the shipped default)")
    ap.add_argument("--target", type=float, default=0.8, help="round precision the selected threshold must reach")
    ap.add_argument("--calibration-folds", type=int, default=3)
    ap.add_argument("--modes", nargs="+", default=["inferred"], choices=["inferred", "schools", "given", "suggested", "bot"],
                    help="round settings to run (see the module docstring)")
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
    modes = args.modes
    totals = {(md, t): {s: np.zeros(4 + len(REASONS)) for s in args.seeds} for md in modes for t in ths}
    per_fold = {(md, t): {s: [] for s in args.seeds} for md in modes for t in ths}
    schools_path = write_schools(workdir / "schools.csv", args.data, [x.urn for x in dev]) if "schools" in modes else None
    topk_modes = [md for md in modes if md != "schools"] or ["inferred"]
    topk = {md: {s: [] for s in args.seeds} for md in topk_modes}
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        for k, test, train_items in cv_folds(dev, args.folds, seed):
            model = training.train(train_items, sentences, [x.text for x in test], need_sentences=need_sentences,
                                   labelled=training.labelled_without(test), calibration_folds=args.calibration_folds)
            model_path = model.save(workdir / f"seed{seed}_fold{k}.npz")
            needs = [x for x in test if x.kind == "need"]
            offers = [x for x in test if x.kind == "offer"]
            capacity = {o.item_id: int(rng.choice([1, 2, 3], p=[0.6, 0.3, 0.1])) for o in offers}
            tag = f"s{seed}f{k}"
            n_path, o_path = write_round(workdir, tag, needs, offers, capacity)
            bound = max_good_pairs(needs, offers, capacity)
            theme = {x.item_id: x.primary for x in needs}
            othemes = {o.item_id: o.themes for o in offers}
            paths = round_files(workdir, tag, modes, model, needs, offers, capacity, (n_path, o_path))
            for md, t in ((md, t) for md in modes for t in ths):
                left_path = workdir / f"{tag}_{md}_t{t:g}_unmatched.csv"
                extra = ["--schools", str(schools_path)] if md == "schools" else []
                rows = run_cli(*paths[md], workdir / f"{tag}_{md}_t{t:g}_out.csv", model_path,
                               "--weight", f"min_relevance={t}", "--unmatched", str(left_path), *extra)
                good = sum(theme[r["need_id"]] in othemes[r["offer_id"]] for r in rows)
                with open(left_path, newline="", encoding="utf-8-sig") as fh:
                    reasons = [r["reason"] for r in csv.DictReader(fh)]
                counts = np.array([len(rows), good, bound, len(needs), *[reasons.count(r) for r in REASONS]], float)
                totals[md, t][seed] += counts
                per_fold[md, t][seed].append(counts)
            for md in topk_modes:  # the schools file changes no need's ranking: not ranked again for it
                ranked: dict[str, list[tuple[int, str]]] = {x.item_id: [] for x in needs}
                for r in run_cli(*paths[md], workdir / f"{tag}_{md}_top.csv", model_path, "--top-k", "10"):
                    ranked[r["need_id"]].append((int(r["rank"]), r["offer_id"]))
                topk[md][seed].append(metrics({i: [o for _, o in sorted(v)] for i, v in ranked.items()},
                                              theme, othemes))
            print(f"seed {seed} fold {k}: {len(needs)} needs, {len(offers)} offers ({sum(capacity.values())} places), "
                  f"at most {bound} good pairs ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    for md in modes:
        report(md, ths, totals, per_fold, args)
    for md, per_seed in topk.items():
        allrows = np.vstack([np.vstack(f) for f in per_seed.values()])
        by_seed = np.array([np.vstack(f).mean(axis=0) for f in per_seed.values()])
        m, sd = allrows.mean(axis=0), by_seed.std(axis=0)
        print(f"top-k (`--top-k 10`), rounds '{md}': P@1 {m[0]:.3f} ± {sd[0]:.3f}, P@5 {m[1]:.3f} ± {sd[1]:.3f}, "
              f"MRR@10 {m[2]:.3f} ± {sd[2]:.3f} over {len(allrows)} needs")
    print(f"{time.perf_counter() - t0:.0f} s; fold files in {workdir}")
    if not args.out:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
