"""Rich tables of the diagnostics in a ``metrics.json``: threshold transfer and category consistency."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from cgbench.harness.report import _STYLE, pct
from cgbench.harness.schema import MetricsFile


def transfer_table(benchmark: str, calibration: dict) -> Table:
    threshold = calibration.get("en_threshold")
    title = f"{benchmark}: thresholds and calibration (%; English-best threshold "
    title += f"{threshold:.3f})" if threshold is not None else "none: one class or no English)"
    table = Table(title=title, title_justify="left", **_STYLE)
    table.add_column("lang", no_wrap=True)
    for column in ("scored", "ECE", "F1\n@0.5", "F1\n@en thr", "F1 own thr\ncross-fit"):
        table.add_column(column, justify="right", no_wrap=True)
    for lang, cell in sorted(calibration["by_lang"].items()):
        table.add_row(
            lang,
            str(cell["n_scored"]),
            pct(cell["ece"]),
            pct(cell["f1_at_05"]),
            pct(cell["f1_at_en"]),
            pct(cell["f1_crossfit"]),
        )
    return table


def category_consistency_table(benchmark: str, cells: dict) -> Table:
    table = Table(title=f"{benchmark}: category consistency against English (%)", title_justify="left", **_STYLE)
    table.add_column("lang", no_wrap=True)
    for column in ("flagged\nin both", "same\nset", "mean\nJaccard", "with own\ncategories", "agree with\nset's own"):
        table.add_column(column, justify="right", no_wrap=True)
    for lang, cell in sorted(cells.items()):
        table.add_row(
            lang,
            str(cell["n"]),
            pct(cell["same_set"]),
            pct(cell["mean_jaccard"]),
            str(cell["n_set"]),
            pct(cell["set_agreement"]),
        )
    return table


def script_gaps_table(benchmark: str, gaps: dict) -> Table:
    table = Table(title=f"{benchmark}: romanized against native script (%)", title_justify="left", **_STYLE)
    table.add_column("lang", no_wrap=True)
    for column in ("n", "F1\nnative", "F1\nromanized", "diff", "same\nverdict", "loophole"):
        table.add_column(column, justify="right", no_wrap=True)
    for lang, gap in sorted(gaps.items()):
        diff = f"{100 * gap['f1_diff']:+.1f}"
        cells = (
            pct(gap["f1_native"]),
            pct(gap["f1_romanized"]),
            diff,
            pct(gap["agreement"]),
            pct(gap["loophole_rate"]),
        )
        table.add_row(lang, str(gap["n"]), *cells)
    return table


def print_diagnostics(metrics: MetricsFile, console: Console | None = None) -> None:
    """Print the threshold-transfer tables (runs with scores) and the category consistency (guards naming them)."""
    console = console or Console()
    for benchmark, calibration in sorted(metrics.get("calibration", {}).items()):
        console.print(transfer_table(benchmark, calibration))
    for benchmark, cells in sorted(metrics.get("category_consistency", {}).items()):
        console.print(category_consistency_table(benchmark, cells))
    for benchmark, gaps in sorted(metrics.get("script_gaps", {}).items()):
        console.print(script_gaps_table(benchmark, gaps))
