"""Data files are trusted by their sha256, not their size: a same-size edit is caught by loading, validation and
``--resume``; a deliberately changed mirror can be allowed, and the run records it."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from conftest import replace_file
from typer.testing import CliRunner

from cgbench.benchmarks import DataError, load_split, sources
from cgbench.benchmarks.loading import _load
from cgbench.cli import app
from cgbench.harness import runner
from cgbench.harness.runner import RunOptions, run
from cgbench.models.backends.base import Completion

FR_SST = "consistentguard/benchmark_fr/0_0_SimpleSafetyTests.json"
PINNED = sources.release_file("fr", "simple_safety_tests").sha256


def _same_size_edit(mirror_copy: Path, mirror: Path, in_place: bool = False) -> Path:
    """Change one letter of one French prompt: same size, still valid JSON, labels untouched."""
    text = (mirror / FR_SST).read_text(encoding="utf-8")
    at = text.index("e", text.index('"input"') + 20)
    edited = text[:at] + "a" + text[at + 1 :]
    if in_place:  # as an editor that rewrites the file keeps its inode
        (mirror_copy / FR_SST).write_text(edited, encoding="utf-8")
        return mirror_copy / FR_SST
    return replace_file(mirror_copy, FR_SST, edited)


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


def test_digests_are_cached_but_an_edit_restoring_size_and_mtime_is_caught(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"a" * 100)
    first = sources.sha256_of(path)
    cache = json.loads((sources.cache_dir() / sources.DIGESTS_FILE).read_text())
    cache[str(path.resolve())]["sha256"] = "remembered"
    (sources.cache_dir() / sources.DIGESTS_FILE).write_text(json.dumps(cache))
    assert sources.sha256_of(path) == "remembered"  # an unchanged file is not read again
    stamp = path.stat().st_mtime_ns
    time.sleep(0.05)  # past the kernel's coarse timestamp tick, as any later edit is
    path.write_bytes(b"b" * 100)
    os.utime(path, ns=(stamp, stamp))  # `touch -r`: same size, same mtime, but a new ctime
    assert sources.sha256_of(path) == hashlib.sha256(b"b" * 100).hexdigest()
    (sources.cache_dir() / sources.DIGESTS_FILE).write_text("{broken")  # a damaged cache is only slower
    assert sources.sha256_of(path) == hashlib.sha256(b"b" * 100).hexdigest() != first


def test_data_show_refuses_a_same_size_edit_with_its_mtime_restored(mirror_copy, mirror):
    path = replace_file(mirror_copy, FR_SST, (mirror / FR_SST).read_bytes())
    assert load_split("simple_safety_tests", "fr", mirror_copy)  # pinned; its digest is now remembered
    stamp = path.stat().st_mtime_ns
    time.sleep(0.05)
    _same_size_edit(mirror_copy, mirror, in_place=True)
    os.utime(path, ns=(stamp, stamp))
    _load.cache_clear()
    result = CliRunner().invoke(app, ["data", "show", "simple_safety_tests", "fr", "--data-dir", str(mirror_copy)])
    assert result.exit_code == 2 and f"expected {PINNED}" in result.output and "Traceback" not in result.output


def test_run_hashes_every_file_it_reads_whatever_the_digest_cache_says(mirror_copy, mirror, tmp_path, monkeypatch):
    """A digest cache that vouches for an edited file (a stamp collision, a planted entry) does not fool `run`."""
    path = _same_size_edit(mirror_copy, mirror)
    stat = path.stat()
    planted = {"stamp": [stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns], "sha256": PINNED}
    (sources.cache_dir() / sources.DIGESTS_FILE).parent.mkdir(parents=True, exist_ok=True)
    (sources.cache_dir() / sources.DIGESTS_FILE).write_text(json.dumps({str(path.resolve()): planted}))
    assert load_split("simple_safety_tests", "fr", mirror_copy)  # outside a run, the cache is trusted
    monkeypatch.setattr(runner, "_build_backend", lambda *args: Safe())
    options = RunOptions(guard="instruct", model="m", backend="hf", sets=["simple_safety_tests"], langs=["fr"])
    options.limit, options.results_dir, options.data_dir = 1, tmp_path, mirror_copy
    with pytest.raises(DataError, match=f"{FR_SST}: sha256 .*, expected {PINNED}"):
        run(options, show_tables=False)


class KilledAfter:
    """Answers "safe" to ``calls`` batches, then dies as a killed process would (nothing more is written)."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def complete(self, prompts, *, max_new_tokens, score_tokens=None, stop=None):
        if self.calls == 0:
            raise KeyboardInterrupt
        self.calls -= 1
        return [Completion("safe", None) for _ in prompts]


def test_a_resume_on_other_data_is_refused_naming_the_file_or_recorded_when_allowed(
    mirror_copy, mirror, tmp_path, monkeypatch
):
    original = (mirror / FR_SST).read_bytes()
    _same_size_edit(mirror_copy, mirror)
    monkeypatch.setenv(sources.ALLOW_CHANGED_ENV, "1")
    monkeypatch.setattr(runner, "_build_backend", lambda *args: KilledAfter(1))
    options = RunOptions(guard="instruct", model="m", backend="hf", sets=["simple_safety_tests"], langs=["fr"])
    options.limit, options.batch_size, options.run_id, options.results_dir = 3, 1, "r", tmp_path
    options.data_dir = mirror_copy
    with pytest.raises(KeyboardInterrupt):
        run(options, show_tables=False)  # session 1, on the changed file, killed after one item
    killed = json.loads((tmp_path / "instruct" / "r" / "run.json").read_text())
    assert killed["status"] == "running" and [set(s) >= {"started", "data_checksums"} for s in killed["sessions"]] == [
        True
    ]
    assert "n_run" not in killed["sessions"][0] and killed["data_pinned"] is False

    replace_file(mirror_copy, FR_SST, original)  # session 2 on the pinned file
    monkeypatch.delenv(sources.ALLOW_CHANGED_ENV)
    monkeypatch.setattr(runner, "_build_backend", lambda *args: Safe())
    options.resume = True
    with pytest.raises(runner.RunError, match=f"was run on {FR_SST} with sha256 .*, but that file now has sha256 "):
        run(options, show_tables=False)
    monkeypatch.setenv(sources.ALLOW_CHANGED_ENV, "1")
    info = json.loads((run(options, show_tables=False) / "run.json").read_text())
    first, second = info["sessions"]
    assert first["data_checksums"][FR_SST] != PINNED and second["data_checksums"][FR_SST] == PINNED
    assert first["data_pinned"] is False and second["data_pinned"] is True and second["n_run"] == 2
    assert info["data_pinned"] is False and info["data_changed"] == {FR_SST: PINNED} and info["allow_changed_data"]
