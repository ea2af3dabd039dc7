"""The text outputs: README.md, leaderboard.csv, leaderboard.tex and reported.csv.

Figures are percentages with a fixed number of decimals, so the same inputs always give the same bytes.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from cgbench.leaderboard.details import Cells, category_cells, comparison_cells, gap_cells
from cgbench.leaderboard.escaping import csv_cell, md, md_code, tex
from cgbench.leaderboard.formats import REFERENCE, direction_mark, interval_text, p_bound_text, p_text, pct
from cgbench.leaderboard.reported import Reported
from cgbench.leaderboard.table import (
    SHORT_NAMES,
    Column,
    Row,
    Table,
    benchmark_title,
    column_groups,
    headline_columns,
    metric_columns,
    params_label,
    short_name,
)


def f1_cell(column: Column, row: Row, missing: str = "–") -> str:
    """A table cell: the value, its 95% interval (``±`` when symmetric, else ``[lo, hi]``), and ▲ or ▼ when its
    gap to English is significant (above or below English). The difference to the leader in points."""
    value = column.value(row)
    if value is None:
        return missing
    if column.key in ("vs_leader",):
        return f"{100 * value:+.1f}"
    if column.key == "kappa":
        return f"{value:.3f}"
    mark = direction_mark(_direction(column, row)) if column.significant(row) else ""
    return pct(value) + interval_text(value, column.ci(row)) + mark


def _direction(column: Column, row: Row) -> int:
    gap = column.test(row) or {}
    return int(gap.get("direction", -1 if gap.get("f1_diff", 0) < 0 else 1))


def tier_text(row: Row) -> str:
    return "–" if row.tier is None else str(row.tier)


def guard_text(row: Row) -> str:
    return row.guard


def has_test(column: Column) -> bool:
    """A per-language F1 column other than English: it carries the test against English."""
    return column.gap is not None and column.sublabel != REFERENCE


def gap_summary(column: Column, row: Row) -> str:
    """The interval and the test against English of one cell, in words (hover text, captions)."""
    parts = []
    ci = column.ci(row)
    if ci:
        parts.append(f"95% CI {pct(ci[0])}–{pct(ci[1])}")
    gap = column.test(row)
    if gap:
        diff_ci = gap.get("f1_diff_ci95") or []
        interval = f" [{100 * diff_ci[0]:+.1f}, {100 * diff_ci[1]:+.1f}]" if diff_ci else ""
        decision = {"mcnemar": ", decided by McNemar", "bootstrap": ", decided by the bootstrap"}
        parts.append(
            f"vs en {100 * gap['f1_diff']:+.1f} points{interval}, bootstrap p (Holm) "
            f"{p_bound_text(gap.get('f1_diff_p_holm'), bool(gap.get('f1_diff_p_bound')))}, "
            f"McNemar p (Holm) {p_text(gap.get('mcnemar_p_holm'))}{decision.get(gap.get('decision', ''), '')}"
            + ("; significant at 5%" if gap.get("significant") else "")
        )
    return "; ".join(parts)


def column_notes(table: Table) -> list[str]:
    """What the abbreviations and the columns mean (shared by the README and the page)."""
    sets = ", ".join(f"{short_name(b)} = {benchmark_title(b)}" for b in table.benchmarks if b in SHORT_NAMES)
    notes = [
        "Ranked by macro-F1: the mean of the unsafe-class and the safe-class F1, averaged over each set's languages, "
        "then over the sets that have both classes. All figures in percent, unsafe is the positive class.",
        "tier: guards whose macro-F1 is not significantly below the first guard of their tier (paired bootstrap "
        "on the items both runs have, 5%); vs #1: macro-F1 minus the leader's, in points.",
        "ref: rows are trivial guards computed from the labels, never run: always-unsafe flags everything, "
        "always-safe nothing, coin flags at random at each set's share of unsafe items. A guard in their tier "
        "is not shown to do better than a prior.",
        "–: not in the run; every average is over the splits the run has.",
    ]
    if sets:
        notes.append(f"{sets}.")
    if table.one_class:
        notes.append(
            "† a one-class set (every item unsafe): out of the headline, reported as recall and FNR (1 − recall); "
            "its F1 = 2R/(1+R) rises with flagging everything."
        )
    notes += [
        "±: half the width of a symmetric 95% bootstrap interval; [lo, hi]: the bounds of an asymmetric one.",
        "▲ / ▼: this language's F1 is significantly above / below the same guard's English F1 on the items both "
        "have (paired bootstrap, 10,000 draws; McNemar's exact test on one-class sets), Holm-adjusted over all of "
        "the guard's gaps at 5%.",
        "Consistency, averaged over the sets: all-agree, the share of items judged the same in every "
        "language (a constant guard scores 100); kappa, Fleiss' kappa, agreement beyond chance (– for a constant "
        "guard); all-correct, the share of items every language gets right, balanced over the two classes "
        "(the mean of its rate on unsafe and on safe items; 50 for a constant guard) and averaged over the sets "
        "with both classes; agree | en right, all-agree on the items English gets right; F1 gap, best minus worst "
        "language F1.",
        "parse fail: share of all outputs that could not be parsed (counted as errors, never as verdicts).",
    ]
    older = [row.guard for row in table.guards if not row.gaps]
    if older:
        notes.append(f"No ▲/▼ marks for {', '.join(older)}: its metrics.json carries no tests against English.")
    notes += table.notes
    return notes


def split_columns(table: Table) -> list[Column]:
    """The per-split F1 columns: the wide table below the summary."""
    summary = {c.key for c in headline_columns(table)}
    return [c for c in metric_columns(table) if c.key not in summary]


def readme(table: Table, reported: Reported, plots: list[str]) -> str:
    lines = [
        "# cgbench leaderboard",
        "",
        "Generated by `cgbench leaderboard` from the run folders under `results/`; do not edit by hand.",
        "The same page with a sortable table: [index.html](index.html). Data: [leaderboard.csv](leaderboard.csv),",
        "[leaderboard.tex](leaderboard.tex), [reported.csv](reported.csv).",
        "",
        "## Measured",
        "",
    ]
    if table.rows:
        lines += _markdown_ranked(table, headline_columns(table)) + [""]
        lines += [f"- {md(note)}" for note in column_notes(table)] + [""]
        lines += ["### F1 by set and language", "", *_markdown_ranked(table, split_columns(table)), ""]
        lines += ["### Runs", "", *_markdown_runs(table), ""]
        lines += _markdown_details(table)
    else:
        lines += ["No valid run under `results/` yet: add a `results/<guard>/<run-id>/` folder and run again.", ""]
    if plots:
        lines += ["### Plots", ""] + [f"![{md(name)}](plots/{quote(name)}.png)" for name in plots] + [""]
    lines += ["## Measured vs reported", "", COMPARISON_ABOUT, ""]
    comparison = comparison_cells(table, reported)
    lines += (_markdown_cells(comparison) if comparison.rows else [NO_COMPARISON]) + [""]
    lines += ["## Reported, not reproduced", "", f"> {md(reported.about)}", ""]
    lines += _markdown_reported(reported) + [""]
    lines += [f"- [{md(s.key)}] {md(s.citation)} <{_autolink(s.url)}>" for s in reported.sources]
    lines += [f"- {md(note)}" for note in reported.notes]
    return "\n".join(lines) + "\n"


GAP_CSV = (
    "vs_en_diff",
    "vs_en_diff_ci_low",
    "vs_en_diff_ci_high",
    "vs_en_p_holm",
    "vs_en_mcnemar_p_holm",
    "vs_en_significant",
)


GAPS_ABOUT = (
    "Each language against the same guard's English on the items both have (n): F1 difference in points with its "
    "paired bootstrap 95% interval (10,000 draws; a p-value written < is a bound: no draw crossed 0) and McNemar's "
    "exact test on right/wrong verdicts. The decision is the bootstrap on sets with both classes and McNemar's test "
    "on one-class sets; all of a guard's gaps are one Holm family. ▲ / ▼: significantly above / below English at 5%."
)
CATEGORIES_ABOUT = (
    "Recall (%) with its Wilson 95% interval in brackets, of the unsafe items of each harm category "
    "(OpenAI Moderation's flags, an item can carry several; "
    "SimpleSafetyTests' harm areas), by language; in parentheses the loophole rate: of the category's items the "
    "guard flags in English, the share it passes as safe in that language."
)
COMPARISON_ABOUT = (
    "Splits where a measured guard has a published F1 (reported.json): the measured F1 and its 95% interval "
    "beside the published number. Settings differ between papers and cgbench (prompts, parsing, translation)."
)
NO_COMPARISON = "No guard on this board has a published number in reported.json yet."


def _markdown_details(table: Table) -> list[str]:
    lines = []
    gaps = gap_cells(table)
    if gaps.rows:
        lines += ["### Language gaps", "", GAPS_ABOUT, "", *_markdown_cells(gaps), ""]
    with_categories = [row.guard for row in table.rows if any(row.categories.values())]
    if with_categories:
        lines += ["### Recall by harm category", "", CATEGORIES_ABOUT, ""]
        for guard in with_categories:
            lines += [f"#### {md(guard)}", "", *_markdown_cells(category_cells(table, guard)), ""]
    return lines


def _markdown_cells(cells: Cells) -> list[str]:
    align = ["---" if i < cells.text_columns else "--:" for i in range(len(cells.header))]
    return [_md_row(cells.header), _md_row(align)] + [_md_row(row) for row in cells.rows]


def leaderboard_csv(table: Table) -> str:
    """Percent with two decimals; beside each F1 its interval bounds, beside each non-English F1 its test
    against English (difference and interval in points, Holm-adjusted p-values, significance)."""
    columns = metric_columns(table)
    header = ["rank", "tier", "reference", "guard", "model", "params_b", "run_id"]
    for c in columns:
        header.append(c.key)
        if c.interval is not None:
            header += [f"{c.key}_ci_low", f"{c.key}_ci_high"]
        if has_test(c):
            header += [f"{c.key}_{name}" for name in GAP_CSV]
    rows = [header]
    for row in table.rows:
        params = "" if row.params_b is None else f"{row.params_b:g}"
        values = []
        for c in columns:
            value = c.value(row)
            values.append(("" if value is None else f"{value:.4f}") if c.key == "kappa" else pct(value, "", 2))
            if c.interval is not None:
                ci = c.ci(row)
                values += [pct(ci[0], "", 2), pct(ci[1], "", 2)] if ci else ["", ""]
            if has_test(c):
                values += _gap_csv(c.test(row))
        rows.append(
            [
                row.label,
                tier_text(row).replace("–", ""),
                "1" if row.reference else "0",
                row.guard,
                row.model,
                params,
                row.run_id,
                *values,
            ]
        )
    return _csv(rows)


def _gap_csv(gap: dict | None) -> list[str]:
    if not gap:
        return [""] * len(GAP_CSV)
    ci = gap.get("f1_diff_ci95") or []
    return [
        pct(gap["f1_diff"], "", 2),
        pct(ci[0], "", 2) if ci else "",
        pct(ci[1], "", 2) if ci else "",
        _p_csv(gap.get("f1_diff_p_holm")),
        _p_csv(gap.get("mcnemar_p_holm")),
        "1" if gap.get("significant") else "0",
    ]


def _p_csv(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def reported_csv(reported: Reported) -> str:
    columns = reported.columns
    rows = [["guard", "model", "params_b", *(f"f1_{b}_{lang}" for b, lang in columns), "source", "url"]]
    for guard in reported.guards:
        params = "" if guard.params_b is None else f"{guard.params_b:g}"
        values = [reported_value(guard.f1.get(split), "") for split in columns]
        rows.append([guard.guard, guard.model, params, *values, guard.source.key, guard.source.url])
    return _csv(rows)


def leaderboard_tex(table: Table) -> str:
    """A booktabs table (needs ``\\usepackage{booktabs,graphicx}``); the best value of each column in bold."""
    if not table.rows:
        return "% Generated by cgbench leaderboard: no valid run under results/ yet.\n"
    columns = metric_columns(table)
    groups = column_groups(columns)
    lines = [
        "% Generated by cgbench leaderboard; needs \\usepackage{booktabs,graphicx,amssymb}.",
        "\\begin{table*}[t]",
        "\\centering",
        "\\resizebox{\\textwidth}{!}{%",
        "\\begin{tabular}{rrll" + "r" * len(columns) + "}",
        "\\toprule",
        " & & & & " + " & ".join(_tex_group(group, n) for group, n in groups) + " \\\\",
        " ".join(f"\\cmidrule(lr){{{a}-{b}}}" for a, b in _group_spans(groups, first=5)),
        "\\# & Tier & Guard & Size & " + " & ".join(tex(c.sublabel) for c in columns) + " \\\\",
        "\\midrule",
    ]
    best = {c.key: _best(table, c) for c in columns}
    for row in table.rows:
        cells = []
        for c in columns:
            value = c.value(row)
            cell = tex(f1_cell(c, row, missing="--").split(" ")[0].rstrip("▲▼"))
            cell = f"\\textbf{{{cell}}}" if value is not None and value == best[c.key] and not row.reference else cell
            if value is not None and c.ci(row):
                cell += "{\\scriptsize " + _tex_interval(interval_text(value, c.ci(row)).strip()) + "}"
            mark = {1: "$^{\\blacktriangle}$", -1: "$^{\\blacktriangledown}$"}.get(_direction(c, row), "")
            cells.append(cell + (mark if c.significant(row) else ""))
        size = params_label(row.params_b, missing="--")
        guard = f"\\textit{{{tex(row.guard)}}}" if row.reference else tex(row.guard)
        lines.append(
            f"{row.label} & {tier_text(row).replace('–', '--')} & {guard} & {size} & " + " & ".join(cells) + " \\\\"
        )
    lines += [
        "\\bottomrule",
        "\\end{tabular}}",
        "\\caption{" + tex(" ".join(column_notes(table))) + "}",
        "\\label{tab:cgbench-leaderboard}",
        "\\end{table*}",
    ]
    return "\n".join(lines) + "\n"


def _markdown_ranked(table: Table, columns: list[Column]) -> list[str]:
    lines = [
        _md_row(["#", "tier", "guard", "size", *(c.label for c in columns)]),
        _md_row(["--:", "--:", "---", "--:", *("--:" for _ in columns)]),
    ]
    for row in table.rows:
        values = [f1_cell(c, row) for c in columns]
        guard = f"*{md(row.guard)}*" if row.reference else md(row.guard)
        cells = [md(row.label), md(tier_text(row)), guard, md(params_label(row.params_b)), *(md(v) for v in values)]
        lines.append(_md_cells(cells))
    return lines


def _markdown_runs(table: Table) -> list[str]:
    lines = [_md_row(["guard", "model", "run"]), _md_row(["---", "---", "---"])]
    lines += [_md_cells([md(row.guard), md(row.model), md_code(row.run_id)]) for row in table.rows]
    return lines


def _markdown_reported(reported: Reported) -> list[str]:
    columns = reported.columns
    header = ["guard", "size", *(f"{short_name(b)} {lang}" for b, lang in columns), "source"]
    lines = [_md_row(header), _md_row(["---", "--:", *("--:" for _ in columns), "---"])]
    for guard in reported.guards:
        values = [reported_value(guard.f1.get(split), "–") for split in columns]
        cells = [md(guard.guard), params_label(guard.params_b), *values, f"[{md(guard.source.key)}]"]
        lines.append(_md_cells(cells))
    return lines


def reported_value(value: float | None, missing: str) -> str:
    """A published F1 (already in percent) with two decimals."""
    return missing if value is None else f"{value:.2f}"


def _md_row(cells: list[str]) -> str:
    """A Markdown table row of plain strings (each escaped)."""
    return _md_cells([md(cell) for cell in cells])


def _md_cells(cells: list[str]) -> str:
    """A Markdown table row of cells already escaped (or built as Markdown on purpose)."""
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _autolink(url: str) -> str:
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~")


def _csv(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([csv_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def _tex_interval(text: str) -> str:
    return "${\\pm}$" + text.removeprefix("±") if text.startswith("±") else tex(text)


def _tex_group(group: str, n: int) -> str:
    return f"\\multicolumn{{{n}}}{{c}}{{{tex(group)}}}" if group else " & ".join([""] * n)


def _group_spans(groups: list[tuple[str, int]], first: int) -> list[tuple[int, int]]:
    spans, start = [], first
    for group, n in groups:
        if group:
            spans.append((start, start + n - 1))
        start += n
    return spans


def _best(table: Table, column: Column) -> float | None:
    values = [v for v in (column.value(row) for row in table.guards) if v is not None]
    if len(values) < 2:
        return None
    return max(values) if column.higher_is_better else min(values)
