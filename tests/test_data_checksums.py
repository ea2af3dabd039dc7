"""Data files are trusted by their sha256, not their size: a same-size edit is caught by loading, validation and
``--resume``; a deliberately changed mirror can be allowed, and the run records it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import replace_file
from typer.testing import CliRunner

from cgbench.benchmarks import DataError, load_split, sources
from cgbench.cli import app
from cgbench.harness import runner
from cgbench.harness.runner import RunOptions, run
from cgbench.models.backends.base import Completion

FR_SST = "consistentguard/benchmark_fr/0_0_SimpleSafetyTests.json"
PINNED = sources.release_file("fr", "simple_safety_tests").sha256


def _same_size_edit(mirror_copy: Path, mirror: Path) -> Path:
    """Change one letter of one French prompt: same size, still valid JSON, labels untouched."""
    text = (mirror / FR_SST).read_text(encoding="utf-8")
    at = text.index("e", text.index('"input"') + 20)
    return replace_file(mirror_copy, FR_SST, text[:at] + "a" + text[at + 1 :])


class Safe:
    def complete(self, prompts, *, max_new_tokens, score_tokens=None, stop=None):
        return [Completion("safe", None) for _ in prompts]


def test_a_same_size_edit_fails_loading_and_validation_naming_both_digests(mirror_copy, mirror):
    path = _same_size_edit(mirror_copy, mirror)
    assert path.stat().st_size == (mirror / FR_SST).stat().st_size
    actual = sources.sha256_of(path)
    with pytest.raises(DataError, match=rf"{FR_SST}: sha256 {actual}, expected {PINNED}"):
        load_split("simple_safety_tests", "fr", mirror_copy)
    result = CliRunner().invoke(app, ["data", "validate", "--data-dir", str(mirror_copy)])
    assert result.exit_code == 1 and f"sha256 {actual}, expected {PINNED}" in result.output


def test_resume_on_changed_data_fails_before_the_model_unless_allowed(mirror_copy, mirror, tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_build_backend", lambda *args: Safe())
    options = RunOptions(guard="instruct", model="m", backend="hf", sets=["simple_safety_tests"], langs=["fr"])
    options.limit, options.run_id, options.results_dir, options.data_dir = 2, "r", tmp_path, mirror_copy
    run(options, show_tables=False)
    _same_size_edit(mirror_copy, mirror)

    def no_model(*args):
        raise AssertionError("the model was built before the data was checked")

    monkeypatch.setattr(runner, "_build_backend", no_model)
    options.resume = True
    with pytest.raises(DataError, match=f"sha256 .*, expected {PINNED}.*--allow-changed-data"):
        run(options, show_tables=False)

    monkeypatch.setattr(runner, "_build_backend", lambda *args: Safe())
    monkeypatch.setenv(sources.ALLOW_CHANGED_ENV, "1")
    run_dir = run(options, show_tables=False)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["data_pinned"] is False and info["data_changed"] == {FR_SST: PINNED}
    assert info["data_checksums"][FR_SST] != PINNED


def test_a_pinned_run_records_pinned_data(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_build_backend", lambda *args: Safe())
    options = RunOptions(guard="instruct", model="m", backend="hf", sets=["toxicchat"], langs=["ja"], limit=1)
    info = json.loads((run(RunOptions(**{**vars(options), "results_dir": tmp_path})) / "run.json").read_text())
    assert info["data_pinned"] is True and info["data_changed"] == {}


def test_digests_are_cached_by_path_size_and_mtime(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 100)
    first = sources.sha256_of(path)
    stamp = path.stat().st_mtime_ns
    path.write_bytes(b"b" * 100)
    os.utime(path, ns=(stamp, stamp))  # same size, same mtime: the remembered digest is used, the file not read
    assert sources.sha256_of(path) == first
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
    assert sources.sha256_of(path) != first
    (sources.cache_dir() / sources.DIGESTS_FILE).write_text("{broken")  # a damaged cache is only slower
    assert sources.sha256_of(path) != first
