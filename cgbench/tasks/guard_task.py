"""The task-side Python of the cgbench lm-eval tasks, referenced from ``_cg_common.yaml`` with ``!function``.

- :func:`load_docs` is the ``custom_dataset``: one split from :mod:`cgbench.benchmarks`, each doc carrying
  its rendered prompt and the prompt format that built it;
- :func:`generation_kwargs` gives greedy decoding with the format's token budget (set by
  :class:`cgbench.tasks.task_class.GuardTask`);
- :func:`parse_outputs` is the filter: the format's parser turns each raw output into 1, 0 or None;
- :func:`check_chat_template` refuses a format and ``--apply_chat_template`` combination that cannot send the
  model its exact prompt (:class:`cgbench.tasks.task_class.GuardTask` calls it before building requests);
- :func:`process_results` hands ``(label, pred)`` pairs to the scorer's aggregation helpers
  (:mod:`cgbench.harness.metrics`), named exactly as in ``metric_list``.

The prompt format comes from lm-eval's ``--metadata``: ``{"guard": "llama-guard-3-8b"}`` (a named guard's
format and options) or ``{"prompt_format": "llama_guard", "format_options": {"render": "raw"}}``; the default
is ``instruct``.

lm-eval tokenizes each doc's prompt string itself, so user text cannot be kept apart from the template as the
native backends do: a control-token spelling inside the user text (``<|eot_id|>``, ``<end_of_turn>``) is broken
with a zero-width space (:func:`cgbench.models.guards.base.escape_controls`) so that it stays text.
"""

from __future__ import annotations

import json
from typing import Any

from cgbench.benchmarks import get_benchmark, load_split
from cgbench.harness.lmeval_import import cached_format, doc_verdict
from cgbench.models.guards import get_guard
from cgbench.models.guards.base import GuardFormat, Prompt, escape_controls

DEFAULT_FORMAT = "instruct"
FILTER_NAME = "verdict"  # results are keyed "<metric>,verdict"
TWO_CLASS_METRICS = ("f1", "macro_f1", "precision", "recall", "fpr", "parse_fail")
ONE_CLASS_METRICS = ("f1", "precision", "recall", "parse_fail")  # macro-F1 and FPR need safe items


def metric_names(benchmark: str) -> tuple[str, ...]:
    """The metrics a task of ``benchmark`` reports (the keys of ``process_results``)."""
    return ONE_CLASS_METRICS if get_benchmark(benchmark).all_unsafe else TWO_CLASS_METRICS


def format_choice(metadata: dict[str, Any] | None) -> tuple[str, dict[str, str]]:
    """(format name, options) from a task's metadata.

    ``prompt_format`` and ``format_options`` choose directly; ``guard`` (a name of the guard registry)
    brings its format and options; neither gives ``instruct``.
    """
    metadata = metadata or {}
    options = metadata.get("format_options") or {}
    if isinstance(options, str):
        options = json.loads(options)
    if not isinstance(options, dict):
        raise ValueError(f"metadata 'format_options' must be a JSON object, got {options!r}")
    name = metadata.get("prompt_format")
    if not name and metadata.get("guard"):
        spec = get_guard(str(metadata["guard"]))
        name, options = spec.guard_format().name, {**spec.format_options, **options}
    return str(name or DEFAULT_FORMAT), {k: str(v) for k, v in options.items()}


def guard_format(name: str, options: dict[str, str]) -> GuardFormat:
    """The (cached) format object for a name and options."""
    return cached_format(name, json.dumps(options, sort_keys=True))


def prompt_text(prompt: Prompt, format_name: str) -> str:
    """The one string lm-eval sends: a raw prompt as is, or the content of a single user turn; control-token
    spellings in the user's text are escaped (:func:`escape_controls`).

    A user turn is wrapped by the model's chat template under ``--apply_chat_template``; a raw prompt is
    meant to be sent without it (:func:`check_chat_template`).
    """
    if prompt.raw is not None:
        return escape_controls(prompt.raw, prompt.user_spans)
    messages = prompt.messages or ()
    if len(messages) != 1 or messages[0].get("role") != "user" or not isinstance(messages[0].get("content"), str):
        raise ValueError(
            f"format {format_name!r} builds {len(messages)} message(s) or non-text content; lm-eval sends one "
            "user turn of plain text. Choose the format's raw rendering in format_options, if it has one."
        )
    return escape_controls(messages[0]["content"])


def check_chat_template(fmt: GuardFormat, apply_chat_template: bool) -> None:
    """Refuse a run whose prompts the model would not receive exactly: a raw prompt (the whole guard prompt,
    its control tokens included) under ``--apply_chat_template``, a message prompt without it, or a format whose
    message prompt the model's chat template does not render exactly under lm-eval."""
    raw = fmt.single_prompt("x").raw is not None
    options = json.dumps(fmt.options)
    if raw and apply_chat_template:
        raise ValueError(
            f"format {fmt.name!r} {options} builds the whole guard prompt as text (its own control tokens and "
            "BOS policy): run it without --apply_chat_template, and with add_bos_token=True in --model_args for hf"
        )
    if not raw and not apply_chat_template:
        raise ValueError(
            f"format {fmt.name!r} {options} sends a chat message for the model's own chat template: "
            "add --apply_chat_template"
        )
    problem = None if raw else fmt.chat_template_problem()
    if problem:
        raise ValueError(
            f"format {fmt.name!r} {options} cannot give the model its exact prompt under lm-eval: {problem}. "
            'Use its raw rendering without --apply_chat_template (format_options {"render": "raw"}, as the '
            "named guards do)"
        )


def load_docs(benchmark: str, lang: str, **kwargs: Any):
    """``custom_dataset``: one split as a ``datasets.DatasetDict`` with a ``test`` split.

    lm-eval passes the task's metadata (``version``, ``prompt_format``, ``format_options``, model
    arguments, ...) and ``dataset_kwargs`` (``benchmark``, ``lang``) as keyword arguments.
    The data comes from ``$CGBENCH_DATA_DIR`` or the cache, or the metadata's ``data_dir``.
    """
    import datasets

    name, options = format_choice(kwargs)
    fmt = guard_format(name, options)
    options_json = json.dumps(options, sort_keys=True)
    rows = [
        {
            "benchmark": item.benchmark,
            "lang": item.lang,
            "idx": item.idx,
            "label": item.label,
            "source_id": item.source_id or "",
            "text": item.text,
            "prompt": prompt_text(fmt.single_prompt(item.text), name),
            "prompt_format": name,
            "format_options": options_json,
        }
        for item in load_split(benchmark, lang, kwargs.get("data_dir"))
    ]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def generation_kwargs(fmt: GuardFormat) -> dict[str, Any]:
    """Greedy decoding up to the format's token budget; the model's end-of-turn token stops it."""
    return {"until": [], "max_gen_toks": fmt.max_new_tokens, "do_sample": False, "temperature": 0.0}


def parse_outputs(resps: list[list[str]], docs: list[dict[str, Any]]) -> list[int | None]:
    """Filter: the first output of each doc -> 1 (unsafe), 0 (safe) or None (could not be parsed)."""
    preds = []
    for outputs, doc in zip(resps, docs, strict=True):
        verdict = doc_verdict(doc, outputs[0])
        preds.append(None if verdict.pred is None else int(verdict.pred))
    return preds


def process_results(doc: dict[str, Any], results: list[int | None]) -> dict[str, tuple[int, int | None]]:
    """One ``(label, pred)`` pair per metric; the aggregation functions turn the pairs into numbers."""
    pair = (int(doc["label"]), results[0])
    return dict.fromkeys(metric_names(doc["benchmark"]), pair)
