"""The weights of a need-offer pair's score, with documented defaults.

A pair's score (see docs/matching.md) is

    raw         = text * text_similarity + theme * theme_similarity
    probability = the theme model's calibration of raw (matching/relevance.py): the estimated
                  chance that a network lead would call the pair a good fit
    score       = probability
              + phase        * phase_fit            (1 same phase, 0.5 neighbouring, 0 otherwise/unknown)
              + place        * place_fit            (1 same local authority, else exp(-km / distance_scale_km))
              + disadvantage * fsm_share            (share of the NEED's pupils on free school meals, 0..1)
              + reciprocity  * g / (g + 1)          (g = times the NEED's school has given, from history)
              + cross_trust  * different_trusts     (0 = off)
              - repeat_penalty                       (if the two schools were paired within repeat_window_days)

The assignment considers only pairs with ``probability >= min_relevance`` and ``score > 0``;
top-k lists the best pairs whatever their probability. A school is never paired with itself.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping

# Chosen by 5-fold cross-validation x 3 shuffles on the labelled dev set (bench/quality.py,
# docs/quality.md): best mean P@1 of `collab match --top-k 10` among text weights 0-0.6 with
# text + theme = 1. Text alone gives ~0.30; the theme model carries most of the signal, the
# text term orders offers of the same theme and names the shared words.
TEXT_WEIGHT = 0.2
THEME_WEIGHT = 0.8
# How much of an inferred offer's theme side is the offer membership model's (the rest is the
# main model's distribution; matching/features.py): membership alone found more good pairings
# in Ofsted rounds but was over-sure of short staff posts (docs/quality.md, "Offer membership").
MEMBERSHIP_SHARE = 0.5


_WHOLE = ("repeat_window_days", "candidates_per_need")


@dataclass(frozen=True)
class Weights:
    """Weights of the pair score. All are >= 0; 0 switches a term off."""

    text: float = TEXT_WEIGHT
    """Cosine similarity of the word + character n-gram TF-IDF vectors (0..1)."""
    theme: float = THEME_WEIGHT
    """Theme similarity: dot product of the two theme distributions (one-hot when given)."""
    phase: float = 0.10
    """Phase fit of the two schools (same phase 1, neighbouring phases 0.5)."""
    place: float = 0.10
    """Place: 1 in the same local authority, else decays with straight-line distance."""
    distance_scale_km: float = 25.0
    """Distance at which the place term has fallen to 1/e (about 0.37)."""
    disadvantage: float = 0.20
    """Times the share (0..1) of the needing school's pupils on free school meals."""
    reciprocity: float = 0.10
    """Times g/(g+1), g = how often the needing school has given help (history)."""
    repeat_penalty: float = 2.0
    """Subtracted when the same two schools were paired within the window. The default is
    larger than any possible positive score, so by default a repeat is never proposed."""
    repeat_window_days: int = 365
    """How far back a past pairing of the same two schools counts as a repeat."""
    cross_trust: float = 0.0
    """Bonus for schools in different trusts (0 = off)."""
    min_relevance: float = 0.65
    """The probability a pair needs for the assignment to propose it. Chosen by
    bench/round_quality.py (cross-validation on labelled rounds, assignment mode, thresholds
    0.5-0.75 in steps of 0.05) as the threshold picked most often for a round precision of 0.8
    (0.65 in 5 folds of 10, with inferred needs and with the bot's rule for short needs alike;
    no other threshold in more than 3): held out, 0.80 of proposals were good, finding 61 % of the good pairs the capacities
    allowed (docs/quality.md). Needs left below it get a reason (matching/unmatched.py). Top-k
    ignores it."""
    candidates_per_need: int = 20
    """Offers kept per need by candidate generation on large rounds (see docs)."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("repeat_window_days", "candidates_per_need"):
                if not isinstance(value, int) or isinstance(value, bool) or value < (1 if f.name == "candidates_per_need" else 0):
                    raise ValueError(f"weight {f.name!r} must be a whole number >= {1 if f.name == 'candidates_per_need' else 0}, got {value!r}")
            elif not isinstance(value, (int, float)) or isinstance(value, bool) or value != value or value < 0:
                raise ValueError(f"weight {f.name!r} must be a number >= 0, got {value!r}")
        if self.distance_scale_km <= 0:
            raise ValueError("weight 'distance_scale_km' must be > 0")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any] | None) -> "Weights":
        """Build from configuration (e.g. parsed env/JSON); unknown keys are an error,
        string values are converted ("0.2" -> 0.2)."""
        if not mapping:
            return cls()
        names = {f.name: f for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in mapping.items():
            if key not in names:
                raise ValueError(f"unknown weight {key!r}; known: {', '.join(sorted(names))}")
            if isinstance(value, str):
                try:
                    value = float(value)
                except ValueError:
                    raise ValueError(f"weight {key!r} must be a number, got {value!r}") from None
            if key in _WHOLE and isinstance(value, float) and value.is_integer():
                value = int(value)  # 30.0 from a float-typed setting means 30
            kwargs[key] = value
        return cls(**kwargs)

