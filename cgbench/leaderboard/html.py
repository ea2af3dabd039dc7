"""``index.html``: one self-contained page (inline CSS and JS) with the sortable table, the plots and the
reported numbers. It opens from disk; the plots are referenced relative to the page."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from string import Template

from cgbench.leaderboard.details import Cells, category_cells, comparison_cells, gap_cells
from cgbench.leaderboard.escaping import html_text as escape
from cgbench.leaderboard.escaping import html_url
from cgbench.leaderboard.formats import DOWN, UP, p_bound_text
from cgbench.leaderboard.plots import plot_caption
from cgbench.leaderboard.reported import Reported
from cgbench.leaderboard.table import Column, Row, Table, column_groups, headline_columns, params_label, short_name
from cgbench.leaderboard.text import (
    CATEGORIES_ABOUT,
    COMPARISON_ABOUT,
    GAPS_ABOUT,
    NO_COMPARISON,
    column_notes,
    f1_cell,
    gap_summary,
    reported_value,
    split_columns,
    tier_text,
)

NUM, SIG = ' class="num"', ' class="sig"'
WIDE_FROM = 8  # rows (guards and references) from which the bars by language span the page


Section = tuple[str, str, Callable[[Table, Reported, list[str]], str]]  # (anchor, title, body)


def page(table: Table, reported: Reported, plots: list[str], diagnostics: str = "") -> str:
    """The page: every section of :data:`SECTIONS`, in order (a section with an empty body is left out), with the
    ``diagnostics`` HTML (thresholds, categories, scripts, cost) after the details."""
    template = Template(resources.files("cgbench.leaderboard").joinpath("page.html").read_text(encoding="utf-8"))
    parts = []
    for anchor, title, body in SECTIONS:
        html = body(table, reported, plots)
        if html:
            parts.append(f'<section>\n<h2 id="{escape(anchor)}">{escape(title)}</h2>\n{html}\n</section>')
        if anchor == "details" and diagnostics:
            parts.append(f"<section>\n{diagnostics}\n</section>")
    return template.substitute(sections="\n".join(parts))


def _summary(table: Table, reported: Reported, plots: list[str]) -> str:
    if not table.rows:
        return "<p>No valid run under <code>results/</code> yet.</p>"
    notes = "".join(f"<li>{escape(note)}</li>" for note in column_notes(table))
    return _ranked(table, headline_columns(table), "leaderboard") + f'\n<ul class="notes">{notes}</ul>'


def _by_split(table: Table, reported: Reported, plots: list[str]) -> str:
    return _ranked(table, split_columns(table), "by-split-table") if table.rows else ""


def _details(table: Table, reported: Reported, plots: list[str]) -> str:
    """The language gaps and the recall by harm category, each folded by guard (empty when nothing has them)."""
    parts = []
    gaps = gap_cells(table)
    if gaps.rows:
        parts += ['<h3 id="gaps">Language gaps</h3>', f"<p>{escape(GAPS_ABOUT)}</p>", _folded(gaps, "gaps-table")]
    with_categories = [row.guard for row in table.guards if any(row.categories.values())]
    if with_categories:
        parts += ['<h3 id="categories">Recall by harm category</h3>', f"<p>{escape(CATEGORIES_ABOUT)}</p>"]
        for guard in with_categories:
            parts.append(_fold(guard, "", _cells(category_cells(table, guard), "category-table")))
    return "\n".join(parts)


def _folded(cells: Cells, css: str) -> str:
    """One collapsed block per guard, its summary line counting the significant rows."""
    blocks = []
    for guard in dict.fromkeys(cells.groups or []):
        keep = [i for i, g in enumerate(cells.groups or []) if g == guard]
        part = Cells(
            cells.header,
            [cells.rows[i] for i in keep],
            [cells.marked[i] for i in keep],
            cells.text_columns,
            [cells.directions[i] for i in keep] if cells.directions else None,
        )
        up = sum(1 for i in keep if cells.marked[i] and (cells.directions or [0] * len(cells.rows))[i] > 0)
        down = sum(1 for i in keep if cells.marked[i] and (cells.directions or [0] * len(cells.rows))[i] < 0)
        blocks.append(
            _fold(guard, f" — {len(keep)} gaps: {up} {UP} above English, {down} {DOWN} below", _cells(part, css))
        )
    return "\n".join(blocks)


def _fold(guard: str, summary: str, body: str) -> str:
    return f"<details><summary><strong>{escape(guard)}</strong>{escape(summary)}</summary>\n{body}\n</details>"


def _comparison(table: Table, reported: Reported, plots: list[str]) -> str:
    comparison = comparison_cells(table, reported)
    body = _cells(comparison, "comparison-table") if comparison.rows else f"<p>{escape(NO_COMPARISON)}</p>"
    return f"<p>{escape(COMPARISON_ABOUT)}</p>\n{body}"


def _reported_section(table: Table, reported: Reported, plots: list[str]) -> str:
    return f'<p class="reported">{escape(reported.about)}</p>\n{_reported(reported)}'


def _cells(cells: Cells, css: str) -> str:
    """A plain table: text columns first, then numbers; marked rows get class ``sig`` and their direction."""
    numeric = [NUM if i >= cells.text_columns else "" for i in range(len(cells.header))]
    head = "".join(f"<th{num}>{escape(h)}</th>" for h, num in zip(cells.header, numeric, strict=True))
    body = []
    directions = cells.directions or [0] * len(cells.rows)
    for row, marked, direction in zip(cells.rows, cells.marked, directions, strict=True):
        tds = "".join(f"<td{num}>{escape(c)}</td>" for c, num in zip(row, numeric, strict=True))
        css_row = f' class="sig {_direction_class(direction)}"' if marked else ""
        body.append(f"<tr{css_row}>{tds}</tr>")
    return (
        f'<div class="scroll"><table class="{css}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + "\n</tbody>\n</table></div>"
    )


def _direction_class(direction: int) -> str:
    return "up" if direction > 0 else "down"


def _ranked(table: Table, columns: list[Column], ident: str) -> str:
    groups = "".join(f'<th colspan="{n}">{escape(group)}</th>' for group, n in column_groups(columns))
    headers = [
        _th("#", "num", "ascending"),
        _th("tier", "num", "ascending"),
        _th("guard", "text", "ascending", numeric=False, css="guard"),
        _th("size", "num", "descending"),
        *(_th(c.sublabel, "num", "descending" if c.higher_is_better else "ascending", c.key) for c in columns),
    ]
    body = []
    for index, row in enumerate(table.rows):
        title = f"{row.model}, run {row.run_id}"
        cells = [
            _td(row.label, row.rank if not row.reference else None),
            _td(tier_text(row), row.tier),
            f'<td class="guard" data-value="{escape(row.guard)}" title="{escape(title)}">{escape(row.guard)}</td>',
            _td(params_label(row.params_b), row.params_b),
            *(_f1_td(c, row) for c in columns),
        ]
        css = " ".join(
            name for name, on in (("reference", row.reference), ("tier-start", _tier_start(table, index))) if on
        )
        css = f' class="{css}"' if css else ""
        body.append(f'<tr data-index="{index}"{css}>' + "".join(cells) + "</tr>")
    group_row = (
        f'<tr class="groups"><th colspan="3" class="guard"></th><th></th>{groups}</tr>\n'
        if any(c.group for c in columns)
        else ""
    )
    return (
        f'<div class="scroll"><table id="{ident}" class="sortable">\n<thead>\n'
        f"{group_row}<tr>{''.join(headers)}</tr>\n</thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table></div>"
    )


def _tier_start(table: Table, index: int) -> bool:
    return index > 0 and table.rows[index].tier != table.rows[index - 1].tier


def _th(label: str, kind: str, first: str, key: str = "", numeric: bool = True, css: str = "") -> str:
    css = f' class="{css or "num"}"' if numeric or css else ""
    ident = f' id="col-{escape(key)}"' if key else ""
    return f'<th{ident}{css} data-type="{kind}" data-first="{first}" scope="col">{escape(label)}</th>'


def _f1_td(column: Column, row: Row) -> str:
    """A metric cell: the value, ``±`` half its interval, a ``*`` mark for a significant gap to English, and the
    exact interval and tests as hover text."""
    value = column.value(row)
    if value is None:
        return _td("–", None)
    cell = f1_cell(column, row)
    mark = cell[-1] if cell[-1] in (UP, DOWN) else ""
    text = escape(cell.removesuffix(mark) if mark else cell)
    if mark:
        text += f'<span class="sig {_direction_class(1 if mark == UP else -1)}">{mark}</span>'
    summary = gap_summary(column, row)
    if column.key in ("vs_leader",) and row.vs_leader:
        test = row.vs_leader
        summary = (
            f"paired difference to the leader {100 * test.diff:+.1f} points, 95% CI "
            f"[{100 * test.ci95[0]:+.1f}, {100 * test.ci95[1]:+.1f}], p {p_bound_text(test.p, test.p_bound)}"
            if test.ci95
            else ""
        )
    title = f' title="{escape(summary)}"' if summary else ""
    return f'<td class="num" data-value="{repr(value)}"{title}>{text}</td>'


def _td(text: str, value: float | None) -> str:
    return f'<td class="num" data-value="{"" if value is None else repr(value)}">{escape(text)}</td>'


def _plots(table: Table, reported: Reported, plots: list[str]) -> str:
    if not plots:
        return "<p>No plots: there is no run to plot yet.</p>"
    figures = [
        f'<figure{_wide(name, table)}><img src="{html_url(f"plots/{name}.svg")}" alt="{escape(name)}">'
        f"<figcaption>{escape(plot_caption(name))} "
        f'(<a href="{html_url(f"plots/{name}.png")}">PNG</a>)</figcaption></figure>'
        for name in plots
    ]
    return '<div class="plots">\n' + "\n".join(figures) + "\n</div>"


def _wide(name: str, table: Table) -> str:
    """Bars by language hold a bar per guard and language: past a few guards they take the page's full width."""
    return ' class="wide"' if name.startswith("f1_by_language_") and len(table.rows) > WIDE_FROM else ""


def _reported(reported: Reported) -> str:
    columns = reported.columns
    header = "".join(f'<th class="num">{escape(short_name(b))} {escape(lang)}</th>' for b, lang in columns)
    rows = []
    for guard in reported.guards:
        cells = "".join(f'<td class="num">{reported_value(guard.f1.get(split), "–")}</td>' for split in columns)
        source = f'<a href="{escape(guard.source.url)}">{escape(guard.source.key)}</a>'
        size = params_label(guard.params_b)
        rows.append(f'<tr><td>{escape(guard.guard)}</td><td class="num">{size}</td>{cells}<td>{source}</td></tr>')
    sources = "".join(
        f'<li>[{escape(s.key)}] {escape(s.citation)} <a href="{escape(s.url)}">{escape(s.url)}</a></li>'
        for s in reported.sources
    )
    sources += "".join(f"<li>{escape(note)}</li>" for note in reported.notes)
    return (
        '<div class="scroll"><table id="reported-table">\n<thead><tr><th>guard</th><th class="num">size</th>'
        f"{header}<th>source</th></tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + f"\n</tbody>\n</table></div>\n<ul>{sources}</ul>"
    )


# The page's sections, in order: summary first. Another section is one more entry here.
SECTIONS: list[Section] = [
    ("measured", "Headline", _summary),
    ("plots", "Plots", _plots),
    ("by-split", "F1 by set and language", _by_split),
    ("details", "Language gaps and harm categories, by guard", _details),
    ("comparison", "Measured vs reported", _comparison),
    ("reported", "Reported, not reproduced", _reported_section),
]
