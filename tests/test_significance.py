"""The paired tests of a language against English, checked against scipy and statsmodels (or a direct
computation written here) on constructed data whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from cgbench.harness.categories import wilson_ci95
from cgbench.harness.resample import bootstrap_test
from cgbench.harness.significance import (
    adjust_family,
    average_f1_ci95,
    bootstrap_p,
    holm,
    language_gaps,
    mcnemar_exact,
    paired_f1_difference,
)
from cgbench.leaderboard.formats import p_bound_text


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


def test_bootstrap_p_counts_both_tails_and_is_a_bound_when_no_draw_crosses():
    assert bootstrap_p(np.array([-1.0] * 99 + [1.0])) == pytest.approx(2 * 2 / 101)
    assert bootstrap_p(np.array([0.0] * 10)) == 1.0
    assert bootstrap_test(np.array([-1.0] * 10_000)) == (pytest.approx(1 / 10_001), True)
    assert p_bound_text(1 / 10_001, True) == "<0.0001"


def _items(labels: np.ndarray, preds: np.ndarray, keep: np.ndarray | None = None) -> dict[int, tuple[int, int | None]]:
    keep = np.ones(len(labels), dtype=bool) if keep is None else keep
    return {i: (int(labels[i]), None if preds[i] < 0 else int(preds[i])) for i in np.flatnonzero(keep)}


def test_gaps_pair_each_language_with_english_on_the_items_both_have():
    """ja lacks half the items: fr is still tested on every item, ja on the ones it shares with English, and
    each interval matches scipy's paired percentile bootstrap on exactly those pairs."""
    y, en, other = _constructed(n=500)
    weak = other.copy()
    weak[5] = -1  # a parse failure counts as a wrong answer
    half = np.arange(len(y)) % 2 == 0
    gaps = language_gaps(
        {"en": _items(y, en), "fr": _items(y, en), "ja": _items(y, weak, keep=half)}, n_bootstrap=10_000
    )
    assert gaps["fr"]["n"] == 500 and gaps["ja"]["n"] == 250 and gaps["ja"]["n_bootstrap"] == 10_000
    shared = np.flatnonzero(half)
    effective = np.where(weak < 0, 1 - y, weak)
    assert gaps["ja"]["f1_diff"] == pytest.approx(_f1(y[shared], effective[shared]) - _f1(y[shared], en[shared]))

    def statistic(labels, a, b, axis=-1):
        return np.array([_f1(*row[:2]) - _f1(row[0], row[2]) for row in zip(labels, a, b)])

    reference = stats.bootstrap(
        (y[shared], effective[shared], en[shared]),
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=4000,
        method="percentile",
        rng=7,
    ).confidence_interval
    low, high = gaps["ja"]["f1_diff_ci95"]
    assert low == pytest.approx(reference.low, abs=0.015) and high == pytest.approx(reference.high, abs=0.015)
    right_ja, right_en = effective[shared] == y[shared], en[shared] == y[shared]
    assert gaps["ja"]["only_lang_right"] == int(np.sum(right_ja & ~right_en))
    table = [
        [int(np.sum(right_ja & right_en)), gaps["ja"]["only_lang_right"]],
        [gaps["ja"]["only_ref_right"], int(np.sum(~right_ja & ~right_en))],
    ]
    assert gaps["ja"]["mcnemar_p"] == pytest.approx(mcnemar(table, exact=True).pvalue)
    assert gaps["ja"]["decision"] == "bootstrap" and gaps["ja"]["direction"] == -1
    assert gaps["ja"]["f1_diff_p_bound"] and gaps["ja"]["f1_diff_p"] == pytest.approx(1 / 10_001)
    assert gaps["fr"]["f1_diff"] == 0 and gaps["fr"]["mcnemar_p"] == 1.0
    assert language_gaps({"fr": _items(y, en), "de": _items(y, en)}) == {}  # no English, no gaps


def test_one_holm_family_per_guard_and_mcnemar_decides_on_all_unsafe_sets():
    y, en, other = _constructed(n=400)
    unsafe = np.ones(60, dtype=np.int8)
    sst_en = np.ones(60, dtype=np.int8)
    sst_hi = sst_en.copy()
    sst_hi[:7] = 0  # seven more misses: recall 88% against 100%
    gaps = {
        "tc": language_gaps({"en": _items(y, en), "fr": _items(y, other), "ja": _items(y, en)}, n_bootstrap=2000),
        "sst": language_gaps({"en": _items(unsafe, sst_en), "hi": _items(unsafe, sst_hi)}, n_bootstrap=2000),
    }
    adjust_family(gaps)
    every = [gaps["tc"]["fr"], gaps["tc"]["ja"], gaps["sst"]["hi"]]
    assert gaps["sst"]["hi"]["decision"] == "mcnemar" and gaps["sst"]["hi"]["p"] == gaps["sst"]["hi"]["mcnemar_p"]
    assert gaps["sst"]["hi"]["mcnemar_p"] == pytest.approx(mcnemar([[53, 0], [7, 0]], exact=True).pvalue)
    decisions = [gap["p"] for gap in every]
    assert [gap["p_holm"] for gap in every] == pytest.approx(multipletests(decisions, method="holm")[1])
    raw = [gap["mcnemar_p"] for gap in every]
    assert [gap["mcnemar_p_holm"] for gap in every] == pytest.approx(multipletests(raw, method="holm")[1])
    assert [gap["significant"] for gap in every] == [p < 0.05 for p in multipletests(decisions, method="holm")[1]]
    assert gaps["tc"]["fr"]["significant"] and not gaps["tc"]["ja"]["significant"]


def test_wilson_interval_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    for hits, n in [(0, 20), (3, 20), (20, 20), (55, 160), (1, 1)]:
        low, high = proportion_confint(hits, n, alpha=0.05, method="wilson")
        assert wilson_ci95(hits, n) == pytest.approx([low, high], abs=1e-12)


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
