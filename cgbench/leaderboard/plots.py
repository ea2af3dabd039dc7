"""The leaderboard's plots, each written as PNG and SVG with fixed metadata so the bytes never change."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from cgbench.benchmarks import category_label
from cgbench.leaderboard.escaping import file_slug, plot_text
from cgbench.leaderboard.formats import lang_order
from cgbench.leaderboard.reported import Reported, ReportedGuard
from cgbench.leaderboard.table import Row, Table, benchmark_title, recall_based, short_name

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# no dates, no software version: the same table gives the same bytes
PNG_METADATA = {"Software": None}
SVG_METADATA = {"Date": None, "Creator": None}
RC = {
    "svg.hashsalt": "cgbench-leaderboard",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
MARKERS = ["o", "D", "s", "^", "v", "P", "X", "h"]
COLORS = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c", "#ccb974", "#64b5cd"]


def write_plots(table: Table, out_dir: Path, reported: Reported | None = None) -> list[str]:
    """Write every plot of ``table`` under ``out_dir`` as ``<name>.png`` and ``<name>.svg``; return the names.

    The per-set bar charts draw the published numbers of ``reported`` as hollow markers."""
    import matplotlib

    if not table.rows:
        return []
    reported = reported or Reported(about="", guards=[])
    figures = {f"f1_by_language_{file_slug(b)}": _bars_by_language(table, b, reported) for b in table.benchmarks}
    figures["heatmap_guard_language"] = _heatmap(table)
    figures["consistency_vs_f1"] = _consistency_vs_f1(table)
    figures["f1_gap"] = _f1_gap(table)
    for row in table.rows:
        if any(row.categories.values()):
            figures[f"category_recall_{file_slug(row.guard)}"] = _category_heatmap(row)
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


def _bars_by_language(table: Table, benchmark: str, reported: Reported):
    """Measured F1 bars with their 95% intervals, * over a bar whose gap to English is significant, and the
    published numbers as hollow markers: on the bar of the same guard, or in a slot of their own."""

    def draw() -> Figure:
        languages = table.languages(benchmark)
        published = [g for g in reported.guards if any(b == benchmark for b, _ in g.f1)]
        alone = [g for g in published if not any(g.matches(row.guard, row.model) for row in table.rows)]
        slots = len(table.rows) + len(alone)
        figure = _figure(6.8, 4.4)  # about the page's figure width: the text shows at its set size
        ax = figure.add_subplot()
        width = 0.8 / slots

        def offsets(slot: int) -> list[float]:
            return [x + (slot - (slots - 1) / 2) * width for x in range(len(languages))]

        for i, row in enumerate(table.rows):
            xs, ys = offsets(i), [100 * row.f1.get((benchmark, lang), float("nan")) for lang in languages]
            ax.bar(xs, ys, width=width, label=plot_text(row.guard), color=_color(i), gid=f"bars-{i}")
            low, high = _error_bars(row, benchmark, languages, ys)
            ax.errorbar(xs, ys, yerr=[low, high], fmt="none", ecolor="#222222", elinewidth=1, capsize=2, gid=f"ci-{i}")
            for x, y, up, lang in zip(xs, ys, high, languages, strict=True):
                if (benchmark, lang) in row.significant:
                    ax.text(x, y + up + 1, "*", ha="center", va="bottom", fontsize=12, gid=f"significant-{i}-{lang}")
            for guard in published:
                if guard.matches(row.guard, row.model):
                    _markers(ax, guard, xs, languages, benchmark, published.index(guard))
        for j, guard in enumerate(alone):
            _markers(ax, guard, offsets(len(table.rows) + j), languages, benchmark, published.index(guard))
        ax.set_xticks(range(len(languages)), [plot_text(lang) for lang in languages])
        ax.set_xlim(-0.6, len(languages) - 0.4)
        ax.set_ylim(0, 108)
        ax.set_yticks(range(0, 101, 20))
        ax.set_ylabel("F1 (%), recall-based" if recall_based(benchmark) else "F1 (%)")
        ax.set_title(f"{plot_text(benchmark_title(benchmark))}: F1 by language (95% CI; * differs from en)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False)
        return figure

    return draw


def _error_bars(row: Row, benchmark: str, languages: list[str], ys: list[float]) -> tuple[list[float], list[float]]:
    """Distances from each bar's top to the ends of its 95% interval (0 where there is none)."""
    low, high = [], []
    for lang, y in zip(languages, ys, strict=True):
        ci = row.f1_ci.get((benchmark, lang))
        low.append(max(0.0, y - 100 * ci[0]) if ci and y == y else 0.0)
        high.append(max(0.0, 100 * ci[1] - y) if ci and y == y else 0.0)
    return low, high


def _markers(ax, guard: ReportedGuard, xs: list[float], languages: list[str], benchmark: str, k: int) -> None:
    ys = [guard.f1.get((benchmark, lang), float("nan")) for lang in languages]
    label = plot_text(f"{guard.guard}, reported [{guard.source.key}]")
    ax.plot(
        xs,
        ys,
        linestyle="none",
        marker=MARKERS[k % len(MARKERS)],
        markersize=8,
        markerfacecolor="none",
        markeredgecolor="#111111",
        markeredgewidth=1.4,
        label=label,
        zorder=4,
        gid=f"reported-{file_slug(guard.guard)}",
    )


def _heatmap(table: Table):
    """F1 of every guard on every set and language, * where the gap to English is significant."""

    def draw() -> Figure:
        languages = list(dict.fromkeys(lang for _, lang in sorted(table.columns, key=lambda s: lang_order(s[1]))))
        keys = [(row, b) for row in table.rows for b in table.benchmarks if any(s == b for s, _ in row.f1)]
        grid = [[100 * row.f1.get((b, lang), float("nan")) for lang in languages] for row, b in keys]
        figure = _figure(2.4 + 0.75 * len(languages), 1.3 + 0.42 * len(keys))
        ax = figure.add_subplot()
        ax.set_facecolor("#e6e6e6")  # a missing split shows grey
        image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
        for y, ((row, benchmark), values) in enumerate(zip(keys, grid, strict=True)):
            for x, value in enumerate(values):
                if value == value:  # NaN: the run has no split in this language
                    mark = "*" if (benchmark, languages[x]) in row.significant else ""
                    color = "white" if value < 60 else "black"
                    ax.text(x, y, f"{value:.1f}{mark}", ha="center", va="center", color=color, gid=f"cell-{y}-{x}")
        ax.set_xticks(range(len(languages)), [plot_text(lang) for lang in languages])
        labels = [plot_text(f"{row.guard} · {short_name(b)}") for row, b in keys]
        ax.set_yticks(range(len(keys)), labels)
        ax.set_title("F1 (%) by guard, set and language\n* differs from the guard's English F1 (5%, Holm)")
        figure.colorbar(image, ax=ax, label="F1 (%)")
        return figure

    return draw


def _category_heatmap(row: Row):
    """Recall of one guard by harm category (rows) and language (columns)."""

    def draw() -> Figure:
        keys = [(b, category) for b in row.categories for category in row.categories[b]]
        languages = sorted({lang for b, c in keys for lang in row.categories[b][c]}, key=lang_order)
        grid = [
            [
                100 * row.categories[b][c][lang]["recall"] if lang in row.categories[b][c] else float("nan")
                for lang in languages
            ]
            for b, c in keys
        ]
        figure = _figure(3.0 + 0.6 * len(languages), 1.3 + 0.4 * len(keys))
        ax = figure.add_subplot()
        ax.set_facecolor("#e6e6e6")
        image = ax.imshow(grid, cmap="magma", vmin=0, vmax=100, aspect="auto")
        for y, values in enumerate(grid):
            for x, value in enumerate(values):
                if value == value:
                    color = "white" if value < 60 else "black"
                    ax.text(x, y, f"{value:.0f}", ha="center", va="center", color=color, gid=f"category-{y}-{x}")
        ax.set_xticks(range(len(languages)), [plot_text(lang) for lang in languages])
        labels = [textwrap.fill(f"{short_name(b)} {category_label(c)}", 24) for b, c in keys]
        ax.set_yticks(range(len(keys)), [plot_text(label) for label in labels])
        ax.set_title(plot_text(f"{row.guard}: recall (%) by harm category"))
        figure.colorbar(image, ax=ax, label="recall (%)")
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


def _color(i: int) -> str:
    return COLORS[i % len(COLORS)]
