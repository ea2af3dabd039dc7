"""Selections, names and files as a hostile user gives them: each is refused with one line, or made harmless."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cgbench.benchmarks import DataError, available_languages
from cgbench.benchmarks.add_language import add_language, final_folder
from cgbench.benchmarks.loading import _load
from cgbench.cli import app
from cgbench.harness import runner
from cgbench.harness.rundir import RunError
from cgbench.harness.runner import RunOptions, run
from cgbench.models.backends.base import Completion
from cgbench.tasks.generate import write_tasks

CGBENCH = Path(__file__).resolve().parents[1] / "cgbench"


class Safe:
    def complete(self, prompts, *, max_new_tokens, score_tokens=None, stop=None):
        return [Completion("safe", None) for _ in prompts]


@pytest.fixture
def safe_backend(monkeypatch):
    monkeypatch.setattr(runner, "_build_backend", lambda *args: Safe())


@pytest.fixture(autouse=True)
def _fresh_loader():
    _load.cache_clear()
    yield
    _load.cache_clear()


def _options(tmp_path: Path, **changes) -> RunOptions:
    base = dict(guard="instruct", model="m", backend="hf", sets=["simple_safety_tests"], langs=["en"], limit=2)
    return RunOptions(**{**base, "results_dir": tmp_path, "run_id": "r", **changes})


def _predictions(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]


# -- selections --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sets", "langs"),
    [
        (["simple_safety_tests"], ["en", "eng"]),
        (["simple_safety_tests"], ["en", "en"]),
        (["simple_safety_tests", "simple_safety_tests"], ["zh", "zh-CN"]),
    ],
)
def test_a_set_or_language_named_twice_is_run_once(tmp_path, safe_backend, sets, langs):
    run_dir = run(_options(tmp_path, sets=sets, langs=langs), show_tables=False)
    assert len(_predictions(run_dir)) == 2
    info = json.loads((run_dir / "run.json").read_text())
    assert info["sets"] == ["simple_safety_tests"] and len(info["langs"]) == 1
    run(_options(tmp_path, sets=sets, langs=langs, resume=True), show_tables=False)  # the resume is the same run
    assert len(_predictions(run_dir)) == 2


# -- names -------------------------------------------------------------------------------------------------------


def test_no_name_pattern_is_anchored_with_a_dollar_and_match():
    """``re.match(r"^...$")`` lets a trailing newline through; every name pattern uses fullmatch instead."""
    anchored = re.compile(r"""re\.(compile|match)\(\s*r?["'][^"']*\$["']""")
    offenders = [
        f"{path.relative_to(CGBENCH.parent)}:{number}"
        for path in sorted(CGBENCH.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if anchored.search(line.split("  # ")[0])  # code, not a comment quoting an upstream parser
    ]
    assert offenders == []


def test_a_language_code_with_a_trailing_newline_is_refused_everywhere(tmp_path):
    with pytest.raises(DataError, match=r"language code 'xx\\n': expected an ISO 639-1 code"):
        add_language("xx\n", from_dir=tmp_path, progress=False)
    assert not final_folder("xx\n").exists()
    with pytest.raises(ValueError, match=r"language code 'xx\\n' may hold only"):
        write_tasks(["xx\n"], tmp_path / "tasks")
    final_folder("xx\n").mkdir(parents=True)  # a folder made by hand (or by an older cgbench) is no language
    assert available_languages() == ["en", "fr", "zh", "ja", "bn", "hi"]
    result = CliRunner().invoke(app, ["data", "add-language", "xx\n", "--from-dir", str(tmp_path)])
    assert result.exit_code == 2 and "error: language code 'xx\\n': expected an ISO 639-1 code" in result.output


@pytest.mark.parametrize("run_id", ["r1\n", "../r1", "a" * 300])
def test_a_bad_or_over_long_run_id_is_one_line(tmp_path, run_id):
    result = CliRunner().invoke(app, ["run", "--run-id", run_id, "--results-dir", str(tmp_path)])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "Errno" not in result.output
    assert result.output.startswith("error: --run-id ")
    assert list(tmp_path.iterdir()) == []


def test_resume_of_a_run_id_that_does_not_exist_is_an_error(tmp_path, safe_backend):
    with pytest.raises(RunError, match=r"--resume: there is no run 'typo' under .* to resume; drop --resume"):
        run(_options(tmp_path, run_id="typo", resume=True), show_tables=False)
    assert not (tmp_path / "instruct" / "typo").exists()


# -- outputs -----------------------------------------------------------------------------------------------------

FIXTURE_RUN = Path(__file__).parent / "fixtures" / "results" / "beta-guard" / "run-a"
FORMULAS = {"guard": "=cmd|' /C calc'!A0", "model": "@SUM(1+1)*cmd", "run_id": '=HYPERLINK("http://x","y")'}


def _board(tmp_path: Path, **info_changes):
    from cgbench.leaderboard import build_table, load_runs, select_runs

    folder = tmp_path / "results" / "g" / "run"
    folder.mkdir(parents=True)
    (folder / "metrics.json").write_text((FIXTURE_RUN / "metrics.json").read_text())
    info = {**json.loads((FIXTURE_RUN / "run.json").read_text()), **info_changes}
    (folder / "run.json").write_text(json.dumps(info))
    runs, skipped = load_runs(tmp_path / "results")
    assert not skipped
    return build_table(select_runs(runs))


def header_index(rows: list[list[str]], name: str) -> int:
    return rows[0].index(name)


@pytest.mark.no_data
@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_text_cells_cannot_start_a_formula_and_numbers_stay_numbers(tmp_path, start):
    import csv
    import io

    from cgbench.leaderboard.text import leaderboard_csv

    names = {field: start + value.lstrip("=@") for field, value in FORMULAS.items()}
    rows = list(csv.reader(io.StringIO(leaderboard_csv(_board(tmp_path, **names)))))
    shown = {field: "'" + " ".join(name.splitlines()) for field, name in names.items()}  # a CR becomes a space
    header, row = rows[0], next(r for r in rows[1:] if r[header_index(rows, "model")] == shown["model"])
    assert {field: row[header.index(field)] for field in names} == shown
    numbers = [cell for cell in row if cell[:1] in ("-", "+")]
    assert all(float(cell) <= 100 for cell in numbers)  # a negative gap is still a number
    assert not [
        cell for cell in row if cell[:1] in ("=", "+", "@", "\t", "\r") or cell[:1] == "-" and cell not in numbers
    ]


@pytest.mark.no_data
def test_dollar_signs_in_names_do_not_open_math_in_the_markdown(tmp_path):
    from cgbench.leaderboard import load_reported
    from cgbench.leaderboard.text import readme

    text = readme(_board(tmp_path, guard="cost $5 vs $6", model="m$x$"), load_reported(), [])
    assert "cost \\$5 vs \\$6" in text and "m\\$x\\$" in text and "$5 vs $" not in text.replace("\\$", "")


# -- files -------------------------------------------------------------------------------------------------------

FR_SST = "consistentguard/benchmark_fr/0_0_SimpleSafetyTests.json"


def test_a_byte_that_is_not_utf8_is_one_error_naming_the_file(mirror_copy, mirror, monkeypatch):
    from conftest import replace_file

    data = (mirror / FR_SST).read_bytes()
    at = data.index(b'"input"') + 20
    path = replace_file(mirror_copy, FR_SST, data[:at] + b"\xff" + data[at + 1 :])
    monkeypatch.setenv("CGBENCH_ALLOW_CHANGED_DATA", "1")
    result = CliRunner().invoke(app, ["data", "show", "simple_safety_tests", "fr", "--data-dir", str(mirror_copy)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"error: {path}: line 1 (byte offset {at}): byte 0xff is not UTF-8 text" in result.output


def test_an_added_language_warns_of_shifted_rows_and_is_checked_against_its_manifest(tmp_path, capsys, monkeypatch):
    from test_add_language import FILES, _edit, _release_folder

    release = _release_folder(tmp_path, "bn", "as")
    _edit(release / "benchmark_as", "simple_safety_tests", _shift_texts)
    added = add_language("as", from_dir=release, progress=False)
    (warning,) = [w for w in added.report.warnings if "simple_safety_tests/as" in w]
    assert "length ratio to English far outside the split's spread" in warning and "rows [" in warning
    assert "the texts look shifted by one row: row i pairs with English row i-1 far better" in warning

    path = final_folder("as") / FILES["toxicchat"]
    path.write_bytes(path.read_bytes() + b"\n")  # edited after it was added: same rows, another digest
    _load.cache_clear()
    result = CliRunner().invoke(app, ["data", "show", "toxicchat", "as"])
    assert result.exit_code == 2 and "(edited since it was added)" in result.output
    assert f"{path}: sha256 " in result.output and "manifest.json records " in result.output
    monkeypatch.setenv("CGBENCH_ALLOW_CHANGED_DATA", "1")
    _load.cache_clear()
    assert CliRunner().invoke(app, ["data", "show", "toxicchat", "as"]).exit_code == 0


def _shift_texts(rows: list[dict]) -> None:
    """Slide every text down one row (the last one lost, the first repeated); labels stay where they were."""
    texts = [row["input"] for row in rows]
    for row, text in zip(rows, texts[:1] + texts[:-1]):
        row["input"] = text
