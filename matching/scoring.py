"""Stage 3 of a round: every candidate pair's probability of being a good fit, and its score.

    raw         = Weights.text * text_similarity + Weights.theme * theme_similarity
    probability = calibration(raw)                       (matching/relevance.py)
    score       = probability
                + phase * phase_fit + place * place_fit + disadvantage * fsm_share
                + reciprocity * g / (g + 1) + cross_trust * different_trusts
                - repeat_penalty * (paired within repeat_window_days)

Scores are rounded to ``SCORE_DECIMALS`` decimals and kept as integers (score x 10^4), so the
assignment's sums are exact and results deterministic. See docs/matching.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from matching.features import RoundFeatures
from matching.weights import Weights

SCORE_DECIMALS = 4
SCALE = 10**SCORE_DECIMALS


@dataclass
class ScoredPairs:
    """Parallel arrays, one entry per candidate pair."""

    need: np.ndarray
    offer: np.ndarray
    probability: np.ndarray
    score: np.ndarray  # integers: score x 10^SCORE_DECIMALS
    same_la: np.ndarray
    km: np.ndarray
    cross: np.ndarray

    def __len__(self) -> int:
        return len(self.need)

    def take(self, idx: np.ndarray) -> "ScoredPairs":
        return ScoredPairs(*(getattr(self, k)[idx] for k in self.__dataclass_fields__))

    @staticmethod
    def concat(parts: list["ScoredPairs"]) -> "ScoredPairs":
        """The pairs of several blocks (at least one: a round always has a block), in the order given."""
        return ScoredPairs(*(np.concatenate([getattr(p, k) for p in parts]) for k in ScoredPairs.__dataclass_fields__))


def score_pairs(f: RoundFeatures, pi, pj, text, weights: Weights, calibration) -> ScoredPairs:
    w = weights
    theme = np.einsum("ij,ij->i", f.p_need[pi], f.q_offer[pj])
    probability = calibration.predict(w.text * text + w.theme * theme)
    a, b = f.need_school[pi], f.offer_school[pj]
    phase = f.phase_table[f.phase_codes[a], f.phase_codes[b]]
    same_la = (f.la_codes[a] >= 0) & (f.la_codes[a] == f.la_codes[b])
    dist_km = np.hypot(f.east[a] - f.east[b], f.north[a] - f.north[b]) / 1000.0
    place = np.where(same_la, 1.0, np.nan_to_num(np.exp(-dist_km / w.distance_scale_km), nan=0.0))
    fsm = np.nan_to_num(np.clip(f.fsm[a], 0, 100), nan=0.0) / 100.0
    g = f.given[a]
    cross = f.known[a] & f.known[b] & (f.trust_codes[a] != f.trust_codes[b])
    keys = np.minimum(a, b) * f.n_school_ids + np.maximum(a, b)
    repeat = np.isin(keys, f.recent_keys) if len(f.recent_keys) else np.zeros(len(a), bool)
    score = (
        probability
        + w.phase * phase
        + w.place * place
        + w.disadvantage * fsm
        + w.reciprocity * (g / (g + 1.0))
        + w.cross_trust * cross
        - w.repeat_penalty * repeat
    )
    return ScoredPairs(
        need=np.asarray(pi, dtype=np.int64), offer=np.asarray(pj, dtype=np.int64), probability=probability,
        score=np.rint(score * SCALE).astype(np.int64), same_la=same_la, km=dist_km, cross=cross,
    )
