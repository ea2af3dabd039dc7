"""Finding run folders under ``results/``, checking their files, and choosing one run per guard."""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cgbench.benchmarks import BENCHMARKS
from cgbench.harness.schema import MetricsFile, RunInfo

# the fields the leaderboard reads, and what each must be: a count, a rate in [0, 1], or a string
SPLIT_FIELDS = {"n": "count", "f1": "rate", "parse_fail": "rate"}
CONSISTENCY_FIELDS = {"all_agree": "rate", "f1_gap": "rate", "best_lang": "string", "worst_lang": "string"}
GAP_FIELDS = {"f1_diff": "difference", "significant": "flag"}
CELL_FIELDS = {"n": "count", "recall": "rate"}
# written by the scorer since metrics.json schema 2; an older file is shown without them, with a warning
NEWER_FIELDS = {
    "language_gaps": "significance marks",
    "f1_avg_ci95": "intervals of the averages",
    "category_recall": "recall by harm category",
    "headline": "the headline's interval and the gap tests of schema 3 (one Holm family per guard)",
}


class LeaderboardError(Exception):
    """A request the leaderboard cannot satisfy (a missing results folder, an unknown ``--run``)."""


class MalformedRun(Exception):
    """A run folder whose files do not follow the results schema."""


@dataclass(frozen=True)
class Run:
    """One run folder that passed the checks."""

    folder: Path
    guard: str
    run_id: str
    created: datetime | None
    info: RunInfo
    metrics: MetricsFile
    reference: bool = False  # a trivial guard computed from the data (``harness.ranking``), never run

    def missing(self) -> list[str]:
        """The newer metrics.json fields this run lacks (an older file, or a run scored without them)."""
        return [name for name in NEWER_FIELDS if name not in self.metrics]

    def warning(self) -> str | None:
        missing = self.missing()
        if not missing:
            return None
        what = ", ".join(NEWER_FIELDS[name] for name in missing)
        return (
            f"{self.folder.as_posix()}: metrics.json has no {', '.join(missing)} (schema "
            f"{self.metrics.get('schema_version', '?')}), so it is shown without {what}; rescore it with "
            f"`cgbench score {self.folder.as_posix()}`"
        )


@dataclass(frozen=True)
class Skipped:
    """A run folder left out, and why."""

    folder: Path
    reason: str

    def __str__(self) -> str:
        return f"skipped {self.folder.as_posix()}: {self.reason}"


def load_runs(results_dir: Path) -> tuple[list[Run], list[Skipped]]:
    """Every ``<guard>/<run-id>/`` folder under ``results_dir``: the valid runs and the skipped folders."""
    if not results_dir.is_dir():
        raise LeaderboardError(f"results folder {results_dir.as_posix()} does not exist")
    runs, skipped = [], []
    for folder in sorted(p for p in results_dir.glob("*/*") if p.is_dir()):
        try:
            runs.append(_load_run(folder))
        except MalformedRun as exc:
            skipped.append(Skipped(folder, str(exc)))
    return runs, skipped


def select_runs(runs: list[Run], picks: dict[str, str] | None = None) -> list[Run]:
    """One run per guard: the one ``picks`` names, else the one with the most splits, the newest by ``created``
    (then by run id) among those: a later run over a few splits (a romanized variant, a re-run of one set) does
    not hide a guard's full run."""
    picks = picks or {}
    by_guard: dict[str, list[Run]] = {}
    for run in runs:
        by_guard.setdefault(run.guard, []).append(run)
    for guard, run_id in sorted(picks.items()):
        if guard not in by_guard:
            raise LeaderboardError(f"--run {guard}={run_id}: no valid run of guard {guard!r}{_hint(guard, by_guard)}")
        if run_id not in {run.run_id for run in by_guard[guard]}:
            choices = sorted(run.run_id for run in by_guard[guard])
            raise LeaderboardError(f"--run {guard}={run_id}: no valid run {run_id!r}; choose from {', '.join(choices)}")
    chosen = []
    for guard in sorted(by_guard):
        candidates = by_guard[guard]
        if guard in picks:
            chosen.append(next(run for run in candidates if run.run_id == picks[guard]))
        else:
            chosen.append(max(candidates, key=lambda run: (len(run.metrics.get("splits", {})), *_age_key(run))))
    return chosen


def parse_picks(values: list[str]) -> dict[str, str]:
    """``["GUARD=RUN_ID", ...]`` -> ``{guard: run_id}``."""
    picks: dict[str, str] = {}
    for value in values:
        guard, sep, run_id = value.partition("=")
        if not sep or not guard or not run_id:
            raise LeaderboardError(f"--run {value!r}: expected GUARD=RUN_ID, e.g. --run e5-probe=20250101T120000Z")
        if guard in picks and picks[guard] != run_id:
            raise LeaderboardError(f"--run names two runs of guard {guard!r}: {picks[guard]} and {run_id}")
        picks[guard] = run_id
    return picks


def _hint(name: str, choices: dict[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else f"; guards: {', '.join(sorted(choices)) or 'none'}"


def _age_key(run: Run) -> tuple[datetime, str]:
    return (run.created or datetime.min.replace(tzinfo=UTC), run.run_id)


def _load_run(folder: Path) -> Run:
    info = _read_json(folder / "run.json")
    metrics = _read_json(folder / "metrics.json")
    _check_run_info(info)
    _check_metrics(metrics)
    _check_complete(info, metrics)
    return Run(
        folder=folder,
        guard=info.get("guard") or folder.parent.name,
        run_id=info.get("run_id") or folder.name,
        created=_parse_created(info.get("created")),
        info=info,
        metrics=metrics,
    )


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise MalformedRun(f"{path.name} is missing")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedRun(f"{path.name} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise MalformedRun(f"{path.name} must hold a JSON object, not {type(data).__name__}")
    return data


def _check_run_info(info: dict[str, Any]) -> None:
    for field in ("guard", "model", "run_id", "created"):
        if field in info and not isinstance(info[field], str):
            raise MalformedRun(f"run.json: {field} must be a string")
    params = info.get("model_params")
    if params is not None and not _is_number(params):
        raise MalformedRun("run.json: model_params must be a number (billions) or null")


def _parse_created(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        created = datetime.fromisoformat(value)
    except ValueError as exc:
        raise MalformedRun(f"run.json: created {value!r} is not an ISO 8601 time") from exc
    return created if created.tzinfo else created.replace(tzinfo=UTC)


def _check_metrics(metrics: dict[str, Any]) -> None:
    splits = metrics.get("splits")
    if not isinstance(splits, dict) or not splits:
        raise MalformedRun("metrics.json: splits must be a non-empty object keyed '<benchmark>/<lang>'")
    for key, split in splits.items():
        if key.count("/") != 1 or "" in key.split("/"):
            raise MalformedRun(f"metrics.json: split key {key!r} is not '<benchmark>/<lang>'")
        _check_fields(split, SPLIT_FIELDS, f"splits[{key!r}]")
        if "codes_missing" in split:  # written only for answers without their categories line
            _check_fields(split, {"codes_missing": "rate"}, f"splits[{key!r}]")
    consistency = metrics.get("consistency", {})
    if not isinstance(consistency, dict):
        raise MalformedRun("metrics.json: consistency must be an object keyed by benchmark")
    for benchmark, block in consistency.items():
        _check_fields(block, CONSISTENCY_FIELDS, f"consistency[{benchmark!r}]")
        if "f1_by_lang" in block:
            by_lang = block["f1_by_lang"]
            if not isinstance(by_lang, dict):
                raise MalformedRun(f"metrics.json: consistency[{benchmark!r}].f1_by_lang must be an object")
            _check_fields(by_lang, dict.fromkeys(by_lang, "rate"), f"consistency[{benchmark!r}].f1_by_lang")
    for key, split in splits.items():
        _check_interval(split.get("f1_ci95", []), f"splits[{key!r}].f1_ci95")
    for benchmark, by_lang in _object(metrics.get("language_gaps", {}), "language_gaps").items():
        for lang, gap in _object(by_lang, f"language_gaps[{benchmark!r}]").items():
            _check_fields(gap, GAP_FIELDS, f"language_gaps[{benchmark!r}][{lang!r}]")
            _check_interval(gap.get("f1_diff_ci95", []), f"language_gaps[{benchmark!r}][{lang!r}].f1_diff_ci95", -1)
    for key, interval in _object(metrics.get("f1_avg_ci95", {}), "f1_avg_ci95").items():
        _check_interval(interval, f"f1_avg_ci95[{key!r}]")
    for benchmark, by_category in _object(metrics.get("category_recall", {}), "category_recall").items():
        for category, by_lang in _object(by_category, f"category_recall[{benchmark!r}]").items():
            where = f"category_recall[{benchmark!r}][{category!r}]"
            for lang, cell in _object(by_lang, where).items():
                _check_fields(cell, CELL_FIELDS, f"{where}[{lang!r}]")


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedRun(f"metrics.json: {where} must be an object")
    return value


def _check_interval(value: Any, where: str, low: float = 0) -> None:
    """An empty list (no resamples) or [low, high] within [``low``, 1]."""
    ok = isinstance(value, list) and (
        not value or (len(value) == 2 and all(_is_number(v) and low <= v <= 1 for v in value) and value[0] <= value[1])
    )
    if not ok:
        raise MalformedRun(f"metrics.json: {where} must be [low, high] or [], got {value!r}")


def _check_complete(info: dict[str, Any], metrics: dict[str, Any]) -> None:
    """A run still being written, or one that scored only part of a split, is never ranked as a full run."""
    status = info.get("status")
    if status is not None and status != "finished":
        raise MalformedRun(f"partial run: run.json status is {status!r}, not finished (resume it to complete it)")
    short = []
    for key, split in metrics["splits"].items():
        benchmark = key.split("/")[0]
        if benchmark in BENCHMARKS and split["n"] < BENCHMARKS[benchmark].n:
            short.append(f"{key} n={split['n']} of {BENCHMARKS[benchmark].n}")
    if short:
        limit = info.get("limit")
        why = f" (run with limit {limit})" if limit is not None else ""
        raise MalformedRun(f"partial run{why}: " + ", ".join(short))


def _check_fields(block: Any, fields: dict[str, str], where: str) -> None:
    if not isinstance(block, dict):
        raise MalformedRun(f"metrics.json: {where} must be an object")
    for field, kind in fields.items():
        value = block.get(field)
        if kind == "string":
            ok = isinstance(value, str)
        elif kind == "flag":
            ok = isinstance(value, bool)
        elif kind == "difference":
            ok = _is_number(value) and -1 <= value <= 1
        elif kind == "count":
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        else:
            ok = _is_number(value) and 0 <= value <= 1
        if not ok:
            expected = {
                "string": "a string",
                "count": "a count",
                "rate": "a fraction in [0, 1]",
                "flag": "true or false",
                "difference": "a number in [-1, 1]",
            }[kind]
            raise MalformedRun(f"metrics.json: {where}.{field} must be {expected}, got {value!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
