"""From predictions to ``metrics.json``: reading and checking predictions, scoring a run folder or an
lm-eval ``--output_path``."""

from __future__ import annotations

import gzip
import json
import os
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import numpy as np

from cgbench.benchmarks import find_set
from cgbench.harness.calibration import calibration_table
from cgbench.harness.categories import category_recall, load_categories
from cgbench.harness.category_consistency import category_consistency
from cgbench.harness.consistency import CONSISTENCY_POLICY, benchmark_consistency, verdict_matrix
from cgbench.harness.headline import headline
from cgbench.harness.metrics import PARSE_FAILURE_POLICY, split_metrics
from cgbench.harness.resample import N_BOOTSTRAP, percentile_ci
from cgbench.harness.runfolder import PREDICTION_FILES, RunError, check_run_id, predictions_file
from cgbench.harness.schema import MetricsFile, Prediction, RunInfo
from cgbench.harness.script_gaps import script_gaps
from cgbench.harness.significance import SIGNIFICANCE_POLICY, adjust_family, average_f1_draws, language_gaps

# 2: language_gaps, f1_avg_ci95, category_recall; 3: headline, gaps on the items L shares with English in
# one Holm family per guard, consistency beyond all-agree, Wilson intervals on category recall
SCHEMA_VERSION = 3
CATEGORIES_NOTE = "categories from the upstream metadata of the English split (per language in RTP-LX and added sets)"


class ScoringError(ValueError):
    """Bad predictions or a path that is neither a run folder nor an lm-eval output."""


def _open_text(path: Path, mode: str = "rt") -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, mode, encoding="utf-8")
    return open(path, mode.replace("t", ""), encoding="utf-8")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# field -> (check, what it must be)
_FIELDS = {
    "benchmark": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "lang": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "idx": (lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
    "label": (lambda v: _is_int(v) and v in (0, 1), "0 or 1"),
    "pred": (lambda v: v is None or (_is_int(v) and v in (0, 1)), "0, 1 or null"),
    "score": (
        lambda v: v is None or (isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1),
        "a number in [0, 1] or null",
    ),
    "violations": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v), "a list of strings"),
    "output": (lambda v: isinstance(v, str), "a string"),
}


def check_prediction(record: object, where: str) -> Prediction:
    """``record`` as a Prediction, or a ScoringError naming ``where`` and the first bad field."""
    if not isinstance(record, dict):
        raise ScoringError(f"{where}: expected a JSON object, got {type(record).__name__}")
    for field, (ok, expected) in _FIELDS.items():
        if field not in record:
            raise ScoringError(f"{where}: field {field!r} is missing")
        if not ok(record[field]):
            raise ScoringError(f"{where}: field {field!r} must be {expected}, got {record[field]!r}")
    if "codes_missing" in record and not isinstance(record["codes_missing"], bool):
        raise ScoringError(f"{where}: field 'codes_missing' must be true or false, got {record['codes_missing']!r}")
    extra = {"codes_missing": True} if record.get("codes_missing") else {}
    return Prediction(**{field: record[field] for field in _FIELDS}, **extra)


def read_predictions(path: str | Path) -> list[Prediction]:
    """Every line of a ``predictions.jsonl`` (or ``.jsonl.gz``), checked field by field."""
    path = Path(path)
    predictions = []
    try:
        with _open_text(path) as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ScoringError(f"{path}, line {number}: not valid JSON ({exc.msg})") from exc
                predictions.append(check_prediction(record, f"{path}, line {number}"))
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise ScoringError(f"{path}: cannot read predictions ({exc})") from exc
    return predictions


def write_predictions(path: str | Path, predictions: Iterable[Prediction]) -> Path:
    """Write predictions as JSON lines (gzip when the name ends in ``.gz``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _open_text(path, "wt") as out:
        for p in predictions:
            out.write(json.dumps(p, ensure_ascii=False) + "\n")
    return path


Key = tuple[str, str, int]


def key_of(prediction: Prediction) -> Key:
    return prediction["benchmark"], prediction["lang"], prediction["idx"]


def by_key(predictions: Iterable[Prediction], where: str = "") -> dict[Key, Prediction]:
    """Predictions by (benchmark, lang, idx), refusing an item predicted twice: the one rule of ``cgbench score``
    and ``cgbench run --resume``."""
    found: dict[Key, Prediction] = {}
    for p in predictions:
        key = key_of(p)
        if key in found:
            prefix = f"{where}: " if where else ""
            raise ScoringError(f"{prefix}{p['benchmark']}/{p['lang']} item {p['idx']} is predicted more than once")
        found[key] = p
    return found


def _group(predictions: Iterable[Prediction]) -> dict[str, dict[str, list[Prediction]]]:
    """benchmark -> lang -> predictions, refusing an item predicted twice."""
    groups: dict[str, dict[str, list[Prediction]]] = defaultdict(lambda: defaultdict(list))
    for p in by_key(predictions).values():
        groups[p["benchmark"]][p["lang"]].append(p)
    return groups


def score_predictions(
    predictions: list[Prediction],
    *,
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
    categories: dict[str, dict[int, list[str]]] | None = None,
    categories_note: str = "",
) -> MetricsFile:
    """Metrics per ``benchmark/lang`` split; per benchmark with more than one language its consistency
    (skipped when no item is present in every language) and each language's gap to English with its tests;
    bootstrap intervals of the averaged F1; recall by harm category for the sets in ``categories``
    (benchmark -> item idx -> categories, see ``load_categories``)."""
    if not predictions:
        raise ScoringError("no predictions to score")
    splits, consistency, gaps, recall, matrices = {}, {}, {}, {}, {}
    for benchmark, by_lang in sorted(_group(predictions).items()):
        known = find_set(benchmark)
        for lang, preds in sorted(by_lang.items()):
            preds = sorted(preds, key=lambda p: p["idx"])
            try:
                splits[f"{benchmark}/{lang}"] = split_metrics(
                    [p["label"] for p in preds],
                    [p["pred"] for p in preds],
                    [p["score"] for p in preds],
                    all_unsafe=known.all_unsafe if known else False,
                    n_bootstrap=n_bootstrap,
                    seed=seed,
                    two_class_set=bool(known and not known.all_unsafe),
                )
            except ValueError as exc:
                raise ScoringError(f"{benchmark}/{lang}: {exc}") from exc
            if missing := sum(bool(p.get("codes_missing")) for p in preds):
                splits[f"{benchmark}/{lang}"]["codes_missing"] = missing / len(preds)
        everything = [p for preds in by_lang.values() for p in preds]
        if _has_common_item(by_lang):
            _, _, verdicts, labels = verdict_matrix(everything)
            matrices[benchmark] = (labels, verdicts)
            if len(by_lang) > 1:
                consistency[benchmark] = benchmark_consistency(everything)
        items = {lang: {p["idx"]: (p["label"], p["pred"]) for p in preds} for lang, preds in by_lang.items()}
        if found := language_gaps(items, n_bootstrap=n_bootstrap, seed=seed):
            gaps[benchmark] = found
        if categories and benchmark in categories:
            recall[benchmark] = category_recall(everything, categories[benchmark])
    adjust_family(gaps)
    averages = _average_intervals(matrices, n_bootstrap, seed)
    return MetricsFile(
        schema_version=SCHEMA_VERSION,
        splits=splits,
        consistency=consistency,
        parse_failure_policy=PARSE_FAILURE_POLICY,
        consistency_policy=CONSISTENCY_POLICY,
        language_gaps=gaps,
        significance_policy=SIGNIFICANCE_POLICY,
        f1_avg_ci95=averages,
        category_recall=recall,
        categories_note=categories_note,
        calibration=calibration_table(predictions),
        category_consistency=category_consistency(predictions, categories),
        script_gaps=script_gaps(predictions),
        headline=headline(predictions, n_bootstrap, seed),
    )


def _average_intervals(matrices: dict, n_bootstrap: int, seed: int) -> dict[str, list[float]]:
    """Intervals of each set's average F1 and of their mean ("all"), from one resample per set."""
    if n_bootstrap <= 0:
        return {benchmark: [] for benchmark in matrices}
    draws = {b: average_f1_draws(*m, n_bootstrap, seed + k) for k, (b, m) in enumerate(matrices.items())}
    averages = {benchmark: percentile_ci(values) for benchmark, values in draws.items()}
    if draws:
        averages["all"] = percentile_ci(np.mean(list(draws.values()), axis=0))
    return averages


def _categories_of(predictions: list[Prediction]) -> dict:
    """The harm categories of the scored sets, read from the data (mirror or cache), for ``score_predictions``;
    a set whose data cannot be read is scored without them, with a warning and a note in metrics.json."""
    categories, problems = load_categories({p["benchmark"] for p in predictions})
    for problem in problems:
        warnings.warn(problem, stacklevel=3)
    note = "; ".join(problems) or CATEGORIES_NOTE
    return {"categories": categories, "categories_note": note}


def _has_common_item(by_lang: dict[str, list[Prediction]]) -> bool:
    return bool(set.intersection(*({p["idx"] for p in preds} for preds in by_lang.values())))


def write_json(path: Path, data: object) -> None:
    """Write ``data`` as sorted, indented JSON, atomically (a reader never sees half a file)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, path)


def write_metrics(run_dir: str | Path, *, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> MetricsFile:
    """Score ``run_dir/predictions.jsonl[.gz]`` into ``run_dir/metrics.json``."""
    source = predictions_file(run_dir)
    if source is None:
        raise ScoringError(f"{run_dir}: no {' or '.join(PREDICTION_FILES)} here")
    predictions = read_predictions(source)
    metrics = score_predictions(predictions, n_bootstrap=n_bootstrap, seed=seed, **_categories_of(predictions))
    write_json(Path(run_dir) / "metrics.json", metrics)
    return metrics


def _safe_name(name: str) -> str:
    """A folder name from a guard or model name (``org/model`` -> ``org--model``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name.replace("/", "--")).strip("-") or "unknown"


def _check_run_id(run_id: str, what: str) -> str:
    try:
        return check_run_id(run_id, what)
    except RunError as exc:
        raise ScoringError(str(exc)) from exc


def score_path(
    path: str | Path,
    results_dir: str | Path = "results",
    guard: str | None = None,
    run_id: str | None = None,
) -> tuple[MetricsFile, Path]:
    """Score a native run folder in place, or import an lm-eval ``--output_path`` (written with
    ``--log_samples``) into ``results_dir/<guard>/<run-id>/``. Returns the metrics and the run folder."""
    path = Path(path)
    if run_id is not None:
        _check_run_id(run_id, "--run-id")
    if not path.exists():
        raise ScoringError(f"{path}: no such file or folder")
    if path.is_file() and path.name in PREDICTION_FILES:
        path = path.parent
    if predictions_file(path) is not None:
        return write_metrics(path), path
    try:
        from cgbench.harness.lmeval_import import import_lmeval
    except ImportError as exc:
        missing = "lm-eval import is not available yet" if exc.name == "cgbench.harness.lmeval_import" else str(exc)
        raise ScoringError(
            f"{path} holds no {PREDICTION_FILES[0]}, so it is read as an lm-eval output: {missing}"
        ) from exc
    try:
        predictions, info = import_lmeval(path)
    except (ValueError, OSError) as exc:  # the importer's own errors name the file and field
        raise ScoringError(str(exc)) from exc
    predictions = [check_prediction(p, f"{path}: imported prediction {i}") for i, p in enumerate(predictions)]
    guard = _safe_name(guard or info.get("guard") or info.get("model") or "unknown")
    run_id = run_id or _check_run_id(
        info.get("run_id") or datetime.now(UTC).strftime("lmeval-%Y%m%d-%H%M%S"), f"the run id read from {path}"
    )
    run_dir = Path(results_dir) / guard / run_id
    if predictions_file(run_dir) is not None:
        raise ScoringError(f"{run_dir} already holds a run; choose another --run-id")
    info = RunInfo(**{**info, "guard": guard, "run_id": run_id, "source": info.get("source", "lm-eval")})
    info.setdefault("n_items", len(predictions))
    metrics = score_predictions(predictions, **_categories_of(predictions))
    write_predictions(run_dir / PREDICTION_FILES[0], predictions)
    write_json(run_dir / "metrics.json", metrics)
    write_json(run_dir / "run.json", info)
    return metrics, run_dir
