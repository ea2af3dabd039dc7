"""The cgbench tasks through real lm-eval runs.

1. The ``lm_eval`` CLI (through ``cgbench lm-eval``) over all 18 tasks with a scripted model
   (``tests/lmeval_fake``) whose answer depends only on the prompt: the expected metrics are computed here
   with scikit-learn, and lm-eval's numbers, then ``cgbench score``'s, must equal them.
2. ``simple_evaluate`` with SmolLM2-135M-Instruct under the chat template: prompts render, the template
   applies, outputs parse.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_score, recall_score
from typer.testing import CliRunner

from cgbench.benchmarks import BENCHMARKS, LANGUAGES, load_split
from cgbench.cli import app
from cgbench.tasks import tasks_path

pytest.importorskip("lm_eval")

FAKE_DIR = Path(__file__).parent / "lmeval_fake"
sys.path.insert(0, str(FAKE_DIR))
from cg_fake_lm import ANSWERS, answer_for  # noqa: E402

LIMIT = 40
GUARD = "llama-guard-3-8b"
VERDICT = dict(ANSWERS)  # the fake model's answers, read as Llama Guard's output format defines them


@pytest.fixture(autouse=True)
def _user_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CGBENCH_HOME", str(tmp_path / "home"))


def _expected(labels: list[int], preds: list[int | None]) -> dict[str, float]:
    """The split's metrics from scikit-learn; an unparsed output counts as the wrong answer."""
    y = np.array(labels)
    p = np.array([1 - t if v is None else v for t, v in zip(labels, preds)])
    out = {
        "f1": f1_score(y, p, zero_division=0),
        "precision": precision_score(y, p, zero_division=0),
        "recall": recall_score(y, p, zero_division=0),
        "parse_fail": sum(v is None for v in preds) / len(preds),
    }
    if (y == 0).any():
        out["macro_f1"] = f1_score(y, p, average="macro", labels=[0, 1], zero_division=0)
        out["fpr"] = float(((p == 1) & (y == 0)).sum() / (y == 0).sum())
    return out


def _prompt(text: str) -> str:
    """The doc prompt of the named Llama Guard 3 8B: its raw guard prompt, as lm-eval sends it."""
    from cgbench.models.guards import get_guard
    from cgbench.tasks.guard_task import prompt_text

    return prompt_text(get_guard(GUARD).guard_format().single_prompt(text), "llama_guard")


def _fake_run_expectations() -> tuple[dict[tuple[str, str], dict[str, float]], dict[str, float]]:
    """Per split metrics, and per set the share of items judged alike (and parsed) in all six languages."""
    splits, agree = {}, {}
    for benchmark in BENCHMARKS:
        verdicts = []
        for lang in LANGUAGES:
            items = load_split(benchmark, lang)[:LIMIT]
            preds = [VERDICT[answer_for(_prompt(item.text))] for item in items]
            splits[benchmark, lang] = _expected([item.label for item in items], preds)
            verdicts.append(preds)
        by_item = list(zip(*verdicts))
        agree[benchmark] = sum(None not in v and len(set(v)) == 1 for v in by_item) / len(by_item)
    return splits, agree


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory, mirror) -> Path:
    """One lm-eval CLI run of cg_multilingual with the scripted model, samples logged."""
    out = tmp_path_factory.mktemp("lmeval_out")
    env = {**os.environ, "CGBENCH_DATA_DIR": str(mirror), "PYTHONPATH": str(FAKE_DIR), "OMP_NUM_THREADS": "1"}
    env["CGBENCH_HOME"] = str(tmp_path_factory.mktemp("home"))
    # `cgbench lm-eval` runs `python -m lm_eval run --include_path <tasks> ...` with these arguments
    command = [sys.executable, "-m", "cgbench.cli", "lm-eval", "--tasks", "cg_multilingual"]
    command += ["--model", "cg-fake", "--model_args", "pretrained=fake-guard", "--limit", str(LIMIT)]
    command += ["--metadata", json.dumps({"guard": GUARD}), "--log_samples", "--output_path", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_lm_eval_cli_reports_the_expected_metrics(fake_run):
    splits, _ = _fake_run_expectations()
    (results_file,) = fake_run.glob("fake-guard/results_*.json")
    results = json.loads(results_file.read_text())["results"]
    assert {f"cg_{b}_{lang}" for b, lang in splits} <= set(results)
    for (benchmark, lang), expected in splits.items():
        reported = results[f"cg_{benchmark}_{lang}"]
        assert reported["sample_len"] == LIMIT
        assert {k.split(",")[0]: v for k, v in reported.items() if k.endswith(",verdict") and "stderr" not in k} == (
            pytest.approx(expected, abs=1e-12)
        ), f"{benchmark}/{lang}"

    for benchmark in BENCHMARKS:  # a set's group: the plain mean over its languages
        for metric in splits[benchmark, "en"]:
            mean = np.mean([splits[benchmark, lang][metric] for lang in LANGUAGES])
            assert results[f"cg_{benchmark}"][f"{metric},verdict"] == pytest.approx(mean, abs=1e-12)
    for metric in ("f1", "macro_f1", "fpr", "parse_fail"):  # cg_multilingual: the mean over every split with it
        mean = np.mean([m[metric] for m in splits.values() if metric in m])
        assert results["cg_multilingual"][f"{metric},verdict"] == pytest.approx(mean, abs=1e-12)


def test_cgbench_score_imports_the_run(fake_run, tmp_path):
    splits, agree = _fake_run_expectations()
    scored = CliRunner().invoke(app, ["score", str(fake_run), "--results-dir", str(tmp_path / "results")])
    assert scored.exit_code == 0, scored.output
    (run_dir,) = (tmp_path / "results" / GUARD).iterdir()  # named after the --metadata guard
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for (benchmark, lang), expected in splits.items():
        split = metrics["splits"][f"{benchmark}/{lang}"]
        assert split["n"] == LIMIT
        assert {k: split[k] for k in expected} == pytest.approx(expected, abs=1e-12), f"{benchmark}/{lang}"
    for benchmark in BENCHMARKS:
        consistency = metrics["consistency"][benchmark]
        assert consistency["n_items"] == LIMIT and consistency["languages"] == sorted(LANGUAGES)
        assert consistency["all_agree"] == pytest.approx(agree[benchmark], abs=1e-12)

    info = json.loads((run_dir / "run.json").read_text())
    assert (info["backend"], info["prompt_format"], info["source"]) == ("lm-eval:cg-fake", "llama_guard", "lm-eval")
    assert info["model"] == "fake-guard" and info["n_items"] == 18 * LIMIT
    predictions = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    first = next(p for p in predictions if p["output"] == "unsafe\nS1,S10")
    assert (first["pred"], first["violations"], first["score"]) == (1, ["S1", "S10"], None)


def test_smollm2_through_simple_evaluate_with_chat_template(smollm2_dir):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from cgbench.models.guards import get_format

    tasks = ["cg_openai_moderation_en", "cg_toxicchat_zh", "cg_simple_safety_tests_hi"]
    out = simple_evaluate(
        model="hf",
        model_args={"pretrained": str(smollm2_dir), "dtype": "float32", "device": "cpu"},
        tasks=tasks,
        task_manager=TaskManager(include_path=str(tasks_path())),
        limit=3,
        batch_size=8,
        apply_chat_template=True,
        log_samples=True,
    )
    instruct = get_format("instruct")
    for task in tasks:
        assert 0.0 <= out["results"][task]["f1,verdict"] <= 1.0
        assert 0.0 <= out["results"][task]["parse_fail,verdict"] <= 1.0
        samples = out["samples"][task]
        assert len(samples) == 3
        for sample in samples:
            context, gen_kwargs = sample["arguments"][0]
            assert context.startswith("<|im_start|>system\n") and context.endswith("<|im_start|>assistant\n")
            assert sample["doc"]["text"] in context and "<BEGIN USER PROMPT>" in context
            assert gen_kwargs["max_gen_toks"] == instruct.max_new_tokens
            (output,) = sample["resps"][0]
            verdict = instruct.parse(output)
            assert sample["filtered_resps"][0] == (None if verdict.pred is None else int(verdict.pred))
