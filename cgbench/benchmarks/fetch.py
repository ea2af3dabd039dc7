"""Downloading every upstream file into the cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cgbench.benchmarks import sources
from cgbench.benchmarks.registry import BENCHMARKS, LANGUAGES


def all_sources() -> list[sources.SourceFile]:
    release = [sources.release_file(folder, name) for folder in LANGUAGES.values() for name in BENCHMARKS]
    originals = [
        sources.OPENAI_MODERATION_ORIGINAL,
        sources.SIMPLE_SAFETY_TESTS_ORIGINAL,
        sources.TOXICCHAT_TEST_ORIGINAL,
        sources.TOXICCHAT_TRAIN,
    ]
    from cgbench.benchmarks.rtp_lx import SOURCE as RTP_LX

    return release + originals + list(sources.GUARDREASONER_TRAIN.values()) + [RTP_LX]


def fetch_all() -> Iterator[Path]:
    """Download (or find already cached) each upstream file; yields the cached paths."""
    for source in all_sources():
        target = sources.cache_dir() / source.path
        if not target.is_file():
            sources.download(source, target)
        yield target
