"""The native runner behind ``cgbench run``: streams predictions, resumes after a kill, scores at the end.

Order of work: the guard and the data are checked first (a bad file fails before
any model loads); then the backend is built; items not yet in
``predictions.jsonl`` are run split by split, longest first within a split
(similar lengths batch with little padding); each finished batch is appended
durably. At the end the file is rewritten in item order, scored into
``metrics.json``, and ``run.json`` is written.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from cgbench.benchmarks import BENCHMARKS, DataError, Item, get_benchmark, load_split, rtp_lx, set_languages, sources
from cgbench.benchmarks.loading import extra_languages
from cgbench.benchmarks.registry import language_code
from cgbench.harness import rundir, store
from cgbench.harness.rundir import RunError
from cgbench.harness.runinfo import data_record, git_commit, versions
from cgbench.harness.schema import MetricsFile, Prediction, RunInfo
from cgbench.harness.scoring import predictions_file, write_json, write_metrics
from cgbench.harness.split_timing import SplitClock
from cgbench.models.backends.base import mask_url
from cgbench.models.backends.generate import OutputCountError, generate
from cgbench.models.guards.base import GuardFormat, Verdict
from cgbench.models.guards.consistentguard import with_checkpoint_template
from cgbench.models.guards.registry import GuardSpec, get_guard

DEFAULT_GUARD = "e5-probe"
DEFAULT_BATCH = {"cpu": 64, "hf": 8, "vllm": 256, "openai": 64}
SAME_RUN_FIELDS = ("guard", "model", "backend", "prompt_format")  # besides the scope (_scope)


@dataclass
class RunOptions:
    guard: str = DEFAULT_GUARD
    model: str | None = None
    backend: str | None = None
    sets: list[str] | None = None
    langs: list[str] | None = None
    limit: int | None = None
    resume: bool = False
    force: bool = False  # continue a run whose run.json is missing or records no scope
    run_id: str | None = None
    results_dir: Path = Path("results")
    batch_size: int | None = None
    base_url: str | None = None
    data_dir: Path | None = None
    backend_options: dict[str, Any] = field(default_factory=dict)  # device, dtype, tensor_parallel_size, ...


def _language_code(lang: str, extra: dict[str, str]) -> str:
    """The suite's code for a paper-language alias (``eng`` -> ``en``); a set's own code (``zh-Hant``) as given."""
    try:
        return language_code(lang, extra)
    except DataError:
        return lang


def select_items(options: RunOptions) -> list[Item]:
    """The chosen splits' items (the first ``limit`` of each split); raises DataError on bad data.

    A set or language named twice, or under two names (``en`` and ``eng``), is selected once. Default sets: the
    paper's three. Default languages: each set's own (a set that brings its own languages is run in all of them);
    with ``--langs``, a set that lacks one of them is run in the others."""
    chosen = list(dict.fromkeys(get_benchmark(benchmark).name for benchmark in options.sets or BENCHMARKS))
    extra = extra_languages(options.data_dir)
    wanted = list(dict.fromkeys(_language_code(lang, extra) for lang in options.langs or []))
    own = {benchmark: set_languages(benchmark, options.data_dir) for benchmark in chosen}
    for lang in wanted:
        if not any(lang in langs for langs in own.values()):
            load_split(chosen[0], lang, options.data_dir)  # raises the loader's error (with the nearest code)
    items = []
    for benchmark in chosen:
        langs = [lang for lang in wanted if lang in own[benchmark]] if wanted else own[benchmark]
        if not langs:
            raise RunError(f"{benchmark} has none of the languages {', '.join(wanted)}")
        for lang in langs:
            items.extend(load_split(benchmark, lang, options.data_dir)[: options.limit])
    return items


def _default_backend(spec: GuardSpec, options: RunOptions) -> str:
    if spec.kind == "probe":
        return "cpu"
    if options.base_url:
        return "openai"
    return "vllm" if find_spec("vllm") is not None else "hf"


def check_options(options: RunOptions) -> None:
    """Refuse bad arguments before any data is read or model loaded."""
    if options.limit is not None and options.limit < 1:
        raise RunError(f"--limit must be at least 1, got {options.limit}")
    if options.batch_size is not None and options.batch_size < 1:
        raise RunError(f"--batch-size must be at least 1, got {options.batch_size}")
    if options.run_id is not None:
        rundir.check_run_id(options.run_id)


def _run_dir(options: RunOptions, guard: str) -> Path:
    root = Path(options.results_dir) / guard
    if options.run_id:
        run_dir = root / options.run_id
    elif options.resume:
        run_dir = rundir.newest_run(root)
        if run_dir is None:
            raise RunError(f"--resume: no run of {guard} under {root} to resume; pass --run-id")
    else:
        run_dir = root / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if predictions_file(run_dir) is not None and not options.resume:
        raise RunError(f"{run_dir} already holds a run: add --resume to continue it, or choose another --run-id")
    if options.resume and predictions_file(run_dir) is None and not (run_dir / "run.json").is_file():
        raise RunError(f"--resume: there is no run {run_dir.name!r} under {root} to resume; drop --resume to start it")
    return run_dir


def _scope(options: RunOptions, spec: GuardSpec, items: list[Item], batch_size: int) -> dict[str, Any]:
    """What a resume must share with the run it continues, as ``run.json`` records it."""
    return {
        "sets": sorted({item.benchmark for item in items}),
        "langs": sorted({item.lang for item in items}),
        "limit": options.limit,
        "format_options": dict(spec.format_options),
        "batch_size": batch_size,
        "backend_options": {key: options.backend_options[key] for key in sorted(options.backend_options)},
        "base_url": mask_url(options.base_url) if options.base_url else None,
        **label_options({item.benchmark for item in items}),
    }


def label_options(benchmarks: set[str]) -> dict[str, Any]:
    """The labelling options of the chosen sets, for run.json (RTP-LX's Toxicity threshold and its source)."""
    if rtp_lx.NAME not in benchmarks:
        return {}
    return {"rtp_lx_threshold": rtp_lx.threshold(), "rtp_lx_label_rule": f"{rtp_lx.LABEL_RULE}; {rtp_lx.LABEL_SOURCE}"}


def _read_previous(run_dir: Path, current: dict[str, Any], force: bool) -> tuple[dict[str, Any], dict]:
    """The run.json and predictions a resume continues (a .gz is expanded to the appendable file)."""
    source = predictions_file(run_dir)
    if source is None:
        return {}, {}
    previous = rundir.read_run_json(run_dir)
    rundir.check_same_run(run_dir, previous, current, force)
    path = run_dir / "predictions.jsonl"
    if source != path:
        store.expand(source, path)
    return previous or {}, store.read_done(path)


def _check_labels(done: dict, items: list[Item], run_dir: Path) -> None:
    """Predictions already present must be of selected items, with the labels the data has now."""
    labels = {(item.benchmark, item.lang, item.idx): item.label for item in items}
    for key, prediction in done.items():
        if key not in labels:
            raise RunError(f"{run_dir}: {key[0]}/{key[1]} item {key[2]} is predicted but not selected by this run")
        if prediction["label"] != labels[key]:
            raise RunError(
                f"{run_dir}: {key[0]}/{key[1]} item {key[2]} has label {prediction['label']} in the predictions "
                f"but {labels[key]} in the data; the data changed since the run started"
            )


def _check_complete(predictions: list[Prediction], items: list[Item], run_dir: Path) -> None:
    expected = {(item.benchmark, item.lang, item.idx) for item in items}
    found = {store.key_of(p) for p in predictions}
    if found != expected:
        missing, extra = sorted(expected - found), sorted(found - expected)
        raise RunError(
            f"{run_dir}: the predictions do not match the selected items "
            f"({len(missing)} missing, first {missing[:3]}; {len(extra)} not selected, first {extra[:3]})"
        )


def _backend_kwargs(name: str, model: str | None, options: RunOptions, spec: GuardSpec) -> dict[str, Any]:
    parallel = {"tensor_parallel_size", "data_parallel_size"} & set(options.backend_options)
    if parallel and name != "vllm":
        raise RunError(f"--{sorted(parallel)[0].replace('_', '-')} needs --backend vllm, not {name}")
    if name == "cpu":
        probe_options = spec.format_options if spec.kind == "probe" else {}  # e.g. the probe's alignment
        return {"data_dir": options.data_dir, **probe_options, **options.backend_options}
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
    if verdict.score is not None and not math.isfinite(verdict.score):  # never stored: it would fail every resume
        raise RunError(f"{item.benchmark}/{item.lang} item {item.idx}: the backend gave score {verdict.score}")
    return Prediction(
        benchmark=item.benchmark,
        lang=item.lang,
        idx=item.idx,
        label=item.label,
        pred=None if verdict.pred is None else int(verdict.pred),
        score=verdict.score,
        violations=list(verdict.violations),
        output=output,
        **({"codes_missing": True} if verdict.codes_missing else {}),
    )


def predict_generative(backend, fmt: GuardFormat, batch: list[Item]) -> list[Prediction]:
    """Each item's verdict and raw output from the guard format, all the batch's prompts in one backend call."""
    try:
        generated = generate(backend, fmt, [item.text for item in batch])
    except OutputCountError as exc:
        raise RunError(f"{_batch_name(batch)}: {exc}") from None
    return [_prediction(item, g.verdict, g.output) for item, g in zip(batch, generated)]


def _batch_name(batch: list[Item]) -> str:
    return f"batch {batch[0].benchmark}/{batch[0].lang} items {sorted(item.idx for item in batch)[:5]}..."


def _check_count(outputs, inputs, batch: list[Item], what: str) -> None:
    if len(outputs) != len(inputs):
        raise RunError(f"{_batch_name(batch)}: the backend returned {len(outputs)} outputs for {len(inputs)} {what}")


def predict_probe(backend, batch: list[Item]) -> list[Prediction]:
    """P(unsafe) per item from a probe; the verdict is the score against the probe's threshold."""
    from cgbench.models.backends.cpu import THRESHOLD
    from cgbench.models.guards.base import Label

    scores = backend.score([item.text for item in batch], lang=batch[0].lang, benchmark=batch[0].benchmark)
    _check_count(scores, batch, batch, "items")
    predictions = []
    for item, score in zip(batch, scores):
        label = Label.UNSAFE if score >= THRESHOLD else Label.SAFE
        predictions.append(_prediction(item, Verdict(label, score=score), label.name.lower()))
    return predictions


def run(options: RunOptions, *, show_tables: bool = True) -> Path:
    """Run (or resume) a guard over the chosen splits; returns the run folder."""
    started = time.perf_counter()
    check_options(options)
    spec = get_guard(options.guard)
    fmt = spec.guard_format() if spec.kind == "generative" else None
    try:
        fmt = with_checkpoint_template(fmt, options.model)  # a trained ConsistentGuard: the template it learned
    except ValueError as exc:
        raise RunError(str(exc)) from exc
    backend_name = options.backend or _default_backend(spec, options)
    if spec.kind == "probe" and backend_name != "cpu":
        raise RunError(f"guard {spec.name!r} is a probe and runs only on --backend cpu")
    model = options.model or spec.hub_id
    if model is None:
        raise RunError(f"guard {spec.name!r} has no default model: pass --model PATH|ID")
    kwargs = _backend_kwargs(backend_name, model, options, spec)
    with sources.fresh_digests():  # every file this run reads is hashed from its bytes once, not trusted
        items = select_items(options)
        data = data_record(sorted({(item.benchmark, item.lang) for item in items}), options.data_dir, _extra(spec))
    allow_changed = sources.changed_data_allowed()
    batch_size = options.batch_size or DEFAULT_BATCH[backend_name]

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
    scope = _scope(options, spec, items, batch_size)
    with rundir.locked(run_dir):
        previous, done = _read_previous(run_dir, {**{k: info[k] for k in SAME_RUN_FIELDS}, **scope}, options.force)
        if predictions_file(run_dir) is not None:
            rundir.check_same_data(run_dir, previous, data["data_checksums"], allow_changed, options.force)
        _check_labels(done, items, run_dir)
        todo = [item for item in items if (item.benchmark, item.lang, item.idx) not in done]
        session_start = datetime.now(UTC).isoformat(timespec="seconds")
        info.update(scope, created=previous.get("created") or session_start)
        session = {"started": session_start, "allow_changed_data": allow_changed, **data}
        record = rundir.add_session(previous, session, data)

        backend = _build_backend(backend_name, kwargs)
        if hasattr(backend, "load"):
            backend.load()
        write_json(run_dir / "run.json", {**info, **record, "status": "running"})  # a killed session is recorded
        path = run_dir / "predictions.jsonl"
        inference_started = time.perf_counter()
        clock = SplitClock(previous.get("split_seconds"))
        shared_s = _loop(backend, spec, fmt, todo, len(items), batch_size, path, clock)
        inference_s = time.perf_counter() - inference_started

        predictions = store.rewrite_sorted(path)
        _check_complete(predictions, items, run_dir)
        metrics = write_metrics(run_dir)
        settings = backend.describe() if hasattr(backend, "describe") else {}
        wall_s = round(time.perf_counter() - started, 2)
        session.update(n_run=len(todo), wall_time_s=wall_s)
        info.update(
            versions=versions(),
            git_commit=git_commit(),
            **record,
            wall_time_s=wall_s,
            items_per_s=round(len(todo) / inference_s, 3) if todo and inference_s > 0 else 0.0,
            n_items=len(predictions),
            split_seconds=clock.record(),
            shared_seconds=round(shared_s + float(previous.get("shared_seconds") or 0.0), 3),
        )
        write_json(
            run_dir / "run.json",
            {**info, "settings": settings, "n_run_now": len(todo), "resumed": bool(done)},
        )
    if show_tables:
        _print(metrics)
    return run_dir


def _extra(spec: GuardSpec) -> list:
    """Data files a guard reads besides the splits (the probe's training sets)."""
    if spec.kind != "probe":
        return []
    return [sources.TOXICCHAT_TRAIN, *(sources.GUARDREASONER_TRAIN[n] for n in ("aegis", "harmbench_prompt"))]


def _build_backend(name: str, kwargs: dict[str, Any]):
    from cgbench.models.backends import get_backend

    return get_backend(name, **kwargs)


def _loop(
    backend, spec: GuardSpec, fmt, todo: list[Item], total: int, batch_size: int, path: Path, clock: SplitClock
) -> float:
    """Predict ``todo`` batch by batch, timing each batch into its split; returns the seconds shared by all."""
    from tqdm import tqdm

    shared_started = time.perf_counter()
    if hasattr(backend, "prepare"):  # the probe embeds everything first, in one pass with its own progress bar
        backend.prepare(todo)
    shared_s = time.perf_counter() - shared_started
    with tqdm(total=total, initial=total - len(todo), unit="item", desc=spec.name, dynamic_ncols=True) as bar:
        for batch in _batches(todo, batch_size):
            bar.set_postfix_str(f"{batch[0].benchmark}/{batch[0].lang}", refresh=False)
            batch_started = time.perf_counter()
            predictions = predict_probe(backend, batch) if fmt is None else predict_generative(backend, fmt, batch)
            clock.add(batch[0].benchmark, batch[0].lang, len(batch), time.perf_counter() - batch_started)
            store.append(path, predictions)
            bar.update(len(batch))
    return shared_s


def _print(metrics: MetricsFile) -> None:
    from cgbench.harness.report import print_tables

    print_tables(metrics)
