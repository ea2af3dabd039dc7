"""``cgbench train ...``: each command reads one section of a recipe YAML, applies its options, and dispatches.

Only typer is imported here; each command imports its stage (torch, TRL) when it runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

train_app = typer.Typer(
    help="The ConsistentGuard trainer: seed, distill, sft, grpo, cao-pairs, cao (configs/consistentguard/*.yaml).",
    no_args_is_help=True,
)

Config = Annotated[
    Optional[Path], typer.Option("--config", "-c", help="Recipe YAML (e.g. configs/consistentguard/paper.yaml).")
]
Model = Annotated[Optional[str], typer.Option("--model", help="Starting model: hub id or folder.")]
Data = Annotated[Optional[str], typer.Option("--data", help="Training data file (the previous stage's output).")]
OutputDir = Annotated[Optional[str], typer.Option("--output-dir", help="Where the trained model is saved.")]
MaxSteps = Annotated[Optional[int], typer.Option("--max-steps", help="Stop after this many optimizer steps.")]
MaxLength = Annotated[
    Optional[int], typer.Option("--max-length", help="CAO: tokens kept per prompt+completion (release: 1024).")
]
MaxPromptLength = Annotated[
    Optional[int], typer.Option("--max-prompt-length", help="CAO: last prompt tokens kept (release: 512).")
]
Cpu = Annotated[bool, typer.Option("--cpu", help="Train on CPU in fp32 (use_cpu, no bf16).")]


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _section(config: Path | None, name: str, **overrides):
    from cgbench.models.consistentguard.config import load_section

    try:
        return load_section(config, name, overrides)
    except (OSError, ValueError) as exc:
        _fail(str(exc))


def _table(title: str, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(*header, title=title)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def _train(config: Path | None, name: str, cpu: bool, **overrides) -> None:
    stage = _section(config, name, **overrides, **({"use_cpu": True, "bf16": False} if cpu else {}))
    missing = [field for field in ("model", "data", "output_dir") if not getattr(stage, field)]
    if missing:
        flag = "--" + missing[0].replace("_", "-")
        _fail(f"section {name!r} needs {', '.join(missing)} (set it in the config or pass {flag})")
    from cgbench.models.consistentguard.checkpoint import check_template

    try:
        check_template(stage)
    except ValueError as exc:
        _fail(str(exc))
    if name == "sft":
        from cgbench.models.consistentguard.sft import train_sft as run
    elif name == "grpo":
        from cgbench.models.consistentguard.grpo import train_grpo as run
    else:
        from cgbench.models.consistentguard.cao_trainer import train_cao as run
    metrics = run(stage)
    _table(f"{name} done: {stage.output_dir}", ("metric", "value"), [(k, f"{v:.4g}") for k, v in metrics.items()])


@train_app.command("tiny-model")
def tiny_model(output: Annotated[Path, typer.Argument(help="Folder for the tokenizer and the random model.")]) -> None:
    """A tiny random Qwen2 model with a locally trained tokenizer, for CPU smoke runs (nothing is downloaded)."""
    from cgbench.models.consistentguard.tiny import build_tiny_model

    typer.echo(f"wrote {build_tiny_model(output)}")


@train_app.command("seed")
def seed(
    config: Config = None,
    n: Annotated[Optional[int], typer.Option("--n", help="How many seed prompts (paper: 1000).")] = None,
    seed_: Annotated[Optional[int], typer.Option("--seed", help="Sampling seed.")] = None,
    balance: Annotated[Optional[bool], typer.Option("--balance/--no-balance", help="Equal harmful/unharmful.")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="A training source (repeatable).")] = None,
    quotas: Annotated[
        Optional[str], typer.Option("--quotas", help="equal (default: n split evenly over the sources) or pool.")
    ] = None,
    output: Annotated[Optional[str], typer.Option("--output", help="Seed JSONL to write.")] = None,
    data_dir: Annotated[
        Optional[Path], typer.Option("--data-dir", help="Data mirror (else $CGBENCH_DATA_DIR).")
    ] = None,
) -> None:
    """Sample seed prompts from training sources, de-duplicated against every evaluation set."""
    from cgbench.benchmarks import DataError
    from cgbench.models.consistentguard.seed import report_rows, sample_seed, write_seed

    cfg = _section(config, "seed", n=n, seed=seed_, balance=balance, sources=source or None, output=output,
                   quotas=quotas)  # fmt: skip
    try:
        items, counts = sample_seed(cfg.sources, cfg.n, cfg.seed, cfg.balance, data_dir, cfg.quotas)
    except (DataError, ValueError) as exc:
        _fail(str(exc))
    write_seed(items, cfg.output)
    header = ("source", "pool", "dup of eval (exact)", "dup (normalised)", "quota", "sampled", "harmful")
    _table(f"seed: {len(items)} prompts -> {cfg.output}", header, report_rows(counts))


@train_app.command("distill")
def distill(
    config: Config = None,
    input_: Annotated[Optional[str], typer.Option("--input", help="Seed JSONL.")] = None,
    output: Annotated[
        Optional[str], typer.Option("--output", help="Distilled JSONL (appended; reruns resume).")
    ] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="Teacher's OpenAI-compatible API.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Teacher model name.")] = None,
    concurrency: Annotated[Optional[int], typer.Option("--concurrency", help="Requests in flight.")] = None,
    rps: Annotated[Optional[float], typer.Option("--requests-per-second", help="Rate limit.")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N seed items.")] = None,
    label_in_prompt: Annotated[
        Optional[bool], typer.Option("--label-in-prompt/--no-label-in-prompt", help="Tell the teacher the label.")
    ] = None,
) -> None:
    """Teacher reasoning in ConsistentGuard's format; answers that disagree with the label are dropped."""
    import asyncio

    from cgbench.models.backends.base import BackendError
    from cgbench.models.consistentguard.distill import Teacher
    from cgbench.models.consistentguard.distill import distill as run
    from cgbench.models.consistentguard.seed import read_seed

    cfg = _section(config, "distill", input=input_, output=output, base_url=base_url, model=model,
                   concurrency=concurrency, requests_per_second=rps, label_in_prompt=label_in_prompt)  # fmt: skip
    items = read_seed(cfg.input)[:limit]
    try:
        teacher = Teacher(cfg.base_url, cfg.model, api_key_env=cfg.api_key_env, concurrency=cfg.concurrency)
        stats = asyncio.run(
            run(
                items,
                teacher,
                cfg.output,
                concurrency=cfg.concurrency,
                requests_per_second=cfg.requests_per_second,
                template=cfg.template,
                label_in_prompt=cfg.label_in_prompt,
                temperature=cfg.temperature,
                max_tokens=cfg.max_tokens,
            )  # fmt: skip
        )
    except BackendError as exc:
        _fail(f"{exc} (answers received so far are kept in {cfg.output}; rerun to resume)")
    rows = [(k.replace("_", " "), str(v)) for k, v in vars(stats).items()]
    _table(f"distill -> {cfg.output}", ("outcome", "items"), rows)


@train_app.command("sft")
def sft(config: Config = None, model: Model = None, data: Data = None, output_dir: OutputDir = None,
        max_steps: MaxSteps = None, cpu: Cpu = False) -> None:  # fmt: skip
    """Stage 1: SFT on the distilled reasoning (loss on the completion only; optional LoRA)."""
    _train(config, "sft", cpu, model=model, data=data, output_dir=output_dir, max_steps=max_steps)


@train_app.command("grpo")
def grpo(
    config: Config = None, model: Model = None, data: Data = None, output_dir: OutputDir = None,
    max_steps: MaxSteps = None, cpu: Cpu = False,
    use_vllm: Annotated[Optional[bool], typer.Option("--use-vllm/--no-use-vllm", help="Generate with vLLM.")] = None,
) -> None:  # fmt: skip
    """Stage 2: GRPO with the format, length, diversity and accuracy rewards (data: the seed JSONL)."""
    _train(config, "grpo", cpu, model=model, data=data, output_dir=output_dir, max_steps=max_steps, use_vllm=use_vllm)


@train_app.command("cao-pairs")
def cao_pairs(
    config: Config = None, model: Model = None,
    seed_file: Annotated[Optional[str], typer.Option("--seed", help="Seed JSONL.")] = None,
    from_files: Annotated[Optional[str], typer.Option("--from-files", help="Folder of <lang>.jsonl rows.")] = None,
    translator: Annotated[Optional[str], typer.Option("--translator", help="googletrans, hf:<m>, openai:<m>.")] = None,
    lang: Annotated[Optional[list[str]], typer.Option("--lang", help="A language (repeatable; en included).")] = None,
    output: Annotated[Optional[str], typer.Option("--output", help="Pairs JSONL.")] = None,
    backend: Annotated[Optional[str], typer.Option("--backend", help="hf or vllm.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size")] = None,
    max_new_tokens: Annotated[Optional[int], typer.Option("--max-new-tokens")] = None,
    max_length: MaxLength = None, max_prompt_length: MaxPromptLength = None,
) -> None:  # fmt: skip
    """Run the model in every language and build CAO pairs (failed input, successful vs failed output) + anchors.

    Reports per language how many pairs the CAO stage's limits (its config section, or --max-length and
    --max-prompt-length) will cut, and where."""
    from cgbench.models.backends import get_backend
    from cgbench.models.consistentguard.cao import make_pairs, report_rows, write_pairs
    from cgbench.models.consistentguard.seed import read_seed

    cfg = _section(config, "cao_pairs", model=model, seed=seed_file, translations=from_files, langs=lang or None,
                   output=output, backend=backend, batch_size=batch_size, max_new_tokens=max_new_tokens)  # fmt: skip
    if not cfg.model:
        _fail("cao-pairs needs --model (or model: in the cao_pairs section)")
    engine = None
    if translator:
        from cgbench.models.translators import TranslationError, get_translator

        try:
            engine = get_translator(translator)
        except TranslationError as exc:
            _fail(str(exc))
    try:
        pairs, report = make_pairs(
            cfg, read_seed(cfg.seed), get_backend(cfg.backend, model=cfg.model, batch_size=cfg.batch_size), engine
        )
    except (OSError, ValueError, RuntimeError) as exc:  # RuntimeError: BackendError, TranslationError
        _fail(str(exc))
    write_pairs(pairs, cfg.output)
    header = ("lang", "items", "correct", "failures found", "pairs used")
    _table(f"CAO pairs: {len(pairs)} -> {cfg.output}", header, report_rows(report))
    Path(cfg.output).with_suffix(".report.json").write_text(
        json.dumps({lang_: vars(r) for lang_, r in report.items()}, indent=2), encoding="utf-8"
    )
    _report_cuts(config, cfg, pairs, max_length=max_length, max_prompt_length=max_prompt_length)


def _report_cuts(config: Path | None, cfg, pairs: list[dict], **limits) -> None:
    """The truncation table for the CAO stage's limits, also written to ``<output>.truncation.json``."""
    from transformers import AutoTokenizer

    from cgbench.models.consistentguard.cao import cut_rows, truncation_report

    stage = _section(config, "cao", **limits)
    tokenizer = AutoTokenizer.from_pretrained(cfg.model)
    count = lambda text: len(tokenizer(text)["input_ids"])  # noqa: E731
    cuts = truncation_report(pairs, count, stage.max_prompt_length, stage.max_length, stage.truncation_mode)
    title = (f"CAO truncation at max_prompt_length {stage.max_prompt_length}, max_length {stage.max_length} "
             f"({stage.truncation_mode}); raise them with --max-prompt-length/--max-length")  # fmt: skip
    header = ("lang", "pairs", "prompts cut", "median tokens dropped", "sequences cut", "where")
    _table(title, header, cut_rows(cuts))
    Path(cfg.output).with_suffix(".truncation.json").write_text(
        json.dumps({lang: r.summary() for lang, r in cuts.items()}, indent=2), encoding="utf-8"
    )


@train_app.command("cao")
def cao(
    config: Config = None, model: Model = None, data: Data = None, output_dir: OutputDir = None,
    max_steps: MaxSteps = None, cpu: Cpu = False,
    mlc_weight: Annotated[Optional[float], typer.Option("--mlc-weight", help="MLC term weight (0 = off).")] = None,
    max_length: MaxLength = None, max_prompt_length: MaxPromptLength = None,
) -> None:  # fmt: skip
    """Stage 3: CAO = DPO + λ·KL on anchors (+ optional MLC) on the pairs JSONL."""
    _train(config, "cao", cpu, model=model, data=data, output_dir=output_dir, max_steps=max_steps,
           mlc_weight=mlc_weight, max_length=max_length, max_prompt_length=max_prompt_length)  # fmt: skip
