"""Reading predictions, scoring real splits, and ``cgbench score`` on run folders and lm-eval imports."""

from __future__ import annotations

import gzip
import json
import sys
import types

import pytest
from sklearn.metrics import average_precision_score, f1_score
from typer.testing import CliRunner

from cgbench.benchmarks import load_split
from cgbench.cli import app
from cgbench.harness.scoring import (
    ScoringError,
    read_predictions,
    score_path,
    score_predictions,
    write_metrics,
    write_predictions,
)

LANGS = ("en", "fr", "zh")


def _verdict(lang: str, idx: int, label: int) -> int | None:
    """A scripted guard: right in English, wrong on every 4th item in French, silent on every 10th in Chinese."""
    if lang == "fr" and idx % 4 == 0:
        return 1 - label
    if lang == "zh" and idx % 10 == 3:
        return None
    return label


def _real_predictions(limit: int = 120):
    predictions = []
    for benchmark in ("openai_moderation", "simple_safety_tests"):
        for lang in LANGS:
            for item in load_split(benchmark, lang)[:limit]:
                pred = _verdict(lang, item.idx, item.label)
                predictions.append(
                    {
                        "benchmark": benchmark,
                        "lang": lang,
                        "idx": item.idx,
                        "label": item.label,
                        "pred": pred,
                        "score": None if pred is None else 0.1 + 0.8 * pred,
                        "violations": [],
                        "output": {1: "unsafe", 0: "safe", None: "I cannot tell"}[pred],
                    }
                )
    return predictions


def test_scores_real_splits():
    predictions = _real_predictions()
    metrics = score_predictions(predictions)
    assert sorted(metrics["splits"]) == [
        f"{b}/{lang}" for b in ("openai_moderation", "simple_safety_tests") for lang in LANGS
    ]
    for key, m in metrics["splits"].items():
        benchmark, lang = key.split("/")
        split = [p for p in predictions if (p["benchmark"], p["lang"]) == (benchmark, lang)]
        labels = [p["label"] for p in split]
        effective = [1 - p["label"] if p["pred"] is None else p["pred"] for p in split]
        assert m["n"] == len(split) == min(120, len(load_split(benchmark, lang)))
        assert m["f1"] == pytest.approx(f1_score(labels, effective)), key
        assert m["f1_from_recall"] is (benchmark == "simple_safety_tests")
        assert m["f1_ci95"][0] <= m["f1"] <= m["f1_ci95"][1]
    assert metrics["splits"]["openai_moderation/en"]["f1"] == 1.0
    assert metrics["splits"]["openai_moderation/zh"]["parse_fail"] == pytest.approx(12 / 120)
    assert metrics["splits"]["openai_moderation/en"]["auprc"] == 1.0
    zh = [p for p in predictions if (p["benchmark"], p["lang"]) == ("openai_moderation", "zh")]
    worst = [{1: -1.0, 0: 2.0}[p["label"]] if p["pred"] is None else p["score"] for p in zh]  # unparsed: worst
    assert metrics["splits"]["openai_moderation/zh"]["auprc"] == pytest.approx(
        average_precision_score([p["label"] for p in zh], worst)
    )
    c = metrics["consistency"]["openai_moderation"]
    assert c["n_items"] == 120 and c["languages"] == list(sorted(LANGS))
    assert c["agreement_vs_en"] == {"fr": pytest.approx(90 / 120), "zh": pytest.approx(108 / 120)}
    assert c["all_agree"] == pytest.approx(1 - (30 + 12) / 120)  # the flipped (even) and silent (odd) items differ
    assert "parse_failure_policy" in metrics and "wrong answer" in metrics["parse_failure_policy"]


def test_single_language_has_no_consistency():
    metrics = score_predictions([p for p in _real_predictions(20) if p["lang"] == "en"])
    assert metrics["consistency"] == {}
    assert len(metrics["splits"]) == 2


def test_duplicate_item_is_refused():
    predictions = _real_predictions(5)
    with pytest.raises(ScoringError, match="openai_moderation/en item 0 is predicted more than once"):
        score_predictions(predictions + predictions[:1])


def test_round_trip_plain_and_gzip(tmp_path):
    predictions = _real_predictions(10)
    for name in ("predictions.jsonl", "predictions.jsonl.gz"):
        path = write_predictions(tmp_path / name, predictions)
        assert read_predictions(path) == predictions
    with gzip.open(tmp_path / "predictions.jsonl.gz", "rt", encoding="utf-8") as f:
        assert json.loads(f.readline()) == predictions[0]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 3: not valid JSON"),
        ("[1, 2]", "line 3: expected a JSON object, got list"),
        ('{"benchmark": "toxicchat", "idx": 0}', "line 3: field 'lang' is missing"),
        ("PRED_2", "line 3: field 'pred' must be 0, 1 or null, got 2"),
        ("IDX_TRUE", "line 3: field 'idx' must be an integer >= 0, got True"),
        ("SCORE_BIG", "line 3: field 'score' must be a number in [0, 1] or null, got 1.5"),
    ],
)
def test_bad_line_names_file_line_and_field(tmp_path, line, message):
    good = _real_predictions(1)[0]
    replacements = {"PRED_2": {"pred": 2}, "IDX_TRUE": {"idx": True}, "SCORE_BIG": {"score": 1.5}}
    if line in replacements:
        line = json.dumps({**good, **replacements[line]})
    path = tmp_path / "predictions.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ScoringError) as error:
        read_predictions(path)
    assert str(error.value).startswith(f"{path}, line 3: ")
    assert message in str(error.value)


def test_unreadable_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "predictions.jsonl.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(ScoringError, match="cannot read predictions"):
        read_predictions(path)


def test_cli_scores_native_run_folder(tmp_path):
    run_dir = tmp_path / "results" / "scripted" / "run-1"
    write_predictions(run_dir / "predictions.jsonl.gz", _real_predictions(40))
    result = CliRunner().invoke(app, ["score", str(run_dir)], terminal_width=140)
    assert result.exit_code == 0, result.output
    written = (run_dir / "metrics.json").read_text(encoding="utf-8")
    metrics = json.loads(written)
    assert written == json.dumps(metrics, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert metrics["splits"]["openai_moderation/fr"]["f1"] < metrics["splits"]["openai_moderation/en"]["f1"] == 1.0
    assert "Per split" in result.output and "openai_moderation" in result.output
    assert "simple_safety_tests: consistency" in result.output
    assert "F1 = 2R/(1+R)" in result.output
    fr_f1 = metrics["splits"]["openai_moderation/fr"]["f1"]
    assert f"{100 * fr_f1:.1f}" in result.output
    assert "Fleiss kappa" in result.output
    assert write_metrics(run_dir) == metrics  # the same file, scored again


def test_cli_reports_errors(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(app, ["score", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "predictions.jsonl").write_text('{"benchmark": "toxicchat"}\n', encoding="utf-8")
    result = runner.invoke(app, ["score", str(bad / "predictions.jsonl")])
    assert result.exit_code == 2 and "line 1: field 'lang' is missing" in result.output


def test_lm_eval_output_without_importer_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "cgbench.harness.lmeval_import", None)  # import fails
    (tmp_path / "out").mkdir()
    result = CliRunner().invoke(app, ["score", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "lm-eval import is not available" in result.output


def test_lm_eval_output_is_imported_into_results(tmp_path, monkeypatch):
    predictions = _real_predictions(15)
    seen = []

    def import_lmeval(path):
        seen.append(path)
        return predictions, {"model": "HuggingFaceTB/SmolLM2-135M-Instruct", "backend": "hf", "source": "lm-eval"}

    monkeypatch.setitem(
        sys.modules, "cgbench.harness.lmeval_import", types.SimpleNamespace(import_lmeval=import_lmeval)
    )
    out = tmp_path / "out"
    out.mkdir()
    metrics, run_dir = score_path(out, tmp_path / "results", run_id="r1")
    assert seen == [out]
    assert run_dir == tmp_path / "results" / "HuggingFaceTB--SmolLM2-135M-Instruct" / "r1"
    assert read_predictions(run_dir / "predictions.jsonl") == predictions
    assert json.loads((run_dir / "metrics.json").read_text()) == metrics
    info = json.loads((run_dir / "run.json").read_text())
    assert info["guard"] == "HuggingFaceTB--SmolLM2-135M-Instruct" and info["run_id"] == "r1"
    assert info["n_items"] == len(predictions) and info["source"] == "lm-eval"
    with pytest.raises(ScoringError, match="already holds a run"):
        score_path(out, tmp_path / "results", run_id="r1")
    result = CliRunner().invoke(
        app, ["score", str(out), "--results-dir", str(tmp_path / "results"), "--guard", "smol", "--run-id", "r2"]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "results" / "smol" / "r2" / "metrics.json").is_file()


def test_lm_eval_importer_errors_are_reported(tmp_path, monkeypatch):
    def broken(path):
        raise ValueError(f"{path}/samples_cg_toxicchat_en.jsonl, line 2: field 'filtered_resps' is missing")

    def bad_record(path):
        return [{**_real_predictions(1)[0], "pred": "unsafe"}], {}

    (tmp_path / "out").mkdir()
    for importer, message in ((broken, "field 'filtered_resps' is missing"), (bad_record, "imported prediction 0")):
        fake = types.SimpleNamespace(import_lmeval=importer)
        monkeypatch.setitem(sys.modules, "cgbench.harness.lmeval_import", fake)
        result = CliRunner().invoke(app, ["score", str(tmp_path / "out"), "--results-dir", str(tmp_path / "r")])
        assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "r").exists()  # nothing half-written
