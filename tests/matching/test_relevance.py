"""Relevance calibration: a known answer on synthetic data, and reliability on held-out labels."""
from __future__ import annotations

import functools

import numpy as np
import pytest

from matching import training
from matching.relevance import (EPSILON, RelevanceCalibration, brier_score, expected_calibration_error,
                                reliability_table)


def test_recovers_a_known_sigmoid_of_log_raw_relevance():
    rng = np.random.default_rng(7)
    raw = rng.uniform(0, 1, 40_000)
    truth = 1 / (1 + np.exp(-(1.7 * np.log(raw + EPSILON) + 1.2)))
    good = rng.uniform(size=raw.size) < truth
    cal = RelevanceCalibration().fit(raw, good)
    assert cal.slope_ == pytest.approx(1.7, abs=0.1) and cal.intercept_ == pytest.approx(1.2, abs=0.1)
    grid = np.array([0.01, 0.1, 0.3, 0.6, 0.9])
    expected = 1 / (1 + np.exp(-(1.7 * np.log(grid + EPSILON) + 1.2)))
    assert np.abs(cal.predict(grid) - expected).max() < 0.03
    # the mapping is increasing (the order of offers is kept)
    assert np.all(np.diff(cal.predict(np.linspace(0, 1, 101))) > 0)


def test_reliability_measures_on_a_known_case():
    p = np.array([0.1] * 10 + [0.9] * 10)
    good = np.array([True] + [False] * 9 + [True] * 9 + [False])
    assert expected_calibration_error(p, good) == pytest.approx(0.0)
    assert brier_score(p, good) == pytest.approx(0.09)
    assert reliability_table(p, good) == [(0.1, 0.1, 0.1, 10), (0.9, 0.9, 0.9, 10)]
    assert expected_calibration_error(np.full(20, 0.5), good) == pytest.approx(0.0)  # 10 of 20 good
    assert expected_calibration_error(np.full(20, 0.9), good) == pytest.approx(0.4)


def test_fit_refuses_one_sided_data():
    with pytest.raises(ValueError, match="both good and not-good"):
        RelevanceCalibration().fit([0.1, 0.2], [True, True])


@pytest.fixture(scope="module")
def held_out():
    """A model trained (with its calibration) on four fifths of the labelled items, grouped by
    school, and the raw relevance + labels of the other fifth's pairs: never seen by the model."""
    data = training.DEFAULT_DATA_DIR
    if not (data / "dev_labels.csv").exists():
        pytest.skip(f"labelled data not found at {data}")
    from sklearn.model_selection import StratifiedGroupKFold

    dev = training.load_dev(data)
    sentences = training.load_sentences(data)
    need_sentences = training.load_need_sentences(data)
    split = StratifiedGroupKFold(5, shuffle=True, random_state=11)
    _, test_idx = next(split.split(np.zeros(len(dev)), [x.kind for x in dev], [x.urn for x in dev]))
    test = [dev[i] for i in test_idx]
    ids = {x.item_id for x in test}
    # The four trainings (three folds and the final model) weakly label the same ~9,000 sentences
    # by the same keyword rules: remembered per sentence here, half of this fixture's time otherwise.
    # Pure functions of the text, so the model is the same.
    with pytest.MonkeyPatch.context() as patch:
        for name in ("keyword_themes", "need_weak_label"):
            patch.setattr(training, name, functools.lru_cache(maxsize=None)(getattr(training, name)))
        model = training.train([x for x in dev if x.item_id not in ids], sentences, [x.text for x in test],
                               need_sentences=need_sentences, labelled=training.labelled_without(test),
                               calibration_folds=3)
    raw, good = training.labelled_pairs(model, [x for x in test if x.kind == "need"],
                                        [x for x in test if x.kind == "offer"])
    return model, raw, good


def test_calibrated_relevance_is_reliable_on_held_out_labelled_pairs(held_out):
    model, raw, good = held_out
    p = model.relevance_.predict(raw)
    assert len(p) > 2000 and good.any()
    # calibration in the large: as many good pairs as the probabilities say
    assert abs(p.mean() - good.mean()) < 0.03
    # binned reliability, pair-weighted
    assert expected_calibration_error(p, good) < 0.04
    # informative: clearly better than always saying the base rate
    assert brier_score(p, good) < 0.85 * brier_score(np.full(len(good), good.mean()), good)
    # the pairs a round would propose (p >= 0.5) are good about as often as their probability says
    likely = p >= 0.5
    assert likely.sum() >= 20
    assert abs(good[likely].mean() - p[likely].mean()) < 0.15


def test_shipped_model_carries_its_calibration():
    from matching.themes import default_theme_model

    cal = default_theme_model().relevance_
    assert isinstance(cal, RelevanceCalibration) and cal.n_pairs_ > 1000 and cal.slope_ > 0
