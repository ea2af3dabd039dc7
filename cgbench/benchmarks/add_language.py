"""A new language split in one command: translate (or import) the three sets, validate, then make it final.

Added languages live in the user dir (``$CGBENCH_HOME``, see :func:`sources.user_dir`), laid out like a
mirror: ``consistentguard/benchmark_<lang>/`` with the three release files and ``manifest.json``. The loader
searches it after the mirror, so ``load_split``, ``cgbench data list``, the runner and the leaderboard see
the language as soon as the folder is there. It only gets there after every check passed: the files are
written to a hidden staging folder first and renamed into place. Translations are cached per item, so a
failed or interrupted run resumes where it stopped.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cgbench.benchmarks import sources
from cgbench.benchmarks.errors import DataError
from cgbench.benchmarks.headers import common_header, strip_given_header, strip_header
from cgbench.benchmarks.loading import LABELS, _load, extra_languages, load_split, release_path, release_rows
from cgbench.benchmarks.registry import BENCHMARKS, LANGUAGE_CODE, LANGUAGES
from cgbench.benchmarks.row_shift import shifted_rows_warning
from cgbench.benchmarks.scripts import language_name, language_script
from cgbench.benchmarks.translation import TranslationCache, Translator
from cgbench.benchmarks.validation import ValidationReport, check_split, check_translation, rows_list

HEADER = "Human user:\n"  # the release's layout; the loader strips it again
LABEL_NAMES = {label: name for name, label in LABELS.items()}


class ValidationFailed(DataError):
    """The new split failed its checks; nothing final was written."""

    def __init__(self, lang: str, report: ValidationReport, hint: str) -> None:
        self.report = report
        lines = "\n".join(f"  - {error}" for error in report.errors)
        super().__init__(f"{lang}: {len(report.errors)} validation error(s); nothing was added ({hint}):\n{lines}")


@dataclass
class Added:
    """What ``add_language`` did."""

    lang: str
    folder: Path
    manifest: dict[str, Any]
    report: ValidationReport
    translated: int = 0  # texts sent to the translator in this run
    from_cache: int = 0  # texts found in the translation cache


def final_folder(lang: str) -> Path:
    return sources.user_dir() / "consistentguard" / f"benchmark_{lang}"


def translation_cache_path(lang: str) -> Path:
    return sources.cache_dir() / "translations" / f"{lang}.jsonl"


def check_code(lang: str, data_dir: str | os.PathLike | None = None, force: bool = False) -> None:
    if not LANGUAGE_CODE.fullmatch(lang):
        raise DataError(f"language code {lang!r}: expected an ISO 639-1 code such as 'ur' (or 'pt-BR')")
    if lang in LANGUAGES or lang in LANGUAGES.values():
        raise DataError(f"{lang!r} is one of the paper's languages; it is already in the benchmark")
    if lang in extra_languages(data_dir) and not final_folder(lang).is_dir():
        raise DataError(f"{lang!r} is already in the data dir {sources.data_dir(data_dir) or sources.cache_dir()}")
    if final_folder(lang).is_dir() and not force:
        raise DataError(f"{lang!r} was already added ({final_folder(lang)}); pass --force to replace it")


def add_language(
    lang: str,
    *,
    translator: Translator | None = None,
    from_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    batch_size: int | None = None,
    force: bool = False,
    fresh: bool = False,
    progress: bool = True,
) -> Added:
    """Translate (``translator``, e.g. from :func:`cgbench.models.translators.get_translator`) or import
    (``from_dir``) the three sets into ``lang``, validate, and make the split final. Its lm-eval tasks are
    written by the caller (``cgbench data add-language`` uses :func:`cgbench.tasks.generate.write_tasks`)."""
    if (translator is None) == (from_dir is None):
        raise DataError("give exactly one of --translator T or --from-dir DIR")
    check_code(lang, data_dir, force)
    english = {benchmark: load_split(benchmark, "en", data_dir) for benchmark in BENCHMARKS}
    if from_dir is not None:
        texts, labels, provenance = import_folder(Path(from_dir), lang)
        counts = (0, 0)
    else:
        texts, counts = translate_sets(english, lang, translator, batch_size=batch_size, fresh=fresh, progress=progress)
        labels = {benchmark: [item.label for item in items] for benchmark, items in english.items()}
        provenance = {"method": "translate", "translator": translator.spec, "model": translator.model}
    report = validate_new(lang, texts, labels, english)
    if report.errors:
        hint = "fix the files and rerun" if from_dir else "translations so far are cached: fix the cause and rerun"
        raise ValidationFailed(lang, report, hint)
    folder, manifest = write_final(lang, texts, labels, provenance, report, data_dir)
    return Added(lang, folder, manifest, report, *counts)


def translate_sets(
    english: dict[str, list],
    lang: str,
    translator: Translator,
    *,
    batch_size: int | None = None,
    fresh: bool = False,
    progress: bool = True,
) -> tuple[dict[str, list[str | None]], tuple[int, int]]:
    """The translation of every English text, through the cache (None where the translator gave up);
    (texts per set, (texts sent to the translator, texts found in the cache))."""
    from tqdm.auto import tqdm

    path = translation_cache_path(lang)
    if fresh:
        path.unlink(missing_ok=True)
    cache = TranslationCache(path)
    unique = list(dict.fromkeys(item.text for items in english.values() for item in items))
    missing = [text for text in unique if cache.get(translator.spec, lang, text) is None]
    size = batch_size or translator.batch_size
    with tqdm(total=len(missing), unit="text", desc=f"translating into {lang}", disable=not progress) as bar:
        for start in range(0, len(missing), size):
            chunk = missing[start : start + size]
            results = translator.translate(chunk, lang)
            if len(results) != len(chunk):
                raise DataError(f"{translator.spec} returned {len(results)} translations for {len(chunk)} texts")
            cache.put_many(translator.spec, lang, [(s, t) for s, t in zip(chunk, results) if t and t.strip()])
            bar.update(len(chunk))
    texts = {
        benchmark: [cache.get(translator.spec, lang, item.text) for item in items]
        for benchmark, items in english.items()
    }
    return texts, (len(missing), len(unique) - len(missing))


def import_folder(folder: Path, lang: str) -> tuple[dict[str, list[str]], dict[str, list[int]], dict[str, Any]]:
    """Bare texts and labels of a folder laid out like the release (or a release root with ``benchmark_<lang>/``)."""
    names = {benchmark: sources.release_file(lang, benchmark).path.rsplit("/", 1)[1] for benchmark in BENCHMARKS}
    if not folder.is_dir():
        raise DataError(f"--from-dir {folder}: not a folder")
    if not all((folder / name).is_file() for name in names.values()) and (folder / f"benchmark_{lang}").is_dir():
        folder = folder / f"benchmark_{lang}"
    if missing := [name for name in names.values() if not (folder / name).is_file()]:
        raise DataError(f"{folder}: missing {', '.join(missing)} (expected the three files of the release layout)")
    raw: dict[str, list[str]] = {}
    labels: dict[str, list[int]] = {}
    for benchmark, name in names.items():
        rows = release_rows(folder / name)
        raw[benchmark] = [strip_header(text) for text, _ in rows]
        labels[benchmark] = [label for _, label in rows]
    header = common_header([text for texts in raw.values() for text in texts])
    texts = {b: [strip_given_header(t, header) if header else t for t in ts] for b, ts in raw.items()}
    provenance = {
        "method": "import",
        "translator": None,
        "model": None,
        "source": str(folder),
        "header_removed": header,
        "source_files": {name: sources.sha256_of(folder / name) for name in names.values()},
    }
    return texts, labels, provenance


def validate_new(
    lang: str, texts: dict[str, list[str | None]], labels: dict[str, list[int]], english: dict[str, list]
) -> ValidationReport:
    """The data layer's checks, plus the translation checks, on the split as the loader will read it."""
    from cgbench.benchmarks.loading import Item

    report = ValidationReport()
    for benchmark, gold in english.items():
        if untranslated := [idx for idx, text in enumerate(texts[benchmark]) if text is None]:
            report.errors.append(
                f"{benchmark}/{lang}: {len(untranslated)} row(s) got no translation (the translator refused or "
                f"returned nothing, after its retries): {rows_list(untranslated)}"
            )
        items = [
            Item(benchmark, lang, idx, gold[idx].text if text is None else text.strip(), label)
            for idx, (text, label) in enumerate(zip(texts[benchmark], labels[benchmark]))
        ]
        report.counts[(benchmark, lang)] = len(items)
        if not items:
            report.errors.append(f"{benchmark}/{lang}: no rows, English has {len(gold)}")
            continue
        errors, notes = check_split(items, gold)
        report.errors += errors
        report.notes += notes
        check_translation(items, gold, report)
        english_texts = [item.text for item in gold]
        if warning := shifted_rows_warning(f"{benchmark}/{lang}", [item.text for item in items], english_texts):
            report.warnings.append(warning)
    return report


def _json_bytes(rows: list[dict[str, str]]) -> bytes:
    return json.dumps(rows, ensure_ascii=False, indent=1).encode("utf-8")


def write_final(
    lang: str,
    texts: dict[str, list[str]],
    labels: dict[str, list[int]],
    provenance: dict[str, Any],
    report: ValidationReport,
    data_dir: str | os.PathLike | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Write the files and the manifest to a staging folder, rename it into place, and read it back."""
    from cgbench import __version__

    final = final_folder(lang)
    staging = final.with_name(f".{final.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    files = {}
    for benchmark in BENCHMARKS:
        name = sources.release_file(lang, benchmark).path.rsplit("/", 1)[1]
        rows = [
            {"input": HEADER + text.strip(), "output": LABEL_NAMES[label]}
            for text, label in zip(texts[benchmark], labels[benchmark])
        ]
        (staging / name).write_bytes(_json_bytes(rows))
        files[name] = {"benchmark": benchmark, "rows": len(rows), "sha256": sources.sha256_of(staging / name)}
    manifest = {
        "language": lang,
        "name": language_name(lang),
        "script": language_script(lang),
        **provenance,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cgbench_version": __version__,
        "files": files,
        "english_files": {
            name: sources.sha256_of(release_path(spec["benchmark"], "en", data_dir)) for name, spec in files.items()
        },
        "warnings": report.warnings,
        "notes": report.notes,
    }
    (staging / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", "utf-8")
    _swap_into_place(staging, final)
    _load.cache_clear()
    try:
        for benchmark in BENCHMARKS:
            load_split(benchmark, lang, data_dir)
    except DataError:
        shutil.rmtree(final, ignore_errors=True)
        raise
    return final, manifest


def _swap_into_place(staging: Path, final: Path) -> None:
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def print_added(added: Added, task_files: Sequence[Path] = ()) -> None:
    """A table of the new splits, then warnings, notes and where everything went (``task_files``: the
    lm-eval tasks written for the language)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table("set", "lang", "n", "unsafe share", "identical to English", title=f"added {added.lang}")
    for benchmark in BENCHMARKS:
        items, english = load_split(benchmark, added.lang), load_split(benchmark, "en")
        same = sum(item.text == gold.text for item, gold in zip(items, english)) / len(items)
        unsafe = sum(item.label for item in items) / len(items)
        table.add_row(benchmark, added.lang, str(len(items)), f"{unsafe:.1%}", f"{same:.1%}")
    console.print(table)
    for warning in added.report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
    for note in added.report.notes:
        console.print(f"note: {note}", highlight=False)
    if added.translated or added.from_cache:
        console.print(f"translated {added.translated} texts, {added.from_cache} from the cache")
    console.print(f"data: {added.folder} (manifest.json has the translator, date and checksums)")
    if task_files:
        names = ", ".join(path.stem for path in task_files)
        console.print(f"lm-eval tasks: {names} in {task_files[0].parent} (see `cgbench tasks-path`)")
    console.print(
        f"next: cgbench data list; cgbench run --langs {added.lang}; cgbench lm-eval --tasks cg_toxicchat_{added.lang}"
    )
