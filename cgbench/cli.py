"""The ``cgbench`` command. Sub-commands only parse arguments and dispatch; heavy imports stay inside them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from cgbench.models.consistentguard.commands import train_app

app = typer.Typer(help="cgbench: a multilingual safety benchmark suite for LLM safeguards.", no_args_is_help=True)
data_app = typer.Typer(
    help="The benchmark data: list, show, validate, fetch, add languages and benchmarks.", no_args_is_help=True
)
app.add_typer(data_app, name="data")
app.add_typer(train_app, name="train")

DataDir = Annotated[
    Optional[Path],
    typer.Option("--data-dir", help="Local mirror of the upstream files (else $CGBENCH_DATA_DIR, else download)."),
]
AllowChanged = Annotated[
    bool,
    typer.Option(
        "--allow-changed-data",
        help="Use data files whose sha256 differs from the pinned one (a deliberately changed mirror).",
    ),
]


def _allow_changed(allow: bool) -> None:
    if allow:
        import os

        from cgbench.benchmarks.sources import ALLOW_CHANGED_ENV

        os.environ[ALLOW_CHANGED_ENV] = "1"


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


@data_app.command("list")
def data_list(data_dir: DataDir = None) -> None:
    """A table of set, language, n and unsafe share."""
    from rich.console import Console
    from rich.table import Table

    from cgbench.benchmarks import DataError, all_sets, load_split, set_languages

    table = Table("set", "lang", "n", "unsafe share")
    try:
        for benchmark in all_sets():
            for lang in set_languages(benchmark, data_dir):
                items = load_split(benchmark, lang, data_dir)
                share = sum(item.label for item in items) / len(items)
                table.add_row(benchmark, lang, str(len(items)), f"{share:.1%}")
    except DataError as exc:
        _fail(str(exc))
    Console().print(table)


@data_app.command("show")
def data_show(
    benchmark: Annotated[str, typer.Argument(help="openai_moderation, toxicchat or simple_safety_tests")],
    lang: Annotated[str, typer.Argument(help="ISO 639-1 code: en fr zh ja bn hi, or an added language")],
    idx: Annotated[Optional[int], typer.Option("--idx", help="Show only this item.")] = None,
    head: Annotated[int, typer.Option(help="Without --idx, how many items to show.")] = 5,
    data_dir: DataDir = None,
) -> None:
    """Print items of one split as JSON lines."""
    import json

    from cgbench.benchmarks import DataError, load_split

    try:
        items = load_split(benchmark, lang, data_dir)
    except DataError as exc:
        _fail(str(exc))
    if idx is not None and not 0 <= idx < len(items):
        _fail(f"--idx {idx} is out of range: {benchmark}/{lang} has items 0..{len(items) - 1}")
    for item in [items[idx]] if idx is not None else items[:head]:
        typer.echo(json.dumps(item.to_dict(), ensure_ascii=False))


@data_app.command("validate")
def data_validate(data_dir: DataDir = None, allow_changed_data: AllowChanged = False) -> None:
    """Check checksums, counts, label alignment across languages, empty texts and leftover headers."""
    from cgbench.benchmarks.validation import validate

    _allow_changed(allow_changed_data)
    report = validate(data_dir=data_dir)
    for note in report.notes:
        typer.echo(f"note: {note}")
    for warning in report.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW)
    for error in report.errors:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
    for (benchmark, lang), count in report.control_spellings.items():
        if count:
            typer.echo(f"control-token spellings: {benchmark}/{lang}: {count} of {report.counts[(benchmark, lang)]} "
                       "items (kept as text by the backends)")  # fmt: skip
    total = sum(report.counts.values())
    spelled = sum(report.control_spellings.values())
    typer.echo(f"{len(report.counts)} splits, {total} items, {spelled} spelling a control token, "
               f"{len(report.errors)} errors")  # fmt: skip
    if not report.ok:
        raise typer.Exit(1)


@data_app.command("fetch")
def data_fetch() -> None:
    """Download every upstream file into the cache, checking sizes and checksums."""
    from cgbench.benchmarks import DataError
    from cgbench.benchmarks.fetch import fetch_all

    try:
        for path in fetch_all():
            typer.echo(f"ok {path}")
    except DataError as exc:
        _fail(str(exc))


@data_app.command("cost")
def data_cost(
    tokenizer: Annotated[
        Optional[list[str]], typer.Option("--tokenizer", help="qwen2.5, smollm2, xlm-r, gemma3 (repeat).")
    ] = None,
    sets: Annotated[Optional[list[str]], typer.Option("--sets", help="Benchmarks (repeat; default all).")] = None,
    langs: Annotated[Optional[list[str]], typer.Option("--langs", help="Languages (repeat; default all).")] = None,
    csv_path: Annotated[Optional[Path], typer.Option("--csv", help="Also write the table as CSV here.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Tokens per item, ratio to English and share over the context limit, per set, language and tokenizer."""
    from rich.console import Console

    from cgbench.benchmarks import DataError
    from cgbench.benchmarks.sources import cache_dir
    from cgbench.harness.cost import DEFAULT_FAMILIES, CostError, cost_table, rows_csv, suite_cost

    try:
        rows = suite_cost(tokenizer or DEFAULT_FAMILIES, sets, langs, data_dir, cache_dir())
    except (CostError, DataError) as exc:
        _fail(str(exc))
    Console(width=max(Console().width, 120)).print(cost_table(rows))
    if csv_path:
        csv_path.write_text(rows_csv(rows), encoding="utf-8")
        typer.echo(f"wrote {csv_path}")


@data_app.command("add-variant")
def data_add_variant(
    lang: Annotated[str, typer.Argument(help="The language to romanize, e.g. hi (writes hi-Latn)")],
    script: Annotated[str, typer.Option(help="The target script (latin).")] = "latin",
    force: Annotated[bool, typer.Option("--force", help="Replace a variant added before.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Romanize LANG's three sets into LANG-Latn, validate, and register it like an added language."""
    from cgbench.benchmarks import DataError
    from cgbench.benchmarks.add_language import print_added
    from cgbench.benchmarks.romanize import add_variant
    from cgbench.tasks import extra_tasks_dir
    from cgbench.tasks.generate import write_tasks

    try:
        added = add_variant(lang, script, data_dir=data_dir, force=force)
    except DataError as exc:
        _fail(str(exc))
    print_added(added, write_tasks([added.lang], extra_tasks_dir()))


@data_app.command("add-language")
def data_add_language(
    lang: Annotated[str, typer.Argument(help="ISO 639-1 code of the new language, e.g. ur")],
    translator: Annotated[
        Optional[str], typer.Option(help="googletrans, hf:<model id or path> (NLLB, M2M100, Marian) or openai:<model>")
    ] = None,
    from_dir: Annotated[
        Optional[Path], typer.Option("--from-dir", help="Import a folder laid out like the release (the 3 JSON files).")
    ] = None,
    base_url: Annotated[
        Optional[str], typer.Option(help="openai: server URL (else $OPENAI_BASE_URL; key in $OPENAI_API_KEY).")
    ] = None,
    target_code: Annotated[
        Optional[str], typer.Option(help="hf: the model's code for the language (urd_Arab, >>urd<<).")
    ] = None,
    device: Annotated[Optional[str], typer.Option(help="hf: cpu, cuda, cuda:1 ...")] = None,
    batch_size: Annotated[Optional[int], typer.Option(help="Texts per translator call.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a language added before.")] = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore cached translations of this language.")] = False,
    data_dir: DataDir = None,
) -> None:
    """Translate or import the three sets into LANG, validate, and register it (data, lm-eval tasks)."""
    from cgbench.benchmarks import DataError
    from cgbench.benchmarks.add_language import add_language, print_added
    from cgbench.models.translators import TranslationError, get_translator
    from cgbench.tasks import extra_tasks_dir
    from cgbench.tasks.generate import write_tasks

    options = {"base_url": base_url, "target_code": target_code, "device": device}
    try:
        added = add_language(
            lang,
            translator=get_translator(translator, **options) if translator else None,
            from_dir=from_dir,
            data_dir=data_dir,
            batch_size=batch_size,
            force=force,
            fresh=fresh,
        )
    except (DataError, TranslationError) as exc:
        _fail(str(exc))
    print_added(added, write_tasks([added.lang], extra_tasks_dir()))


@data_app.command("add-benchmark")
def data_add_benchmark(
    name: Annotated[str, typer.Argument(help="Name of the new set (lowercase letters, digits, '_').")],
    source: Annotated[
        Path, typer.Option("--from", help="The table: .jsonl, .csv or .parquet, one row per item and language.")
    ],
    text_field: Annotated[str, typer.Option(help="Column of the text.")] = "text",
    label_field: Annotated[str, typer.Option(help="Column of the label (0/1, or see --label-value).")] = "label",
    lang_field: Annotated[str, typer.Option(help="Column of the language code.")] = "lang",
    id_field: Annotated[str, typer.Option(help="Column of the item id (the same id in every language).")] = "id",
    category_field: Annotated[Optional[str], typer.Option(help="Column of a harm category (optional).")] = None,
    label: Annotated[
        Optional[int], typer.Option("--label", help="One label for every row (1: an all-unsafe set); no label column.")
    ] = None,
    label_value: Annotated[
        Optional[list[str]],
        typer.Option("--label-value", help="VALUE=0|1: how a label column's value maps to a label; repeat."),
    ] = None,
    english: Annotated[
        str, typer.Option("--english", help="The reference language (its items are the parallel ones).")
    ] = "en",
    force: Annotated[bool, typer.Option("--force", help="Replace a set added before under this name.")] = False,
) -> None:
    """Validate a long-format table and register it as a benchmark (data, lm-eval tasks, scoring, leaderboard)."""
    from cgbench.benchmarks import DataError
    from cgbench.benchmarks.add_benchmark import Fields, add_benchmark
    from cgbench.tasks import extra_tasks_dir
    from cgbench.tasks.generate import write_user_set_tasks

    if label is not None and label not in (0, 1):
        _fail(f"--label must be 0 or 1, got {label}")
    fields = Fields(
        id=id_field,
        lang=lang_field,
        text=text_field,
        label=label_field,
        category=category_field,
        label_values=_label_values(label_value) if label_value else None,
        one_label=label,
    )
    try:
        added = add_benchmark(name, source, fields, reference=english, force=force)
    except DataError as exc:
        _fail(str(exc))
    tasks = write_user_set_tasks(name, extra_tasks_dir())
    manifest = added.manifest
    for lang in manifest["languages"]:
        share = added.parallel_share[lang]
        typer.echo(f"{lang}: {manifest['rows'][lang]} items, {manifest['unsafe'][lang]} unsafe, {share:.1%} parallel")
    typer.echo(f"data: {added.folder} (manifest.json has the source, sha256 and counts)")
    typer.echo(f"lm-eval: group cg_{name}, {len(tasks)} task files in {extra_tasks_dir()}")
    typer.echo(f"next: cgbench run --sets {name}; cgbench lm-eval --tasks cg_{name}")


def _label_values(pairs: list[str]) -> dict[str, int]:
    values = {}
    for text in pairs:
        key, sep, value = text.rpartition("=")
        if not sep or value.strip() not in ("0", "1"):
            _fail(f"--label-value wants VALUE=0 or VALUE=1, got {text!r}")
        values[key] = int(value.strip())
    return values


@data_app.command("remove-benchmark")
def data_remove_benchmark(name: Annotated[str, typer.Argument(help="A set added with add-benchmark.")]) -> None:
    """Remove a set added with ``cgbench data add-benchmark``: its data and its lm-eval tasks."""
    from cgbench.benchmarks import DataError
    from cgbench.benchmarks.add_benchmark import remove_benchmark
    from cgbench.tasks import extra_tasks_dir
    from cgbench.tasks.generate import remove_user_set_tasks

    try:
        folder = remove_benchmark(name)
    except DataError as exc:
        _fail(str(exc))
    removed = remove_user_set_tasks(name, extra_tasks_dir())
    typer.echo(f"removed {folder} and {len(removed)} lm-eval task files")


@app.command("score")
def score(
    path: Annotated[
        Path, typer.Argument(help="A run folder with predictions.jsonl[.gz], or an lm-eval --output_path.")
    ],
    results_dir: Annotated[Path, typer.Option(help="Where an imported lm-eval run is written.")] = Path("results"),
    guard: Annotated[Optional[str], typer.Option(help="Guard name of an imported lm-eval run.")] = None,
    run_id: Annotated[Optional[str], typer.Option(help="Run id of an imported lm-eval run.")] = None,
) -> None:
    """Write metrics.json (per-split metrics and cross-lingual consistency) and print the tables."""
    from cgbench.harness.diagnostics_report import print_diagnostics
    from cgbench.harness.report import print_tables
    from cgbench.harness.scoring import ScoringError, score_path

    try:
        metrics, run_dir = score_path(path, results_dir, guard=guard, run_id=run_id)
    except ScoringError as exc:
        _fail(str(exc))
    print_tables(metrics)
    print_diagnostics(metrics)
    typer.echo(f"wrote {run_dir / 'metrics.json'}")


@app.command("compare")
def compare(
    run_a: Annotated[Path, typer.Argument(help="A run folder with predictions.jsonl[.gz].")],
    run_b: Annotated[Path, typer.Argument(help="Another run folder.")],
    n_bootstrap: Annotated[int, typer.Option(help="Paired resamples.")] = 10_000,
) -> None:
    """Compare two runs on the items both have: per-split and headline differences, 95% intervals, p-values."""
    from cgbench.harness.compare import compare_runs, print_comparison
    from cgbench.harness.scoring import ScoringError

    if n_bootstrap < 1:
        _fail(f"--n-bootstrap must be at least 1, got {n_bootstrap}")
    try:
        comparison = compare_runs(run_a, run_b, n_bootstrap)
    except ScoringError as exc:
        _fail(str(exc))
    print_comparison(comparison)


@app.command("run")
def run(
    guard: Annotated[str, typer.Option(help="A registered guard (cgbench/models/guards/registry.py).")] = "e5-probe",
    model: Annotated[Optional[str], typer.Option(help="Model path or hub id (default: the guard's).")] = None,
    backend: Annotated[
        Optional[str], typer.Option(help="hf, vllm, openai or cpu (default: cpu for probes, else vllm if installed).")
    ] = None,
    sets: Annotated[
        Optional[list[str]],
        typer.Option(
            "--sets", help="Benchmarks: the paper's three, rtp_lx, or an added set (repeat; default the paper's)."
        ),
    ] = None,
    langs: Annotated[Optional[list[str]], typer.Option("--langs", help="Languages (repeat; default all).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N items of each split.")] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue a run (--run-id, else the one started last).")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="--resume a run whose run.json is missing or records no scope.")
    ] = False,
    run_id: Annotated[Optional[str], typer.Option(help="Run folder name (default: a UTC timestamp).")] = None,
    results_dir: Annotated[Path, typer.Option(help="Where run folders are written.")] = Path("results"),
    batch_size: Annotated[Optional[int], typer.Option(help="Items per backend call.")] = None,
    base_url: Annotated[Optional[str], typer.Option(help="openai: server URL; key from $OPENAI_API_KEY.")] = None,
    device: Annotated[Optional[str], typer.Option(help="hf: cpu, cuda, cuda:1 ...")] = None,
    dtype: Annotated[Optional[str], typer.Option(help="hf/vllm: float32, bfloat16, float16 or auto.")] = None,
    tensor_parallel_size: Annotated[int, typer.Option(help="vllm: GPUs per model replica.")] = 1,
    data_parallel_size: Annotated[int, typer.Option(help="vllm: model replicas.")] = 1,
    align: Annotated[
        Optional[str], typer.Option(help="cpu probe: consistency (default), shift or none (see README).")
    ] = None,
    backend_option: Annotated[
        Optional[list[str]],
        typer.Option(
            "--backend-option",
            help="KEY=VALUE for the backend's constructor (vllm: any vllm.LLM argument, e.g. max_model_len=4096); "
            "repeat. VALUE is read as JSON (numbers, true/false), else as text.",
        ),
    ] = None,
    rtp_lx_threshold: Annotated[
        Optional[float],
        typer.Option(help="RTP-LX: unsafe when the mean Toxicity annotation (1-5) is above this (default 1)."),
    ] = None,
    data_dir: DataDir = None,
    allow_changed_data: AllowChanged = False,
) -> None:
    """Run a guard over the benchmark splits: streamed, resumable predictions, then metrics and tables."""
    from cgbench.benchmarks import DataError
    from cgbench.harness.runner import RunError, RunOptions
    from cgbench.harness.runner import run as run_guard
    from cgbench.harness.scoring import ScoringError
    from cgbench.models.backends import BackendError

    _allow_changed(allow_changed_data)
    if rtp_lx_threshold is not None:
        import os

        from cgbench.benchmarks.rtp_lx import THRESHOLD_ENV

        os.environ[THRESHOLD_ENV] = str(rtp_lx_threshold)
    backend_options: dict = {}
    for text in backend_option or []:
        key, value = _key_value(text)
        backend_options[key] = value
    if device:
        backend_options["device"] = device
    if dtype:
        backend_options["dtype"] = dtype
    if align:
        backend_options["align"] = align
    if tensor_parallel_size != 1 or data_parallel_size != 1:
        backend_options.update(tensor_parallel_size=tensor_parallel_size, data_parallel_size=data_parallel_size)
    options = RunOptions(
        guard=guard,
        model=model,
        backend=backend,
        sets=sets,
        langs=langs,
        limit=limit,
        resume=resume,
        force=force,
        run_id=run_id,
        results_dir=results_dir,
        batch_size=batch_size,
        base_url=base_url,
        data_dir=data_dir,
        backend_options=backend_options,
    )
    try:
        run_dir = run_guard(options)
    except (DataError, RunError, ScoringError, BackendError, ValueError) as exc:
        _fail(str(exc))
    typer.echo(f"wrote {run_dir}")


def _key_value(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` from the command line, VALUE read as JSON where it parses (``4096``, ``true``), else text."""
    import json

    key, sep, value = text.partition("=")
    if not sep or not key.strip().isidentifier():
        _fail(f"--backend-option wants KEY=VALUE with KEY a Python name, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


@app.command("leaderboard")
def leaderboard(
    results_dir: Annotated[Path, typer.Option("--results-dir", help="Holds <guard>/<run-id>/ folders.")] = Path(
        "results"
    ),
    out: Annotated[Path, typer.Option("--out", help="Where the README, CSV, LaTeX, plots and page go.")] = Path(
        "leaderboard"
    ),
    picks: Annotated[
        Optional[list[str]], typer.Option("--run", help="GUARD=RUN_ID: show this run (default: the newest). Repeat.")
    ] = None,
) -> None:
    """Rank every guard under results/ and regenerate the leaderboard's tables, plots and page."""
    from cgbench.leaderboard import LeaderboardError, build_leaderboard, parse_picks
    from cgbench.leaderboard.summary import print_summary

    try:
        board = build_leaderboard(results_dir, out, parse_picks(picks or []))
    except LeaderboardError as exc:
        _fail(str(exc))
    for skipped in board.skipped:
        typer.secho(f"warning: {skipped}", fg=typer.colors.YELLOW, err=True)
    for warning in board.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW, err=True)
    print_summary(board, out)


@app.command("tasks-path")
def tasks_path() -> None:
    """Print the folder of the lm-eval tasks, for lm_eval --include_path."""
    from cgbench.tasks import tasks_path as path

    typer.echo(str(path()))


@app.command(
    "lm-eval",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def lm_eval(ctx: typer.Context) -> None:
    """Run lm_eval with the cgbench tasks' include path filled in; every argument goes to lm_eval."""
    import subprocess

    from cgbench.tasks import check_format_arguments, lm_eval_argv

    try:
        check_format_arguments(list(ctx.args))
        argv = lm_eval_argv(list(ctx.args))
    except ValueError as exc:
        _fail(str(exc))
    raise typer.Exit(subprocess.run(argv).returncode)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
