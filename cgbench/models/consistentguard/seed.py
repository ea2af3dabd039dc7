"""Seed prompts for the trainer: N labelled English prompts from training sources, never from evaluation sets.

Offline sources are training files of the data mirror; online sources are hub datasets (``datasets``).
Every candidate whose text equals an evaluation prompt (any set, any language), exactly or after
normalisation, is dropped. Each source contributes its quota (``quotas``: equal shares by default), so the mix
does not follow the pools' sizes (pooled, WildGuardMix would be ~70% of the draw). BeaverTails and PKU-SafeRLHF
are not offered: their labels judge the assistant's response, not the user's prompt, so they cannot label a prompt
honestly.
"""

from __future__ import annotations

import json
import os
import random
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from cgbench.benchmarks import DataError, load_all
from cgbench.benchmarks import sources as files
from cgbench.benchmarks.headers import strip_header


@dataclass(frozen=True)
class SeedItem:
    id: str
    source: str
    text: str
    label: int  # 1 = harmful

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SourceCount:
    pool: int = 0
    exact_dup: int = 0
    normalised_dup: int = 0
    sampled: int = 0
    harmful: int = 0
    quota: int | None = None  # None: drawn from the pooled data


def normalise(text: str) -> str:
    """Text compared for near-duplicates: NFKC, case-folded, letters and digits only, single spaces.

    >>> normalise("  How DO I   bake bread?! ") == normalise("how do i bake bread")
    True
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def _guardreasoner_prompt(raw: str) -> str:
    """The user prompt from GuardReasoner's ``Human user:\\n...\\n\\nAI assistant:\\nNone`` input."""
    return strip_header(raw.split("\n\nAI assistant:")[0])


def _mirror_guardreasoner(key: str, data_dir: str | None) -> Iterator[tuple[str, int]]:
    path = files.locate(files.GUARDREASONER_TRAIN[key], data_dir)
    for row, record in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        word = str(record.get("output", "")).strip()
        if word not in ("harmful", "unharmful"):
            raise DataError(f"{path}: row {row}: field 'output' is {word!r}, expected harmful or unharmful")
        yield _guardreasoner_prompt(record["input"]), int(word == "harmful")


def _mirror_toxicchat(data_dir: str | None) -> Iterator[tuple[str, int]]:
    path = files.locate(files.TOXICCHAT_TRAIN, data_dir)
    for row, record in enumerate(json.loads(path.read_text(encoding="utf-8"))["instances"]):
        try:
            label = int(record["annotations"]["toxicity"]["majority_human"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: row {row}: field 'annotations.toxicity.majority_human' is unreadable") from exc
        yield record["instance"], label


# Hub datasets that need an accepted licence and a token; the error says so when one cannot be read.
GATED = {"allenai/wildguardmix", "nvidia/Aegis-AI-Content-Safety-Dataset-2.0"}


def _hub_error(name: str, exc: Exception) -> DataError:
    how = (
        f"it is gated: accept its terms at https://huggingface.co/datasets/{name} while logged in, then run "
        "`huggingface-cli login` (or set HF_TOKEN) and unset HF_DATASETS_OFFLINE/HF_HUB_OFFLINE"
        if name in GATED
        else "check the network, the hub id and HF_DATASETS_OFFLINE/HF_HUB_OFFLINE"
    )
    reason = f"{type(exc).__name__}: {exc}"
    return DataError(f"seed source {name}: cannot be read from the Hugging Face Hub ({reason}); {how}")


def _hub(name: str, config: str | None, split: str, text: str, label: Callable[[dict], int | None]):
    def read(data_dir: str | None) -> Iterator[tuple[str, int]]:
        from datasets import load_dataset

        try:
            records = load_dataset(name, config, split=split)
        except OSError as exc:  # offline, gated without a token (DatasetNotFoundError, GatedRepoError), unknown
            raise _hub_error(name, exc) from exc
        for record in records:
            value = label(record)
            if value is not None and record.get(text):
                yield record[text], value

    return read


def _word(value: str | None, harmful: str) -> int | None:
    return None if value is None else int(str(value).strip().lower() == harmful)


SOURCES: dict[str, Callable[[str | None], Iterator[tuple[str, int]]]] = {
    "toxicchat_train": _mirror_toxicchat,
    "guardreasoner/aegis": lambda d: _mirror_guardreasoner("aegis", d),
    "guardreasoner/harmbench_prompt": lambda d: _mirror_guardreasoner("harmbench_prompt", d),
    "hub/aegis": _hub(
        "nvidia/Aegis-AI-Content-Safety-Dataset-2.0",
        None,
        "train",
        "prompt",
        lambda r: _word(r["prompt_label"], "unsafe"),
    ),
    "hub/toxicchat": _hub("lmsys/toxic-chat", "toxicchat0124", "train", "user_input", lambda r: int(r["toxicity"])),
    "hub/wildguard": _hub(
        "allenai/wildguardmix", "wildguardtrain", "train", "prompt", lambda r: _word(r["prompt_harm_label"], "harmful")
    ),
}
RESPONSE_LABELLED = {"beavertails", "hub/beavertails", "safe_rlhf", "guardreasoner/beavertails"}


def evaluation_texts(data_dir: str | os.PathLike | None = None) -> tuple[set[str], set[str]]:
    """Every evaluation prompt (all sets, all languages): exact texts and normalised texts."""
    texts = {item.text.strip() for item in load_all(data_dir=data_dir)}
    return texts, {normalise(t) for t in texts}


def source_quotas(quotas: str | dict[str, int], sources: list[str], n: int) -> dict[str, int] | None:
    """How many items each source gives: ``equal`` shares (the first sources take the remainder), an explicit
    mapping, or None for ``pool`` (uniform over the pooled data)."""
    if quotas == "pool":
        return None
    if quotas == "equal":
        share, extra = divmod(n, len(sources))
        return {name: share + (i < extra) for i, name in enumerate(sources)}
    if not isinstance(quotas, dict):
        raise ValueError(f"quotas must be 'equal', 'pool' or a mapping source -> count, got {quotas!r}")
    if set(quotas) != set(sources) or sum(quotas.values()) != n:
        raise ValueError(f"quotas {quotas} must give a count for each of {sources} and sum to n={n}")
    return {name: int(quotas[name]) for name in sources}


def sample_seed(
    sources: list[str],
    n: int = 1000,
    seed: int = 0,
    balance: bool = False,
    data_dir: str | os.PathLike | None = None,
    quotas: str | dict[str, int] = "equal",
) -> tuple[list[SeedItem], dict[str, SourceCount]]:
    """N seed items sampled from ``sources`` after de-duplication (each source its quota), and per-source counts."""
    for name in sources:
        if name in RESPONSE_LABELLED:
            raise ValueError(f"{name}: its labels judge the response, not the prompt; it cannot label a prompt")
        if name not in SOURCES:
            raise ValueError(f"unknown seed source {name!r}; choose from {', '.join(SOURCES)}")
    wanted = source_quotas(quotas, sources, n)
    # every source is read before the evaluation sets load, so an unreadable (gated, offline) one fails at once
    rows = {name: list(SOURCES[name](str(data_dir) if data_dir else None)) for name in sources}
    exact, normalised = evaluation_texts(data_dir)
    counts = {name: SourceCount() for name in sources}
    pool: list[SeedItem] = []
    seen: set[str] = set()
    for name in sources:
        for row, (text, label) in enumerate(rows[name]):
            text = text.strip()
            count = counts[name]
            count.pool += 1
            key = normalise(text)
            if not key:
                continue
            if text in exact:
                count.exact_dup += 1
            elif key in normalised or key in seen:
                count.normalised_dup += 1
            else:
                seen.add(key)
                pool.append(SeedItem(f"{name}:{row}", name, text, label))
    rng = random.Random(seed)
    if wanted is None:
        chosen = _draw(pool, n, rng, balance, "the pooled sources")
    else:
        chosen = []
        for name, quota in wanted.items():
            counts[name].quota = quota
            chosen += _draw([item for item in pool if item.source == name], quota, rng, balance, name)
        rng.shuffle(chosen)
    for item in chosen:
        counts[item.source].sampled += 1
        counts[item.source].harmful += item.label
    return chosen, counts


def _draw(pool: list[SeedItem], n: int, rng: random.Random, balance: bool, where: str) -> list[SeedItem]:
    if not balance:
        if n > len(pool):
            raise ValueError(f"{where}: asked for {n} seed items but only {len(pool)} remain after de-duplication")
        return rng.sample(pool, n)
    halves = []
    for label, want in ((1, n // 2), (0, n - n // 2)):
        group = [item for item in pool if item.label == label]
        if want > len(group):
            raise ValueError(f"{where}: balance needs {want} items with label {label}, only {len(group)} remain")
        halves += rng.sample(group, want)
    rng.shuffle(halves)
    return halves


def write_seed(items: list[SeedItem], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")


def read_seed(path: str | Path) -> list[SeedItem]:
    items = []
    for row, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines()):
        if line.strip():
            record = json.loads(line)
            missing = [k for k in ("id", "source", "text", "label") if k not in record]
            if missing:
                raise DataError(f"{path}: row {row}: field(s) {missing} missing")
            items.append(SeedItem(record["id"], record["source"], record["text"], int(record["label"])))
    return items


def report_rows(counts: dict[str, SourceCount]) -> list[tuple[str, ...]]:
    """Rows of the seed report: source, pool, exact dup, normalised dup, quota, sampled and its share, harmful share."""
    rows = []
    total = sum(c.sampled for c in counts.values()) or 1
    for name, c in counts.items():
        share = f"{c.harmful / c.sampled:.0%}" if c.sampled else "-"
        quota = "pooled" if c.quota is None else str(c.quota)
        drawn = f"{c.sampled} ({c.sampled / total:.0%})"
        rows.append((name, str(c.pool), str(c.exact_dup), str(c.normalised_dup), quota, drawn, share))
    return rows
