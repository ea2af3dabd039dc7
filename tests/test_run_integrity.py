"""Run integrity: a run is never overwritten, mixed with another, shared by two processes or left short."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cgbench.cli import app
from cgbench.harness import rundir, runner
from cgbench.harness.runner import RunError, RunOptions, run
from cgbench.harness.scoring import ScoringError, score_path
from cgbench.models.backends.base import BackendError, Completion, mask_url


class Backend:
    """Answers "safe" to every prompt, or ``short`` fewer outputs than asked."""

    def __init__(self, short: int = 0) -> None:
        self.short = short
        self.calls = 0

    def complete(self, prompts, *, max_new_tokens, score_tokens=None, stop=None):
        self.calls += 1
        return [Completion("safe", 0.25) for _ in prompts[: len(prompts) - self.short]]


def _options(tmp_path: Path, **changes) -> RunOptions:
    base = dict(guard="instruct", model="m", backend="hf", sets=["toxicchat"], langs=["en", "fr"], limit=3)
    return RunOptions(**{**base, "results_dir": tmp_path, "run_id": "r1", **changes})


@pytest.fixture
def backend(monkeypatch) -> Backend:
    scripted = Backend()
    monkeypatch.setattr(runner, "_build_backend", lambda *args: scripted)
    return scripted


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _gzip_run(run_dir: Path) -> Path:
    """Leave the run as committed runs are: predictions.jsonl.gz only."""
    plain = run_dir / "predictions.jsonl"
    gz = run_dir / "predictions.jsonl.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    plain.unlink()
    return gz


# -- 1. never overwrite a run ------------------------------------------------------------------------------------


def test_a_compressed_run_is_a_run_and_is_never_overwritten(tmp_path, backend):
    run_dir = run(_options(tmp_path), show_tables=False)
    gz = _gzip_run(run_dir)
    before = gz.read_bytes()
    with pytest.raises(RunError, match="already holds a run: add --resume"):
        run(_options(tmp_path, limit=1), show_tables=False)
    assert gz.read_bytes() == before
    run(_options(tmp_path, resume=True), show_tables=False)  # same scope: nothing left to do, nothing lost
    assert len(_lines(run_dir / "predictions.jsonl")) == 6 and not gz.exists()


def test_an_old_run_without_a_scope_needs_force(tmp_path, backend):
    run_dir = run(_options(tmp_path), show_tables=False)
    info = json.loads((run_dir / "run.json").read_text())
    for name in ("sets", "langs", "limit", "format_options", "batch_size", "backend_options", "base_url"):
        info.pop(name)
    (run_dir / "run.json").write_text(json.dumps(info))
    with pytest.raises(RunError, match="does not record 'sets'"):
        run(_options(tmp_path, resume=True), show_tables=False)
    run(_options(tmp_path, resume=True, force=True), show_tables=False)
    assert json.loads((run_dir / "run.json").read_text())["sets"] == ["toxicchat"]


# -- 2. exactly one prediction per item --------------------------------------------------------------------------


def test_a_backend_that_drops_outputs_fails_naming_the_batch(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_build_backend", lambda *args: Backend(short=1))
    with pytest.raises(RunError, match=r"batch toxicchat/en items \[0, 1, 2\].*returned 2 outputs for 3 prompts"):
        run(_options(tmp_path), show_tables=False)


def test_a_probe_that_drops_scores_fails_naming_the_batch():
    from cgbench.benchmarks import load_split

    class Probe:
        def score(self, texts, *, lang, benchmark):
            return [0.9] * (len(texts) + 1)

    batch = load_split("toxicchat", "ja")[:4]
    with pytest.raises(RunError, match=r"batch toxicchat/ja .*returned 5 outputs for 4 items"):
        runner.predict_probe(Probe(), batch)


def test_the_run_checks_its_predictions_against_the_selected_items(tmp_path):
    from cgbench.benchmarks import load_split

    items = load_split("toxicchat", "en")[:3]
    predictions = [{"benchmark": "toxicchat", "lang": "en", "idx": i} for i in (0, 1, 7)]
    with pytest.raises(RunError, match=r"1 missing, first \[\('toxicchat', 'en', 2\)\]; 1 not selected"):
        runner._check_complete(predictions, items, tmp_path)


def test_resume_and_score_refuse_a_duplicate_by_one_rule(tmp_path, backend):
    run_dir = run(_options(tmp_path), show_tables=False)
    path = run_dir / "predictions.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines + [lines[2]]))
    with pytest.raises(ScoringError, match="toxicchat/en item 2 is predicted more than once") as scored:
        score_path(run_dir)
    with pytest.raises(ScoringError, match="toxicchat/en item 2 is predicted more than once") as resumed:
        run(_options(tmp_path, resume=True), show_tables=False)
    assert str(scored.value).split(": ")[-1] == str(resumed.value).split(": ")[-1]


# -- 6. bad arguments fail before any work -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"limit": 0}, "--limit must be at least 1, got 0"),
        ({"limit": -1}, "--limit must be at least 1, got -1"),
        ({"batch_size": 0}, "--batch-size must be at least 1"),
        ({"run_id": "../../x"}, "--run-id '../../x' is not a plain name"),
        ({"run_id": "a/b"}, "not a plain name"),
        ({"run_id": ".."}, "not a plain name"),
    ],
)
def test_bad_arguments_fail_before_the_data_and_the_model(tmp_path, monkeypatch, changes, message):
    def nothing(*args, **kwargs):
        raise AssertionError("work started before the arguments were checked")

    monkeypatch.setattr(runner, "_build_backend", nothing)
    monkeypatch.setattr(runner, "select_items", nothing)
    results = tmp_path / "results"
    with pytest.raises(RunError, match=message):
        run(_options(results, **changes), show_tables=False)
    assert not any(tmp_path.rglob("*.json*"))


def test_cli_limit_zero_is_one_clear_error(tmp_path):
    result = CliRunner().invoke(app, ["run", "--guard", "instruct", "--model", "m", "--limit", "0"])
    assert result.exit_code == 2 and "--limit must be at least 1, got 0" in result.output


def test_score_refuses_a_run_id_that_is_a_path(tmp_path):
    with pytest.raises(ScoringError, match="--run-id '../x' is not a plain name"):
        score_path(tmp_path, tmp_path / "results", run_id="../x")


def test_credentials_in_the_base_url_are_masked(tmp_path):
    from cgbench.models.backends.base import Prompt
    from cgbench.models.backends.openai import OpenAIBackend

    with pytest.raises(BackendError, match=r"'http://\*\*\*@127.0.0.1:9/v1' holds user:password@") as refused:
        OpenAIBackend("http://alice:s3cret@127.0.0.1:9/v1", "m")  # httpx would send it as Basic auth
    assert "s3cret" not in str(refused.value)
    server = OpenAIBackend("http://127.0.0.1:9/v1?api_key=k3y", "m", max_retries=0, timeout=2)
    assert "k3y" not in repr(server)
    with pytest.raises(BackendError) as failed:
        server.complete([Prompt(raw="hi")], max_new_tokens=1)
    message = str(failed.value)
    assert "k3y" not in message and "127.0.0.1:9/v1/completions?api_key=***" in message
    assert mask_url("https://h/v1") == "https://h/v1"


# -- 3. a resumed run is the same run ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"limit": 4}, "limit=3, not 4"),
        ({"langs": ["en"]}, "langs=['en', 'fr'], not ['en']"),
        ({"batch_size": 2}, "batch_size=8, not 2"),
        ({"model": "other"}, "model='m', not 'other'"),
        ({"backend_options": {"dtype": "float16"}}, "backend_options={}, not {'dtype': 'float16'}"),
    ],
)
def test_a_resume_with_another_scope_is_refused_naming_the_field(tmp_path, backend, changes, field):
    run(_options(tmp_path, limit=3), show_tables=False)
    with pytest.raises(RunError, match=f"started with {field}".replace("[", r"\[").replace("{", r"\{")):
        run(_options(tmp_path, resume=True, **changes), show_tables=False)


def test_predictions_without_run_json_need_force(tmp_path, backend):
    run_dir = run(_options(tmp_path), show_tables=False)
    (run_dir / "run.json").unlink()
    with pytest.raises(RunError, match="holds predictions but no run.json"):
        run(_options(tmp_path, resume=True), show_tables=False)
    run(_options(tmp_path, resume=True, force=True), show_tables=False)


def test_labels_already_predicted_are_checked_against_the_data(tmp_path, backend):
    run_dir = run(_options(tmp_path), show_tables=False)
    path = run_dir / "predictions.jsonl"
    predictions = _lines(path)
    predictions[1]["label"] = 1 - predictions[1]["label"]
    path.write_text("".join(json.dumps(p) + "\n" for p in predictions))
    with pytest.raises(RunError, match="toxicchat/en item 1 has label .* in the predictions but .* in the data"):
        run(_options(tmp_path, resume=True), show_tables=False)


def test_resume_picks_the_run_started_last_and_records_each_session(tmp_path, backend):
    run(_options(tmp_path, run_id="zzz-older", limit=1), show_tables=False)
    newer = run(_options(tmp_path, run_id="aaa-newer", limit=2), show_tables=False)
    for name, created in (("zzz-older", "2026-01-01T00:00:00+00:00"), ("aaa-newer", "2026-02-01T00:00:00+00:00")):
        path = tmp_path / "instruct" / name / "run.json"
        path.write_text(json.dumps({**json.loads(path.read_text()), "created": created}))
    path = newer / "predictions.jsonl"
    path.write_text("".join(path.read_text().splitlines(keepends=True)[1:]))  # as if killed one item short
    resumed = run(_options(tmp_path, run_id=None, resume=True, limit=2), show_tables=False)
    assert resumed == newer
    info = json.loads((newer / "run.json").read_text())
    assert info["created"] == "2026-02-01T00:00:00+00:00"
    assert [s["n_run"] for s in info["sessions"]] == [4, 1] and info["n_run_now"] == 1
    assert "status" not in info


def test_a_failed_start_leaves_no_folder_behind(tmp_path, monkeypatch):
    def missing(*args):
        raise BackendError("model 'nope' not found")

    monkeypatch.setattr(runner, "_build_backend", missing)
    with pytest.raises(BackendError):
        run(_options(tmp_path, model="nope"), show_tables=False)
    assert not (tmp_path / "instruct" / "r1").exists()
    monkeypatch.setattr(runner, "_build_backend", lambda *args: Backend())
    run(_options(tmp_path, model="good"), show_tables=False)  # the corrected rerun, same --run-id
    assert json.loads((tmp_path / "instruct" / "r1" / "run.json").read_text())["model"] == "good"


# -- 5. one process per run folder -------------------------------------------------------------------------------


def test_a_second_process_on_a_run_folder_gets_a_clear_error(tmp_path, backend):
    run_dir = tmp_path / "instruct" / "r1"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from cgbench.harness.rundir import locked\n"
            "with locked(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(60)",
            str(run_dir),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunError, match=rf"is in use by another cgbench run \(pid {holder.pid}\)"):
            run(_options(tmp_path), show_tables=False)
        assert backend.calls == 0
    finally:
        holder.kill()
        holder.wait()
    run(_options(tmp_path), show_tables=False)  # the lock goes with its process
    assert rundir.LOCK_FILE in {p.name for p in run_dir.iterdir()}
    shutil.rmtree(run_dir)


def test_cli_backend_options_pass_through_to_the_runner(monkeypatch):
    """--backend-option KEY=VALUE reaches RunOptions.backend_options (recorded in run.json), values read as JSON."""
    seen = []
    monkeypatch.setattr(runner, "run", lambda options: seen.append(options) or Path("results/x"))
    args = ["run", "--guard", "instruct", "--model", "m", "--backend", "vllm", "--dtype", "float32"]
    args += ["--backend-option", "max_model_len=4096", "--backend-option", "enforce_eager=true"]
    result = CliRunner().invoke(app, [*args, "--backend-option", "kv_cache_dtype=fp8"])
    assert result.exit_code == 0, result.output
    assert seen[0].backend_options == {
        "max_model_len": 4096, "enforce_eager": True, "kv_cache_dtype": "fp8", "dtype": "float32"
    }  # fmt: skip
    bad = CliRunner().invoke(app, ["run", "--guard", "instruct", "--model", "m", "--backend-option", "4096"])
    assert bad.exit_code == 2 and "--backend-option wants KEY=VALUE" in bad.output
