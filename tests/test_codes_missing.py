"""Llama Guard 4's bare ``unsafe`` is a verdict, counted apart: predictions.jsonl -> metrics.json -> leaderboard.
And a score read over more than two first tokens (Qwen3Guard's Unsafe/Controversial/Safe) on every backend path."""

from __future__ import annotations

import json
import math

import pytest

from cgbench.benchmarks.loading import Item
from cgbench.harness.runner import _prediction
from cgbench.harness.scoring import ScoringError, check_prediction, write_metrics, write_predictions
from cgbench.models.guards import get_format


def _run(tmp_path, outputs: list[str]):
    """A complete Llama Guard 4 run over OpenAI Moderation en (1,680 items): the given outputs, repeated, on
    alternating unsafe/safe items."""
    fmt = get_format("llama_guard_4", render="raw")
    predictions = []
    for idx in range(1680):
        output = outputs[idx % len(outputs)]
        item = Item(benchmark="openai_moderation", lang="en", idx=idx, text="t", label=1 - idx % 2)
        predictions.append(_prediction(item, fmt.read(output, None), output))
    run_dir = tmp_path / "results" / "lg4" / "r1"
    run_dir.mkdir(parents=True)
    write_predictions(run_dir / "predictions.jsonl", predictions)
    (run_dir / "run.json").write_text(json.dumps({"guard": "lg4", "model": "m", "run_id": "r1",
                                                 "created": "2025-01-01T00:00:00+00:00"}))  # fmt: skip
    return run_dir, predictions


def test_bare_unsafe_is_unsafe_and_counted_apart_from_parse_failures(tmp_path):
    outputs = ["unsafe", "safe", "unsafe\nS1", "safe", "\n\nunsafe", "oops", "unsafe\nS9", "safe"]
    run_dir, predictions = _run(tmp_path, outputs)
    assert [p.get("codes_missing", False) for p in predictions[:8]] == [True, False, False, False, True] + [False] * 3
    assert [p["pred"] for p in predictions[:8]] == [1, 0, 1, 0, 1, None, 1, 0]
    split = write_metrics(run_dir, n_bootstrap=0)["splits"]["openai_moderation/en"]
    assert split["codes_missing"] == pytest.approx(2 / 8) and split["parse_fail"] == pytest.approx(1 / 8)
    assert split["recall"] == 1.0  # the bare answers count as the unsafe verdicts they are

    from cgbench.leaderboard import build_leaderboard

    result = build_leaderboard(tmp_path / "results", tmp_path / "out")
    (row,) = [row for row in result.table.rows if not row.reference]  # beside the trivial reference rows
    assert row.codes_missing == pytest.approx(2 / 8) and row.parse_fail == pytest.approx(1 / 8)
    from cgbench.leaderboard.table import metric_columns

    assert "codes_missing" in [column.key for column in metric_columns(result.table)]
    assert "codes_missing" in (tmp_path / "out" / "leaderboard.csv").read_text(encoding="utf-8").splitlines()[0]


def test_a_run_without_bare_answers_has_no_codes_missing_field(tmp_path):
    run_dir, predictions = _run(tmp_path, ["unsafe\nS1", "safe"] * 2)
    assert all("codes_missing" not in p for p in predictions)
    assert "codes_missing" not in write_metrics(run_dir, n_bootstrap=0)["splits"]["openai_moderation/en"]


def test_a_bad_codes_missing_field_is_one_clear_error():
    record = {"benchmark": "b", "lang": "en", "idx": 0, "label": 1, "pred": 1, "score": None, "violations": [],
              "output": "unsafe", "codes_missing": "yes"}  # fmt: skip
    with pytest.raises(ScoringError, match=r"row 3: field 'codes_missing' must be true or false"):
        check_prediction(record, "row 3")


# ---------------------------------------------------------------- scores over groups of first tokens


def test_hf_and_vllm_and_openai_renormalise_over_every_score_token():
    torch = pytest.importorskip("torch")
    from cgbench.models.backends.hf import first_token_p_unsafe
    from cgbench.models.backends.openai import first_token_score

    p_unsafe, p_safe, p_cont = 0.5, 0.2, 0.1  # the rest of the mass is on other tokens
    logits = torch.full((1, 8), -30.0)
    logits[0, [3, 5, 7]] = torch.log(torch.tensor([p_unsafe, p_safe, p_cont]))
    strict = first_token_p_unsafe(logits, ((3, 7), (5,)))[0]
    loose = first_token_p_unsafe(logits, ((3,), (5, 7)))[0]
    assert strict == pytest.approx((p_unsafe + p_cont) / 0.8) and loose == pytest.approx(p_unsafe / 0.8)
    assert first_token_p_unsafe(logits, ((3,), (5,)))[0] == pytest.approx(p_unsafe / (p_unsafe + p_safe))
    top = {" Unsafe": math.log(p_unsafe), " Safe": math.log(p_safe), " Cont": math.log(p_cont)}
    assert first_token_score(top, ((" Unsafe", " Controversial"), " Safe")) == pytest.approx(strict)
    assert first_token_score(top, (" Unsafe", (" Safe", " Controversial"))) == pytest.approx(loose)


def test_an_lm_eval_import_keeps_codes_missing():
    from cgbench.harness.lmeval_import import sample_prediction

    doc = {"benchmark": "openai_moderation", "lang": "en", "idx": 0, "label": 1, "prompt_format": "llama_guard_4",
           "format_options": json.dumps({"render": "raw"})}  # fmt: skip
    bare, _ = sample_prediction({"doc": doc, "resps": [["unsafe"]]}, "line 1")
    coded, _ = sample_prediction({"doc": doc, "resps": [["unsafe\nS1"]]}, "line 2")
    assert (bare["pred"], bare.get("codes_missing")) == (1, True)
    assert (coded["pred"], coded["violations"], "codes_missing" in coded) == (1, ["S1"], False)
