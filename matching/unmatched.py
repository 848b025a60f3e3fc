"""What a round left: a reason for every need it did not pair, and the network's gaps.

A lead who reads "3 of 6 needs paired" needs to know what to do about the other three. The
answer is one of three reasons, checked in this order:

* ``offers_taken``: some offer was likely enough (probability >= the threshold), but the
  assignment gave it to other needs (its capacity is used) or its school and this one were
  paired recently. Next round may do better.
* ``no_offer_on_theme``: no school in the network (other than the need's own) offers help on
  the need's main theme. Nothing to tune: the network needs a school that offers it.
* ``too_unlikely``: there are offers on the theme, but the closest ones (listed, up to three,
  with their probabilities) are too unlikely a fit to propose.

A **gap** is a theme where needs outnumber the places offered (offers' capacities summed):
what a lead can act on, by finding a school to offer it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OFFERS_TAKEN = "offers_taken"
NO_OFFER_ON_THEME = "no_offer_on_theme"
TOO_UNLIKELY = "too_unlikely"
REASONS = (OFFERS_TAKEN, NO_OFFER_ON_THEME, TOO_UNLIKELY)
REASON_LABELS = {
    OFFERS_TAKEN: "likely offers went to other needs",
    NO_OFFER_ON_THEME: "no offer on its theme in the network",
    TOO_UNLIKELY: "closest offers too unlikely",
}
CLOSEST = 3


def likely_fit(probability: float) -> str:
    """A probability in words a deputy head reads at a glance: "likely fit: 8 in 10"."""
    return f"likely fit: {int(round(10 * float(probability)))} in 10"


@dataclass(frozen=True)
class Unmatched:
    """A need the round did not pair, and why. ``closest``: up to three (offer id,
    probability) of the need's best-fitting offers, best first."""

    need_id: str
    theme: str
    reason: str
    closest: tuple[tuple[str, float], ...] = ()

    def describe(self) -> str:
        from matching.themes import THEME_LABELS

        label = THEME_LABELS.get(self.theme, self.theme).lower()
        if self.reason == NO_OFFER_ON_THEME:
            return f"No other school in the network offers help with {label} yet."
        if self.reason == OFFERS_TAKEN:
            return "The offers likely to fit went to other needs this round (or were paired with this school recently)."
        closest = ", ".join(f"{offer} ({likely_fit(p)})" for offer, p in self.closest)
        return f"The closest offers are too unlikely a fit: {closest}." if closest else "No offer is close enough."


@dataclass(frozen=True)
class Gap:
    """A theme where the network's needs outnumber the places offered on it."""

    theme: str
    needs: int
    offers: int
    places: int

    def describe(self) -> str:
        from matching.themes import THEME_LABELS

        return (f"{THEME_LABELS.get(self.theme, self.theme)}: {self.needs} need{'s' * (self.needs != 1)}, "
                f"{self.places} place{'s' * (self.places != 1)} offered")


def find_gaps(need_theme: np.ndarray, offer_theme: np.ndarray, capacity: np.ndarray, themes) -> list[Gap]:
    """Themes (indices into ``themes``) where needs outnumber offered places, biggest shortfall first."""
    needs = np.bincount(need_theme, minlength=len(themes))
    offers = np.bincount(offer_theme, minlength=len(themes))
    places = np.bincount(offer_theme, weights=capacity, minlength=len(themes)).astype(np.int64)
    out = [Gap(themes[t], int(needs[t]), int(offers[t]), int(places[t])) for t in range(len(themes))
           if needs[t] > places[t]]
    return sorted(out, key=lambda g: (-(g.needs - g.places), g.theme))


def explain_unmatched(f, pairs, chosen: np.ndarray, threshold: float) -> list[Unmatched]:
    """An :class:`Unmatched` for every need of features ``f`` with no pair in ``chosen``
    (indices into ``pairs``), sorted by need id."""
    paired = np.zeros(f.n, dtype=bool)
    paired[pairs.need[chosen]] = True
    left = np.flatnonzero(~paired)
    if len(left) == 0:
        return []
    n_themes = len(f.themes)
    likely = np.zeros(f.n, dtype=bool)
    likely[pairs.need[pairs.probability >= threshold]] = True
    # offers on the need's theme from schools other than its own (offers with places only)
    open_offer = f.capacity > 0
    on_theme = np.bincount(f.offer_theme[open_offer], minlength=n_themes)
    own_keys, own_counts = np.unique(f.offer_school[open_offer] * n_themes + f.offer_theme[open_offer],
                                     return_counts=True)
    t = f.need_theme[left]
    key = f.need_school[left] * n_themes + t
    own = np.zeros(len(left), dtype=np.int64)
    if len(own_keys):
        at = np.minimum(np.searchsorted(own_keys, key), len(own_keys) - 1)
        own = np.where(own_keys[at] == key, own_counts[at], 0)
    reason = np.where(likely[left], 0, np.where(on_theme[t] - own <= 0, 1, 2))
    top = most_likely(pairs.need, pairs.offer, pairs.probability, f.n, CLOSEST)[left]
    count = (top >= 0).sum(axis=1)
    top = top.ravel()
    offer_ids: list[str] = []
    probs: list[float] = []
    if len(pairs):  # an unused slot (-1) reads the last pair; count keeps it out of closest
        offer_ids = [f.offers[j].id for j in pairs.offer[top].tolist()]
        probs = [round(p, 3) for p in pairs.probability[top].tolist()]
    names = (OFFERS_TAKEN, NO_OFFER_ON_THEME, TOO_UNLIKELY)
    out = []
    for r, (i, th, why, k) in enumerate(zip(left.tolist(), t.tolist(), reason.tolist(), count.tolist())):
        base = r * CLOSEST
        closest = tuple(zip(offer_ids[base : base + k], probs[base : base + k]))
        out.append(Unmatched(f.needs[i].id, f.themes[th], names[why], closest))
    return out


def most_likely(need: np.ndarray, offer: np.ndarray, probability: np.ndarray, n: int, k: int) -> np.ndarray:
    """(n, k) indices into the pairs: each need's k most probable pairs, best first (ties: the
    lower offer index), -1 where a need has fewer.

    The engine's pairs come grouped by need with offers ascending inside a group (each need
    lives in one block, whose pairs are sorted), so k passes of a per-group maximum find them:
    0.05 s against 0.45 s for sorting the 1.1 million pairs of the 20,000-school bench round.
    Pairs in any other order are first put in that order (a test checks both)."""
    out = np.full((n, k), -1, dtype=np.int64)
    if len(need) == 0 or k == 0:
        return out
    starts = np.flatnonzero(np.r_[True, need[1:] != need[:-1]])
    same_need = need[1:] == need[:-1]
    if len(np.unique(need[starts])) != len(starts) or not (offer[1:][same_need] > offer[:-1][same_need]).all():
        order = np.lexsort((offer, need))
        inner = most_likely(need[order], offer[order], probability[order], n, k)
        return np.where(inner >= 0, order[np.maximum(inner, 0)], -1)
    group = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(need)]))
    left = np.asarray(probability, dtype=np.float64).copy()
    for r in range(k):
        best = np.maximum.reduceat(left, starts)
        hit = np.flatnonzero((left == best[group]) & (left > -np.inf))
        if len(hit) == 0:
            break
        first_hit = hit[np.r_[True, group[hit][1:] != group[hit][:-1]]]  # lowest offer among equals
        out[need[first_hit], r] = first_hit
        left[first_hit] = -np.inf
    return out
