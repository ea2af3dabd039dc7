"""The headline, the reference guards, the tiers and ``cgbench compare``, checked against scikit-learn and scipy
on constructed runs whose answer is known (one language missing items, parse failures, a one-class set)."""

from __future__ import annotations

import json
from statistics import fmean

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from cgbench.cli import app
from cgbench.harness.consistency import benchmark_consistency
from cgbench.harness.headline import headline, paired_difference, resample_runs, run_items
from cgbench.harness.ranking import reference_predictions, tiers
from cgbench.harness.resample import resampled_sums
from cgbench.harness.scoring import write_predictions

SETS = {"mixed_a": (300, 0.35), "mixed_b": (200, 0.2), "all_bad": (50, 1.0)}  # made-up sets: items, unsafe share
LANGS = ("en", "fr", "ja")


def _run(accuracy: float, seed: int, fail: float = 0.02, langs=LANGS) -> list[dict]:
    """Predictions of a guard right on ``accuracy`` of items; Japanese lacks every fifth item of mixed_a."""
    rng = np.random.default_rng(seed)
    labels = {name: (np.random.default_rng(7).random(n) < share).astype(int) for name, (n, share) in SETS.items()}
    out = []
    for benchmark, y in labels.items():
        for lang in langs:
            for idx, label in enumerate(y):
                if benchmark == "mixed_a" and lang == "ja" and idx % 5 == 0:
                    continue
                pred = int(label) if rng.random() < accuracy else 1 - int(label)
                out.append(
                    {"benchmark": benchmark, "lang": lang, "idx": idx, "label": int(label),
                     "pred": None if rng.random() < fail else pred, "score": None, "violations": [], "output": ""}
                )  # fmt: skip
    return out


def _sklearn_headline(predictions: list[dict]) -> tuple[float, dict[str, float]]:
    by_split: dict[tuple[str, str], list[dict]] = {}
    for p in predictions:
        by_split.setdefault((p["benchmark"], p["lang"]), []).append(p)
    macro: dict[str, list[float]] = {}
    recall: dict[str, list[float]] = {}
    for (benchmark, _), preds in by_split.items():
        y = [p["label"] for p in preds]
        v = [1 - p["label"] if p["pred"] is None else p["pred"] for p in preds]  # unparsed: the wrong answer
        if benchmark == "all_bad":
            recall.setdefault(benchmark, []).append(float(np.mean(v)))
        else:
            macro.setdefault(benchmark, []).append(f1_score(y, v, average="macro", labels=[0, 1], zero_division=0))
    return fmean(fmean(v) for v in macro.values()), {b: fmean(v) for b, v in recall.items()}


def test_headline_is_sklearn_macro_f1_over_the_two_class_sets():
    predictions = _run(0.8, seed=1)
    block = headline(predictions, n_bootstrap=500)
    expected, recall = _sklearn_headline(predictions)
    assert block["macro_f1"] == pytest.approx(expected, abs=1e-12)
    assert set(block["sets"]) == {"mixed_a", "mixed_b"}  # the one-class set stays out
    assert block["one_class"]["all_bad"]["recall"] == pytest.approx(recall["all_bad"])
    assert block["one_class"]["all_bad"]["fnr"] == pytest.approx(1 - recall["all_bad"])
    low, high = block["macro_f1_ci95"]
    assert low < block["macro_f1"] < high and high - low < 0.1


def test_a_constant_guard_cannot_win_the_headline_or_consistency():
    guard = _run(0.75, seed=2)
    items = run_items(guard)
    flag_all = reference_predictions(items, "always-unsafe")
    assert {p["pred"] for p in flag_all} == {1}
    assert headline(flag_all, n_bootstrap=0)["macro_f1"] < headline(guard, n_bootstrap=0)["macro_f1"]
    assert headline(flag_all, n_bootstrap=0)["one_class"]["all_bad"]["recall"] == 1.0  # it wins only apart
    mixed = [p for p in flag_all if p["benchmark"] == "mixed_b"]
    consistency = benchmark_consistency(mixed)
    assert consistency["all_agree"] == 1.0 and consistency["fleiss_kappa"] is None
    unsafe_share = np.mean([p["label"] for p in mixed if p["lang"] == "en"])
    assert consistency["all_correct"] == pytest.approx(unsafe_share)
    assert consistency["all_correct_balanced"] == 0.5  # all of the unsafe items, none of the safe ones
    assert consistency["all_agree_en_right"] == 1.0 and consistency["n_en_right"] == int(unsafe_share * 200)
    coin = reference_predictions(items, "coin")
    assert coin == reference_predictions(items, "coin")  # a fixed seed: the same rows every time
    shares = np.mean([p["pred"] for p in coin if p["benchmark"] == "mixed_a"])
    assert shares == pytest.approx(0.35, abs=0.05)


def test_resampled_sums_row_zero_is_observed_and_each_draw_has_n_items():
    columns = np.stack([np.ones(50), np.arange(50) % 3 == 0], axis=1)
    sums = resampled_sums(columns, 300, seed=4)
    assert sums[0].tolist() == [50, 17] and (sums[1:, 0] == 50).all() and sums.shape == (301, 2)


def test_paired_headline_difference_matches_scipy():
    """One two-class split: the paired difference of macro-F1 against scipy's paired percentile bootstrap."""
    a, b = _run(0.85, seed=3, langs=("en",)), _run(0.7, seed=4, langs=("en",))
    a = [p for p in a if p["benchmark"] == "mixed_a"]
    b = [p for p in b if p["benchmark"] == "mixed_a"]
    resampled = resample_runs([run_items(a), run_items(b)], n_bootstrap=4000)
    difference = paired_difference(resampled, 0, 1)
    y = np.array([p["label"] for p in a])
    va = np.array([1 - p["label"] if p["pred"] is None else p["pred"] for p in a])
    vb = np.array([1 - p["label"] if p["pred"] is None else p["pred"] for p in b])

    def macro(labels, preds):
        return f1_score(labels, preds, average="macro", labels=[0, 1], zero_division=0)

    assert difference.diff == pytest.approx(macro(y, va) - macro(y, vb))
    def vectorised_macro(labels, preds):  # macro-F1 along the last axis, written out for scipy's resamples
        f1 = []
        for positive in (1, 0):
            tp = np.sum((labels == positive) & (preds == positive), axis=-1)
            wrong = np.sum(labels != preds, axis=-1)
            f1.append(2 * tp / (2 * tp + wrong))
        return (f1[0] + f1[1]) / 2

    assert vectorised_macro(y, va) == pytest.approx(macro(y, va))
    reference = stats.bootstrap(
        (y, va, vb), lambda y, a, b, axis=-1: vectorised_macro(y, a) - vectorised_macro(y, b), paired=True,
        vectorized=True, n_resamples=4000, method="percentile", rng=3,
    ).confidence_interval  # fmt: skip
    assert difference.ci95[0] == pytest.approx(reference.low, abs=0.015)
    assert difference.ci95[1] == pytest.approx(reference.high, abs=0.015)
    assert difference.p < 0.001
    same = paired_difference(resample_runs([run_items(a), run_items(a)], 500), 0, 1)
    assert same.diff == 0 and same.ci95 == [0.0, 0.0] and same.p == 1.0


def test_tiers_group_guards_that_are_not_significantly_different():
    runs = [_run(0.86, seed=10), _run(0.855, seed=11), _run(0.7, seed=12), _run(0.69, seed=13)]
    resampled = resample_runs([run_items(r) for r in runs], n_bootstrap=1000)
    headlines = [float(resampled.headline(i)[0]) for i in range(4)]
    standings = sorted(tiers(resampled, headlines), key=lambda s: s.rank)
    assert [s.tier for s in standings] == [1, 1, 2, 2]
    assert [s.rank for s in standings] == [1, 2, 3, 4]
    leader = standings[0].index
    third = standings[2]
    assert third.vs_leader.diff == pytest.approx(headlines[third.index] - headlines[leader])
    assert third.vs_leader.p < 0.05 and standings[1].vs_leader.p > 0.05
    assert third.vs_above.diff == pytest.approx(headlines[third.index] - headlines[standings[1].index])


def _folder(root, name, predictions):
    folder = root / name / "r1"
    write_predictions(folder / "predictions.jsonl", predictions)
    (folder / "run.json").write_text(json.dumps({"guard": name, "run_id": "r1"}))
    return folder


def test_compare_prints_split_and_headline_differences(tmp_path):
    a = _folder(tmp_path, "good", _run(0.85, seed=20))
    b = _folder(tmp_path, "weak", _run(0.7, seed=21, langs=("en", "fr")))  # a run missing a language
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--n-bootstrap", "500"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    headline_line = next(line for line in lines if line.strip().startswith("headline"))
    assert "<0.002" in headline_line  # no draw crosses 0 out of 500: p < 1/(B+1)
    assert any(line.strip().startswith("all_bad/fr †") for line in lines)
    assert "only in good/r1 (not compared): all_bad/ja, mixed_a/ja, mixed_b/ja" in result.output
    missing = CliRunner().invoke(app, ["compare", str(a), str(tmp_path)])
    assert missing.exit_code == 2 and "no predictions.jsonl" in missing.output
