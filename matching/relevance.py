"""A pair's relevance as a probability: how likely a network lead would call the pair a good fit.

The engine measures two similarities of a need and an offer: their theme distributions'
dot product and their text similarity (``text.py``). Their weighted sum (``Weights.text``,
``Weights.theme``) is the *raw* relevance; it orders offers well but its values mean nothing
(a raw 0.3 was good about half the time). :class:`RelevanceCalibration` turns it into an
estimated probability that the pair is good (the need's main theme is among the offer's
themes), by sigmoid (Platt) calibration on the logarithm of the raw relevance:

    probability = 1 / (1 + exp(-(a * log(raw + EPSILON) + b)))

``a`` and ``b`` are fitted by ``matching.training`` on *out-of-fold* pairs of the labelled
items (each pair scored by a theme model that never saw either item), so that among pairs
given 0.8 about 8 in 10 are good. The logarithm matters: raw relevance is a product-like
quantity (two theme distributions' overlap), and the plain sigmoid of it was visibly
over-confident at the top (docs/quality.md has the comparison and the reliability diagram).
The mapping is increasing, so the order of offers is the raw relevance's order.

Stored with the theme model (``ThemeModel.relevance_``) and loaded with it, offline.
"""
from __future__ import annotations

import numpy as np

EPSILON = 1e-3  # keeps log() finite for a raw relevance of 0 (different given themes, no shared text)


class RelevanceCalibration:
    """Raw relevance (0..1) -> probability that the pair is good. scikit-learn style (``fit``,
    then ``predict``); scikit-learn fits it, and predicting needs two numbers (``slope_``,
    ``intercept_``), so using it needs numpy only."""

    def __init__(self, C: float = 100.0):
        self.C = C

    def fit(self, raw, good, sample_weight=None) -> "RelevanceCalibration":
        raw = np.asarray(raw, dtype=np.float64)
        good = np.asarray(good, dtype=bool)
        if raw.shape != good.shape or raw.ndim != 1:
            raise ValueError(f"raw and good must be 1-D of the same length, got {raw.shape} and {good.shape}")
        if good.all() or not good.any():
            raise ValueError("calibration needs both good and not-good pairs")
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=self.C, max_iter=1000)
        model.fit(self._features(raw), good, sample_weight=sample_weight)
        self.slope_ = float(model.coef_[0, 0])
        self.intercept_ = float(model.intercept_[0])
        self.n_pairs_ = int(len(raw))
        self.base_rate_ = float(good.mean())
        return self

    def to_array(self) -> np.ndarray:
        """The fitted calibration as numbers, for the theme model's file."""
        return np.array([self.slope_, self.intercept_, self.n_pairs_, self.base_rate_, self.C], dtype=np.float64)

    @classmethod
    def from_array(cls, values) -> "RelevanceCalibration":
        values = np.asarray(values, dtype=np.float64)
        if values.shape != (5,) or not np.isfinite(values).all():
            raise ValueError("the relevance calibration in the model file is damaged")
        slope, intercept, n_pairs, base_rate, C = values.tolist()
        cal = cls(C)
        cal.slope_, cal.intercept_, cal.n_pairs_, cal.base_rate_ = slope, intercept, int(n_pairs), base_rate
        return cal

    @staticmethod
    def _features(raw: np.ndarray) -> np.ndarray:
        return np.log(np.clip(raw, 0.0, None) + EPSILON)[:, None]

    def predict(self, raw) -> np.ndarray:
        """Probabilities, same shape as ``raw``."""
        raw = np.asarray(raw, dtype=np.float64)
        z = self.slope_ * np.log(np.clip(raw, 0.0, None) + EPSILON) + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))


def brier_score(probability, good) -> float:
    """Mean squared difference between probability and outcome (0 is perfect)."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(good, dtype=np.float64)
    return float(np.mean((p - y) ** 2))


def reliability_table(probability, good, bins: int = 10) -> list[tuple[float, float, float, int]]:
    """(bin low, mean probability, share good, pairs) for each non-empty bin of width 1/bins."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(good, dtype=np.float64)
    which = np.clip((p * bins).astype(int), 0, bins - 1)
    out = []
    for b in range(bins):
        sel = which == b
        if sel.any():
            out.append((b / bins, float(p[sel].mean()), float(y[sel].mean()), int(sel.sum())))
    return out


def expected_calibration_error(probability, good, bins: int = 10) -> float:
    """Pair-weighted mean of |mean probability - share good| over the bins."""
    rows = reliability_table(probability, good, bins)
    n = sum(r[3] for r in rows)
    return float(sum(abs(r[1] - r[2]) * r[3] for r in rows) / max(n, 1))
