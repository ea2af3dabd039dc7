"""The tables below the ranking, as plain cells that the README and the page both render: each language's
gap to English with its tests, recall by harm category, and measured against reported numbers."""

from __future__ import annotations

from dataclasses import dataclass

from cgbench.benchmarks import category_label
from cgbench.leaderboard.formats import REFERENCE, direction_mark, lang_order, p_bound_text, p_text, pct, points
from cgbench.leaderboard.reported import Reported
from cgbench.leaderboard.table import Table, short_name, split_order


@dataclass(frozen=True)
class Cells:
    """A small table: a header and rows of text cells; ``marked`` rows are significant gaps (``directions``:
    +1 above English, -1 below); ``groups`` names the guard of each row, so a page can fold them by guard."""

    header: list[str]
    rows: list[list[str]]
    marked: list[bool]
    text_columns: int = 2  # the leading columns that hold text; the rest are numbers
    directions: list[int] | None = None
    groups: list[str] | None = None


def gap_cells(table: Table) -> Cells:
    """One row per guard, set and non-English language with a test against English."""
    header = [
        "guard",
        "set",
        "lang",
        "n",
        "F1",
        f"F1 − {REFERENCE}",
        "95% CI",
        "bootstrap p (Holm)",
        "McNemar p (Holm)",
        "decided by",
        "",
    ]
    rows, marked, directions, groups = [], [], [], []
    for row in table.guards:
        for benchmark in table.benchmarks:
            for lang in table.languages(benchmark):
                gap = row.gaps.get((benchmark, lang))
                if not gap:
                    continue
                ci = gap.get("f1_diff_ci95") or []
                direction = row.direction((benchmark, lang))
                rows.append(
                    [
                        row.guard,
                        short_name(benchmark),
                        lang,
                        str(gap.get("n", "")),
                        pct(row.f1.get((benchmark, lang))),
                        points(gap["f1_diff"]),
                        f"[{points(ci[0])}, {points(ci[1])}]" if ci else "–",
                        p_bound_text(gap.get("f1_diff_p_holm"), bool(gap.get("f1_diff_p_bound"))),
                        p_text(gap.get("mcnemar_p_holm")),
                        {"mcnemar": "McNemar", "bootstrap": "bootstrap"}.get(gap.get("decision", ""), "–"),
                        direction_mark(direction),
                    ]
                )
                marked.append(bool(gap.get("significant")))
                directions.append(direction)
                groups.append(row.guard)
    return Cells(header, rows, marked, text_columns=3, directions=directions, groups=groups)


def category_cells(table: Table, guard: str) -> Cells:
    """Recall (%) by harm category and language of one guard, the loophole rate in parentheses."""
    row = next(r for r in table.rows if r.guard == guard)
    keys = [(b, category) for b in row.categories for category in row.categories[b]]
    langs = sorted({lang for b, c in keys for lang in row.categories[b][c]}, key=lang_order)
    rows = []
    for benchmark, category in keys:
        by_lang = row.categories[benchmark][category]
        cells = []
        for lang in langs:
            cell = by_lang.get(lang)
            loophole = "" if not cell or cell.get("loophole_rate") is None else f" ({pct(cell['loophole_rate'])})"
            ci = cell.get("recall_ci95") if cell else None
            interval = f" [{pct(ci[0], digits=0)}, {pct(ci[1], digits=0)}]" if ci else ""
            cells.append("–" if not cell else pct(cell["recall"]) + interval + loophole)
        n = max(cell["n"] for cell in by_lang.values())
        rows.append([short_name(benchmark), category_label(category), str(n), *cells])
    return Cells(["set", "category", "n", *langs], rows, [False] * len(rows), groups=[guard] * len(rows))


def comparison_cells(table: Table, reported: Reported) -> Cells:
    """Every split with both a measured F1 and a published one for the same guard."""
    header = ["guard", "split", "measured F1", "95% CI", "reported F1", "reported − measured", "in CI", "source"]
    rows = []
    for row in table.rows:
        for guard in reported.matching(row.guard, row.model):
            for split, value in sorted(guard.f1.items(), key=lambda item: split_order(item[0])):
                measured = row.f1.get(split)
                if measured is None:
                    continue
                ci = row.f1_ci.get(split)
                inside = "–" if not ci else ("yes" if 100 * ci[0] <= value <= 100 * ci[1] else "no")
                rows.append(
                    [
                        row.guard,
                        f"{short_name(split[0])} {split[1]}",
                        pct(measured),
                        f"{pct(ci[0])}–{pct(ci[1])}" if ci else "–",
                        f"{value:.2f}",
                        f"{value - 100 * measured:+.1f}",
                        inside,
                        guard.source.key,
                    ]
                )
    return Cells(header, rows, [False] * len(rows))
