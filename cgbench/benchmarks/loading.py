"""Reading the language splits into Items, refusing bad files before any model time is spent."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from cgbench.benchmarks import sources
from cgbench.benchmarks.categories import OPENAI_CATEGORY_NAMES
from cgbench.benchmarks.errors import DataError
from cgbench.benchmarks.headers import strip_header
from cgbench.benchmarks.item import Item
from cgbench.benchmarks.registry import (
    BENCHMARKS,
    LANGUAGE_CODE,
    LANGUAGES,
    get_benchmark,
    language_code,
    language_folder,
)
from cgbench.benchmarks.sets import get_set, load_set_split

LABELS = {"harmful": 1, "unharmful": 0}
OPENAI_CATEGORIES = tuple(OPENAI_CATEGORY_NAMES)


def decode(path: Path, data: bytes) -> str:
    """``data`` (read from ``path``) as UTF-8 text; a byte that is not UTF-8 is an error naming the file and line."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{path}: line {line} (byte offset {exc.start}): byte 0x{data[exc.start]:02x} is not UTF-8 text; "
            "corrupted file, or saved in another encoding?"
        ) from None


def read_json(path: Path) -> Any:
    try:
        return json.loads(decode(path, path.read_bytes()))
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg}); truncated or corrupted file?"
        ) from exc


def _field(path: Path, row: int, record: Any, name: str, kinds: type | tuple[type, ...] = str) -> Any:
    if not isinstance(record, dict):
        raise DataError(f"{path}: row {row}: expected an object, got {type(record).__name__}")
    if name not in record:
        raise DataError(f"{path}: row {row}: field {name!r} is missing")
    value = record[name]
    if not isinstance(value, kinds):
        raise DataError(f"{path}: row {row}: field {name!r} has type {type(value).__name__}")
    return value


def extra_languages(data_dir: str | os.PathLike | None = None) -> dict[str, str]:
    """Languages beyond the six of the paper: code -> folder. They are looked for in the mirror (else the
    download cache), then in the user dir, where ``cgbench data add-language`` writes (a mirror may be read-only).
    A folder whose name is not a language code (``benchmark_xx\\n``) is no language."""
    mirror = sources.data_dir(data_dir)
    roots = [mirror if mirror is not None else sources.cache_dir(), sources.user_dir()]
    known = set(LANGUAGES.values())
    found = {}
    for root in roots:
        for folder in sorted((root / "consistentguard").glob("benchmark_*")):
            name = folder.name.removeprefix("benchmark_")
            if name not in known and folder.is_dir() and LANGUAGE_CODE.fullmatch(name):
                found[name] = name
    return dict(sorted(found.items()))


def available_languages(data_dir: str | os.PathLike | None = None) -> list[str]:
    """The six paper languages, then any language added with ``cgbench data add-language``."""
    return list(LANGUAGES) + sorted(extra_languages(data_dir))


def release_source(benchmark: str, lang: str, data_dir: str | os.PathLike | None = None) -> sources.SourceFile:
    extra = extra_languages(data_dir) if lang not in LANGUAGES else {}
    return sources.release_file(language_folder(lang, extra), benchmark)


def release_path(benchmark: str, lang: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The local file of one split: in the mirror or cache, or in the user dir for an added language."""
    return sources.locate(release_source(benchmark, lang, data_dir), data_dir)


def read_release(benchmark: str, lang: str, data_dir: str | os.PathLike | None = None) -> list[tuple[str, int]]:
    """(raw input, label) rows of one split of the ConsistentGuard release, checked field by field."""
    return release_rows(release_path(benchmark, lang, data_dir), expected=get_benchmark(benchmark).n)


def release_rows(path: Path, expected: int | None = None) -> list[tuple[str, int]]:
    """(raw input, label) rows of a file in the release layout, checked field by field (and counted)."""
    records = read_json(path)
    if not isinstance(records, list):
        raise DataError(f"{path}: expected a JSON list of rows, got {type(records).__name__}")
    if expected is not None and len(records) != expected:
        raise DataError(f"{path}: {len(records)} rows, expected {expected}")
    rows = []
    for row, record in enumerate(records):
        text = _field(path, row, record, "input")
        output = _field(path, row, record, "output")
        if output not in LABELS:
            raise DataError(f"{path}: row {row}: field 'output' is {output!r}, expected 'harmful' or 'unharmful'")
        rows.append((text, LABELS[output]))
    return rows


@cache
def _originals(benchmark: str, root: str | None) -> tuple[list[str], list[int], list[str | None], list[dict]]:
    """Texts, labels, ids and metadata of the English originals of ``benchmark``."""
    reader = {
        "openai_moderation": _read_openai_moderation,
        "toxicchat": _read_toxicchat,
        "simple_safety_tests": _read_simple_safety_tests,
    }[benchmark]
    return reader(root)


def _read_openai_moderation(root: str | None):
    path = sources.locate(sources.OPENAI_MODERATION_ORIGINAL, root)
    texts, labels, metas = [], [], []
    try:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot read gzip ({exc}); truncated or corrupted file?") from exc
    lines = decode(path, data).splitlines()
    for row, line in enumerate(lines):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: row {row}: invalid JSON ({exc.msg}); truncated file?") from exc
        texts.append(_field(path, row, record, "prompt"))
        flags = {k: record[k] for k in OPENAI_CATEGORIES if k in record}
        labels.append(int(any(v == 1 for v in flags.values())))
        metas.append({"categories": flags})
    return texts, labels, [None] * len(texts), metas


def _read_toxicchat(root: str | None):
    path = sources.locate(sources.TOXICCHAT_TEST_ORIGINAL, root)
    document = read_json(path)
    instances = _field(path, 0, document, "instances", list) if isinstance(document, dict) else None
    if instances is None:
        raise DataError(f"{path}: expected an object with 'instances'")
    texts, labels, ids = [], [], []
    for row, record in enumerate(instances):
        texts.append(_field(path, row, record, "instance"))
        ids.append(_field(path, row, record, "id"))
        annotations = _field(path, row, record, "annotations", dict)
        try:
            labels.append(int(annotations["toxicity"]["majority_human"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: row {row}: field 'annotations.toxicity.majority_human' missing or bad") from exc
    return texts, labels, ids, [{"conv_id": i} for i in ids]


def _read_simple_safety_tests(root: str | None):
    path = sources.locate(sources.SIMPLE_SAFETY_TESTS_ORIGINAL, root)
    records = list(csv.DictReader(io.StringIO(decode(path, path.read_bytes()), newline="")))
    texts, ids, metas = [], [], []
    for row, record in enumerate(records):
        for name in ("id", "harm_area", "category", "prompts_final"):
            if not record.get(name):
                raise DataError(f"{path}: row {row}: field {name!r} is missing or empty")
        texts.append(record["prompts_final"])
        ids.append(record["id"])
        metas.append({"harm_area": record["harm_area"], "category": record["category"]})
    return texts, [1] * len(texts), ids, metas


def _cross_check(benchmark: str, rows: list[tuple[str, int]], originals, path_hint: str) -> None:
    texts, labels = originals[0], originals[1]
    if len(texts) != len(rows):
        raise DataError(f"{path_hint}: {len(rows)} rows but the original {benchmark} file has {len(texts)}")
    for row, ((raw, label), text, original_label) in enumerate(zip(rows, texts, labels)):
        if label != original_label:
            raise DataError(
                f"{path_hint}: row {row}: field 'output' gives label {label}, the original {benchmark} file "
                f"gives {original_label}"
            )
        if strip_header(raw) != text.strip():
            raise DataError(f"{path_hint}: row {row}: field 'input' differs from the original {benchmark} prompt")


def _root_key(data_dir: str | os.PathLike | None) -> str | None:
    mirror = sources.data_dir(data_dir)
    return str(mirror.resolve()) if mirror is not None else None


@lru_cache(maxsize=64)
def _load(benchmark: str, lang: str, root: str | None, home: str | None = None) -> tuple[Item, ...]:
    # ``home`` (the user dir) only keys the cache: added languages live there
    get_benchmark(benchmark)
    extra = extra_languages(root) if lang not in LANGUAGES else {}
    code = language_code(lang, extra)
    rows = read_release(benchmark, code, root)
    originals = _originals(benchmark, root)
    if code == "en":
        _cross_check(benchmark, rows, originals, release_source(benchmark, "en", root).path)
    else:
        english = [label for _, label in read_release(benchmark, "en", root)]
        for row, ((_, label), gold) in enumerate(zip(rows, english)):
            if label != gold:
                path = release_source(benchmark, code, root).path
                raise DataError(f"{path}: row {row}: field 'output' differs from the English label {gold}")
    _, _, ids, metas = originals
    return tuple(
        Item(benchmark, code, idx, strip_header(raw), label, ids[idx], metas[idx])
        for idx, (raw, label) in enumerate(rows)
    )


def load_split(benchmark: str, lang: str, data_dir: str | os.PathLike | None = None) -> list[Item]:
    """The Items of one benchmark in one language (ISO 639-1 code or release folder name); a set beyond the
    paper's three (RTP-LX, a set added with ``cgbench data add-benchmark``) is read by its own loader."""
    if benchmark not in BENCHMARKS:
        return list(load_set_split(benchmark, lang, data_dir))
    return list(_load(benchmark, lang, _root_key(data_dir), str(sources.user_dir())))


def set_languages(name: str, data_dir: str | os.PathLike | None = None) -> list[str]:
    """The languages of a set: its own, or the paper's six plus any added with ``cgbench data add-language``."""
    benchmark = get_set(name)
    return list(benchmark.languages) if benchmark.languages else available_languages(data_dir)


def load_all(
    benchmarks: list[str] | None = None,
    langs: list[str] | None = None,
    data_dir: str | os.PathLike | None = None,
) -> list[Item]:
    """Every Item of the chosen sets (default: the paper's three) and languages (default: each set's own)."""
    return [
        item
        for benchmark in benchmarks or list(BENCHMARKS)
        for lang in langs or set_languages(benchmark, data_dir)
        for item in load_split(benchmark, lang, data_dir)
    ]
