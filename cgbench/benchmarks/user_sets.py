"""Benchmarks a user added with ``cgbench data add-benchmark``: where they are stored and how they are read.

Each lives in ``<user dir>/benchmarks/<name>/`` (the user dir of ``cgbench data add-language``): ``items.jsonl``
(one row per item and language: ``idx``, ``id``, ``lang``, ``text``, ``label``, ``category``) and
``manifest.json`` (source, sha256, counts, languages, reference language). The folder is only there once every
check passed, so its presence is the registration.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from cgbench.benchmarks import sources
from cgbench.benchmarks.errors import DataError
from cgbench.benchmarks.registry import Benchmark

ITEMS = "items.jsonl"
MANIFEST = "manifest.json"


def root() -> Path:
    return sources.user_dir() / "benchmarks"


def folder(name: str) -> Path:
    return root() / name


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the benchmark's manifest ({exc}); add it again with --force") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("languages"), list):
        raise DataError(f"{path}: not a benchmark manifest (no 'languages'); add it again with --force")
    return manifest


def as_benchmark(manifest: dict[str, Any]) -> Benchmark:
    return Benchmark(
        manifest["name"],
        manifest.get("title") or manifest["name"],
        0,
        all_unsafe=bool(manifest.get("one_label")),
        languages=tuple(manifest["languages"]),
        reference=manifest["reference"],
        labels_per_language=True,
        origin="user",
    )


def registered() -> dict[str, Benchmark]:
    """The added benchmarks, by name."""
    if not root().is_dir():
        return {}
    return {path.parent.name: as_benchmark(read_manifest(path)) for path in sorted(root().glob(f"*/{MANIFEST}"))}


def load(name: str, lang: str) -> list:
    path = folder(name) / ITEMS
    if not path.is_file():
        raise DataError(f"{path}: missing from the added benchmark {name!r} (add it again with --force)")
    sources.check_added_file(path)
    stat = path.stat()
    return [item for item in _items(str(path), stat.st_size, stat.st_mtime_ns) if item.lang == lang]


@lru_cache(maxsize=8)
def _items(path: str, size: int, mtime: int) -> tuple:
    from cgbench.benchmarks.item import Item

    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}, line {number}: invalid JSON ({exc.msg}); add the benchmark again") from exc
    name = Path(path).parent.name
    reference = read_manifest(Path(path).parent / MANIFEST)["reference"]
    parallel = {row["idx"] for row in rows if row["lang"] == reference}
    return tuple(
        Item(
            name,
            row["lang"],
            row["idx"],
            row["text"],
            row["label"],
            row["id"],
            {"categories": [row["category"]] if row.get("category") else [], "parallel": row["idx"] in parallel},
        )
        for row in rows
    )
