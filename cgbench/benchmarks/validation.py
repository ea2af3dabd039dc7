"""Checks over every split: counts, alignment of labels, empty texts, leftover headers; for translated
splits also the share left in English, the writing system and length-ratio outliers."""

from __future__ import annotations

import math
import os
import statistics
from dataclasses import dataclass, field

from cgbench.benchmarks.control_tokens import count_control_spellings
from cgbench.benchmarks.errors import DataError
from cgbench.benchmarks.headers import leftover_header
from cgbench.benchmarks.loading import Item, available_languages, load_split
from cgbench.benchmarks.registry import BENCHMARKS
from cgbench.benchmarks.scripts import language_script, script_share

IDENTICAL_WARN = 0.05  # share of rows identical to English above which a warning is shown
IDENTICAL_MAX = 0.5  # above this the split is refused: the translator handed English back
MIN_SCRIPT_SHARE = 0.8  # share of rows written mostly in the language's script (paper splits: 0.91 to 1.0)
OUTLIER_SIGMAS = 4.0  # a length ratio this many robust sigmas (and 3x) away from the split's median is listed


@dataclass
class ValidationReport:
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # reported, not failed
    warnings: list[str] = field(default_factory=list)  # reported loudly, not failed
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    control_spellings: dict[tuple[str, str], int] = field(default_factory=dict)  # items spelling a control token

    @property
    def ok(self) -> bool:
        return not self.errors


def check_split(items: list[Item], english: list[Item]) -> tuple[list[str], list[str]]:
    """Errors and notes for one split against its English counterpart."""
    errors, notes = [], []
    where = f"{items[0].benchmark}/{items[0].lang}" if items else "empty split"
    if len(items) != len(english):
        errors.append(f"{where}: {len(items)} rows, English has {len(english)}")
    for item, gold in zip(items, english):
        if item.label != gold.label:
            errors.append(f"{where}: row {item.idx}: label {item.label} differs from English {gold.label}")
        if not item.text.strip():
            errors.append(f"{where}: row {item.idx}: field 'text' is empty")
        elif (header := leftover_header(item.text)) is not None:
            errors.append(f"{where}: row {item.idx}: text still starts with a header {header!r}")
    if items and items[0].lang != "en":
        same = [item.idx for item, gold in zip(items, english) if item.text == gold.text]
        if same:
            more = "..." if len(same) > 10 else ""
            notes.append(f"{where}: {len(same)} rows identical to English (rows {same[:10]}{more})")
    return errors, notes


def rows_list(indices: list[int], limit: int = 10) -> str:
    more = f" and {len(indices) - limit} more" if len(indices) > limit else ""
    return f"row{'s' if len(indices) > 1 else ''} {indices[:limit]}{more}"


def check_translation(items: list[Item], english: list[Item], report: ValidationReport) -> None:
    """Add the translation checks of one non-English split to ``report``: the share identical to English,
    the writing system (skipped with a note for a language not in the script table), length-ratio outliers."""
    if not items or len(items) != len(english):
        return  # check_split already reports the mismatch
    lang, where = items[0].lang, f"{items[0].benchmark}/{items[0].lang}"
    same = [item.idx for item, gold in zip(items, english) if item.text.strip() == gold.text.strip()]
    share = len(same) / len(items)
    if share > IDENTICAL_MAX:
        report.errors.append(
            f"{where}: {share:.0%} of rows are identical to English (untranslated?): {rows_list(same)}"
        )
    elif share > IDENTICAL_WARN:
        report.warnings.append(f"{where}: {share:.1%} of rows are identical to English: {rows_list(same)}")
    _check_script(items, where, language_script(lang), report)
    _check_lengths(items, english, where, report)


def _check_script(items: list[Item], where: str, script: str | None, report: ValidationReport) -> None:
    if script is None:
        report.notes.append(f"{where}: script check skipped: no known writing system for {items[0].lang!r}")
        return
    shares = [(item.idx, script_share(item.text, script)) for item in items]
    scored = [(idx, s) for idx, s in shares if s is not None]
    if not scored:
        return
    mostly = sum(s >= 0.5 for _, s in scored) / len(scored)
    message = f"{where}: {mostly:.1%} of rows are mostly in {script} script"
    if mostly < MIN_SCRIPT_SHARE:
        report.errors.append(f"{message}, expected at least {MIN_SCRIPT_SHARE:.0%} (wrong target language?)")
    if none := [idx for idx, s in scored if s == 0]:
        report.notes.append(f"{message}; no {script} letter in {rows_list(none)}")


def _check_lengths(items: list[Item], english: list[Item], where: str, report: ValidationReport) -> None:
    ratios = [(item.idx, max(len(item.text), 1) / max(len(gold.text), 1)) for item, gold in zip(items, english)]
    logs = [math.log(r) for _, r in ratios]
    median = statistics.median(logs)
    sigma = 1.4826 * statistics.median(abs(x - median) for x in logs)
    limit = max(OUTLIER_SIGMAS * sigma, math.log(3))
    outliers = [f"row {idx} ({r:.2f})" for (idx, r), x in zip(ratios, logs) if abs(x - median) > limit]
    if outliers:
        more = f" and {len(outliers) - 10} more" if len(outliers) > 10 else ""
        report.notes.append(
            f"{where}: {len(outliers)} length-ratio outlier(s) (translation/English characters, median "
            f"{math.exp(median):.2f}): {', '.join(outliers[:10])}{more}"
        )


def validate(
    benchmarks: list[str] | None = None,
    langs: list[str] | None = None,
    data_dir: str | os.PathLike | None = None,
) -> ValidationReport:
    """Load and check every split; a file that cannot be read is reported, not raised. Without ``benchmarks``,
    the sets beyond the paper's (RTP-LX, added sets) are checked too (:func:`check_own_set`)."""
    from cgbench.benchmarks.sets import all_sets

    report = ValidationReport()
    if benchmarks is None:
        for name in all_sets():
            if name not in BENCHMARKS:
                check_own_set(name, report, langs, data_dir)
    for benchmark in [b for b in benchmarks or list(BENCHMARKS) if b in BENCHMARKS]:
        try:
            english = load_split(benchmark, "en", data_dir)
        except DataError as exc:
            report.errors.append(str(exc))
            continue
        for lang in langs or available_languages(data_dir):
            try:
                items = load_split(benchmark, lang, data_dir)
            except DataError as exc:
                report.errors.append(str(exc))
                continue
            report.counts[(benchmark, lang)] = len(items)
            report.control_spellings[(benchmark, lang)] = count_control_spellings(item.text for item in items)
            errors, notes = check_split(items, english)
            report.errors += errors
            report.notes += notes
            if items and items[0].lang != "en":
                check_translation(items, english, report)
    return report


def check_own_set(
    benchmark: str, report: ValidationReport, langs: list[str] | None = None, data_dir: str | os.PathLike | None = None
) -> None:
    """A set that brings its own languages and labels: every split loads (the loader checks each field), has no
    empty text and no repeated idx; notes the parallel share and the labels that differ from the reference's."""
    from cgbench.benchmarks.sets import get_set

    own = get_set(benchmark)
    try:
        reference = {item.idx: item.label for item in load_split(benchmark, own.reference, data_dir)}
    except DataError as exc:
        report.errors.append(str(exc))
        return
    for lang in [lang for lang in langs or own.languages if lang in own.languages]:
        try:
            items = load_split(benchmark, lang, data_dir)
        except DataError as exc:
            report.errors.append(str(exc))
            continue
        where = f"{benchmark}/{lang}"
        report.counts[(benchmark, lang)] = len(items)
        report.control_spellings[(benchmark, lang)] = count_control_spellings(item.text for item in items)
        if len({item.idx for item in items}) != len(items):
            report.errors.append(f"{where}: an idx appears more than once")
        report.errors += [f"{where}: row {item.idx}: field 'text' is empty" for item in items if not item.text.strip()]
        if lang != own.reference:
            parallel = [item for item in items if item.idx in reference]
            differ = sum(item.label != reference[item.idx] for item in parallel)
            report.notes.append(
                f"{where}: {len(parallel)} of {len(items)} items parallel to {own.reference}; "
                f"{differ} of them labelled otherwise"
            )
