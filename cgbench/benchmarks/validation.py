"""Checks over every split: counts, alignment of labels, empty texts, leftover headers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from cgbench.benchmarks.errors import DataError
from cgbench.benchmarks.headers import leftover_header
from cgbench.benchmarks.loading import Item, available_languages, load_split
from cgbench.benchmarks.registry import BENCHMARKS


@dataclass
class ValidationReport:
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # reported, not failed
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

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


def validate(
    benchmarks: list[str] | None = None,
    langs: list[str] | None = None,
    data_dir: str | os.PathLike | None = None,
) -> ValidationReport:
    """Load and check every split; a file that cannot be read is reported, not raised."""
    report = ValidationReport()
    for benchmark in benchmarks or list(BENCHMARKS):
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
            errors, notes = check_split(items, english)
            report.errors += errors
            report.notes += notes
    return report
