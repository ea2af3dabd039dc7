"""``cgbench leaderboard`` on hand-written run folders (tests/fixtures/results).

The expected text outputs live in tests/fixtures/leaderboard_expected. After an intended change, regenerate
them with ``cgbench leaderboard --results-dir tests/fixtures/results --out <tmp>`` and copy the text files.
"""

from __future__ import annotations

import csv
import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from statistics import fmean

import pytest
from typer.testing import CliRunner

from cgbench.cli import app
from cgbench.leaderboard import LeaderboardError, build_leaderboard, load_reported, load_runs, parse_picks

FIXTURES = Path(__file__).parent / "fixtures"
RESULTS = FIXTURES / "results"
EXPECTED = FIXTURES / "leaderboard_expected"
TEXT_FILES = ["README.md", "leaderboard.csv", "leaderboard.tex", "reported.csv", "index.html"]
PLOTS = [
    "headline",
    "f1_by_language_openai_moderation",
    "f1_by_language_toxicchat",
    "f1_by_language_simple_safety_tests",
    "heatmap_guard_language",
    "consistency_vs_f1",
    "f1_gap",
    "category_recall_alpha-guard",  # the one fixture run that carries recall by harm category
]


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    out = tmp_path_factory.mktemp("leaderboard")
    return build_leaderboard(RESULTS, out), out


@pytest.fixture
def results_copy(tmp_path) -> Path:
    return Path(shutil.copytree(RESULTS, tmp_path / "results"))


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("name", TEXT_FILES)
def test_text_outputs_match_the_expected_files(board, name):
    _, out = board
    assert (out / name).read_text(encoding="utf-8") == (EXPECTED / name).read_text(encoding="utf-8")


def test_plots_are_valid_png_and_svg(board):
    from PIL import Image

    result, out = board
    expected = sorted(f"{name}.{ext}" for name in PLOTS for ext in ("png", "svg"))
    assert sorted(p.name for p in (out / "plots").iterdir()) == expected
    for name in PLOTS:
        with Image.open(out / "plots" / f"{name}.png") as image:
            image.verify()
            assert image.format == "PNG" and image.size[0] > 300 and image.size[1] > 150
        root = ET.parse(out / "plots" / f"{name}.svg").getroot()
        assert root.tag == "{http://www.w3.org/2000/svg}svg" and float(root.get("width").removesuffix("pt")) > 200
    assert len(result.files) == len(TEXT_FILES) + 2 * len(PLOTS)


def test_two_builds_are_byte_identical(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    build_leaderboard(RESULTS, first)
    build_leaderboard(RESULTS, second)
    build_leaderboard(RESULTS, second)  # regenerating over existing outputs changes nothing either
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert len(files) == len(TEXT_FILES) + 2 * len(PLOTS)
    for relative in files:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative


def test_svg_and_png_carry_no_date_or_version(board):
    _, out = board
    for svg in (out / "plots").glob("*.svg"):
        text = svg.read_text(encoding="utf-8")
        assert "<dc:date>" not in text and "Matplotlib v" not in text
        assert all(line == line.rstrip() for line in text.splitlines())
    for png in (out / "plots").glob("*.png"):
        assert b"Software" not in png.read_bytes() and b"matplotlib" not in png.read_bytes().lower()


def test_ranked_rows_follow_from_the_metrics_files(board):
    """Recompute alpha-guard's averages and beta-guard's parse-failure rate straight from their metrics.json."""
    _, out = board
    rows = {row["guard"]: row for row in _csv_rows(out / "leaderboard.csv")}
    assert [row["guard"] for row in _csv_rows(out / "leaderboard.csv")] == ["alpha-guard", "beta-guard", "gamma_guard"]
    alpha = json.loads((RESULTS / "alpha-guard" / "20250602T090000Z" / "metrics.json").read_text())
    sets, recall = {}, []
    for key, split in alpha["splits"].items():
        if split["macro_f1"] is None:  # SimpleSafetyTests: out of the headline, reported as recall
            recall.append(split["recall"])
        else:
            sets.setdefault(key.split("/")[0], []).append(split["macro_f1"])
    headline = fmean(fmean(values) for values in sets.values())  # a schema-2 file: from its per-split macro-F1
    assert float(rows["alpha-guard"]["headline"]) == pytest.approx(100 * headline, abs=0.006)
    assert float(rows["alpha-guard"]["recall_simple_safety_tests"]) == pytest.approx(100 * fmean(recall), abs=0.006)
    gaps = [block["f1_gap"] for block in alpha["consistency"].values()]
    assert float(rows["alpha-guard"]["f1_gap"]) == pytest.approx(100 * fmean(gaps), abs=0.006)
    beta = json.loads((RESULTS / "beta-guard" / "run-a" / "metrics.json").read_text())
    splits = beta["splits"].values()
    failed = sum(s["n"] * s["parse_fail"] for s in splits) / sum(s["n"] for s in splits)
    assert float(rows["beta-guard"]["parse_fail"]) == pytest.approx(100 * failed, abs=0.006)
    assert rows["beta-guard"]["params_b"] == "" and rows["gamma_guard"]["f1_simple_safety_tests_en"] == ""


def test_tied_guards_share_a_rank(results_copy):
    from cgbench.leaderboard import build_table, select_runs

    twin = Path(shutil.copytree(results_copy / "beta-guard", results_copy / "beta-twin"))
    info = json.loads((twin / "run-a" / "run.json").read_text())
    (twin / "run-a" / "run.json").write_text(json.dumps({**info, "guard": "beta-twin"}))
    rows = build_table(select_runs(load_runs(results_copy)[0])).rows
    assert [(row.rank, row.guard) for row in rows] == [
        (1, "alpha-guard"),
        (2, "beta-guard"),
        (2, "beta-twin"),
        (4, "gamma_guard"),
    ]


def test_newest_run_by_default_and_run_picks_one(tmp_path, board):
    result, _ = board
    assert {row.guard: row.run_id for row in result.table.rows}["alpha-guard"] == "20250602T090000Z"
    older = build_leaderboard(RESULTS, tmp_path, parse_picks(["alpha-guard=20250601T100000Z"]))
    alpha = next(row for row in older.table.rows if row.guard == "alpha-guard")
    assert alpha.run_id == "20250601T100000Z" and alpha.rank == 2  # the older run scores below beta-guard
    assert "`20250601T100000Z`" in (tmp_path / "README.md").read_text(encoding="utf-8")


def test_a_newer_run_over_fewer_splits_does_not_hide_the_full_run(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    newer = results / "alpha-guard" / "20250701T000000Z"
    shutil.copytree(results / "alpha-guard" / "20250601T100000Z", newer)
    metrics = json.loads((newer / "metrics.json").read_text(encoding="utf-8"))
    metrics["splits"] = dict(list(metrics["splits"].items())[:1])
    (newer / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    info = json.loads((newer / "run.json").read_text(encoding="utf-8"))
    info.update(run_id=newer.name, created="2025-07-01T00:00:00+00:00")
    (newer / "run.json").write_text(json.dumps(info), encoding="utf-8")
    board = build_leaderboard(results, tmp_path / "out")
    assert all(newer != skipped.folder for skipped in board.skipped)
    assert {row.guard: row.run_id for row in board.table.rows}["alpha-guard"] == "20250602T090000Z"


@pytest.mark.parametrize(
    ("picks", "message"),
    [
        (["alpha-guard=nope"], "choose from 20250601T100000Z, 20250602T090000Z"),
        (["alpah-guard=x"], "did you mean 'alpha-guard'"),
        (["delta-guard=20250101T000000Z"], "no valid run of guard 'delta-guard'"),
    ],
)
def test_a_bad_run_pick_is_one_clear_error(tmp_path, picks, message):
    with pytest.raises(LeaderboardError, match=message):
        build_leaderboard(RESULTS, tmp_path, parse_picks(picks))


def test_run_pick_syntax():
    assert parse_picks(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(LeaderboardError, match="expected GUARD=RUN_ID"):
        parse_picks(["alpha-guard"])


def test_incomplete_folder_is_skipped_with_a_warning(board):
    result, _ = board
    assert [str(s) for s in result.skipped] == [
        f"skipped {(RESULTS / 'delta-guard' / '20250101T000000Z').as_posix()}: metrics.json is missing"
    ]


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda text: text[: len(text) // 2], "metrics.json is not valid JSON"),
        (lambda text: "[]", "metrics.json must hold a JSON object, not list"),
        (lambda text: text.replace('"f1": 0.7818', '"f1": "0.7818"'), "splits['openai_moderation/en'].f1 must be a"),
        (lambda text: text.replace('"f1": 0.7818', '"f1": 78.18'), "must be a fraction in [0, 1], got 78.18"),
        (lambda text: text.replace('"worst_lang"', '"weakest"', 1), "consistency['openai_moderation'].worst_lang"),
        (lambda text: text.replace('"n": 1680', '"n": -1', 1), "splits['openai_moderation/en'].n must be a count"),
        (lambda text: text.replace('"n": 1680', '"n": 1680, "codes_missing": "some"', 1),
         "splits['openai_moderation/en'].codes_missing must be a fraction"),
    ],
)
def test_malformed_metrics_is_skipped_with_a_warning_naming_the_folder(results_copy, edit, reason):
    metrics = results_copy / "beta-guard" / "run-a" / "metrics.json"
    metrics.write_text(edit(metrics.read_text(encoding="utf-8")), encoding="utf-8")
    runs, skipped = load_runs(results_copy)
    messages = [str(s) for s in skipped]
    assert any(m.startswith(f"skipped {metrics.parent.as_posix()}: ") and reason in m for m in messages), messages
    assert sorted({run.guard for run in runs}) == ["alpha-guard", "gamma_guard"]


def test_the_board_builds_without_a_malformed_run(results_copy, tmp_path):
    (results_copy / "beta-guard" / "run-a" / "metrics.json").write_text('{"splits": {', encoding="utf-8")
    result = build_leaderboard(results_copy, tmp_path / "out")
    assert any("beta-guard/run-a: metrics.json is not valid JSON" in str(s) for s in result.skipped)
    assert [row.guard for row in result.table.rows] == ["alpha-guard", "gamma_guard"]
    assert "beta-guard" not in (tmp_path / "out" / "README.md").read_text(encoding="utf-8")


def test_malformed_run_json_is_skipped(results_copy):
    run_json = results_copy / "gamma_guard" / "20250515T000000Z" / "run.json"
    info = json.loads(run_json.read_text())
    run_json.write_text(json.dumps({**info, "created": "last tuesday"}))
    _, skipped = load_runs(results_copy)
    assert any("run.json: created 'last tuesday' is not an ISO 8601 time" in str(s) for s in skipped)


def test_a_new_run_folder_is_ranked_in_table_plots_and_page(results_copy, tmp_path):
    """What a user does: add results/<guard>/<run-id>/, run the command, find the guard ranked first."""
    source = results_copy / "beta-guard" / "run-a"
    target = results_copy / "omega-guard" / "20250701T000000Z"
    target.mkdir(parents=True)
    metrics = json.loads((source / "metrics.json").read_text())
    for split in metrics["splits"].values():
        split["f1"] = 0.97
        split["macro_f1"] = 0.97 if split.get("macro_f1") is not None else None
    (target / "metrics.json").write_text(json.dumps(metrics))
    info = {"guard": "omega-guard", "model": "fixture/omega-2b", "model_params": 2, "run_id": "20250701T000000Z"}
    (target / "run.json").write_text(json.dumps({**info, "created": "2025-07-01T00:00:00Z"}))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["leaderboard", "--results-dir", str(results_copy), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "omega-guard" in result.output
    assert "| 1 | – | omega-guard | 2B | 97.0 |" in (out / "README.md").read_text(encoding="utf-8")
    assert _csv_rows(out / "leaderboard.csv")[0]["guard"] == "omega-guard"
    assert '<td class="guard" data-value="omega-guard"' in (out / "index.html").read_text(encoding="utf-8")
    baseline = tmp_path / "baseline"
    build_leaderboard(RESULTS, baseline)
    # every plot shows the new guard (it has no categories: no plot of its own); the fixture files predate
    # all-correct, which the consistency plot needs
    for name in [name for name in PLOTS[:-1] if name != "consistency_vs_f1"]:
        assert (out / "plots" / f"{name}.png").read_bytes() != (baseline / "plots" / f"{name}.png").read_bytes(), name


def test_a_run_scored_by_the_harness_is_accepted(tmp_path):
    """The scorer's real metrics.json (not a hand-written one) of a full run goes straight onto the board."""
    from cgbench.harness.scoring import write_metrics, write_predictions

    run_dir = tmp_path / "results" / "scored-guard" / "r1"
    predictions = []
    for benchmark, n in (("openai_moderation", 1680), ("simple_safety_tests", 100)):
        for lang in ("en", "fr", "ja"):
            for idx in range(n):
                label = 1 if benchmark == "simple_safety_tests" else idx % 2
                pred = None if (idx, lang) == (3, "ja") else (label if idx % 5 else 1 - label)
                predictions.append(
                    {"benchmark": benchmark, "lang": lang, "idx": idx, "label": label, "pred": pred}
                    | {"score": None, "violations": [], "output": "unsafe" if pred else "safe"}
                )
    run_dir.mkdir(parents=True)
    write_predictions(run_dir / "predictions.jsonl", predictions)
    metrics = write_metrics(run_dir, n_bootstrap=10)
    info = {"guard": "scored-guard", "model": "fixture/scored", "model_params": 0.5, "run_id": "r1"}
    (run_dir / "run.json").write_text(json.dumps({**info, "created": "2025-01-01T00:00:00+00:00"}))
    result = build_leaderboard(tmp_path / "results", tmp_path / "out", n_bootstrap=200)
    assert result.skipped == []
    (row,) = result.table.guards
    assert row.tier == 1 and {r.guard for r in result.table.rows if r.reference} == {
        "ref: always-safe", "ref: coin", "ref: always-unsafe"
    }  # fmt: skip
    assert row.headline == metrics["headline"]["macro_f1"]
    assert row.f1[("openai_moderation", "ja")] == metrics["splits"]["openai_moderation/ja"]["f1"]
    assert row.parse_fail == pytest.approx(2 / 5340)  # item 3 in Japanese, in both sets
    assert row.all_agree == pytest.approx(fmean(b["all_agree"] for b in metrics["consistency"].values()))


def test_cli_warns_about_skipped_folders_and_fails_cleanly(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["leaderboard", "--results-dir", str(RESULTS), "--out", str(tmp_path / "a")])
    assert ok.exit_code == 0
    assert "warning: skipped" in ok.output and "delta-guard" in ok.output
    bad = runner.invoke(app, ["leaderboard", "--results-dir", str(RESULTS), "--out", str(tmp_path), "--run", "x"])
    assert bad.exit_code == 2 and "expected GUARD=RUN_ID" in bad.output
    missing = runner.invoke(app, ["leaderboard", "--results-dir", str(tmp_path / "nope"), "--out", str(tmp_path)])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_empty_results_give_an_empty_board_not_a_crash(tmp_path):
    (tmp_path / "results").mkdir()
    result = build_leaderboard(tmp_path / "results", tmp_path / "out")
    assert result.table.rows == [] and not (tmp_path / "out" / "plots").exists()
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    assert "No valid run under `results/` yet" in readme and "## Reported, not reproduced" in readme


def test_reported_numbers_stay_in_their_own_section(board):
    _, out = board
    reported = load_reported()
    assert reported.guards and all(g.source.url.startswith("https://") for g in reported.guards)
    consistentguard = next(g for g in reported.guards if g.guard == "ConsistentGuard")
    assert consistentguard.f1[("openai_moderation", "en")] == 78.94
    assert consistentguard.f1[("toxicchat", "en")] == 84.26
    readme = (out / "README.md").read_text(encoding="utf-8")
    measured, reported_part = readme.split("## Reported, not reproduced")
    assert "ConsistentGuard" not in measured and "| ConsistentGuard | 3B | 78.94 |" in reported_part
    assert "ConsistentGuard" not in (out / "leaderboard.csv").read_text(encoding="utf-8")
    assert "ConsistentGuard" not in (out / "leaderboard.tex").read_text(encoding="utf-8")


def test_a_broken_reported_file_names_the_file(tmp_path):
    path = tmp_path / "reported.json"
    data = json.loads((Path(__file__).parents[1] / "cgbench" / "leaderboard" / "reported.json").read_text())
    data["guards"][0]["source"] = "nowhere"
    path.write_text(json.dumps(data))
    with pytest.raises(LeaderboardError, match=r"reported.json: guards\[0\].source 'nowhere' is not in sources"):
        load_reported(path)


def test_intervals_and_marks_follow_from_the_metrics_files(board):
    """CSV bounds and tests, README ±, TeX \\pm and * marks all come from alpha-guard's metrics.json."""
    _, out = board
    alpha = json.loads((RESULTS / "alpha-guard" / "20250602T090000Z" / "metrics.json").read_text())
    row = _csv_rows(out / "leaderboard.csv")[0]
    ci = alpha["splits"]["toxicchat/ja"]["f1_ci95"]
    assert float(row["f1_toxicchat_ja_ci_low"]) == pytest.approx(100 * ci[0], abs=0.006)
    assert float(row["f1_toxicchat_ja_ci_high"]) == pytest.approx(100 * ci[1], abs=0.006)
    gap = alpha["language_gaps"]["toxicchat"]["ja"]
    assert float(row["f1_toxicchat_ja_vs_en_diff"]) == pytest.approx(100 * gap["f1_diff"], abs=0.006)
    assert float(row["f1_toxicchat_ja_vs_en_p_holm"]) == pytest.approx(gap["f1_diff_p_holm"])
    assert float(row["f1_toxicchat_ja_vs_en_mcnemar_p_holm"]) == pytest.approx(gap["mcnemar_p_holm"])
    assert row["f1_toxicchat_ja_vs_en_significant"] == "1" and row["f1_toxicchat_hi_vs_en_significant"] == "0"
    assert "f1_toxicchat_en_vs_en_diff" not in row  # English is the reference, not tested against itself
    readme = (out / "README.md").read_text(encoding="utf-8")
    f1 = 100 * alpha["splits"]["toxicchat/ja"]["f1"]
    assert f"| {f1:.1f} ±{100 * (ci[1] - ci[0]) / 2:.1f}▼ |" in readme  # below English: ▼
    assert "| alpha-guard | TC | hi | 2853 | 75.3 | -0.4 | \\[-3.4, +2.6\\] | 0.800 | 0.640 | – |  |" in readme
    tex = (out / "leaderboard.tex").read_text(encoding="utf-8")
    assert "{\\scriptsize ${\\pm}$3.0}$^{\\blacktriangledown}$" in tex
    gamma = [line for line in readme.splitlines() if line.startswith("| 3 | – | gamma_guard")][-1]
    assert "±" in gamma and "▼" not in gamma and "▲" not in gamma  # split intervals but no tests in a schema-1 file
    assert "No ▲/▼ marks for gamma_guard" in readme


def test_older_metrics_files_are_shown_with_a_warning(board):
    result, _ = board
    warnings = "\n".join(result.warnings)
    assert "gamma_guard/20250515T000000Z: metrics.json has no language_gaps, f1_avg_ci95, category_recall" in warnings
    assert "beta-guard/run-a: metrics.json has no category_recall" in warnings
    assert "alpha-guard/20250602T090000Z: metrics.json has no headline (schema 2)" in warnings
    assert "alpha-guard: run 20250602T090000Z keeps no predictions file, so no tier" in warnings
    runner = CliRunner()
    output = runner.invoke(app, ["leaderboard", "--results-dir", str(RESULTS), "--out", str(result.files[0].parent)])
    assert output.exit_code == 0 and "rescore it with `cgbench score" in output.output


def test_recall_by_category_table(board):
    _, out = board
    readme = (out / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Recall by harm category")[1].split("### Plots")[0]
    assert "#### alpha-guard" in section and "beta-guard" not in section
    rows = [line for line in section.splitlines() if line.startswith("| OM |") or line.startswith("| SST |")]
    assert [row.split(" | ")[1] for row in rows[:8]] == [
        "S (sexual)", "H (hate)", "V (violence)", "HR (harassment)", "SH (self-harm)", "S3 (sexual/minors)",
        "H2 (hate/threatening)", "V2 (violence/graphic)",
    ]  # fmt: skip
    assert (
        rows[0] == "| OM | S (sexual) | 237 | 95.0 | 90.0 (3.0) | 85.0 (6.0) | 80.0 (9.0) | 75.0 (12.0) | 70.0 (15.0) |"
    )
    assert len(rows) == 13


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda m: m["language_gaps"]["toxicchat"]["ja"].update(significant="yes"),
            "significant must be true or false",
        ),
        (lambda m: m["language_gaps"]["toxicchat"]["ja"].update(f1_diff=-12.5), "f1_diff must be a number in [-1, 1]"),
        (lambda m: m["f1_avg_ci95"].update(all=[0.8]), "f1_avg_ci95['all'] must be [low, high]"),
        (lambda m: m["splits"]["toxicchat/ja"].update(f1_ci95=[0.7, 0.6]), "f1_ci95 must be [low, high]"),
        (lambda m: m.update(category_recall=[]), "category_recall must be an object"),
    ],
)
def test_malformed_newer_fields_skip_the_run(results_copy, edit, reason):
    path = results_copy / "alpha-guard" / "20250602T090000Z" / "metrics.json"
    metrics = json.loads(path.read_text())
    edit(metrics)
    path.write_text(json.dumps(metrics))
    _, skipped = load_runs(results_copy)
    assert any("alpha-guard/20250602T090000Z" in str(s) and reason in str(s) for s in skipped), skipped


def test_measured_beside_reported(tmp_path):
    """A published number for a measured guard: a row in the comparison table and a hollow marker on its bar."""
    data = json.loads((Path(__file__).parents[1] / "cgbench" / "leaderboard" / "reported.json").read_text())
    data["guards"].append(
        {
            "guard": "Alpha (paper)",
            "model": "fixture/alpha-1b",
            "params_b": 1,
            "source": "chen2025consistentguard",
            "f1": {"toxicchat/ja": 70.0, "toxicchat/en": 99.0},
        }
    )
    path = tmp_path / "reported.json"
    path.write_text(json.dumps(data))
    build_leaderboard(RESULTS, tmp_path / "out", reported=load_reported(path))
    readme = (tmp_path / "out" / "README.md").read_text(encoding="utf-8")
    comparison = readme.split("## Measured vs reported")[1].split("## Reported, not reproduced")[0]
    rows = [line for line in comparison.splitlines() if line.startswith("| alpha-guard")]
    assert rows == [
        "| alpha-guard | TC en | 75.7 | 72.7–78.7 | 99.00 | +23.3 | no | chen2025consistentguard |",
        "| alpha-guard | TC ja | 64.3 | 61.3–67.3 | 70.00 | +5.7 | no | chen2025consistentguard |",
    ]
    page = (tmp_path / "out" / "index.html").read_text(encoding="utf-8")
    assert page.count('<table class="comparison-table">') == 1
    svg = ET.parse(tmp_path / "out" / "plots" / "f1_by_language_toxicchat.svg").getroot()
    ids = {element.get("id") for element in svg.iter() if element.get("id")}
    assert {"reported-Alpha-paper-c4ddeccc", "reported-ConsistentGuard", "ci-0", "significant-0-ja"} <= ids


def test_no_comparison_without_a_published_number_for_a_measured_guard(board):
    _, out = board
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "No guard on this board has a published number in reported.json yet." in readme
