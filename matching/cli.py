"""``collab match``: run the matching engine offline on CSV files.

    collab match --needs NEEDS.csv --offers OFFERS.csv [--schools SCHOOLS.csv]
                 [--history HISTORY.csv] [--top-k K] [--model PATH] [--unmatched UNMATCHED.csv]
                 --out PROPOSALS.csv

Exit codes: 0 done; 2 a problem with the input (message names the file and column).
Imports of the engine are inside the handler so that ``collab --help`` stays quick.
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time

LARGE_INPUT = 2000  # needs + offers from which progress lines are printed


def add_match_command(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "match",
        help="pair needs with offers from CSV files",
        description="Pair schools' needs with other schools' offers (see docs/matching.md).",
    )
    p.add_argument("--needs", required=True, metavar="NEEDS.csv", help="need_id,school_urn,text[,theme]")
    p.add_argument("--offers", required=True, metavar="OFFERS.csv", help="offer_id,school_urn,text[,theme][,capacity]")
    p.add_argument("--schools", metavar="SCHOOLS.csv", help="GIAS establishment CSV (URN, EstablishmentName, ...)")
    p.add_argument("--history", metavar="HISTORY.csv", help="giver_urn,taker_urn,date (ISO dates)")
    p.add_argument("--top-k", type=int, metavar="K", help="list each need's K best offers instead of an assignment")
    p.add_argument("--model", metavar="PATH", help="theme model file to use instead of the shipped one")
    p.add_argument("--today", metavar="YYYY-MM-DD", help="date of the round (default: today), for the repeat window")
    p.add_argument("--weight", action="append", default=[], metavar="NAME=VALUE", help="override a weight (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--out", required=True, metavar="PROPOSALS.csv",
                   help="where to write need_id,offer_id,rank,score,probability,reason")
    p.add_argument("--unmatched", metavar="UNMATCHED.csv",
                   help="where to write the needs left unpaired, with the reason and the closest offers")
    p.set_defaults(func=run_match)
    return p


def _fail(msg: str) -> int:
    print(f"collab match: error: {msg}", file=sys.stderr)
    return 2


@contextlib.contextmanager
def _no_collector_pauses():
    """The cyclic garbage collector off while one round runs, on again after. A national round
    holds a few hundred thousand small objects (rows, items, explanations) that live to the
    end, and the collector walked them all again at every full pass without freeing any:
    about 1 s of a 20,000-school round (docs/matching.md). What the round creates and drops
    is freed by reference counting as before; the few cycles wait until the collector is on."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def run_match(args) -> int:
    with _no_collector_pauses():
        return _run_match(args)


def _run_match(args) -> int:
    import datetime

    from threadpoolctl import threadpool_limits

    from matching.engine import Matcher
    from matching.files import (InputError, read_history, read_needs, read_offers, read_schools, write_proposals,
                                write_unmatched)
    from matching.unmatched import REASON_LABELS
    from matching.weights import Weights

    start = time.perf_counter()
    try:
        if args.top_k is not None and args.top_k < 1:
            raise InputError(f"--top-k must be 1 or more, got {args.top_k}")
        today = None
        if args.today:
            try:
                today = datetime.date.fromisoformat(args.today)
            except ValueError:
                raise InputError(f"--today {args.today!r} is not an ISO date (YYYY-MM-DD)") from None
        overrides = {}
        for item in args.weight:
            name, sep, value = item.partition("=")
            if not sep:
                raise InputError(f"--weight {item!r} should look like NAME=VALUE")
            overrides[name.strip()] = value.strip()
        try:
            weights = Weights.from_mapping(overrides)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        needs = read_needs(args.needs)
        offers = read_offers(args.offers)
        schools = read_schools(args.schools) if args.schools else []
        history = read_history(args.history) if args.history else []
        model = None
        if args.model:
            from pathlib import Path

            from matching.themes import ThemeModel

            if not Path(args.model).is_file():
                raise InputError(f"model file {args.model}: file not found")
            try:
                model = ThemeModel.load(args.model)
            except ValueError as exc:  # a corrupt or foreign file: ThemeModel.load says which
                raise InputError(f"the model file could not be loaded: {exc}") from None
        if args.schools:
            _warn_unknown_urns(needs, offers, schools, args.schools)
        quiet = args.quiet or len(needs) + len(offers) < LARGE_INPUT
        progress = None if quiet else (lambda msg: print(f"collab match: {msg}", file=sys.stderr, flush=True))
        try:
            # The round uses the cores through processes (matching/parallel.py); numpy's BLAS
            # threads on top of them only spin: one each (20,000 schools: 0.7 s less, idle machine).
            with threadpool_limits(limits=1, user_api="blas"):
                matcher = Matcher(weights=weights, theme_model=model, top_k=args.top_k, parallel=True,
                                  progress=progress)
                result = matcher.fit(needs, offers, schools, history, today=today).propose()
        except ValueError as exc:  # a theme model's bad output
            raise InputError(str(exc)) from None
        write_proposals(args.out, result.proposals)
        if args.unmatched:
            write_unmatched(args.unmatched, result.unmatched)
    except InputError as exc:
        return _fail(str(exc))
    seconds = time.perf_counter() - start
    proposals = result.proposals
    paired = len({p.need_id for p in proposals})
    used = len({p.offer_id for p in proposals})
    mode = f"top-{args.top_k} offers" if args.top_k else "optimal assignment"
    total = sum(p.score for p in proposals)
    line = (f"collab match: {mode}: {paired} of {len(needs)} needs paired, {used} of {len(offers)} offers used, "
            f"total score {total:.4f}")
    if args.top_k is None:
        counts = result.unmatched_counts()
        left = ", ".join(f"{counts[r]} {label}" for r, label in REASON_LABELS.items())
        line += f" (probability >= {result.threshold:g}); {len(result.unmatched)} unpaired: {left}"
    if result.gaps:
        line += "; gaps: " + ", ".join(f"{g.theme} ({g.needs} needs, {g.places} places)" for g in result.gaps[:5])
        line += " ..." if len(result.gaps) > 5 else ""
    print(f"{line}; {seconds:.1f} s -> {args.out}", file=sys.stderr)
    return 0


def _warn_unknown_urns(needs, offers, schools, path) -> None:
    """Needs and offers whose school the --schools file does not know are matched without
    place, phase or free-school-meal information: say how many, once."""
    known = {str(s.urn).strip() for s in schools}
    n = sum(str(x.school_urn).strip() not in known for x in needs)
    o = sum(str(x.school_urn).strip() not in known for x in offers)
    if n or o:
        print(f"collab match: warning: {n} needs and {o} offers name a school_urn that {path} does not list "
              "(matched without place, phase or free school meals)", file=sys.stderr)
