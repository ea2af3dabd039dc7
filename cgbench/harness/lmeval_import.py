"""Read an lm-eval ``--output_path`` written with ``--log_samples`` into Predictions and a RunInfo.

lm-eval writes ``results_<time>.json`` and one ``samples_<task>_<time>.jsonl`` per task, in a folder
named after the model under the output path. Each sample line holds the doc (the cgbench item plus the
prompt format that built its prompt) and the raw output; the verdict is read again here with that
format's parser, so an import gives the same predictions as the task's filter and keeps the violations.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from cgbench.harness.schema import Prediction, RunInfo
from cgbench.models.guards import GUARDS, GuardFormat, get_format
from cgbench.models.guards.base import Verdict

DOC_FIELDS = ("benchmark", "lang", "idx", "label", "prompt_format", "format_options")


class LmEvalImportError(ValueError):
    """An lm-eval output that cannot be imported; the message names the file, line and field."""


def find_results(path: str | Path) -> Path:
    """The newest ``results_*.json`` of an lm-eval output path (or that file itself)."""
    path = Path(path)
    if path.is_file():
        if not path.name.startswith("results_") or path.suffix != ".json":
            raise LmEvalImportError(f"{path}: expected an lm-eval results_*.json file or its output folder")
        return path
    found = sorted(path.rglob("results_*.json"))
    if not found:
        raise LmEvalImportError(f"{path}: no results_*.json inside; is it an lm-eval --output_path?")
    folders = sorted({str(f.parent) for f in found})
    if len(folders) > 1:
        raise LmEvalImportError(f"{path} holds results of several models ({', '.join(folders)}); pass one folder")
    return max(found, key=lambda f: f.name)  # names end in an ISO timestamp: the newest run wins


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LmEvalImportError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict):
        raise LmEvalImportError(f"{path}: expected a JSON object")
    return data


@lru_cache(maxsize=32)
def cached_format(name: str, options_json: str) -> GuardFormat:
    """The format object for a name and its options as JSON (built once per distinct pair)."""
    return get_format(name, **json.loads(options_json))


def doc_verdict(doc: dict[str, Any], output: str) -> Verdict:
    """The verdict of one raw output, read by the format that built the doc's prompt (the task's filter
    and the import both read outputs here, so they agree)."""
    return cached_format(doc["prompt_format"], doc["format_options"]).parse(output)


def sample_prediction(record: Any, where: str) -> tuple[Prediction, str] | None:
    """The prediction of one sample line and its prompt format; None for a line of another task than cgbench's."""
    doc = record.get("doc") if isinstance(record, dict) else None
    if not isinstance(doc, dict):
        raise LmEvalImportError(f"{where}: field 'doc' is missing or not an object")
    if "prompt_format" not in doc and "benchmark" not in doc:
        return None
    for name in DOC_FIELDS:
        if name not in doc:
            raise LmEvalImportError(f"{where}: field 'doc.{name}' is missing")
    resps = record.get("resps")
    if not (isinstance(resps, list) and resps and isinstance(resps[0], list) and resps[0]):
        raise LmEvalImportError(f"{where}: field 'resps' must hold the model's output ([[text]])")
    output = resps[0][0]
    if not isinstance(output, str):
        raise LmEvalImportError(f"{where}: field 'resps' holds {type(output).__name__}, not the output text")
    try:
        verdict = doc_verdict(doc, output)
    except (ValueError, TypeError) as exc:
        raise LmEvalImportError(f"{where}: field 'doc.prompt_format' or 'doc.format_options': {exc}") from exc
    prediction = Prediction(
        benchmark=doc["benchmark"],
        lang=doc["lang"],
        idx=doc["idx"],
        label=doc["label"],
        pred=None if verdict.pred is None else int(verdict.pred),
        score=None,
        violations=list(verdict.violations),
        output=output,
        **({"codes_missing": True} if verdict.codes_missing else {}),
    )
    return prediction, doc["prompt_format"]


def read_samples(path: Path) -> tuple[list[Prediction], set[str]]:
    """The predictions of one ``samples_<task>_<time>.jsonl`` (one per doc, whatever the filters), and the
    prompt formats seen."""
    predictions: dict[int, Prediction] = {}
    formats = set()
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LmEvalImportError(f"{where}: not valid JSON ({exc.msg})") from exc
            found = sample_prediction(record, where)
            if found is not None:
                predictions.setdefault(found[0]["idx"], found[0])
                formats.add(found[1])
    return list(predictions.values()), formats


def _first_config(results: dict[str, Any]) -> dict[str, Any]:
    configs = results.get("configs") or {}
    return next(iter(configs.values()), {}) if isinstance(configs, dict) else {}


def run_info(results: dict[str, Any], results_file: Path, predictions: list[Prediction], formats: set[str]) -> RunInfo:
    """guard, model, backend (``lm-eval:<model type>``), prompt format, versions and timing of the run."""
    import cgbench

    config = results.get("config") or {}
    model_args = config.get("model_args") or {}
    if isinstance(model_args, str):
        model_args = dict(part.split("=", 1) for part in model_args.split(",") if "=" in part)
    model = model_label(
        results.get("model_name") or model_args.get("pretrained") or model_args.get("model") or "unknown"
    )
    metadata = _first_config(results).get("metadata") or {}
    wall = float(results.get("total_evaluation_time_seconds") or 0.0)
    versions = {"cgbench": cgbench.__version__, "lm_eval": results.get("lm_eval_version")}
    versions["transformers"] = results.get("transformers_version")
    return RunInfo(
        guard=str(metadata.get("guard") or guard_name(str(model))),
        model=str(model),
        model_params=None,
        backend=f"lm-eval:{config.get('model', 'unknown')}",
        prompt_format=",".join(sorted(formats)),
        run_id="lmeval-" + results_file.stem.removeprefix("results_").split(".")[0],
        versions={name: str(version) for name, version in versions.items() if version},
        git_commit=results.get("git_hash"),
        wall_time_s=wall,
        items_per_s=len(predictions) / wall if wall > 0 else 0.0,
        n_items=len(predictions),
        source="lm-eval",
        limit=config.get("limit"),
        n_samples=_n_samples(results, len(predictions)),
        **_created(results.get("date")),
    )


def model_label(model: object) -> str:
    """The model as recorded: a hub id as given, a local folder by its name only (an absolute or relative path
    says nothing about the model on another machine)."""
    text = str(model).rstrip("/")
    local = text.startswith(("/", "./", "../", "~")) or text.count("/") > 1 or Path(text).expanduser().is_dir()
    return Path(text).name if local and Path(text).name else text


def guard_name(model: str) -> str:
    """The registry's name of the guard whose hub id is ``model`` (or ends a local path with the same name);
    otherwise the model's last path component."""
    tail = model.rstrip("/").split("/")[-1]
    for spec in GUARDS.values():
        if spec.hub_id is None or spec.kind != "generative":
            continue
        if model.lower() == spec.hub_id.lower() or tail.lower() == spec.hub_id.split("/")[-1].lower():
            return spec.name
    return tail


def _n_samples(results: dict[str, Any], n_predictions: int) -> int:
    """Samples lm-eval evaluated (its ``n-samples``, ``effective`` after ``--limit``), else the predictions read."""
    counts = results.get("n-samples")
    if isinstance(counts, dict) and counts:
        effective = [c.get("effective") for c in counts.values() if isinstance(c, dict)]
        if effective and all(isinstance(n, int) for n in effective):
            return sum(effective)
    return n_predictions


def _created(date: Any) -> dict[str, str]:
    """lm-eval's ``date`` (seconds since the epoch) as RunInfo's ``created``."""
    if not isinstance(date, int | float):
        return {}
    return {"created": datetime.fromtimestamp(date, UTC).isoformat(timespec="seconds")}


def import_lmeval(path: str | Path) -> tuple[list[Prediction], RunInfo]:
    """Every cgbench prediction of an lm-eval output path, and what ran; errors name the file and field."""
    results_file = find_results(path)
    results = _read_json(results_file)
    stamp = results_file.stem.removeprefix("results_")
    sample_files = sorted(results_file.parent.glob(f"samples_*_{stamp}.jsonl"))
    if not sample_files:
        raise LmEvalImportError(f"{results_file}: no samples_*_{stamp}.jsonl beside it; run lm-eval with --log_samples")
    predictions, formats = [], set()
    for sample_file in sample_files:
        found, seen = read_samples(sample_file)
        predictions += found
        formats |= seen
    if not predictions:
        raise LmEvalImportError(f"{results_file.parent}: the samples hold no cgbench task (cg_<set>_<lang>)")
    return predictions, run_info(results, results_file, predictions, formats)
