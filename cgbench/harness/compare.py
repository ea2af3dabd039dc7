"""``cgbench compare RUN_A RUN_B``: two runs on the items both have, split by split and on the headline, with
paired bootstrap intervals and p-values (``harness.headline``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cgbench.harness.headline import PairedDifference, Split, paired_difference, resample_runs, run_items
from cgbench.harness.resample import N_BOOTSTRAP
from cgbench.harness.scoring import ScoringError, predictions_file, read_predictions


@dataclass(frozen=True)
class Comparison:
    names: tuple[str, str]
    metric: dict[Split, str]  # what each split's value is: macro-F1, recall or FPR
    values: dict[Split, tuple[float, float]]  # each run's value on the shared items
    splits: dict[Split, PairedDifference]
    headline: PairedDifference | None
    headline_values: tuple[float, float] | None
    only: dict[str, list[Split]]  # splits one run has and the other lacks, by run name
    n_bootstrap: int


def compare_runs(run_a: Path, run_b: Path, n_bootstrap: int = N_BOOTSTRAP, seed: int = 0) -> Comparison:
    """A minus B on every split both runs have, and on the headline over those splits."""
    items = []
    for run in (run_a, run_b):
        source = predictions_file(run)
        if source is None:
            raise ScoringError(f"{run}: no predictions.jsonl or predictions.jsonl.gz here, so nothing to compare")
        items.append(run_items(read_predictions(source)))
    names = (_name(run_a), _name(run_b))
    if names[0] == names[1]:
        names = (f"A: {names[0]}", f"B: {names[1]}")
    resampled = resample_runs(items, n_bootstrap, seed)
    shared = sorted(set(items[0]) & set(items[1]))
    if not shared:
        raise ScoringError(f"{run_a} and {run_b} share no benchmark/language split")
    splits, values, metric = {}, {}, {}
    for split in shared:
        splits[split] = paired_difference(resampled, 0, 1, [split])
        values[split] = (float(resampled.split_value(0, split)[0]), float(resampled.split_value(1, split)[0]))
        classes = resampled.classes[split[0]]
        metric[split] = "macro-F1" if classes == {0, 1} else "recall" if 1 in classes else "FPR"
    headline = paired_difference(resampled, 0, 1, shared)
    a, b = resampled.headline(0, shared), resampled.headline(1, shared)
    only = {
        names[0]: sorted(set(items[0]) - set(items[1])),
        names[1]: sorted(set(items[1]) - set(items[0])),
    }
    headline_values = None if a is None or b is None else (float(a[0]), float(b[0]))
    return Comparison(names, metric, values, splits, headline, headline_values, only, n_bootstrap)


def _name(run: Path) -> str:
    return f"{run.parent.name}/{run.name}" if run.parent.name else run.name


def print_comparison(comparison: Comparison, console=None) -> None:
    """The per-split table and the headline line, as the terminal shows them."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    a, b = comparison.names
    table = Table(
        title=f"A = {a}\nB = {b}\non the items both runs have; {comparison.n_bootstrap} paired resamples",
        box=box.SIMPLE_HEAD,
        title_justify="left",
    )
    table.add_column("split", no_wrap=True)
    for header in ("A", "B", "A − B", "95% CI", "p"):
        table.add_column(header, justify="right", no_wrap=True)
    marks = {"macro-F1": "", "recall": " †", "FPR": " ‡"}
    for split, difference in comparison.splits.items():
        label = f"{split[0]}/{split[1]}{marks[comparison.metric[split]]}"
        table.add_row(label, *_cells(comparison.values[split], difference))
    if comparison.headline is not None and comparison.headline_values is not None:
        table.add_section()
        table.add_row("headline", *_cells(comparison.headline_values, comparison.headline))
    table.caption = (
        "macro-F1 (%); † recall on an all-unsafe set; ‡ FPR on an all-safe set; p < 1/(B+1): no draw crossed 0"
    )
    table.caption_justify = "left"
    console.print(table)
    for name, splits in comparison.only.items():
        if splits:
            console.print(f"only in {name} (not compared): " + ", ".join(f"{b}/{lang}" for b, lang in splits))


def _cells(values: tuple[float, float], difference: PairedDifference) -> list[str]:
    ci = difference.ci95
    interval = f"[{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}]" if ci else "–"
    p = f"<{difference.p:.1g}" if difference.p_bound else f"{difference.p:.3f}"
    return [f"{100 * values[0]:.1f}", f"{100 * values[1]:.1f}", f"{100 * difference.diff:+.1f}", interval, p]
