"""Scale benchmark of `collab match`: a synthetic national network, CSV in -> proposals out.

    .venv/bin/python bench/match_scale.py [--sizes 1000 5000 20000 50000] [--out-dir bench/out]
                                          [--sentences PATH] [--model PATH] [--top-k K]

For each size N it writes, under --out-dir/N/:
  schools.csv   GIAS-style (URN, EstablishmentName, PhaseOfEducation (name), LA (name),
                Trusts (name), Easting, Northing, PercentageFSM, EstablishmentStatus (name)),
                Windows-1252, every field quoted; 150 local authorities with a centre on the
                British National Grid, schools scattered around it; about 60 % in trusts.
  needs.csv     ~3 needs per school; offers.csv ~3 offers per school, capacity 1-3.
                Texts are real Ofsted sentences (need / offer kinds), some shortened or given a
                staff-style opening or ending, some two sentences joined; no themes given, so
                every theme is inferred by the model (the most expensive case).
  history.csv   a year of past pairings (about half a pairing per school).
then runs `collab match` once in a child process and reports its wall time, the CPU time of it
and its worker processes (ru_utime + ru_stime), and peak memory (ru_maxrss of
resource.getrusage(RUSAGE_CHILDREN), i.e. the largest single process), measured in a fresh
wrapper process per size. The load average before the run is printed: on a shared machine
wall time includes waiting for the CPU, CPU time does not.

Texts: ../shared/data/ofsted_sentences.csv (beside the repository) when present (reliable rows), else the sample
shipped in bench/data/ofsted_sample.csv. Contains public sector information licensed under
the Open Government Licence v3.0.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from common import collab_command  # bench/ is on the path when a script here runs

HERE = Path(__file__).resolve().parent
# ../shared/data beside the repository (or one more level up from a git worktree)
SHARED = next((p / "shared" / "data" / "ofsted_sentences.csv" for p in Path(__file__).resolve().parents[2:4]
               if (p / "shared" / "data" / "ofsted_sentences.csv").exists()),
              Path(__file__).resolve().parents[2] / "shared" / "data" / "ofsted_sentences.csv")
SAMPLE = HERE / "data" / "ofsted_sample.csv"

PHASES = [("Primary", 0.70), ("Secondary", 0.17), ("All-through", 0.03), ("Nursery", 0.03),
          ("16 plus", 0.03), ("Middle deemed secondary", 0.01), ("Not applicable", 0.03)]
OPENINGS = ["", "", "", "We'd like help: ", "Looking for a school that can share how ", "Our staff want to learn how ",
            "Any advice welcome - ", "Year 9: ", "KS2 team: ", "New leaders here. "]
ENDINGS = ["", "", "", " (Year 4)", " - especially for our new staff.", " Happy to visit.", " in the spring term.",
           " Our SENCo would join.", " for our Year 7 cohort.", " A 20-minute call would help."]
SAINT = "St Mary\u2019s "  # a curly apostrophe: a Windows-1252 byte that is not valid UTF-8
OFFER_OPENINGS = ["", "", "", "We can show how ", "Happy to share: ", "Our team can coach yours - ", "Come and see: "]


def load_sentences(path: Path | None):
    src = path or (SHARED if SHARED.exists() else SAMPLE)
    needs, offers = [], []
    with open(src, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r.get("label_quality", "reliable") != "reliable":
                continue
            (needs if r["kind"] == "need" else offers if r["kind"] == "offer" else []).append(r["text"])
    return src, needs, offers


def make_text(rng: random.Random, pool: list[str], openings: list[str]) -> str:
    s = rng.choice(pool)
    if rng.random() < 0.25:
        s = s + " " + rng.choice(pool)
    elif rng.random() < 0.3:
        words = s.split()
        s = " ".join(words[: max(6, len(words) * 2 // 3)])
    return rng.choice(openings) + s + rng.choice(ENDINGS)


def generate(n_schools: int, out: Path, needs_pool, offers_pool, seed: int = 1) -> dict:
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    las = [(f"Authority {k:03d}", rng.uniform(150_000, 620_000), rng.uniform(50_000, 620_000)) for k in range(150)]
    n_trusts = max(1, n_schools // 12)
    trust_la = [rng.randrange(len(las)) for _ in range(n_trusts)]
    trusts_by_la: dict[int, list[int]] = {}
    for t, la in enumerate(trust_la):
        trusts_by_la.setdefault(la, []).append(t)
    phase_names, phase_w = zip(*PHASES)
    schools = []
    for k in range(n_schools):
        urn = str(100000 + k)
        la = rng.randrange(len(las))
        name_la, cx, cy = las[la]
        trust = ""
        if rng.random() < 0.6:
            local = trusts_by_la.get(la)
            t = rng.choice(local) if local and rng.random() < 0.8 else rng.randrange(n_trusts)
            trust = f"Learning Trust {t:05d}"
        phase = rng.choices(phase_names, phase_w)[0]
        fsm = min(75.0, max(0.0, rng.gammavariate(2.2, 10.0)))
        fsm_s = "SUPP" if rng.random() < 0.02 else f"{fsm:.1f}"
        schools.append({
            "URN": urn, "EstablishmentName": (SAINT if k % 17 == 0 else "") + f"School {k} {phase}",
            "PhaseOfEducation (name)": phase, "LA (name)": name_la, "Trusts (name)": trust,
            "Easting": f"{cx + rng.gauss(0, 9000):.0f}", "Northing": f"{cy + rng.gauss(0, 9000):.0f}",
            "PercentageFSM": fsm_s, "EstablishmentStatus (name)": "Open, but proposed to close" if k % 97 == 0 else "Open",
        })
    cols = list(schools[0])
    with open(out / "schools.csv", "w", newline="", encoding="cp1252") as f:
        w = csv.DictWriter(f, cols, quoting=csv.QUOTE_ALL)
        w.writeheader()
        w.writerows(schools)
    n_needs = n_offers = 0
    with open(out / "needs.csv", "w", newline="", encoding="utf-8") as fn, \
            open(out / "offers.csv", "w", newline="", encoding="utf-8") as fo:
        wn, wo = csv.writer(fn), csv.writer(fo)
        wn.writerow(["need_id", "school_urn", "text"])
        wo.writerow(["offer_id", "school_urn", "text", "capacity"])
        for s in schools:
            for _ in range(rng.choice([2, 3, 3, 4])):
                n_needs += 1
                wn.writerow([f"N{n_needs:07d}", s["URN"], make_text(rng, needs_pool, OPENINGS)])
            for _ in range(rng.choice([2, 3, 3, 4])):
                n_offers += 1
                wo.writerow([f"O{n_offers:07d}", s["URN"], make_text(rng, offers_pool, OFFER_OPENINGS),
                             rng.choices([1, 2, 3], [0.6, 0.3, 0.1])[0]])
    today = datetime.date(2026, 1, 15)
    n_hist = n_schools // 2
    with open(out / "history.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["giver_urn", "taker_urn", "date"])
        for _ in range(n_hist):
            g, t = rng.sample(range(n_schools), 2)
            w.writerow([100000 + g, 100000 + t, (today - datetime.timedelta(days=rng.randrange(365))).isoformat()])
    return {"needs": n_needs, "offers": n_offers, "history": n_hist, "today": today.isoformat()}


WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, bufsize=1)
lines = []
for line in p.stderr:  # progress lines, forwarded as they happen
    lines.append(line)
    print("  " + line.rstrip(), file=sys.stderr, flush=True)
rc = p.wait()
secs = time.perf_counter() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "seconds": secs, "peak_kib": ru.ru_maxrss, "cpu": ru.ru_utime + ru.ru_stime,
                  "stderr": "".join(lines)}))
"""


def run_match(d: Path, today: str, model: str | None, top_k: int | None) -> dict:
    cmd = collab_command() + ["match", "--needs", str(d / "needs.csv"), "--offers", str(d / "offers.csv"),
                              "--schools", str(d / "schools.csv"), "--history", str(d / "history.csv"),
                              "--today", today, "--out", str(d / "proposals.csv")]
    if model:
        cmd += ["--model", model]
    if top_k:
        cmd += ["--top-k", str(top_k)]
    proc = subprocess.run([sys.executable, "-c", WRAPPER] + cmd, stdout=subprocess.PIPE, text=True, check=True)
    res = json.loads(proc.stdout)
    res["cmd"] = " ".join(cmd)
    return res


def stage_times(stderr: str) -> str:
    """Seconds between successive progress lines, named by the line that ends each stage."""
    import re

    marks = [(float(m.group(1)), m.group(2)) for m in re.finditer(r"\[\s*([\d.]+)s, cpu\s*[\d.]+s\] (.*)", stderr)]
    out, prev = [], 0.0
    for t, msg in marks:
        if t - prev >= 0.3:
            out.append(f"{msg.split(' (')[0].split(':')[0]} {t - prev:.1f}")
        prev = t
    return "; ".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000, 50000])
    ap.add_argument("--out-dir", type=Path, default=HERE / "out")
    ap.add_argument("--sentences", type=Path)
    ap.add_argument("--model")
    ap.add_argument("--top-k", type=int)
    args = ap.parse_args(argv)
    src, needs_pool, offers_pool = load_sentences(args.sentences)
    print(f"texts from {src} ({len(needs_pool)} needs, {len(offers_pool)} offers); {os.cpu_count()} cores", flush=True)
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    print("| schools | needs | offers | wall s | CPU s (all processes) | peak MiB (largest process) "
          "| needs paired | offers used | total score |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |", flush=True)
    results = []
    for n in args.sizes:
        d = args.out_dir / str(n)
        meta = generate(n, d, needs_pool, offers_pool, seed=n)
        res = run_match(d, meta["today"], args.model, args.top_k)
        if res["rc"] != 0:
            print(f"collab match failed for {n} schools (exit {res['rc']}):\n{res['stderr']}", file=sys.stderr)
            return 1
        summary = [l for l in res["stderr"].splitlines() if l.strip()][-1]
        with open(d / "proposals.csv", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
        paired = len({r["need_id"] for r in rows})
        used = len({r["offer_id"] for r in rows})
        total = summary.split("total score ")[-1].split(" ")[0].rstrip(";,")
        results.append(f"| {n:,} | {meta['needs']:,} | {meta['offers']:,} | {res['seconds']:.1f} | {res['cpu']:.1f} "
                       f"| {res['peak_kib'] / 1024:.0f} | {paired:,} | {used:,} | {total} |")
        print(results[-1], flush=True)
        print(f"  stages (s): {stage_times(res['stderr'])}", flush=True)
        print(f"  {summary}", flush=True)
        print(f"  load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
        (d / "match_stderr.txt").write_text(res["stderr"])
    print("\n".join(["", "| schools | needs | offers | wall s | CPU s | peak MiB | needs paired | offers used | total score |",
                      "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |", *results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
