"""The one bootstrap every interval and test uses: items resampled with replacement, drawn as counts.

A resample of n items drawn with replacement gives each item a count (how often it was drawn). Every metric
here is a function of sums of per-item indicators (true positives, false positives, ...), so a resample's
metric only needs ``counts @ indicators``: one matrix product per block of resamples, whatever the number of
metrics or guards. Row 0 of every result is the observed data (each item counted once); rows 1..B are the
resamples.
"""

from __future__ import annotations

import numpy as np

N_BOOTSTRAP = 10_000  # draws of every published interval and p-value
ALPHA = 0.05
_BLOCK = 500  # resamples drawn at once: bounds the memory to _BLOCK x n counts


def resampled_sums(indicators: np.ndarray, n_bootstrap: int, seed: int = 0) -> np.ndarray:
    """((1 + B) x k) sums of the k indicator columns of an (n x k) array: row 0 over the items as observed,
    then one row per resample of the n items drawn with replacement."""
    indicators = np.asarray(indicators, dtype=np.float64)
    n = indicators.shape[0]
    out = np.empty((1 + n_bootstrap, indicators.shape[1]))
    out[0] = indicators.sum(axis=0)
    if n == 0:
        out[1:] = 0.0
        return out
    rng = np.random.default_rng(seed)
    for start in range(0, n_bootstrap, _BLOCK):
        size = min(_BLOCK, n_bootstrap - start)
        draws = rng.integers(0, n, size=(size, n))
        flat = (draws + n * np.arange(size)[:, None]).ravel()
        counts = np.bincount(flat, minlength=size * n).reshape(size, n).astype(np.float64)
        out[1 + start : 1 + start + size] = counts @ indicators
    return out


def f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 from counts (arrays allowed); 0 where there is no positive in gold or prediction, as scikit-learn."""
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros(np.shape(tp)), where=denominator > 0)


def macro_f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> np.ndarray:
    """Mean of the unsafe-class and the safe-class F1 (scikit-learn's ``average="macro"``, ``zero_division=0``)."""
    return (f1_from_counts(tp, fp, fn) + f1_from_counts(tn, fn, fp)) / 2


def rate(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0."""
    return np.divide(numerator, denominator, out=np.zeros(np.shape(numerator)), where=denominator > 0)


def percentile_ci(values: np.ndarray) -> list[float]:
    """The percentile 95% interval of bootstrap values."""
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]


def bootstrap_test(differences: np.ndarray) -> tuple[float, bool]:
    """Two-sided bootstrap p-value of "no difference" and whether it is a bound.

    Twice the smaller share of resamples on either side of 0, each tail counted as (k + 1) / (B + 1). When no
    resample reaches 0 the data only say p < 1 / (B + 1): that bound is returned with True."""
    n = len(differences)
    tail = min(int(np.sum(differences <= 0)), int(np.sum(differences >= 0)))
    if tail == 0:
        return 1 / (n + 1), True
    return min(1.0, 2 * (tail + 1) / (n + 1)), False
