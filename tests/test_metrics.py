"""Split metrics against scikit-learn, the parse-failure policy, AUPRC and the bootstrap interval."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, confusion_matrix, f1_score, precision_score, recall_score

from cgbench.harness import metrics
from cgbench.harness.metrics import effective_preds, f1_ci95, split_metrics


def _sklearn(labels, preds):
    """Reference values from scikit-learn, unparsed outputs counted as wrong answers."""
    y, p = np.array(labels), np.array([1 - t if q is None else q for t, q in zip(labels, preds)])
    tn, fp, _, _ = confusion_matrix(y, p, labels=[0, 1]).ravel()
    return {
        "f1": f1_score(y, p, zero_division=0),
        "macro_f1": f1_score(y, p, average="macro", zero_division=0),
        "precision": precision_score(y, p, zero_division=0),
        "recall": recall_score(y, p, zero_division=0),
        "fpr": fp / (fp + tn),
    }


@pytest.mark.parametrize("seed", range(8))
def test_random_splits_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 400))
    labels = rng.integers(0, 2, n).tolist()
    preds = [None if r < 0.1 else int(r < 0.55) for r in rng.random(n)]
    m = split_metrics(labels, preds, n_bootstrap=0)
    for key, value in _sklearn(labels, preds).items():
        assert m[key] == pytest.approx(value), key
    assert m["n"] == n
    assert m["parse_fail"] == pytest.approx(sum(p is None for p in preds) / n)
    assert m["f1_from_recall"] is False


def test_all_correct_and_all_wrong():
    labels = [1, 0, 1, 0, 0]
    right = split_metrics(labels, labels, n_bootstrap=200)
    assert (right["f1"], right["macro_f1"], right["precision"], right["recall"], right["fpr"]) == (1, 1, 1, 1, 0)
    assert right["f1_ci95"] == [1.0, 1.0]
    wrong = split_metrics(labels, [1 - y for y in labels], n_bootstrap=0)
    assert (wrong["f1"], wrong["macro_f1"], wrong["precision"], wrong["recall"], wrong["fpr"]) == (0, 0, 0, 0, 1)


def test_parse_failures_count_as_wrong_answers():
    # gold:      1     1     0     0     1
    # verdict:   1   None  None    0     0  -> effective 1 0 1 0 0
    m = split_metrics([1, 1, 0, 0, 1], [1, None, None, 0, 0], n_bootstrap=0)
    assert m["parse_fail"] == pytest.approx(0.4)
    assert m["precision"] == pytest.approx(1 / 2)  # the unparsed safe item counts as a false alarm
    assert m["recall"] == pytest.approx(1 / 3)  # the unparsed unsafe item counts as a miss
    assert m["fpr"] == pytest.approx(1 / 2)
    assert m["f1"] == pytest.approx(2 * 1 / (2 * 1 + 1 + 2))
    assert effective_preds([1, 0], [None, None]).tolist() == [0, 1]
    assert split_metrics([0, 1], [None, None], n_bootstrap=0)["f1"] == 0.0


def test_all_unsafe_set_reports_f1_from_recall():
    labels = [1] * 10
    preds = [1] * 7 + [0, None, 0]
    m = split_metrics(labels, preds, all_unsafe=True, n_bootstrap=0)
    assert m["recall"] == pytest.approx(0.7)
    assert m["f1"] == pytest.approx(2 * 0.7 / 1.7)
    assert m["f1"] == pytest.approx(f1_score(labels, [1] * 7 + [0] * 3))
    assert m["f1_from_recall"] is True
    assert m["macro_f1"] is None and m["fpr"] is None and m["auprc"] is None
    with pytest.raises(ValueError, match="all_unsafe is set but 1 of 2 items are labelled safe"):
        split_metrics([1, 0], [1, 0], all_unsafe=True)


def test_all_safe_set():
    m = split_metrics([0, 0, 0, 0], [0, 1, 0, 0], n_bootstrap=0)
    assert (m["f1"], m["precision"], m["recall"], m["fpr"]) == (0.0, 0.0, 0.0, 0.25)
    assert m["macro_f1"] is None and m["f1_from_recall"] is False


def test_auprc_with_scores():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 300).tolist()
    scores = np.clip(np.array(labels) * 0.3 + rng.random(300) * 0.7, 0, 1).tolist()
    preds = [int(s > 0.5) for s in scores]
    m = split_metrics(labels, preds, scores, n_bootstrap=0)
    assert m["auprc"] == pytest.approx(average_precision_score(labels, scores))
    assert split_metrics(labels, preds, n_bootstrap=0)["auprc"] is None
    assert split_metrics(labels, preds, [None] + scores[1:], n_bootstrap=0)["auprc"] is None
    assert split_metrics([1, 1], [1, 0], [0.9, 0.2], n_bootstrap=0)["auprc"] is None


def test_bad_input():
    with pytest.raises(ValueError, match="2 labels but 1 predictions"):
        split_metrics([0, 1], [0])
    with pytest.raises(ValueError, match="no items"):
        split_metrics([], [])
    with pytest.raises(ValueError, match=r"predictions must be 0, 1 or None, got \['yes'\]"):
        split_metrics([0], ["yes"])
    with pytest.raises(ValueError, match=r"labels must be 0 or 1, got \[2\]"):
        split_metrics([2], [1])


def test_bootstrap_interval_contains_estimate_and_is_reproducible():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 500).tolist()
    preds = [y if r < 0.8 else 1 - y for y, r in zip(labels, rng.random(500))]
    m = split_metrics(labels, preds, seed=7)
    low, high = m["f1_ci95"]
    assert low < m["f1"] < high
    assert 0.03 < high - low < 0.15
    assert split_metrics(labels, preds, seed=7)["f1_ci95"] == [low, high]
    assert split_metrics(labels, preds, seed=8)["f1_ci95"] != [low, high]


def test_bootstrap_matches_item_resampling():
    """Drawing cell counts is the same bootstrap as resampling items: the intervals agree."""
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 400)
    p = np.where(rng.random(400) < 0.75, y, 1 - y)
    idx = rng.integers(0, 400, size=(4000, 400))
    naive = [f1_score(y[i], p[i]) for i in idx[:4000:4]]  # 1000 item resamples with scikit-learn
    assert f1_ci95(y, p, n_bootstrap=4000, seed=2) == pytest.approx(np.percentile(naive, [2.5, 97.5]), abs=0.015)


def test_pair_helpers_for_lm_eval():
    pairs = [(1, 1), (1, None), (0, 0), (0, 1), (1, 0), (0, 0)]
    m = split_metrics(*zip(*pairs), n_bootstrap=0)
    assert metrics.pairs_f1(pairs) == m["f1"]
    assert metrics.pairs_macro_f1(pairs) == m["macro_f1"]
    assert metrics.pairs_precision(pairs) == m["precision"]
    assert metrics.pairs_recall(pairs) == m["recall"]
    assert metrics.pairs_fpr(pairs) == m["fpr"]
    assert metrics.pairs_parse_fail(pairs) == pytest.approx(1 / 6)
    assert math.isnan(metrics.pairs_macro_f1([(1, 1), (1, 0)]))
    assert math.isnan(metrics.pairs_fpr([(1, 1)]))


def test_doctests():
    assert doctest.testmod(metrics).failed == 0
