"""Shared fixtures: the real data mirror, and helpers to build broken copies of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _mirror() -> Path:
    """The data mirror: $CGBENCH_DATA_DIR, else the download cache (filled on first use)."""
    configured = os.environ.get("CGBENCH_DATA_DIR")
    if configured:
        return Path(configured).resolve()
    from cgbench.benchmarks.fetch import fetch_all
    from cgbench.benchmarks.sources import cache_dir

    for _ in fetch_all():
        pass
    return cache_dir().resolve()


@pytest.fixture(scope="session")
def mirror() -> Path:
    return _mirror()


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch, tmp_path_factory, mirror):
    """Every test sees the mirror through the environment and a private cache; no test touches $HOME."""
    monkeypatch.setenv("CGBENCH_DATA_DIR", str(mirror))
    monkeypatch.setenv("CGBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def mirror_copy(tmp_path, mirror) -> Path:
    """A writable copy of the mirror (symlinked files; replace one to break it)."""
    root = tmp_path / "mirror"
    for path in mirror.rglob("*"):
        if path.is_file():
            target = root / path.relative_to(mirror)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(path)
    return root


def replace_file(root: Path, relative: str, content: str | bytes) -> Path:
    """Swap a symlinked mirror file for a real file with ``content``."""
    path = root / relative
    path.unlink()
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path
