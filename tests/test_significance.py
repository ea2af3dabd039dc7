"""The paired tests of a language against English, checked against scipy and statsmodels (or a direct
computation written here) on constructed data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from cgbench.harness.significance import (
    average_f1_ci95,
    bootstrap_p,
    holm,
    language_gaps,
    mcnemar_exact,
    paired_f1_difference,
)


def _f1(labels: np.ndarray, preds: np.ndarray) -> float:
    tp = np.sum((labels == 1) & (preds == 1))
    return 2 * tp / (2 * tp + np.sum((labels == 0) & (preds == 1)) + np.sum((labels == 1) & (preds == 0)))


def _constructed(n: int = 600, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gold labels, a guard right on 90% of items (English) and one right on 70% (another language)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(np.int8)
    en = np.where(rng.random(n) < 0.9, y, 1 - y).astype(np.int8)
    other = np.where(rng.random(n) < 0.7, y, 1 - y).astype(np.int8)
    return y, en, other


@pytest.mark.parametrize(("b", "c"), [(0, 0), (0, 7), (3, 4), (12, 1), (40, 61), (250, 300)])
def test_mcnemar_matches_statsmodels_exact(b, c):
    expected = mcnemar([[50, b], [c, 50]], exact=True).pvalue
    assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("seed", range(5))
def test_holm_matches_statsmodels(seed):
    p = np.random.default_rng(seed).random(6) ** 3
    assert holm(p.tolist()) == pytest.approx(multipletests(p, method="holm")[1].tolist())


def test_holm_keeps_the_order_and_caps_at_one():
    assert holm([0.5, 0.001, 0.3]) == pytest.approx([0.6, 0.003, 0.6])  # 3 x 0.001, then max(2 x 0.3, 0.5)
    assert holm([0.5, 0.4, 0.9]) == [1.0, 1.0, 1.0]
    assert holm([]) == []


def test_identical_verdicts_have_no_gap():
    y, en, _ = _constructed()
    diff, ci, p = paired_f1_difference(y.tolist(), en.tolist(), en.tolist(), n_bootstrap=200)
    assert diff == 0 and ci == [0.0, 0.0] and p == 1.0


def test_paired_bootstrap_matches_scipy_and_finds_the_constructed_gap():
    y, en, other = _constructed()
    diff, ci, p = paired_f1_difference(y.tolist(), other.tolist(), en.tolist(), n_bootstrap=4000, seed=1)
    assert diff == pytest.approx(_f1(y, other) - _f1(y, en))

    def statistic(labels, a, b, axis=-1):
        return np.array([_f1(*row[:2]) - _f1(row[0], row[2]) for row in zip(labels, a, b)])

    reference = stats.bootstrap(
        (y, other, en), statistic, paired=True, vectorized=True, n_resamples=4000, method="percentile", rng=7
    ).confidence_interval
    assert ci[0] == pytest.approx(reference.low, abs=0.01) and ci[1] == pytest.approx(reference.high, abs=0.01)
    assert ci[1] < 0 and p < 0.001  # a 90% against a 70% guard: the interval is far below zero


def test_paired_bootstrap_resamples_items_not_languages():
    """With perfectly correlated errors the paired interval is tight; resampling each language on its own
    (an unpaired bootstrap) would be far wider."""
    y, en, _ = _constructed(n=800)
    other = en.copy()
    flipped = np.flatnonzero((y == 1) & (en == 1))[:8]  # 8 more misses, nothing else differs
    other[flipped] = 0
    _, ci, _ = paired_f1_difference(y.tolist(), other.tolist(), en.tolist(), n_bootstrap=2000)
    rng = np.random.default_rng(0)
    unpaired = [
        _f1(y[i], other[i]) - _f1(y[j], en[j]) for i, j in (rng.integers(0, len(y), (2, len(y))) for _ in range(2000))
    ]
    assert ci[1] - ci[0] < 0.5 * (np.percentile(unpaired, 97.5) - np.percentile(unpaired, 2.5))
    assert ci[1] < 0


def test_bootstrap_p_counts_both_tails():
    assert bootstrap_p(np.array([-1.0] * 99 + [1.0])) == pytest.approx(2 * 2 / 101)
    assert bootstrap_p(np.array([0.0] * 10)) == 1.0


def test_language_gaps_on_a_verdict_matrix():
    y, en, other = _constructed()
    same = en.copy()
    verdicts = np.stack([other, en, same], axis=1)
    verdicts[5, 0] = -1  # a parse failure in the weak language counts as a wrong answer
    labels = np.repeat(y[:, None], 3, axis=1)
    gaps = language_gaps(labels, verdicts, ["bn", "en", "fr"], n_bootstrap=500)
    assert list(gaps) == ["bn", "fr"]
    weak = np.where(verdicts[:, 0] < 0, 1 - y, verdicts[:, 0])
    right_weak, right_en = weak == y, en == y
    assert gaps["bn"]["only_lang_right"] == int(np.sum(right_weak & ~right_en))
    assert gaps["bn"]["only_ref_right"] == int(np.sum(~right_weak & right_en))
    assert gaps["bn"]["f1_diff"] == pytest.approx(_f1(y, weak) - _f1(y, en))
    raw = [gaps[lang]["mcnemar_p"] for lang in gaps]
    assert [gaps[lang]["mcnemar_p_holm"] for lang in gaps] == pytest.approx(multipletests(raw, method="holm")[1])
    boot = [gaps[lang]["f1_diff_p"] for lang in gaps]
    assert [gaps[lang]["f1_diff_p_holm"] for lang in gaps] == pytest.approx(multipletests(boot, method="holm")[1])
    assert gaps["bn"]["significant"] and not gaps["fr"]["significant"]
    assert gaps["fr"]["f1_diff"] == 0 and gaps["fr"]["mcnemar_p"] == 1.0
    assert language_gaps(labels, verdicts, ["bn", "de", "fr"]) == {}  # no English, no gaps


def test_average_interval_covers_the_average_and_is_tighter_for_more_sets():
    y, en, other = _constructed()
    labels = np.repeat(y[:, None], 2, axis=1)
    verdicts = np.stack([en, other], axis=1)
    mean = (_f1(y, en) + _f1(y, other)) / 2
    low, high = average_f1_ci95([(labels, verdicts)], n_bootstrap=1000)
    assert low < mean < high
    low4, high4 = average_f1_ci95([(labels, verdicts)] * 4, n_bootstrap=1000)
    assert low4 < mean < high4 and high4 - low4 < high - low  # independent sets: the mean is steadier
    assert average_f1_ci95([(labels, verdicts)], n_bootstrap=0) == []
