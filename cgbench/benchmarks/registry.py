"""What the benchmark suite contains: three sets, six languages."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cgbench.benchmarks.errors import DataError


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    n: int
    all_unsafe: bool  # a one-class set: recall is what is measured
    languages: tuple[str, ...] = ()  # a set that brings its own languages; empty: the paper's (and added) ones
    reference: str = "en"  # the language whose items are the parallel ones
    labels_per_language: bool = False  # each language keeps its own label for the same idx (RTP-LX)
    origin: str = "paper"  # paper, builtin (beyond the paper) or user (cgbench data add-benchmark)


BENCHMARKS: dict[str, Benchmark] = {
    b.name: b
    for b in (
        Benchmark("openai_moderation", "OpenAI Moderation", 1680, all_unsafe=False),
        Benchmark("toxicchat", "ToxicChat", 2853, all_unsafe=False),
        Benchmark("simple_safety_tests", "SimpleSafetyTests", 100, all_unsafe=True),
    )
}

# ISO 639-1 code -> folder name in the ConsistentGuard release
LANGUAGES: dict[str, str] = {"en": "eng", "fr": "fr", "zh": "zh-CN", "ja": "ja", "bn": "bn", "hi": "hi"}
# the code of a language added beside the paper's: ISO 639-1/639-3, optionally a region or script (pt-BR);
# always used with fullmatch (``$`` with ``match`` would let a trailing newline through)
LANGUAGE_CODE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")
LANGUAGE_NAMES: dict[str, str] = {
    "en": "English",
    "fr": "French",
    "zh": "Chinese",
    "ja": "Japanese",
    "bn": "Bengali",
    "hi": "Hindi",
}


def unknown_name(kind: str, name: str, choices: Iterable[str], error: type[ValueError] = ValueError) -> ValueError:
    """The error for a name that is not one of ``choices``, with the nearest match when there is one."""
    choices = list(choices)
    close = difflib.get_close_matches(str(name), choices, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return error(f"unknown {kind} {name!r}; choose from {', '.join(choices)}.{hint}")


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise unknown_name("benchmark", name, BENCHMARKS, DataError)
    return BENCHMARKS[name]


def language_folder(lang: str, extra_languages: dict[str, str] | None = None) -> str:
    """The release folder of an ISO 639-1 code; upstream names such as ``eng`` or ``zh-CN`` are accepted too."""
    known = {**LANGUAGES, **(extra_languages or {})}
    if lang in known:
        return known[lang]
    by_folder = {folder: code for code, folder in known.items()}
    if lang in by_folder:
        return lang
    raise unknown_name("language", lang, known, DataError)


def language_code(lang: str, extra_languages: dict[str, str] | None = None) -> str:
    """Normalise ``eng``/``zh-CN``-style folder names to ISO 639-1 codes."""
    known = {**LANGUAGES, **(extra_languages or {})}
    folder = language_folder(lang, extra_languages)
    return next(code for code, f in known.items() if f == folder)
