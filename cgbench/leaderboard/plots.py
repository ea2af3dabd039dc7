"""The leaderboard's plots, each written as PNG and SVG with fixed metadata so the bytes never change."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cgbench.benchmarks import category_label
from cgbench.leaderboard.escaping import file_slug, plot_text
from cgbench.leaderboard.formats import direction_mark, lang_order
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
REFERENCE_COLORS = ["#3a3a3a", "#8a8a8a", "#c4c4c4"]  # references: greys, hatched, never a guard's colour
REFERENCE_HATCH = "///"
INCH_PER_CHAR = 0.075  # width of one label character at the plots' font size
UP_COLOR, DOWN_COLOR = "#1a7f37", "#cf222e"

CAPTIONS = {
    "headline": "Macro-F1 over the sets with both classes, with its 95% interval: the ranking. Guards between two "
    "dashed lines share a tier (not significantly different); grey hatched bars are references computed from the "
    "labels. A guard at the level of a reference has not shown it does better than a prior.",
    "consistency_vs_f1": "Consistency against quality, one numbered point per guard: items every language gets "
    "right (all-correct, balanced over the two classes: 50 for a constant guard) against macro-F1. Up and to the "
    "right is better.",
    "f1_gap": "Best minus worst language F1, averaged over the sets: shorter bars are more even across languages. "
    "Read it with the headline: always-safe has no gap because it finds nothing.",
    "heatmap_guard_language": "F1 of every guard, set and language. ▲ / ▼: significantly above / below the same "
    "guard's English F1 (Holm over all of its gaps).",
    "f1_by_language": "F1 by language with 95% intervals (recall on an all-unsafe set); ▲ / ▼ mark a significant "
    "gap to English; hollow markers are published numbers.",
    "category_recall": "Recall by harm category and language for one guard; small categories have wide intervals "
    "(see the Wilson intervals in the table).",
}


def plot_caption(name: str) -> str:
    """What to read from a plot, by its file name."""
    return next((text for prefix, text in CAPTIONS.items() if name.startswith(prefix)), name)


def figures(table: Table, reported: Reported | None = None) -> dict[str, Callable[[], Figure]]:
    """Every plot of ``table``, by file name, as a function that draws it: summary plots first."""
    reported = reported or Reported(about="", guards=[])
    drawn: dict[str, Callable[[], Figure]] = {}
    if any(row.headline is not None for row in table.rows):
        drawn["headline"] = _headline(table)
    drawn["consistency_vs_f1"] = _consistency_vs_f1(table)
    drawn["f1_gap"] = _f1_gap(table)
    drawn["heatmap_guard_language"] = _heatmap(table)
    drawn.update({f"f1_by_language_{file_slug(b)}": _bars_by_language(table, b, reported) for b in table.benchmarks})
    for row in table.guards:
        if any(row.categories.values()):
            drawn[f"category_recall_{file_slug(row.guard)}"] = _category_heatmap(row)
    return drawn


def write_plots(table: Table, out_dir: Path, reported: Reported | None = None) -> list[str]:
    """Write every plot of ``table`` under ``out_dir`` as ``<name>.png`` and ``<name>.svg``; return the names.

    The per-set bar charts draw the published numbers of ``reported`` as hollow markers."""
    import matplotlib

    if not table.rows:
        return []
    drawn = figures(table, reported)
    out_dir.mkdir(parents=True, exist_ok=True)
    with matplotlib.rc_context(RC):
        for name, draw in drawn.items():
            figure = draw()
            figure.savefig(out_dir / f"{name}.png", format="png", metadata=PNG_METADATA)
            _save_svg(figure, out_dir / f"{name}.svg")
    return list(drawn)


def row_colors(table: Table) -> dict[str, str]:
    """One colour per row, none repeated: guards from a palette as long as the board, references in greys."""
    guards = [row.guard for row in table.guards]
    colors = dict(zip(guards, guard_palette(len(guards)), strict=True))
    references = [row.guard for row in table.rows if row.reference]
    colors.update(zip(references, REFERENCE_COLORS, strict=False))
    return colors


def guard_palette(n: int) -> list[str]:
    """n distinct colours, none grey (greys are the references'): tab10 up to 9, tab20 up to 18, then evenly
    spaced hues alternating between two brightnesses."""
    from matplotlib import colormaps
    from matplotlib.colors import hsv_to_rgb, to_hex

    if n <= 9:
        return [to_hex(c) for i, c in enumerate(colormaps["tab10"].colors) if i != 7][:n]
    if n <= 18:
        return [to_hex(c) for i, c in enumerate(colormaps["tab20"].colors) if i not in (14, 15)][:n]
    return [to_hex(hsv_to_rgb((i / n, 0.75, 0.85 if i % 2 else 0.6))) for i in range(n)]


def text_outside(figure: Figure) -> list[str]:
    """Where the drawn figure overflows its canvas: the sides on which its tight bounding box (every title, label,
    tick label, legend and annotation as drawn) leaves the figure, which would be clipped in the saved file."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    tight = figure.get_tightbbox(canvas.get_renderer())
    width, height = figure.get_size_inches()
    slack = 0.01  # inches
    sides = {"left": -tight.x0, "bottom": -tight.y0, "right": tight.x1 - width, "top": tight.y1 - height}
    return [f"{side} by {over:.2f} in" for side, over in sides.items() if over > slack]


def _longest(labels: list[str]) -> int:
    return max((len(label) for label in labels), default=0)


def _save_svg(figure: Figure, path: Path) -> None:
    """SVG without trailing spaces (matplotlib leaves them in path data), so whitespace hooks keep it byte-stable."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata=SVG_METADATA)
    text = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
    path.write_text(text, encoding="utf-8", newline="\n")


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _legend_rows(labels: list[str], width: float) -> tuple[int, int]:
    """Columns and rows of a legend under a plot ``width`` inches wide."""
    per_entry = 0.5 + INCH_PER_CHAR * _longest(labels)
    columns = max(1, min(len(labels), int(width // per_entry)))
    return columns, -(-len(labels) // columns)


def _bars_by_language(table: Table, benchmark: str, reported: Reported):
    """Measured F1 bars with their 95% intervals, ▲/▼ over a bar whose gap to English is significant, and the
    published numbers as hollow markers: on the bar of the same guard, or in a slot of their own."""

    one_class = recall_based(benchmark)  # an all-unsafe set: bars show recall, as the tables do

    def shown(f1: float) -> float:
        return recall_from_f1(f1) if one_class else f1

    def draw() -> Figure:
        languages = table.languages(benchmark)
        published = [] if one_class else [g for g in reported.guards if any(b == benchmark for b, _ in g.f1)]
        alone = [g for g in published if not any(g.matches(row.guard, row.model) for row in table.rows)]
        slots = len(table.rows) + len(alone)
        colors = row_colors(table)
        labels = [plot_text(row.guard) for row in table.rows] + [
            plot_text(f"{g.guard}, reported [{g.source.key}]") for g in alone
        ]
        width = max(6.8, 1.2 + len(languages) * (0.14 * slots + 0.25))
        columns, rows = _legend_rows(labels, width)
        figure = _figure(width, 3.6 + 0.24 * rows)
        ax = figure.add_subplot()
        bar_width = 0.8 / slots

        def offsets(slot: int) -> list[float]:
            return [x + (slot - (slots - 1) / 2) * bar_width for x in range(len(languages))]

        top = 0.0
        for i, row in enumerate(table.rows):
            xs = offsets(i)
            ys = [100 * shown(row.f1.get((benchmark, lang), float("nan"))) for lang in languages]
            ax.bar(
                xs,
                ys,
                width=bar_width,
                label=plot_text(row.guard),
                color=colors[row.guard],
                gid=f"bars-{i}",
                hatch=REFERENCE_HATCH if row.reference else None,
                edgecolor="white" if row.reference else None,
            )
            low, high = _error_bars(row, benchmark, languages, ys, shown)
            ax.errorbar(xs, ys, yerr=[low, high], fmt="none", ecolor="#222222", elinewidth=1, capsize=2, gid=f"ci-{i}")
            for x, y, up, lang in zip(xs, ys, high, languages, strict=True):
                if y == y:
                    top = max(top, y + up)
                direction = row.direction((benchmark, lang))
                if direction:
                    ax.text(
                        x,
                        y + up + 0.5,
                        direction_mark(direction),
                        ha="center",
                        va="bottom",
                        fontsize=7,
                        color=UP_COLOR if direction > 0 else DOWN_COLOR,
                        gid=f"significant-{i}-{lang}",
                    )
            for guard in published:
                if guard.matches(row.guard, row.model):
                    _markers(ax, guard, xs, languages, benchmark, published.index(guard))
        for j, guard in enumerate(alone):
            _markers(ax, guard, offsets(len(table.rows) + j), languages, benchmark, published.index(guard))
        top = max([top] + [v for g in published for (b, _), v in g.f1.items() if b == benchmark])
        ax.set_xticks(range(len(languages)), [plot_text(lang) for lang in languages])
        ax.set_xlim(-0.6, len(languages) - 0.4)
        ax.set_ylim(0, min(110, top + 6))
        what = "recall" if one_class else "F1"
        ax.set_ylabel(f"{what} (%)")
        ax.set_title(f"{plot_text(benchmark_title(benchmark))}: {what} by language (95% CI; ▲▼ differs from en)")
        figure.legend(
            *ax.get_legend_handles_labels(), loc="outside lower center", ncol=columns, frameon=False, fontsize=8
        )
        return figure

    return draw


def _error_bars(
    row: Row, benchmark: str, languages: list[str], ys: list[float], shown: Callable[[float], float]
) -> tuple[list[float], list[float]]:
    """Distances from each bar's top to the ends of its 95% interval (0 where there is none), the interval
    mapped as the bar is (``shown`` is monotonic)."""
    low, high = [], []
    for lang, y in zip(languages, ys, strict=True):
        ci = row.f1_ci.get((benchmark, lang))
        low.append(max(0.0, y - 100 * shown(ci[0])) if ci and y == y else 0.0)
        high.append(max(0.0, 100 * shown(ci[1]) - y) if ci and y == y else 0.0)
    return low, high


def recall_from_f1(f1: float) -> float:
    """Recall R of an all-unsafe split from its F1 = 2R/(1+R): R = F1/(2 - F1).

    >>> recall_from_f1(2 * 0.88 / 1.88)
    0.88
    """
    return round(f1 / (2 - f1), 12) if f1 == f1 else f1


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
    """F1 of every guard on every set and language, ▲/▼ where the gap to English is significant."""

    def draw() -> Figure:
        languages = list(dict.fromkeys(lang for _, lang in sorted(table.columns, key=lambda s: lang_order(s[1]))))
        keys = [(row, b) for row in table.rows for b in table.benchmarks if any(s == b for s, _ in row.f1)]
        grid = [[100 * row.f1.get((b, lang), float("nan")) for lang in languages] for row, b in keys]
        labels = [plot_text(f"{row.guard} · {short_name(b)}") for row, b in keys]
        width = 2.6 + 0.8 * len(languages) + INCH_PER_CHAR * _longest(labels)
        figure = _figure(width, 1.5 + 0.26 * len(keys))
        ax = figure.add_subplot()
        ax.set_facecolor("#e6e6e6")  # a missing split shows grey
        image = ax.imshow(grid, cmap="viridis", vmin=0, vmax=100, aspect="auto")
        for y, ((row, benchmark), values) in enumerate(zip(keys, grid, strict=True)):
            for x, value in enumerate(values):
                if value == value:  # NaN: the run has no split in this language
                    mark = direction_mark(row.direction((benchmark, languages[x])))
                    color = "white" if value < 60 else "black"
                    ax.text(
                        x,
                        y,
                        f"{value:.1f}{mark}",
                        ha="center",
                        va="center",
                        color=color,
                        fontsize=8,
                        gid=f"cell-{y}-{x}",
                    )
        ax.set_xticks(range(len(languages)), [plot_text(lang) for lang in languages])
        ax.set_yticks(range(len(keys)), labels, fontsize=8)
        for tick, (row, _) in zip(ax.get_yticklabels(), keys, strict=True):
            if row.reference:
                tick.set_fontstyle("italic")
        ax.set_title("F1 (%) by guard, set and language\n▲ / ▼ above / below the guard's English F1 (5%, Holm)")
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


def _headline(table: Table):
    """Macro-F1 of every row with its interval, in ranking order, tiers between dashed lines."""

    def draw() -> Figure:
        rows = [row for row in table.rows if row.headline is not None]
        labels = [plot_text(f"{row.label}. {row.guard}" if not row.reference else row.guard) for row in rows]
        colors = row_colors(table)
        figure = _figure(3.8 + INCH_PER_CHAR * _longest(labels), 1.3 + 0.28 * len(rows))
        ax = figure.add_subplot()
        ys = list(range(len(rows)))
        values = [100 * row.headline for row in rows]
        ax.barh(
            ys,
            values,
            color=[colors[row.guard] for row in rows],
            gid="headline-bars",
            hatch=[REFERENCE_HATCH if row.reference else None for row in rows],
            edgecolor=["white" if row.reference else colors[row.guard] for row in rows],
        )
        low = [v - 100 * row.headline_ci[0] if row.headline_ci else 0 for v, row in zip(values, rows, strict=True)]
        high = [100 * row.headline_ci[1] - v if row.headline_ci else 0 for v, row in zip(values, rows, strict=True)]
        ax.errorbar(values, ys, xerr=[low, high], fmt="none", ecolor="#222222", elinewidth=1, capsize=2)
        for y in range(1, len(rows)):
            if rows[y].tier != rows[y - 1].tier:
                ax.axhline(y - 0.5, color="#555555", linestyle="--", linewidth=0.8)
        ax.set_yticks(ys, labels, fontsize=8)
        for tick, row in zip(ax.get_yticklabels(), rows, strict=True):
            if row.reference:
                tick.set_fontstyle("italic")
        ax.invert_yaxis()
        ax.set_xlim(0, min(100, max(v + h for v, h in zip(values, high, strict=True)) + 5))
        ax.set_xlabel("macro-F1 (%), sets with both classes")
        ax.set_title("Headline with tiers (dashed lines)")
        return figure

    return draw


def _consistency_vs_f1(table: Table):
    """All-correct against macro-F1, each row a numbered point, the names in a legend (labels never overlap)."""

    def draw() -> Figure:
        rows = [row for row in table.rows if row.all_correct is not None and row.headline is not None]
        colors = row_colors(table)
        labels = [plot_text(f"{k + 1}  {row.guard}") for k, row in enumerate(rows)]
        columns, legend_rows = _legend_rows(labels, 7.0)
        figure = _figure(7.0, 4.2 + 0.24 * legend_rows)
        ax = figure.add_subplot()
        for k, row in enumerate(rows):
            point = (100 * row.headline, 100 * row.all_correct)
            marker = "s" if row.reference else "o"
            ax.scatter(
                *point, color=colors[row.guard], s=90, zorder=3, marker=marker, label=labels[k], gid=f"point-{k}"
            )
            ax.annotate(str(k + 1), point, ha="center", va="center", fontsize=6, color="white", zorder=4)
        xs = [100 * row.headline for row in rows] or [0.0]
        ys = [100 * row.all_correct for row in rows] or [0.0]
        ax.set_xlim(*_fitted(xs))
        ax.set_ylim(*_fitted(ys))
        ax.set_xlabel("macro-F1 (%), sets with both classes")
        ax.set_ylabel("all languages right (%, balanced)")
        ax.set_title("Consistency against quality (squares: references)")
        ax.grid(True, alpha=0.3)
        if labels:
            figure.legend(
                *ax.get_legend_handles_labels(), loc="outside lower center", ncol=columns, frameon=False, fontsize=8
            )
        return figure

    return draw


def _fitted(values: list[float]) -> tuple[float, float]:
    """Axis limits around the data with a margin, within [0, 100]."""
    low, high = min(values), max(values)
    margin = max(2.0, 0.08 * (high - low))
    return max(0.0, low - margin), min(100.0, high + margin)


def _f1_gap(table: Table):
    def draw() -> Figure:
        rows = [row for row in table.rows if row.f1_gap is not None]
        labels = [plot_text(row.guard) for row in rows]
        colors = row_colors(table)
        figure = _figure(3.6 + INCH_PER_CHAR * _longest(labels), 1.4 + 0.28 * max(1, len(rows)))
        ax = figure.add_subplot()
        ys = range(len(rows))
        ax.barh(
            ys,
            [100 * row.f1_gap for row in rows],
            color=[colors[row.guard] for row in rows],
            gid="gap-bars",
            hatch=[REFERENCE_HATCH if row.reference else None for row in rows],
        )
        ax.set_yticks(ys, labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel("F1 gap: best minus worst language\n(points, mean over sets)")
        ax.set_title("Cross-lingual F1 gap (shorter is more even)")
        return figure

    return draw
