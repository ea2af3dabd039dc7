"""A run that covers only part of the suite is never ranked as a full one; lm-eval imports say what they covered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cgbench.harness.lmeval_import import guard_name, import_lmeval
from cgbench.leaderboard import build_leaderboard, load_runs

RESULTS = Path(__file__).parent / "fixtures" / "results"
RUN = "beta-guard/run-a"


@pytest.fixture
def results_copy(tmp_path) -> Path:
    return Path(shutil.copytree(RESULTS, tmp_path / "results"))


def _edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def _skip_reason(results: Path, run: str) -> str | None:
    runs, skipped = load_runs(results)
    assert all(r.folder != results / run for r in runs) or not any(s.folder == results / run for s in skipped)
    return next((s.reason for s in skipped if s.folder == results / run), None)


def test_a_full_run_is_loaded():
    assert _skip_reason(RESULTS, RUN) is None


def test_a_run_still_running_is_left_out_with_a_warning(results_copy):
    _edit_json(results_copy / RUN / "run.json", lambda info: info.update(status="running"))
    assert "partial run: run.json status is 'running'" in _skip_reason(results_copy, RUN)


def test_a_run_missing_items_of_a_split_is_left_out_and_named(results_copy, tmp_path):
    _edit_json(results_copy / RUN / "run.json", lambda info: info.update(limit=50))
    _edit_json(results_copy / RUN / "metrics.json", lambda m: m["splits"]["toxicchat/ja"].update(n=50))
    reason = _skip_reason(results_copy, RUN)
    assert reason == "partial run (run with limit 50): toxicchat/ja n=50 of 2853"
    board = build_leaderboard(results_copy, tmp_path / "out")
    assert "beta-guard" not in (tmp_path / "out" / "leaderboard.csv").read_text(encoding="utf-8")
    assert any("beta-guard/run-a: partial run" in str(s) for s in board.skipped)


def _lmeval_output(root: Path, model: str, n: int, limit: int | None) -> Path:
    folder = root / model.replace("/", "__")
    folder.mkdir(parents=True)
    stamp = "2026-01-02T03-04-05.678901"
    results = {
        "config": {"model": "hf", "model_args": f"pretrained={model}", "limit": limit},
        "n-samples": {"cg_simple_safety_tests_en": {"original": 100, "effective": n}},
        "date": 0,
    }
    (folder / f"results_{stamp}.json").write_text(json.dumps(results))
    doc = {"benchmark": "simple_safety_tests", "lang": "en", "label": 1, "text": "t", "prompt": "t",
           "prompt_format": "llama_guard", "format_options": "{}"}  # fmt: skip
    lines = [json.dumps({"doc": {**doc, "idx": i}, "resps": [["unsafe\nS1"]]}) for i in range(n)]
    (folder / f"samples_cg_simple_safety_tests_en_{stamp}.jsonl").write_text("\n".join(lines) + "\n")
    return root


def test_an_lmeval_import_records_its_limit_and_sample_count(tmp_path):
    predictions, info = import_lmeval(_lmeval_output(tmp_path, "meta-llama/Llama-Guard-3-1B", 7, 7))
    assert (len(predictions), info["limit"], info["n_samples"]) == (7, 7, 7)
    assert info["guard"] == "llama-guard-3-1b"


@pytest.mark.parametrize(
    ("model", "guard"),
    [
        ("meta-llama/Llama-Guard-3-8B", "llama-guard-3-8b"),
        ("/models/llama-guard-3-8b", "llama-guard-3-8b"),
        ("google/shieldgemma-2b", "shieldgemma-2b"),
        ("org/my-own-model", "my-own-model"),
    ],
)
def test_imported_guard_names_map_onto_the_registry(model, guard):
    assert guard_name(model) == guard
