"""What lm-eval runs and imports report: the format check before lm-eval starts, the model name, AUPRC without
a real score, and the all-unsafe mark following the set rather than a --limit subset."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cgbench.cli import app
from cgbench.harness.lmeval_import import model_label
from cgbench.harness.metrics import split_metrics
from cgbench.harness.scoring import score_predictions
from cgbench.tasks import check_format_arguments


def test_a_chat_model_without_apply_chat_template_is_refused_in_one_line_before_lm_eval():
    result = CliRunner().invoke(app, ["lm-eval", "--tasks", "cg_toxicchat", "--model", "hf", "--model_args", "x"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: format 'instruct' {} sends a chat message for the model's own chat template: add --apply_chat_template"
    ]
    check_format_arguments(["--tasks", "cg_toxicchat", "--apply_chat_template"])  # the instruct format as it should
    check_format_arguments(["--tasks", "cg_multilingual", "--metadata", '{"guard": "llama-guard-3-1b"}'])
    with pytest.raises(ValueError, match="without --apply_chat_template"):
        check_format_arguments(
            ["--tasks=cg_toxicchat", '--metadata={"guard": "llama-guard-3-1b"}', "--apply_chat_template"]
        )
    check_format_arguments(["--tasks", "hellaswag"])  # not a cgbench task: lm-eval's business
    check_format_arguments(["-t", "cg_toxicchat", "cg_simple_safety_tests", "--metadata", "guard=llama-guard-3-1b"])
    with pytest.raises(ValueError, match="add --apply_chat_template"):
        check_format_arguments(["--tasks", "mmlu", "cg_toxicchat_fr", "--metadata", "prompt_format=instruct"])


@pytest.mark.parametrize(
    ("given", "recorded"),
    [
        ("meta-llama/Llama-Guard-3-1B", "meta-llama/Llama-Guard-3-1B"),
        ("/home/me/models/Llama-Guard-3-1B/", "Llama-Guard-3-1B"),
        ("./checkpoints/cao-final", "cao-final"),
        ("~/models/smol", "smol"),
    ],
)
def test_the_model_is_its_hub_id_or_its_folder_name(given, recorded):
    assert model_label(given) == recorded


def test_auprc_is_null_when_no_output_has_a_real_score():
    labels, unparsed = [1, 0, 1, 0], [None] * 4
    assert split_metrics(labels, unparsed, [0.9, 0.1, 0.8, 0.3], n_bootstrap=0)["auprc"] is None
    assert split_metrics(labels, [1, None, 1, 0], [0.9, 0.1, 0.8, 0.3], n_bootstrap=0)["auprc"] is not None


def test_the_all_unsafe_mark_follows_the_set_not_the_subset():
    """The first four OpenAI Moderation items of a --limit run may all be unsafe: still a two-class set."""
    rows = [
        {"benchmark": b, "lang": "en", "idx": i, "label": 1, "pred": 1, "score": None, "violations": [], "output": ""}
        for b in ("openai_moderation", "simple_safety_tests")
        for i in range(4)
    ]
    metrics = score_predictions(rows, n_bootstrap=0)
    assert not metrics["splits"]["openai_moderation/en"]["f1_from_recall"]
    assert metrics["splits"]["simple_safety_tests/en"]["f1_from_recall"]
    headline = metrics["headline"]
    assert headline["sets"] == {"openai_moderation": 0.5} and headline["macro_f1"] == 0.5  # no NaN, no † subset
    assert headline["one_class"] == {"simple_safety_tests": {"recall": 1.0, "fnr": 0.0}}
