"""The leaderboard's plots, each written as PNG and SVG with fixed metadata so the bytes never change."""

from __future__ import annotations

import io
from pathlib import Path
from statistics import fmean
from typing import TYPE_CHECKING

from cgbench.leaderboard.escaping import file_slug, plot_text
from cgbench.leaderboard.table import Table, benchmark_title, recall_based

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# no dates, no software version: the same table gives the same bytes
PNG_METADATA = {"Software": None}
SVG_METADATA = {"Date": None, "Creator": None}
RC = {
    "svg.hashsalt": "cgbench-leaderboard",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]


def write_plots(table: Table, out_dir: Path) -> list[str]:
    """Write every plot of ``table`` under ``out_dir`` as ``<name>.png`` and ``<name>.svg``; return the names."""
    import matplotlib

    if not table.rows:
        return []
    figures = {f"f1_by_language_{file_slug(b)}": _bars_by_language(table, b) for b in table.benchmarks}
    figures["heatmap_guard_language"] = _heatmap(table)
    figures["consistency_vs_f1"] = _consistency_vs_f1(table)
    figures["f1_gap"] = _f1_gap(table)
    out_dir.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(RC):
        for name, draw in figures.items():
            figure = draw()
            figure.savefig(out_dir / f"{name}.png", format="png", metadata=PNG_METADATA)
            _save_svg(figure, out_dir / f"{name}.svg")
    return list(figures)


def _save_svg(figure: Figure, path: Path) -> None:
    """SVG without trailing spaces (matplotlib leaves them in path data), so whitespace hooks keep it byte-stable."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata=SVG_METADATA)
    text = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _bars_by_language(table: Table, benchmark: str):
    def draw() -> Figure:
        languages = table.languages(benchmark)
        figure = _figure(max(5.0, 1.0 + 0.9 * len(languages) * max(1, len(table.rows)) ** 0.5), 3.6)
        ax = figure.add_subplot()
        width = 0.8 / len(table.rows)
        for i, row in enumerate(table.rows):
            xs = [x + (i - (len(table.rows) - 1) / 2) * width for x in range(len(languages))]
            ys = [100 * row.f1.get((benchmark, lang), float("nan")) for lang in languages]
            ax.bar(xs, ys, width=width, label=plot_text(row.guard), color=_color(i))
        ax.set_xticks(range(len(languages)), [plot_text(lang) for lang in languages])
        ax.set_ylim(0, 100)
        ax.set_ylabel("F1 (%), recall-based" if recall_based(benchmark) else "F1 (%)")
        ax.set_title(f"{plot_text(benchmark_title(benchmark))}: F1 by language")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        return figure

    return draw


def _heatmap(table: Table):
    def draw() -> Figure:
        languages = list(dict.fromkeys(lang for _, lang in table.columns))
        grid = [[_language_mean(row.f1, lang) for lang in languages] for row in table.rows]
        figure = _figure(1.6 + 0.75 * len(languages), 1.2 + 0.45 * len(table.rows))
        ax = figure.add_subplot()
        ax.set_facecolor("#e6e6e6")  # a missing split shows grey
        image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
        for y, values in enumerate(grid):
            for x, value in enumerate(values):
                if value == value:  # NaN: the run has no split in this language
                    ax.text(x, y, f"{value:.1f}", ha="center", va="center", color="white" if value < 60 else "black")
        ax.set_xticks(range(len(languages)), [plot_text(lang) for lang in languages])
        ax.set_yticks(range(len(table.rows)), [plot_text(row.guard) for row in table.rows])
        ax.set_title("F1 (%) by guard and language, mean over sets")
        figure.colorbar(image, ax=ax, label="F1 (%)")
        return figure

    return draw


def _consistency_vs_f1(table: Table):
    def draw() -> Figure:
        figure = _figure(5.2, 3.8)
        ax = figure.add_subplot()
        for i, row in enumerate(table.rows):
            if row.all_agree is None:
                continue
            ax.scatter([100 * row.overall], [100 * row.all_agree], color=_color(i), s=40, zorder=3)
            point = (100 * row.overall, 100 * row.all_agree)
            ax.annotate(plot_text(row.guard), point, xytext=(5, 4), textcoords="offset points")
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 100)
        ax.set_xlabel("average F1 (%)")
        ax.set_ylabel("items judged the same in all languages (%)")
        ax.set_title("Cross-lingual consistency against average F1")
        ax.grid(True, alpha=0.3)
        return figure

    return draw


def _f1_gap(table: Table):
    def draw() -> Figure:
        rows = [row for row in table.rows if row.f1_gap is not None]
        figure = _figure(5.2, 1.2 + 0.4 * max(1, len(rows)))
        ax = figure.add_subplot()
        ys = range(len(rows))
        ax.barh(ys, [100 * row.f1_gap for row in rows], color=[_color(table.rows.index(row)) for row in rows])
        ax.set_yticks(ys, [plot_text(row.guard) for row in rows])
        ax.invert_yaxis()
        ax.set_xlabel("F1 gap, best minus worst language (points, mean over sets)")
        ax.set_title("Cross-lingual F1 gap (lower is more consistent)")
        return figure

    return draw


def _language_mean(f1: dict[tuple[str, str], float], lang: str) -> float:
    values = [100 * value for (_, language), value in f1.items() if language == lang]
    return fmean(values) if values else float("nan")


def _color(i: int) -> str:
    return COLORS[i % len(COLORS)]
