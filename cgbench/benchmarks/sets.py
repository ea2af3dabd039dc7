"""Every benchmark set in one registry: the paper's three, RTP-LX, and the sets a user added with
``cgbench data add-benchmark`` (found in the user dir, so they need no code change)."""

from __future__ import annotations

import os

from cgbench.benchmarks import rtp_lx, user_sets
from cgbench.benchmarks.errors import DataError
from cgbench.benchmarks.registry import BENCHMARKS, Benchmark, unknown_name

RTP_LX = Benchmark(
    rtp_lx.NAME,
    "RTP-LX",
    0,  # the locales differ in size (998 to 1224 prompts)
    all_unsafe=False,
    languages=tuple(rtp_lx.LOCALES),
    labels_per_language=True,
    origin="builtin",
)
BUILTIN: dict[str, Benchmark] = {**BENCHMARKS, RTP_LX.name: RTP_LX}


def all_sets() -> dict[str, Benchmark]:
    """Built-in sets first, then the user's, by name."""
    return {**BUILTIN, **user_sets.registered()}


def find_set(name: str) -> Benchmark | None:
    return BUILTIN.get(name) or user_sets.registered().get(name)


def get_set(name: str) -> Benchmark:
    found = find_set(name)
    if found is None:
        raise unknown_name("benchmark", name, all_sets(), DataError)
    return found


def load_set_split(name: str, lang: str, data_dir: str | os.PathLike | None = None) -> list:
    """The Items of a set beyond the paper's three (the paper's go through ``loading.load_split``)."""
    benchmark = get_set(name)
    if benchmark.origin == "builtin":
        return rtp_lx.load(lang, data_dir)
    if lang not in benchmark.languages:
        raise unknown_name(f"language of {name}", lang, benchmark.languages, DataError)
    return user_sets.load(name, lang)
