"""The native runner behind ``cgbench run``: streams predictions, resumes after a kill, scores at the end.

Order of work: the guard and the data are checked first (a bad file fails before
any model loads); then the backend is built; items not yet in
``predictions.jsonl`` are run split by split, longest first within a split
(similar lengths batch with little padding); each finished batch is appended
durably. At the end the file is rewritten in item order, scored into
``metrics.json``, and ``run.json`` is written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from cgbench.benchmarks import BENCHMARKS, Item, available_languages, get_benchmark, load_split, sources
from cgbench.harness import store
from cgbench.harness.runinfo import data_checksums, git_commit, versions
from cgbench.harness.schema import MetricsFile, Prediction, RunInfo
from cgbench.harness.scoring import write_json, write_metrics
from cgbench.models.guards.base import GuardFormat, Verdict
from cgbench.models.guards.registry import GuardSpec, get_guard

DEFAULT_GUARD = "e5-probe"
DEFAULT_BATCH = {"cpu": 64, "hf": 8, "vllm": 256, "openai": 64}
OUTPUT_SEPARATOR = "\n---\n"  # between the outputs of a guard that asks several prompts per item
SAME_RUN_FIELDS = ("guard", "model", "backend", "prompt_format")


class RunError(ValueError):
    """A run that cannot start: bad options, a missing model, a folder that holds another run."""


@dataclass
class RunOptions:
    guard: str = DEFAULT_GUARD
    model: str | None = None
    backend: str | None = None
    sets: list[str] | None = None
    langs: list[str] | None = None
    limit: int | None = None
    resume: bool = False
    run_id: str | None = None
    results_dir: Path = Path("results")
    batch_size: int | None = None
    base_url: str | None = None
    data_dir: Path | None = None
    backend_options: dict[str, Any] = field(default_factory=dict)  # device, dtype, tensor_parallel_size, ...


def select_items(options: RunOptions) -> list[Item]:
    """The chosen splits' items (the first ``limit`` of each split); raises DataError on bad data."""
    for benchmark in options.sets or []:
        get_benchmark(benchmark)
    items = []
    for benchmark in options.sets or list(BENCHMARKS):
        for lang in options.langs or available_languages(options.data_dir):
            items.extend(load_split(benchmark, lang, options.data_dir)[: options.limit])
    return items


def _default_backend(spec: GuardSpec, options: RunOptions) -> str:
    if spec.kind == "probe":
        return "cpu"
    if options.base_url:
        return "openai"
    return "vllm" if find_spec("vllm") is not None else "hf"


def _run_dir(options: RunOptions, guard: str) -> Path:
    root = Path(options.results_dir) / guard
    if options.run_id:
        run_dir = root / options.run_id
    elif options.resume:
        started = sorted(p.parent for p in root.glob("*/predictions.jsonl"))
        if not started:
            raise RunError(f"--resume: no run of {guard} under {root} to resume; pass --run-id")
        run_dir = started[-1]
    else:
        run_dir = root / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if (run_dir / "predictions.jsonl").exists() and not options.resume:
        raise RunError(f"{run_dir} already holds a run: add --resume to continue it, or choose another --run-id")
    return run_dir


def _check_same_run(run_dir: Path, info: RunInfo) -> None:
    path = run_dir / "run.json"
    if not path.is_file():
        return
    try:
        previous = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}: invalid JSON ({exc.msg}); fix or remove it, or choose another --run-id") from exc
    for name in SAME_RUN_FIELDS:
        if previous.get(name) != info.get(name):
            raise RunError(
                f"{run_dir} was started with {name}={previous.get(name)!r}, not {info.get(name)!r}; "
                "resume with the same settings or choose another --run-id"
            )


def _backend_kwargs(name: str, model: str | None, options: RunOptions) -> dict[str, Any]:
    parallel = {"tensor_parallel_size", "data_parallel_size"} & set(options.backend_options)
    if parallel and name != "vllm":
        raise RunError(f"--{sorted(parallel)[0].replace('_', '-')} needs --backend vllm, not {name}")
    if name == "cpu":
        return {"data_dir": options.data_dir, **options.backend_options}
    if name == "openai":
        if not options.base_url:
            raise RunError("--backend openai needs --base-url (e.g. http://localhost:8000/v1)")
        return {"base_url": options.base_url, "model": model, **options.backend_options}
    return {"model": model, **options.backend_options}


def _batches(items: list[Item], size: int) -> Iterator[list[Item]]:
    """Split by split; longest texts first within a split, so a batch holds texts of similar length."""
    splits: dict[tuple[str, str], list[Item]] = {}
    for item in items:
        splits.setdefault((item.benchmark, item.lang), []).append(item)
    for chunk in splits.values():
        chunk = sorted(chunk, key=lambda item: (-len(item.text), item.idx))
        for start in range(0, len(chunk), size):
            yield chunk[start : start + size]


def _prediction(item: Item, verdict: Verdict, output: str) -> Prediction:
    return Prediction(
        benchmark=item.benchmark,
        lang=item.lang,
        idx=item.idx,
        label=item.label,
        pred=None if verdict.pred is None else int(verdict.pred),
        score=verdict.score,
        violations=list(verdict.violations),
        output=output,
    )


def predict_generative(backend, fmt: GuardFormat, batch: list[Item]) -> list[Prediction]:
    """Build each item's prompts, complete them in one call, parse and combine the outputs per item."""
    prompts = [fmt.build(item.text) for item in batch]
    flat = [p for item_prompts in prompts for p in item_prompts]
    completions = iter(
        backend.complete(flat, max_new_tokens=fmt.max_new_tokens, score_tokens=fmt.score_tokens, stop=fmt.stop_rule())
    )
    predictions = []
    for item, item_prompts in zip(batch, prompts):
        done = [next(completions) for _ in item_prompts]
        verdict = fmt.combine([fmt.parse(c.text).with_score(c.score) for c in done])
        predictions.append(_prediction(item, verdict, OUTPUT_SEPARATOR.join(c.text for c in done)))
    return predictions


def predict_probe(backend, batch: list[Item]) -> list[Prediction]:
    """P(unsafe) per item from a probe; the verdict is the score against the probe's threshold."""
    from cgbench.models.backends.cpu import THRESHOLD
    from cgbench.models.guards.base import Label

    scores = backend.score([item.text for item in batch], lang=batch[0].lang, benchmark=batch[0].benchmark)
    predictions = []
    for item, score in zip(batch, scores):
        label = Label.UNSAFE if score >= THRESHOLD else Label.SAFE
        predictions.append(_prediction(item, Verdict(label, score=score), label.name.lower()))
    return predictions


def run(options: RunOptions, *, show_tables: bool = True) -> Path:
    """Run (or resume) a guard over the chosen splits; returns the run folder."""
    started = time.perf_counter()
    spec = get_guard(options.guard)
    fmt = spec.guard_format() if spec.kind == "generative" else None
    backend_name = options.backend or _default_backend(spec, options)
    if spec.kind == "probe" and backend_name != "cpu":
        raise RunError(f"guard {spec.name!r} is a probe and runs only on --backend cpu")
    model = options.model or spec.hub_id
    if model is None:
        raise RunError(f"guard {spec.name!r} has no default model: pass --model PATH|ID")
    items = select_items(options)
    splits = sorted({(item.benchmark, item.lang) for item in items})
    extra_files = []
    if spec.kind == "probe":
        extra_files = [
            sources.TOXICCHAT_TRAIN,
            *(sources.GUARDREASONER_TRAIN[n] for n in ("aegis", "harmbench_prompt")),
        ]
    checksums = data_checksums(splits, options.data_dir, extra_files)

    run_dir = _run_dir(options, spec.name)
    info = RunInfo(
        guard=spec.name,
        model=model,
        model_params=spec.params_b,
        backend=backend_name,
        prompt_format=spec.format or spec.kind,
        run_id=run_dir.name,
        source="native",
    )
    _check_same_run(run_dir, info)
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "predictions.jsonl"
    done = store.read_done(path)
    todo = [item for item in items if (item.benchmark, item.lang, item.idx) not in done]
    info["created"] = datetime.now(UTC).isoformat(timespec="seconds")
    write_json(run_dir / "run.json", {**info, "status": "running"})

    backend = _build_backend(backend_name, model, options)
    if hasattr(backend, "load"):
        backend.load()
    inference_started = time.perf_counter()
    _loop(backend, spec, fmt, todo, len(items), options.batch_size or DEFAULT_BATCH[backend_name], path)
    inference_s = time.perf_counter() - inference_started

    predictions = store.rewrite_sorted(path)
    metrics = write_metrics(run_dir)
    settings = backend.describe() if hasattr(backend, "describe") else {}
    info.update(
        versions=versions(),
        git_commit=git_commit(),
        data_checksums=checksums,
        wall_time_s=round(time.perf_counter() - started, 2),
        items_per_s=round(len(todo) / inference_s, 3) if todo and inference_s > 0 else 0.0,
        n_items=len(predictions),
    )
    write_json(run_dir / "run.json", {**info, "settings": settings, "n_run_now": len(todo), "resumed": bool(done)})
    if show_tables:
        _print(metrics)
    return run_dir


def _build_backend(name: str, model: str | None, options: RunOptions):
    from cgbench.models.backends import get_backend

    return get_backend(name, **_backend_kwargs(name, model, options))


def _loop(backend, spec: GuardSpec, fmt, todo: list[Item], total: int, batch_size: int, path: Path) -> None:
    from tqdm import tqdm

    with tqdm(total=total, initial=total - len(todo), unit="item", desc=spec.name, dynamic_ncols=True) as bar:
        for batch in _batches(todo, batch_size):
            bar.set_postfix_str(f"{batch[0].benchmark}/{batch[0].lang}", refresh=False)
            predictions = predict_probe(backend, batch) if fmt is None else predict_generative(backend, fmt, batch)
            store.append(path, predictions)
            bar.update(len(batch))


def _print(metrics: MetricsFile) -> None:
    from cgbench.harness.report import print_tables

    print_tables(metrics)
