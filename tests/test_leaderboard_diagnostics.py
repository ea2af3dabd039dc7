"""The leaderboard's diagnostic tables and reliability plots, from runs whose files carry them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from cgbench.harness.calibration import calibration_table
from cgbench.leaderboard import build_leaderboard

RESULTS = Path(__file__).parent / "fixtures" / "results"


def _predictions(lang: str, shift: float) -> list[dict]:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = 1 / (1 + np.exp(-(3 * (labels - 0.5) + rng.normal(0, 1, 200) + shift)))
    return [
        {
            "benchmark": "toxicchat",
            "lang": lang,
            "idx": i,
            "label": int(y),
            "pred": int(s >= 0.5),
            "score": float(s),
            "violations": [],
            "output": "",
        }
        for i, (y, s) in enumerate(zip(labels, scores))
    ]


GAP = {"native": "hi", "n": 50, "f1_native": 0.8, "f1_romanized": 0.6, "f1_diff": -0.2, "agreement": 0.7,
       "loophole_rate": 0.25}  # fmt: skip


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    results = Path(shutil.copytree(RESULTS, tmp_path_factory.mktemp("r") / "results"))
    calibration = calibration_table(_predictions("en", 0.0) + _predictions("hi", -1.5))
    for run_dir in (results / "alpha-guard").iterdir():
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        metrics["calibration"] = calibration
        metrics["category_consistency"] = {
            "toxicchat": {"hi": {"n": 40, "same_set": 0.25, "mean_jaccard": 0.5, "n_set": 0, "set_agreement": None}}
        }
        (run_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
        if run_dir.name == "20250601T100000Z":  # the older run, not the one the ranking shows
            metrics["script_gaps"] = {"toxicchat": {"hi-Latn": GAP}}
            (run_dir / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
        info = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
        info["split_seconds"] = {"toxicchat/en": {"n": 500, "seconds": 2.0}, "toxicchat/hi": {"n": 250, "seconds": 3.0}}
        (run_dir / "run.json").write_text(json.dumps(info), encoding="utf-8")
    out = tmp_path_factory.mktemp("board")
    return build_leaderboard(results, out), out, calibration


def test_threshold_transfer_table_follows_from_the_metrics(board):
    _, out, calibration = board
    readme = (out / "README.md").read_text(encoding="utf-8")
    hi = calibration["toxicchat"]["by_lang"]["hi"]
    section = _section(readme, "### Threshold transfer and calibration")
    row = next(line for line in section if line.startswith("| alpha-guard | TC | hi |"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[3:7] == [f"{100 * hi[k]:.1f}" for k in ("ece", "f1_at_05", "f1_at_en", "f1_crossfit")]
    assert cells[8] == f"{calibration['toxicchat']['en_threshold']:.3f}"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<h2 id="threshold-transfer">' in page and '<h2 id="category-consistency">' in page


def test_one_reliability_plot_per_guard_with_scores(board):
    result, out, _ = board
    plots = sorted(p.name for p in (out / "plots").glob("reliability_*"))
    assert plots == ["reliability_alpha-guard.png", "reliability_alpha-guard.svg"]
    assert out / "plots" / "reliability_alpha-guard.svg" in result.files
    assert 'src="plots/reliability_alpha-guard.svg"' in (out / "index.html").read_text(encoding="utf-8")
    svg = (out / "plots" / "reliability_alpha-guard.svg").read_text(encoding="utf-8")
    assert 'id="reliability-toxicchat-hi"' in svg and 'id="reliability-toxicchat-en"' in svg


def test_category_consistency_and_seconds_per_thousand_items(board):
    _, out, _ = board
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "| alpha-guard | TC | hi | 40 | 25.0 | 50.0 |" in readme
    section = _section(readme, "### Measured seconds per 1,000 items")
    assert section[4] == "| guard | backend | en | hi |"
    assert section[6].startswith("| alpha-guard | ") and section[6].endswith(" | 4.0 | 12.0 |")  # 2 s/500, 3 s/250


def _section(readme: str, heading: str) -> list[str]:
    lines = readme.splitlines()
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return lines[start:end]


def test_native_vs_romanized_lists_every_run_with_a_romanized_split(board):
    _, out, _ = board
    section = _section((out / "README.md").read_text(encoding="utf-8"), "### Native vs romanized script")
    assert "| alpha-guard | 20250601T100000Z | TC | hi-Latn | 50 | 80.0 | 60.0 | -20.0 | 70.0 | 25.0 |" in section
