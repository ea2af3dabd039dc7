"""Calibration and thresholds per language against scikit-learn, on constructed scores."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import f1_score, precision_recall_curve

from cgbench.harness.calibration import (
    best_threshold,
    calibration_table,
    crossfit_f1,
    expected_calibration_error,
    f1_at,
    folds,
    reliability_curve,
)
from cgbench.harness.scoring import score_predictions


def _scores(seed: int, n: int = 300, shift: float = 0.0):
    """Labels and overconfident scores: a logistic of a noisy signal, shifted on the logit scale."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    logits = 3.0 * (labels - 0.5) + rng.normal(0, 1.5, n) + shift
    return labels.tolist(), (1 / (1 + np.exp(-logits))).round(3).tolist()  # rounding makes ties


@pytest.mark.parametrize("seed", range(4))
def test_reliability_curve_and_ece_match_calibration_curve(seed):
    labels, scores = _scores(seed)
    prob_true, prob_pred = calibration_curve(labels, scores, n_bins=10, strategy="uniform")
    curve = reliability_curve(labels, scores)
    assert [c[1] for c in curve] == pytest.approx(prob_true.tolist())
    assert [c[0] for c in curve] == pytest.approx(prob_pred.tolist())
    assert sum(c[2] for c in curve) == len(labels)
    counts = np.array([c[2] for c in curve])
    expected = float(np.sum(counts / counts.sum() * np.abs(prob_true - prob_pred)))
    assert expected_calibration_error(labels, scores) == pytest.approx(expected)


def test_a_perfectly_calibrated_bin_has_no_error():
    assert expected_calibration_error([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5]) == 0.0
    assert expected_calibration_error([1, 1], [0.05, 0.05]) == pytest.approx(0.95)


@pytest.mark.parametrize("seed", range(4))
def test_best_threshold_matches_precision_recall_curve(seed):
    labels, scores = _scores(seed)
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    f1 = np.divide(
        2 * precision * recall, precision + recall, out=np.zeros_like(precision), where=precision + recall > 0
    )
    best = int(np.argmax(f1[:-1]))  # the last point (recall 0) has no threshold; argmax: the lowest on a tie
    threshold, value = best_threshold(labels, [0] * len(labels), scores)
    assert threshold == pytest.approx(thresholds[best])
    assert value == pytest.approx(f1[best])
    assert f1_at(labels, [0] * len(labels), scores, threshold) == pytest.approx(value)


@pytest.mark.parametrize("threshold", [0.1, 0.5, 0.73])
def test_f1_at_a_threshold_matches_f1_score_and_counts_unparsed_as_wrong(threshold):
    labels, scores = _scores(7, n=120)
    preds = [None if i % 10 == 0 else 0 for i in range(len(labels))]
    verdicts = [1 - y if p is None else int(s >= threshold) for y, p, s in zip(labels, preds, scores)]
    assert f1_at(labels, preds, scores, threshold) == pytest.approx(f1_score(labels, verdicts))
    found = best_threshold(labels, preds, scores)
    brute = max(f1_at(labels, preds, scores, t) for t in set(scores))
    assert found[1] == pytest.approx(brute)


def test_folds_are_stratified_halves_shared_by_parallel_splits():
    labels, _ = _scores(3, n=101)
    idx = list(range(500, 601))
    fold = folds(idx, labels)
    for label in (0, 1):
        members = fold[np.array(labels) == label]
        assert abs(int(np.sum(members == 0)) - int(np.sum(members == 1))) <= 1
    shuffled = np.random.default_rng(1).permutation(101)
    again = folds([idx[i] for i in shuffled], [labels[i] for i in shuffled])
    assert again.tolist() == fold[shuffled].tolist()  # the fold follows the item, not its position


def test_crossfit_judges_each_fold_at_the_other_folds_threshold():
    labels, scores = _scores(11, n=200)
    idx = list(range(200))
    preds = [0] * 200
    f1, thresholds = crossfit_f1(idx, labels, preds, scores)
    fold = folds(idx, labels)
    verdicts = []
    for i in idx:
        fit = [j for j in idx if fold[j] != fold[i]]
        t, _ = best_threshold([labels[j] for j in fit], [0] * len(fit), [scores[j] for j in fit])
        assert t in thresholds
        verdicts.append(int(scores[i] >= t))
    assert f1 == pytest.approx(f1_score(labels, verdicts))
    assert f1 <= best_threshold(labels, preds, scores)[1] + 1e-12  # never above the in-sample optimum


def _predictions(benchmark, lang, labels, scores, threshold=0.5):
    return [
        {
            "benchmark": benchmark,
            "lang": lang,
            "idx": i,
            "label": y,
            "pred": int(s >= threshold),
            "score": s,
            "violations": [],
            "output": "",
        }
        for i, (y, s) in enumerate(zip(labels, scores))
    ]


def test_a_threshold_tuned_on_english_does_not_transfer_to_a_shifted_language():
    labels, english = _scores(5, n=400)
    _, shifted = _scores(5, n=400, shift=-2.5)  # the same items, scored much lower in "bn"
    predictions = _predictions("toxicchat", "en", labels, english) + _predictions("toxicchat", "bn", labels, shifted)
    table = calibration_table(predictions)["toxicchat"]
    en, bn = table["by_lang"]["en"], table["by_lang"]["bn"]
    assert table["en_threshold"] == pytest.approx(best_threshold(labels, [0] * 400, english)[0])
    assert en["f1_at_en"] == pytest.approx(table["en_f1_best"])
    assert bn["f1_at_en"] < bn["f1_crossfit"] - 0.1  # its own threshold recovers what the English one loses
    assert bn["ece"] > en["ece"]
    assert bn["n_scored"] == 400 and len(bn["thresholds_crossfit"]) == 2


def test_sets_without_scores_and_one_class_sets():
    labels, scores = _scores(2, n=50)
    unsafe = [1] * 20
    predictions = (
        _predictions("toxicchat", "en", labels, scores)
        + _predictions("simple_safety_tests", "en", unsafe, scores[:20])
        + [dict(p, score=None) for p in _predictions("openai_moderation", "en", labels, scores)]
    )
    table = calibration_table(predictions)
    assert set(table) == {"toxicchat", "simple_safety_tests"}
    sst = table["simple_safety_tests"]
    assert sst["en_threshold"] is None
    assert sst["by_lang"]["en"]["f1_crossfit"] is None and sst["by_lang"]["en"]["f1_at_en"] is None
    assert sst["by_lang"]["en"]["f1_at_05"] == pytest.approx(f1_score(unsafe, [int(s >= 0.5) for s in scores[:20]]))


def test_metrics_json_carries_the_calibration():
    labels, scores = _scores(4, n=60)
    metrics = score_predictions(_predictions("toxicchat", "en", labels, scores), n_bootstrap=0)
    cell = metrics["calibration"]["toxicchat"]["by_lang"]["en"]
    assert cell["f1_at_05"] == pytest.approx(metrics["splits"]["toxicchat/en"]["f1"])
    unscored = score_predictions(
        [dict(p, score=None) for p in _predictions("toxicchat", "en", labels, scores)], n_bootstrap=0
    )
    assert unscored["calibration"] == {}
