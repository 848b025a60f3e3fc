"""The matching engine: needs and offers in, scored and explained proposals out.

Pure Python + numpy/scipy/scikit-learn; no Slack, no database. One round runs in stages, each
in its own module:

1. features (``features.py``): theme distributions, text vectors, school arrays;
2. candidates (``candidates.py``): which pairs are worth scoring;
3. scoring (``scoring.py``): each pair's probability of being a good fit
   (``relevance.py``) and its score;
4. assignment (``assign.py``) or the K best offers per need (top-k);
5. explanations (``explain.py``) and what was left (``unmatched.py``).

:class:`Matcher` is a scikit-learn-style estimator: ``__init__`` only stores parameters,
``fit(needs, offers, ...)`` runs stages 1-4 and explains the proposals, one regional block
at a time (no candidate pair crosses a block, so neither does any part of the assignment;
``parallel=True`` runs the blocks in forked workers); ``propose()`` gathers them, says why
each need left was left (stage 5) and returns a :class:`RoundResult` without changing the
fitted state.
``match(...)`` and ``propose(...)`` are the one-call forms. See docs/matching.md.
"""
from __future__ import annotations

import datetime
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import scipy.sparse as sp

from matching import candidates as _candidates
from matching.assign import optimal_assignment
from matching.candidates import ALL_PAIRS_LIMIT, BLOCK_NEEDS, MIN_MAX_DF  # noqa: F401  (re-exported)
from matching.explain import explain
from matching.features import (  # noqa: F401  (re-exported)
    RoundFeatures, build_features, check_items, normalise_phase, normalise_theme, phase_fit,
)
from matching.parallel import cores, forked_map
from matching.items import NeedItem, OfferItem, PastPairing, Proposal, SchoolInfo
from matching.scoring import SCALE, SCORE_DECIMALS, ScoredPairs, score_pairs  # noqa: F401
from matching.unmatched import CLOSEST, NO_OFFER_ON_THEME, Gap, Unmatched, explain_unmatched, find_gaps
from matching.weights import Weights

GENERIC_TERMS = frozenset(
    """pupil pupils student students child children school schools staff leader leaders help support
    supports supported ensure ensures make makes sure need needs offer offers improve improved improving
    improvement work works working good well able use used using year years time develop developed
    developing development know knowledge learn learning learned teach teaching taught including""".split()
)


@dataclass(frozen=True)
class RoundResult:
    """What a round proposes and what it left.

    ``proposals``: sorted by need id, then rank. ``unmatched``: one per need without a
    proposal (assignment mode; empty in top-k mode), sorted by need id. ``gaps``: themes where
    needs outnumber offered places. ``threshold``: the probability a pair needed.
    """

    proposals: list[Proposal]
    unmatched: list[Unmatched] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    threshold: float = 0.0

    def unmatched_counts(self) -> dict[str, int]:
        """Unpaired needs per reason (every reason present, 0 when none)."""
        from matching.unmatched import REASONS

        counts = {r: 0 for r in REASONS}
        for u in self.unmatched:
            counts[u.reason] += 1
        return counts


def match(
    needs: Iterable[NeedItem],
    offers: Iterable[OfferItem],
    schools: Iterable[SchoolInfo] = (),
    history: Iterable[PastPairing] = (),
    weights: Weights | None = None,
    today: datetime.date | None = None,
    top_k: int | None = None,
    theme_model=None,
    *,
    exclude: Iterable[tuple[str, str]] = (),
    progress: Callable[[str], None] | None = None,
) -> RoundResult:
    """Run one round: proposals, the unpaired needs with their reasons, and the gaps.

    ``top_k=None``: the optimal assignment (each need at most one offer, each offer at most
    its capacity, maximum total score) over the pairs whose probability reaches
    ``weights.min_relevance``; all rank 1. ``top_k=K``: every need's K best offers by score,
    whatever their probability, ranked 1..K (fewer only when fewer offers of other schools
    exist; capacity ignored). ``exclude``: (need id, offer id) pairs never to propose (e.g.
    pairs already tried). A pair's score and probability are the same in both modes.
    """
    matcher = Matcher(weights=weights, theme_model=theme_model, top_k=top_k, progress=progress)
    return matcher.fit(needs, offers, schools, history, today=today, exclude=exclude).propose()


def propose(*args, **kwargs) -> list[Proposal]:
    """The proposals of :func:`match` (same arguments), for callers that need only those."""
    return match(*args, **kwargs).proposals


def gaps(needs: Iterable[NeedItem], offers: Iterable[OfferItem], theme_model=None) -> list[Gap]:
    """Themes where needs outnumber the places offered (capacities summed), biggest shortfall
    first. Missing themes are inferred as in a round. Cheap: no text vectors, no pairs."""
    from matching.themes import THEMES

    needs, offers = list(needs), list(offers)
    check_items(needs, offers)
    theme = _theme_indices(needs + offers, ["need"] * len(needs) + ["offer"] * len(offers), theme_model)
    capacity = np.array([o.capacity for o in offers], dtype=np.int64)
    return find_gaps(theme[: len(needs)], theme[len(needs):], capacity, tuple(THEMES))


def _theme_indices(items, kinds, theme_model) -> np.ndarray:
    from matching.features import _theme_probs
    from matching.themes import THEMES

    if not items:
        return np.zeros(0, dtype=np.int64)
    return _theme_probs(items, kinds, tuple(THEMES), theme_model)[0].argmax(axis=1)


def _main_themes(needs, theme_model) -> list[str]:
    from matching.themes import THEMES

    return [THEMES[t] for t in _theme_indices(needs, ["need"] * len(needs), theme_model)]


class Matcher:
    """One round's engine, scikit-learn style (``__init__`` stores parameters only).

    ``parallel=True`` (the command line) tokenises the posts of large rounds and scores their
    regional blocks in forked worker processes (``parallel.py``); off by default so that a
    library call inside a threaded server never forks.
    ``calibration``: raw relevance -> probability; default the theme model's own
    (``relevance_``), else the shipped model's.
    """

    def __init__(self, weights: Weights | None = None, theme_model=None, top_k: int | None = None,
                 parallel: bool = False, progress: Callable[[str], None] | None = None, calibration=None):
        self.weights = weights
        self.theme_model = theme_model
        self.top_k = top_k
        self.parallel = parallel
        self.progress = progress
        self.calibration = calibration

    # -- stages 1-4 ---------------------------------------------------------------------
    def fit(self, needs, offers, schools=(), history=(), *, today: datetime.date | None = None,
            exclude: Iterable[tuple[str, str]] = ()) -> "Matcher":
        top_k = self.top_k
        if top_k is not None and (not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1):
            raise ValueError(f"top_k must be a whole number >= 1, got {top_k!r}")
        self._t0, self._c0 = time.perf_counter(), time.process_time()
        self.weights_ = self.weights or Weights()
        self.today_ = today or datetime.date.today()
        needs = sorted(needs, key=lambda n: n.id)
        offers = sorted(offers, key=lambda o: o.id)
        check_items(needs, offers)
        schools = {str(s.urn).strip(): s for s in schools}
        history = list(history)
        self.calibration_ = self.calibration or _calibration_of(self.theme_model)
        self.n_needs_, self.n_offers_ = len(needs), len(offers)
        self.needs_, self.offers_ = needs, offers
        self.features_ = None
        self.pairs_ = None
        if not (needs and offers):
            return self
        self._log(f"{len(needs)} needs, {len(offers)} offers, {len(schools)} schools, {len(history)} past pairings")
        workers = cores() if self.parallel else 1
        f = build_features(needs, offers, schools, history, self.today_, self.weights_.repeat_window_days,
                           self.theme_model, self._log, workers)
        excluded = _exclusion_keys(exclude, needs, offers)
        extra = int(np.bincount((excluded // f.m).astype(np.int64)).max()) if len(excluded) else 0
        per_need = max(self.weights_.candidates_per_need, top_k or 0) + extra
        # top-k must list K offers per need; an assignment needs only a few to name the closest
        fill_to = per_need if top_k is not None else CLOSEST + extra
        blocks = _candidates.CandidateBlocks(f, per_need, fill_to)
        weights, calibration = self.weights_, self.calibration_
        self.features_ = f

        # No candidate pair crosses a regional block, so no component of the assignment does
        # either: each block is scored, assigned (or ranked) and explained on its own, in the
        # workers, and the blocks' answers together are the round's (a test checks the optimum)
        def block_round(b: int):
            pi, pj, text = blocks.pairs(b)
            if len(excluded):
                keep = ~np.isin(pi * f.m + pj, excluded)
                pi, pj, text = pi[keep], pj[keep], text[keep]
            pairs = score_pairs(f, pi, pj, text, weights, calibration)
            sel, ranks = self._choose(pairs)
            return pairs, sel, ranks, self._reasons(pairs, sel)

        parts, chosen, ranks, reasons = [], [], [], []
        offset = 0
        for b, (part, sel, rank, why) in enumerate(forked_map(block_round, len(blocks), workers)):
            parts.append(part)
            chosen.append(sel + offset)
            ranks.append(rank)
            reasons.extend(why)
            offset += len(part)
            if not blocks.all_pairs:
                self._log(f"block {b + 1} of {len(blocks)}: {len(part)} candidate pairs scored, {len(sel)} proposed")
        self.pairs_ = ScoredPairs.concat(parts)
        self.chosen_, self.ranks_, self.reasons_ = np.concatenate(chosen), np.concatenate(ranks), reasons
        self._log(f"{len(self.pairs_)} candidate pairs scored, {len(self.chosen_)} proposals explained")
        return self

    # -- the result ---------------------------------------------------------------------
    def propose(self) -> RoundResult:
        """The round's result; calling it twice gives the same answer."""
        threshold = float(self.weights_.min_relevance)
        if self.pairs_ is None:  # no needs, or no offers at all: every need is a gap
            if not self.needs_ or self.top_k is not None:
                return RoundResult([], [], [], threshold)
            g = gaps(self.needs_, (), self.theme_model)
            theme = {n.id: t for n, t in zip(self.needs_, _main_themes(self.needs_, self.theme_model))}
            return RoundResult([], [Unmatched(n.id, theme[n.id], NO_OFFER_ON_THEME) for n in self.needs_], g, threshold)
        f, pairs, sel = self.features_, self.pairs_, self.chosen_
        out = [
            Proposal(
                need_id=f.needs[i].id,
                offer_id=f.offers[j].id,
                rank=r,
                score=round(s / SCALE, SCORE_DECIMALS),
                reason=why,
                probability=round(pr, 3),
            )
            for i, j, r, s, pr, why in zip(pairs.need[sel].tolist(), pairs.offer[sel].tolist(), self.ranks_.tolist(),
                                           pairs.score[sel].tolist(), pairs.probability[sel].tolist(), self.reasons_)
        ]
        out.sort(key=lambda x: (x.need_id, x.rank))
        if self.top_k is None:
            self._log(f"reasons for {f.n - len(sel)} unpaired needs")
        unmatched = explain_unmatched(f, pairs, sel, threshold) if self.top_k is None else []
        result = RoundResult(out, unmatched, find_gaps(f.need_theme, f.offer_theme, f.capacity, f.themes), threshold)
        self._log("done")
        return result

    def _choose(self, pairs: ScoredPairs) -> tuple[np.ndarray, np.ndarray]:
        """Stage 4 on some pairs (a block's, each need's candidates all among them): indices of
        the proposed pairs and their ranks. The optimal assignment over the pairs likely enough
        to be good, or each need's K best pairs by score."""
        f = self.features_
        if self.top_k is None:
            eligible = np.flatnonzero((pairs.probability >= self.weights_.min_relevance) & (pairs.score > 0))
            sub = pairs.take(eligible)
            # an offer's places go to different schools: one group per offer and taker school
            group = sub.offer * f.n_school_ids + f.need_school[sub.need]
            sel = eligible[optimal_assignment(sub.need, sub.offer, sub.score, f.capacity, f.n, pair_group=group)]
            return sel, np.ones(len(sel), dtype=np.int64)
        order = np.lexsort((pairs.offer, -pairs.score, pairs.need))
        pn = pairs.need[order]
        first = np.flatnonzero(np.r_[True, pn[1:] != pn[:-1]]) if len(pn) else np.zeros(0, np.int64)
        rank = np.arange(len(pn)) - np.repeat(first, np.diff(np.r_[first, len(pn)])) + 1
        keep = rank <= self.top_k
        return order[keep], rank[keep]

    def _reasons(self, pairs: ScoredPairs, sel: np.ndarray) -> list[str]:
        """Stage 5 for the proposed pairs ``sel`` of ``pairs``: each one's reason in words."""
        terms = self._shared_terms(pairs.need[sel], pairs.offer[sel])
        return [self._reason(pairs, p, t) for p, t in zip(sel, terms)]

    # -- helpers ------------------------------------------------------------------------
    def _log(self, msg: str) -> None:
        if self.progress is not None:
            self.progress(f"[{time.perf_counter() - self._t0:6.1f}s, cpu {time.process_time() - self._c0:6.1f}s] {msg}")

    def _reason(self, pairs: ScoredPairs, p: int, shared_terms: list[str]) -> str:
        f, w = self.features_, self.weights_
        i, j = int(pairs.need[p]), int(pairs.offer[p])
        a = int(f.need_school[i])
        km = float(pairs.km[p])
        need_theme = int(f.need_theme[i])
        # "both about X" when X, the need's theme, is likely among the offer's themes (its
        # membership), even if the offer is mostly about something else
        offer_theme = need_theme if f.member_offer[j, need_theme] >= 0.5 else int(f.offer_theme[j])
        return explain(
            need_theme=f.themes[need_theme],
            offer_theme=f.themes[offer_theme],
            shared_terms=shared_terms,
            same_la=f.la_names[a] if pairs.same_la[p] else None,
            distance_km=None if math.isnan(km) else km,
            need_school_name=f.names[a],
            fsm_percent=None if math.isnan(f.fsm[a]) else float(f.fsm[a]),
            times_given=int(f.given[a]),
            cross_trust=bool(pairs.cross[p]) and w.cross_trust > 0,
            use_disadvantage=w.disadvantage > 0,
            use_reciprocity=w.reciprocity > 0,
        )

    def _shared_terms(self, rows: np.ndarray, cols: np.ndarray, limit: int = 3) -> list[list[str]]:
        """Up to ``limit`` words each pair shares, most distinctive first (generic words skipped)."""
        f = self.features_
        names = f.vectorizer.word_names()
        if len(names) == 0 or len(rows) == 0:
            return [[] for _ in rows]
        keep = np.array([not (w in GENERIC_TERMS or w.isdigit()) for w in names], dtype=np.float32)
        prod = (f.text_need.words[rows] @ sp.diags(keep)).multiply(f.text_offer.words[cols]).tocsr()
        prod.eliminate_zeros()
        out = []
        indptr, indices, data = prod.indptr, prod.indices, prod.data
        for k in range(len(rows)):
            lo, hi = indptr[k], indptr[k + 1]
            if lo == hi:
                out.append([])
                continue
            idx, val = indices[lo:hi], data[lo:hi]
            order = np.lexsort((idx, -val))[:limit]
            out.append([names[idx[o]] for o in order])
        return out


def _calibration_of(theme_model):
    """The theme model's relevance calibration, or the shipped model's when it has none.
    The shipped model is loaded once for both (its file is the largest thing a round reads)."""
    from matching.themes import default_theme_model, shipped_relevance

    model = default_theme_model() if theme_model is None else theme_model
    own = getattr(model, "relevance_", None)
    return own if own is not None else shipped_relevance()


def _exclusion_keys(exclude, needs, offers) -> np.ndarray:
    """Sorted need_index * n_offers + offer_index of the excluded pairs that exist in the round."""
    need_ix = {n.id: i for i, n in enumerate(needs)}
    offer_ix = {o.id: j for j, o in enumerate(offers)}
    keys = {need_ix[str(a)] * len(offers) + offer_ix[str(b)]
            for a, b in exclude if str(a) in need_ix and str(b) in offer_ix}
    return np.array(sorted(keys), dtype=np.int64)
