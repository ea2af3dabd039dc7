"""A user's own parallel multilingual set in one command: ``cgbench data add-benchmark NAME --from FILE``.

The table is in long format (JSONL, CSV or Parquet): one row per (item, language) with an item id, a language
code, the text and a label (0/1, a label column mapped with ``label_values``, or one label for the whole set),
and optionally a category. Every row is checked before anything is written; then a normalised copy and a
manifest go to ``<user dir>/benchmarks/NAME/`` through a staging folder (as ``cgbench data add-language`` does),
which registers the set for ``cgbench run --sets NAME``, scoring and the leaderboard. Its lm-eval tasks are written
by the caller (``cgbench.tasks.user_tasks``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cgbench.benchmarks import sources, user_sets
from cgbench.benchmarks.add_language import _swap_into_place
from cgbench.benchmarks.errors import DataError
from cgbench.benchmarks.registry import LANGUAGE_CODE
from cgbench.benchmarks.sets import BUILTIN

NAME_RE = re.compile(r"[a-z][a-z0-9_]{1,39}")  # used with fullmatch only
MAX_TEXT_CHARS = 100_000  # a longer "prompt" is a broken row (a whole file in one cell), not a prompt
MAX_ERRORS = 20  # listed in the error; the count says how many there were in all
FORMATS = ("jsonl", "csv", "parquet")


@dataclass
class Fields:
    """Which column holds what (``--text-field`` ...), and how labels are read."""

    id: str = "id"
    lang: str = "lang"
    text: str = "text"
    label: str = "label"
    category: str | None = None
    label_values: dict[str, int] | None = None  # e.g. {"harmful": 1, "unharmful": 0}
    one_label: int | None = None  # --label 1: every row gets this label, no label column


@dataclass
class AddedSet:
    name: str
    folder: Path
    manifest: dict[str, Any]
    parallel_share: dict[str, float] = field(default_factory=dict)


class InvalidTable(DataError):
    """The table failed its checks; nothing was written."""

    def __init__(self, path: Path, errors: list[str], total: int) -> None:
        more = f"\n  ... and {total - len(errors)} more" if total > len(errors) else ""
        lines = "\n".join(f"  - {error}" for error in errors)
        super().__init__(f"{path}: {total} error(s); nothing was added:\n{lines}{more}")


def check_name(name: str, force: bool = False) -> None:
    if not NAME_RE.fullmatch(name):
        raise DataError(f"benchmark name {name!r}: use 2-40 lowercase letters, digits and '_', starting with a letter")
    clash = [b for b in BUILTIN if b == name or b.startswith(f"{name}_")]
    if clash:
        raise DataError(f"{name!r} clashes with the built-in set {clash[0]!r} (or its lm-eval task names)")
    if user_sets.folder(name).is_dir() and not force:
        raise DataError(f"{name!r} was already added ({user_sets.folder(name)}); pass --force to replace it")


def read_table(path: Path) -> list[dict[str, Any]]:
    """The rows of a JSONL, CSV or Parquet file (by its suffix), each a dict; errors name the line."""
    if not path.is_file():
        raise DataError(f"--from {path}: no such file")
    kind = path.suffix.lower().lstrip(".")
    kind = "jsonl" if kind in ("jsonl", "ndjson", "json") else kind
    if kind not in FORMATS:
        raise DataError(f"{path}: unknown format {path.suffix!r}; use .jsonl, .csv or .parquet")
    if kind == "parquet":
        return _read_parquet(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DataError(f"{path}: line {line}: not UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start})") from exc
    return _read_jsonl(path, text) if kind == "jsonl" else _read_csv(path, text)


def _read_jsonl(path: Path, text: str) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number}: invalid JSON ({exc.msg})") from exc
        if not isinstance(record, dict):
            raise DataError(f"{path}: line {number}: expected a JSON object, got {type(record).__name__}")
        rows.append({**record, "_where": f"line {number}"})
    return rows


def _read_csv(path: Path, text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    try:
        for record in reader:
            rows.append({**record, "_where": f"line {reader.line_num}"})
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: {exc}") from exc
    return rows


def _read_parquet(path: Path) -> list[dict[str, Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise DataError(f"{path}: reading Parquet needs pyarrow (pip install pyarrow)") from exc
    try:
        records = pq.read_table(path).to_pylist()
    except Exception as exc:  # pyarrow raises several kinds (ArrowInvalid, OSError) for a bad file
        raise DataError(f"{path}: cannot read Parquet ({exc})") from exc
    return [{**record, "_where": f"row {number}"} for number, record in enumerate(records)]


def _label(value: Any, fields: Fields) -> int | None:
    if fields.label_values is not None:
        return fields.label_values.get(str(value))
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float) and value in (0, 1):
        return int(value)
    if isinstance(value, str) and value.strip() in ("0", "1"):
        return int(value.strip())
    return None


def normalise_rows(path: Path, records: list[dict[str, Any]], fields: Fields) -> tuple[list[dict], list[str]]:
    """Rows as the loader stores them (``id``, ``lang``, ``text``, ``label``, ``category``) and every error."""
    needed = [fields.id, fields.lang, fields.text] + ([fields.label] if fields.one_label is None else [])
    needed += [fields.category] if fields.category else []
    rows, errors, seen = [], [], set()
    for record in records:
        where = f"{path}: {record['_where']}"
        missing = [name for name in needed if record.get(name) is None]
        if missing:
            errors.append(f"{where}: field {missing[0]!r} is missing")
            continue
        item_id, lang, text = str(record[fields.id]).strip(), record[fields.lang], record[fields.text]
        label = fields.one_label if fields.one_label is not None else _label(record[fields.label], fields)
        if not isinstance(lang, str) or not LANGUAGE_CODE.fullmatch(lang):
            errors.append(
                f"{where}: field {fields.lang!r} is {lang!r}, expected a language code such as 'fr' or 'pt-BR'"
            )
        elif not item_id:
            errors.append(f"{where}: field {fields.id!r} is empty")
        elif (lang, item_id) in seen:
            errors.append(f"{where}: field {fields.id!r}: id {item_id!r} appears twice in language {lang!r}")
        elif not isinstance(text, str) or not text.strip():
            errors.append(f"{where}: field {fields.text!r} is empty or not text")
        elif len(text) > MAX_TEXT_CHARS:
            errors.append(f"{where}: field {fields.text!r} has {len(text)} characters, more than {MAX_TEXT_CHARS}")
        elif label is None:
            expected = f"one of {sorted(fields.label_values)}" if fields.label_values else "0 or 1"
            errors.append(f"{where}: field {fields.label!r} is {record[fields.label]!r}, expected {expected}")
        else:
            seen.add((lang, item_id))
            category = str(record[fields.category]).strip() if fields.category else ""
            rows.append({"id": item_id, "lang": lang, "text": text.strip(), "label": label, "category": category})
    return rows, errors


def check_languages(rows: list[dict], reference: str) -> list[str]:
    langs = {row["lang"] for row in rows}
    if reference not in langs:
        return [f"the reference language {reference!r} (--english) has no rows; languages found: {sorted(langs)}"]
    if len(langs) < 2:
        return [f"only the reference language {reference!r}: a parallel set needs at least one other language"]
    return []


def with_indices(rows: list[dict], reference: str) -> list[dict]:
    """Each item id gets one integer ``idx`` shared by its languages: the reference language's items first, in
    file order, then ids that exist in other languages only."""
    order = [row["id"] for row in rows if row["lang"] == reference] + [row["id"] for row in rows]
    index = {item_id: i for i, item_id in enumerate(dict.fromkeys(order))}
    ranked = sorted(rows, key=lambda row: (row["lang"] != reference, row["lang"], index[row["id"]]))
    return [{"idx": index[row["id"]], **row} for row in ranked]


def parallel_shares(rows: list[dict], reference: str) -> dict[str, float]:
    """Per language, the share of its items whose id also exists in the reference language."""
    english = {row["id"] for row in rows if row["lang"] == reference}
    shares = {}
    for lang in sorted({row["lang"] for row in rows}):
        ids = [row["id"] for row in rows if row["lang"] == lang]
        shares[lang] = sum(i in english for i in ids) / len(ids)
    return shares


def add_benchmark(
    name: str, source: str | Path, fields: Fields | None = None, *, reference: str = "en", force: bool = False
) -> AddedSet:
    """Validate ``source`` and store it as the benchmark ``name`` (see the module doc)."""
    fields = fields or Fields()
    check_name(name, force)
    path = Path(source)
    rows, errors = normalise_rows(path, read_table(path), fields)
    errors += check_languages(rows, reference) if rows else [f"{path}: no rows"]
    if errors:
        raise InvalidTable(path, errors[:MAX_ERRORS], len(errors))
    rows = with_indices(rows, reference)
    shares = parallel_shares(rows, reference)
    manifest = _manifest(name, path, rows, fields, reference, shares)
    folder = _write(name, rows, manifest)
    return AddedSet(name, folder, manifest, shares)


def _manifest(name: str, path: Path, rows: list[dict], fields: Fields, reference: str, shares: dict) -> dict:
    from cgbench import __version__

    langs = sorted({row["lang"] for row in rows}, key=lambda lang: (lang != reference, lang))
    return {
        "name": name,
        "title": name,
        "source": str(path.resolve()),
        "source_sha256": sources.sha256_of(path),
        "languages": langs,
        "reference": reference,
        "one_label": fields.one_label is not None,
        "fields": _fields_record(fields),
        "rows": {lang: sum(row["lang"] == lang for row in rows) for lang in langs},
        "unsafe": {lang: sum(row["label"] for row in rows if row["lang"] == lang) for lang in langs},
        "parallel_share": shares,
        "categories": sorted({row["category"] for row in rows if row["category"]}),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cgbench_version": __version__,
    }


def _fields_record(fields: Fields) -> dict[str, Any]:
    return {
        "id_field": fields.id,
        "lang_field": fields.lang,
        "text_field": fields.text,
        "label_field": None if fields.one_label is not None else fields.label,
        "category_field": fields.category,
        "label_values": fields.label_values,
        "one_label": fields.one_label,
    }


def _write(name: str, rows: list[dict], manifest: dict) -> Path:
    final = user_sets.folder(name)
    staging = final.with_name(f".{name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with (staging / user_sets.ITEMS).open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    # the same record as an added language's, so that every load re-checks the stored copy against it
    manifest["files"] = {user_sets.ITEMS: {"sha256": sources.sha256_of(staging / user_sets.ITEMS)}}
    (staging / user_sets.MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    _swap_into_place(staging, final)
    return final


def remove_benchmark(name: str) -> Path:
    """Delete an added benchmark's folder (its tasks are removed by the caller); refuses a built-in set."""
    if name in BUILTIN:
        raise DataError(f"{name!r} is a built-in set; only sets added with `cgbench data add-benchmark` can be removed")
    folder = user_sets.folder(name)
    if not NAME_RE.fullmatch(name) or not folder.is_dir():
        added = ", ".join(sorted(user_sets.registered())) or "none"
        raise DataError(f"no added benchmark {name!r} (added: {added})")
    shutil.rmtree(folder)
    return folder
