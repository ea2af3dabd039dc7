"""The runner records measured seconds per split in run.json, and a resumed run adds to them."""

from __future__ import annotations

import json
import time

import pytest
from test_runner import ScriptedBackend

from cgbench.harness import runner
from cgbench.harness.runner import RunOptions, run
from cgbench.harness.split_timing import SplitClock


class SlowBackend(ScriptedBackend):
    """Takes 20 ms per prompt."""

    def complete(self, prompts, **kwargs):
        time.sleep(0.02 * len(prompts))
        return super().complete(prompts, **kwargs)


def test_run_json_records_seconds_per_split(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_build_backend", lambda *args: SlowBackend(["safe"]))
    base = dict(guard="instruct", model="m", backend="hf", sets=["toxicchat"], langs=["en", "fr"], results_dir=tmp_path)
    run_dir = run(RunOptions(**base, limit=3, run_id="r"), show_tables=False)
    timing = json.loads((run_dir / "run.json").read_text())["split_seconds"]
    assert set(timing) == {"toxicchat/en", "toxicchat/fr"}
    for cell in timing.values():
        assert cell["n"] == 3 and 0.06 <= cell["seconds"] < 5
    predictions = (run_dir / "predictions.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [line for line in predictions if not ('"fr"' in line and '"idx": 0,' in line)]
    assert len(kept) == 5
    (run_dir / "predictions.jsonl").write_text("".join(kept), encoding="utf-8")
    run(RunOptions(**base, limit=3, run_id="r", resume=True), show_tables=False)  # predicts fr item 0 again
    info = json.loads((run_dir / "run.json").read_text())
    assert info["split_seconds"]["toxicchat/fr"]["n"] == 4  # the first session's 3 items and the redone one
    assert info["split_seconds"]["toxicchat/fr"]["seconds"] >= 0.08
    assert info["split_seconds"]["toxicchat/en"]["n"] == 3
    assert info["shared_seconds"] >= 0


def test_clock_adds_to_earlier_sessions():
    clock = SplitClock({"toxicchat/en": {"n": 2, "seconds": 1.5}})
    clock.add("toxicchat", "en", 3, 0.25)
    clock.add("toxicchat", "fr", 1, 0.1234)
    assert clock.record() == {"toxicchat/en": {"n": 5, "seconds": 1.75}, "toxicchat/fr": {"n": 1, "seconds": 0.123}}
    assert pytest.approx(1.75) == clock.record()["toxicchat/en"]["seconds"]
