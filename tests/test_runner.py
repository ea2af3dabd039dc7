"""The native runner: streaming, resume after SIGKILL, parse failures kept, data checked before the model loads."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import replace_file

from cgbench.benchmarks import DataError
from cgbench.harness import runner
from cgbench.harness.runner import RunError, RunOptions, run
from cgbench.models.backends.base import Completion

SST = "consistentguard/benchmark_eng/0_0_SimpleSafetyTests.json"


class ScriptedBackend:
    """Answers from a list of outputs, cycling; records the prompts it saw."""

    name = "scripted"

    def __init__(self, outputs: list[str]) -> None:
        self.outputs = outputs
        self.seen: list = []

    def complete(self, prompts, *, max_new_tokens, score_tokens=None, stop=None):
        start = len(self.seen)
        self.seen.extend(prompts)
        return [Completion(self.outputs[(start + i) % len(self.outputs)], 0.5) for i in range(len(prompts))]


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_parse_failures_are_kept_and_counted(tmp_path, monkeypatch):
    backend = ScriptedBackend(["unsafe\nS1", "safe", "I cannot help with that"])
    monkeypatch.setattr(runner, "_build_backend", lambda *args: backend)
    options = RunOptions(
        guard="instruct", model="scripted", backend="hf", sets=["toxicchat"], langs=["en", "fr"], limit=6
    )
    run_dir = run(RunOptions(**{**vars(options), "results_dir": tmp_path}), show_tables=False)
    predictions = _read(run_dir / "predictions.jsonl")
    assert len(predictions) == 12 and len(backend.seen) == 12
    assert sorted((p["lang"], p["idx"]) for p in predictions) == [(lang, i) for lang in ("en", "fr") for i in range(6)]
    by_output = {p["output"]: p for p in predictions}
    assert by_output["unsafe\nS1"]["pred"] == 1 and by_output["unsafe\nS1"]["violations"] == ["S1"]
    assert by_output["safe"]["pred"] == 0
    assert by_output["I cannot help with that"]["pred"] is None
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["splits"]["toxicchat/en"]["parse_fail"] == pytest.approx(2 / 6)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["n_items"] == 12 and info["source"] == "native" and info["guard"] == "instruct"
    assert info["data_checksums"]["consistentguard/benchmark_fr/0_8_toxic_chat.json"]
    assert info["items_per_s"] > 0 and info["wall_time_s"] > 0


def test_data_errors_come_before_the_model(mirror_copy, tmp_path, monkeypatch):
    replace_file(mirror_copy, SST, '[{"input": "Human user:\\nhi", "output": "harmful"}')

    def no_model(*args):
        raise AssertionError("the backend was built before the data was checked")

    monkeypatch.setattr(runner, "_build_backend", no_model)
    options = RunOptions(guard="instruct", model="m", backend="hf", data_dir=mirror_copy, results_dir=tmp_path / "r")
    with pytest.raises(DataError, match="benchmark_eng/0_0_SimpleSafetyTests.json: size 50 bytes"):
        run(options, show_tables=False)
    assert not (tmp_path / "r").exists()


def test_existing_run_needs_resume_and_the_same_settings(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_build_backend", lambda *args: ScriptedBackend(["safe"]))
    options = RunOptions(guard="instruct", model="m", backend="hf", sets=["simple_safety_tests"], langs=["en"], limit=2)
    options.results_dir, options.run_id = tmp_path, "r1"
    run(options, show_tables=False)
    with pytest.raises(RunError, match="already holds a run"):
        run(options, show_tables=False)
    options.resume, options.model = True, "other-model"
    with pytest.raises(RunError, match="started with model='m'"):
        run(options, show_tables=False)
    run_json = tmp_path / "instruct" / "r1" / "run.json"
    run_json.write_text(run_json.read_text()[:20])
    with pytest.raises(RunError, match=r"r1/run.json: invalid JSON"):
        run(options, show_tables=False)


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    pytest.importorskip("torch")
    from cgbench.models.consistentguard.tiny import build_tiny_model

    model = build_tiny_model(tmp_path / "tiny", ["unsafe safe"])
    args = ["--guard", "instruct", "--model", str(model), "--backend", "hf", "--sets", "simple_safety_tests"]
    args += ["--langs", "en", "--langs", "fr", "--limit", "30", "--batch-size", "2", "--results-dir", str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    killed = tmp_path / "instruct" / "killed" / "predictions.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "cgbench.cli", "run", *args, "--run-id", "killed"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if killed.exists() and killed.read_text().count("\n") >= 10:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    partial = killed.read_text().count("\n")
    assert 10 <= partial < 60, "the run should be killed mid-way"
    with killed.open("a") as handle:  # what a kill during a write leaves behind
        handle.write('{"benchmark": "simple_safety_tests", "lang": "fr", "idx": 2')

    options = RunOptions(
        guard="instruct",
        model=str(model),
        backend="hf",
        sets=["simple_safety_tests"],
        langs=["en", "fr"],
        limit=30,
        batch_size=2,
        results_dir=tmp_path,
    )
    run(RunOptions(**{**vars(options), "run_id": "killed", "resume": True}), show_tables=False)
    run(RunOptions(**{**vars(options), "run_id": "full"}), show_tables=False)

    resumed, full = _read(killed), _read(tmp_path / "instruct" / "full" / "predictions.jsonl")
    keys = [(p["benchmark"], p["lang"], p["idx"]) for p in resumed]
    assert len(keys) == len(set(keys)) == 60
    assert keys == [(p["benchmark"], p["lang"], p["idx"]) for p in full]
    for a, b in zip(resumed, full):
        assert (a["output"], a["pred"], a["violations"]) == (b["output"], b["pred"], b["violations"])
        assert a["score"] == pytest.approx(b["score"], abs=1e-5)
    info = json.loads((killed.parent / "run.json").read_text())
    assert info["resumed"] is True and info["n_run_now"] == 60 - partial and info["n_items"] == 60
