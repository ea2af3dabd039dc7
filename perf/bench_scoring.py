"""How fast the scorer is: the bootstrap F1 interval, and scoring every split of the real data.

    python perf/bench_scoring.py

Needs the data (``$CGBENCH_DATA_DIR`` or the download cache). Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import random
import time

import numpy as np
from sklearn.metrics import f1_score

from cgbench.benchmarks import BENCHMARKS, available_languages, load_split
from cgbench.harness.metrics import f1_ci95
from cgbench.harness.scoring import score_predictions


def _seconds(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_bootstrap(n: int = 3000, resamples: int = 1000) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    p = np.where(rng.random(n) < 0.8, y, 1 - y)
    counts = _seconds(lambda: f1_ci95(y, p, resamples))
    idx = rng.integers(0, n, size=(resamples, n))

    def by_items() -> None:
        yy, pp = y[idx], p[idx]
        tp = ((yy == 1) & (pp == 1)).sum(1)
        np.percentile(2 * tp / (2 * tp + ((yy == 0) & (pp == 1)).sum(1) + ((yy == 1) & (pp == 0)).sum(1)), [2.5, 97.5])

    items = _seconds(by_items)
    loop = _seconds(lambda: [f1_score(y[i], p[i]) for i in idx[:100]], repeat=1) * resamples / 100
    print(f"bootstrap F1 CI, {n} items x {resamples} resamples:")
    print(f"  cell counts (used)          {counts * 1e3:8.2f} ms")
    print(f"  numpy item resampling       {items * 1e3:8.2f} ms  ({items / counts:,.0f}x slower)")
    print(f"  scikit-learn loop           {loop * 1e3:8.0f} ms  ({loop / counts:,.0f}x slower)")


def bench_score_all() -> None:
    rng = random.Random(0)
    predictions = [
        {
            "benchmark": benchmark,
            "lang": lang,
            "idx": item.idx,
            "label": item.label,
            "pred": None if rng.random() < 0.02 else item.label if rng.random() < 0.8 else 1 - item.label,
            "score": rng.random(),
            "violations": [],
            "output": "",
        }
        for benchmark in BENCHMARKS
        for lang in available_languages()
        for item in load_split(benchmark, lang)
    ]
    seconds = _seconds(lambda: score_predictions(predictions), repeat=1)
    metrics = score_predictions(predictions)
    print(
        f"score_predictions: {len(predictions)} predictions, {len(metrics['splits'])} splits, "
        f"{len(metrics['consistency'])} consistency tables in {seconds:.2f} s "
        f"({len(predictions) / seconds:,.0f} predictions/s)"
    )


if __name__ == "__main__":
    bench_bootstrap()
    bench_score_all()
