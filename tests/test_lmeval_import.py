"""Reading lm-eval output folders: the newest run, one prediction per doc, and clear errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cgbench.cli import app
from cgbench.harness.lmeval_import import LmEvalImportError, import_lmeval

STAMP = "2026-01-02T03-04-05.678901"


def _doc(idx: int, lang: str = "en", label: int = 1) -> dict:
    return {"benchmark": "simple_safety_tests", "lang": lang, "idx": idx, "label": label, "text": "t", "prompt": "t",
            "prompt_format": "llama_guard", "format_options": "{}"}  # fmt: skip


def _output(root: Path, lines: list[object], stamp: str = STAMP, results: dict | None = None) -> Path:
    folder = root / "org__model"
    folder.mkdir(parents=True, exist_ok=True)
    results = results or {"config": {"model": "vllm", "model_args": "pretrained=org/model,dtype=auto"}, "date": 0}
    (folder / f"results_{stamp}.json").write_text(json.dumps(results))
    sample_file = folder / f"samples_cg_simple_safety_tests_en_{stamp}.jsonl"
    sample_file.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return root


def test_reads_predictions_and_run_info(tmp_path):
    lines = [
        {"doc": _doc(0), "resps": [["unsafe\nS2, S12"]], "filter": "verdict"},
        {"doc": _doc(1), "resps": [["safe"]], "filter": "verdict"},
        {"doc": _doc(2), "resps": [["It depends."]], "filter": "verdict"},
        {"doc": {"question": "not a cgbench task"}, "resps": [["A"]], "filter": "none"},
    ]
    _output(tmp_path, [{"doc": _doc(0), "resps": [["safe"]]}], stamp="2025-01-01T00-00-00.0")  # an older run
    predictions, info = import_lmeval(_output(tmp_path, lines))
    assert [(p["idx"], p["pred"], p["violations"]) for p in predictions] == [(0, 1, ["S2", "S12"]), (1, 0, []),
                                                                             (2, None, [])]  # fmt: skip
    assert predictions[2]["output"] == "It depends." and predictions[2]["score"] is None
    assert (info["guard"], info["model"], info["backend"]) == ("model", "org/model", "lm-eval:vllm")
    assert (info["prompt_format"], info["source"], info["run_id"]) == ("llama_guard", "lm-eval", f"lmeval-{STAMP[:19]}")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["{not json"], "line 1: not valid JSON"),
        ([{"doc": _doc(0), "resps": [["safe"]]}, {"doc": _doc(1), "resps": []}],
         "line 2: field 'resps'"),
        ([{"doc": {k: v for k, v in _doc(0).items() if k != "label"}, "resps": [["safe"]]}], "field 'doc.label'"),
        ([{"doc": {**_doc(0), "prompt_format": "llamaguard"}, "resps": [["safe"]]}], "unknown prompt format"),
    ],
)  # fmt: skip
def test_bad_sample_lines_name_file_line_and_field(tmp_path, lines, message):
    root = _output(tmp_path, lines)
    with pytest.raises(LmEvalImportError, match=message) as error:
        import_lmeval(root)
    assert "samples_cg_simple_safety_tests_en" in str(error.value)


def test_missing_samples_and_missing_results(tmp_path):
    root = _output(tmp_path / "a", [{"doc": _doc(0), "resps": [["safe"]]}])
    next(root.rglob("samples_*.jsonl")).unlink()
    with pytest.raises(LmEvalImportError, match="--log_samples"):
        import_lmeval(root)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LmEvalImportError, match="no results_"):
        import_lmeval(tmp_path / "empty")

    refused = CliRunner().invoke(app, ["score", str(root), "--results-dir", str(tmp_path / "results")])
    assert refused.exit_code == 2 and "--log_samples" in refused.output
