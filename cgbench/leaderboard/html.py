"""``index.html``: one self-contained page (inline CSS and JS) with the sortable table, the plots and the
reported numbers. It opens from disk; the plots are referenced relative to the page."""

from __future__ import annotations

from importlib import resources
from string import Template

from cgbench.leaderboard.details import Cells, category_cells, comparison_cells, gap_cells
from cgbench.leaderboard.escaping import html_text as escape
from cgbench.leaderboard.escaping import html_url
from cgbench.leaderboard.formats import pct, plus_minus
from cgbench.leaderboard.reported import Reported
from cgbench.leaderboard.table import Column, Row, Table, column_groups, metric_columns, params_label, short_name
from cgbench.leaderboard.text import (
    CATEGORIES_ABOUT,
    COMPARISON_ABOUT,
    GAPS_ABOUT,
    NO_COMPARISON,
    column_notes,
    gap_summary,
    reported_value,
)

NUM, SIG = ' class="num"', ' class="sig"'


def page(table: Table, reported: Reported, plots: list[str], diagnostics: str = "") -> str:
    template = Template(resources.files("cgbench.leaderboard").joinpath("page.html").read_text(encoding="utf-8"))
    comparison = comparison_cells(table, reported)
    return template.substitute(
        measured=_measured(table),
        details=_details(table),
        diagnostics=diagnostics,
        plots=_plots(plots),
        comparison_about=escape(COMPARISON_ABOUT),
        comparison=_cells(comparison, "comparison-table") if comparison.rows else f"<p>{escape(NO_COMPARISON)}</p>",
        reported_about=escape(reported.about),
        reported=_reported(reported),
    )


def _details(table: Table) -> str:
    """The language gaps and the recall by harm category, each as its own section (empty when nothing has them)."""
    parts = []
    gaps = gap_cells(table)
    if gaps.rows:
        parts += ['<h2 id="gaps">Language gaps</h2>', f"<p>{escape(GAPS_ABOUT)}</p>", _cells(gaps, "gaps-table")]
    with_categories = [row.guard for row in table.rows if any(row.categories.values())]
    if with_categories:
        parts += ['<h2 id="categories">Recall by harm category</h2>', f"<p>{escape(CATEGORIES_ABOUT)}</p>"]
        for guard in with_categories:
            parts += [f"<h3>{escape(guard)}</h3>", _cells(category_cells(table, guard), "category-table")]
    return "\n".join(parts)


def _cells(cells: Cells, css: str) -> str:
    """A plain table: text columns first, then numbers; marked rows get class ``sig``."""
    numeric = [NUM if i >= cells.text_columns else "" for i in range(len(cells.header))]
    head = "".join(f"<th{num}>{escape(h)}</th>" for h, num in zip(cells.header, numeric, strict=True))
    body = []
    for row, marked in zip(cells.rows, cells.marked, strict=True):
        tds = "".join(f"<td{num}>{escape(c)}</td>" for c, num in zip(row, numeric, strict=True))
        body.append(f"<tr{SIG if marked else ''}>{tds}</tr>")
    return (
        f'<div class="scroll"><table class="{css}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "\n".join(body)
        + "\n</tbody>\n</table></div>"
    )


def _measured(table: Table) -> str:
    if not table.rows:
        return "<p>No valid run under <code>results/</code> yet.</p>"
    columns = metric_columns(table)
    groups = "".join(f'<th colspan="{n}">{escape(group)}</th>' for group, n in column_groups(columns))
    headers = [
        _th("#", "num", "ascending"),
        _th("guard", "text", "ascending", numeric=False),
        _th("size", "num", "descending"),
        _th("model", "text", "ascending", numeric=False),
        *(_th(c.sublabel, "num", "descending" if c.higher_is_better else "ascending", c.key) for c in columns),
    ]
    body = []
    for index, row in enumerate(table.rows):
        cells = [
            _td(str(row.rank), row.rank),
            f'<td data-value="{escape(row.guard)}">{escape(row.guard)}</td>',
            _td(params_label(row.params_b), row.params_b),
            f'<td data-value="{escape(row.model)}" title="run {escape(row.run_id)}">{escape(row.model)}</td>',
            *(_f1_td(c, row) for c in columns),
        ]
        body.append(f'<tr data-index="{index}">' + "".join(cells) + "</tr>")
    notes = "".join(f"<li>{escape(note)}</li>" for note in column_notes(table))
    return (
        '<div class="scroll"><table id="leaderboard" class="sortable">\n<thead>\n'
        f'<tr class="groups"><th colspan="4"></th>{groups}</tr>\n<tr>{"".join(headers)}</tr>\n</thead>\n<tbody>\n'
        + "\n".join(body)
        + f"\n</tbody>\n</table></div>\n<ul>{notes}</ul>"
    )


def _th(label: str, kind: str, first: str, key: str = "", numeric: bool = True) -> str:
    css = ' class="num"' if numeric else ""
    ident = f' id="col-{escape(key)}"' if key else ""
    return f'<th{ident}{css} data-type="{kind}" data-first="{first}" scope="col">{escape(label)}</th>'


def _f1_td(column: Column, row: Row) -> str:
    """A metric cell: the value, ``±`` half its interval, a ``*`` mark for a significant gap to English, and the
    exact interval and tests as hover text."""
    value = column.value(row)
    if value is None:
        return _td("–", None)
    text = escape(pct(value) + plus_minus(column.ci(row)))
    if column.significant(row):
        text += '<span class="sig">*</span>'
    summary = gap_summary(column, row)
    title = f' title="{escape(summary)}"' if summary else ""
    return f'<td class="num" data-value="{repr(value)}"{title}>{text}</td>'


def _td(text: str, value: float | None) -> str:
    return f'<td class="num" data-value="{"" if value is None else repr(value)}">{escape(text)}</td>'


def _plots(plots: list[str]) -> str:
    if not plots:
        return "<p>No plots: there is no run to plot yet.</p>"
    figures = [
        f'<figure><img src="{html_url(f"plots/{name}.svg")}" alt="{escape(name)}">'
        f'<figcaption>{escape(name)} (<a href="{html_url(f"plots/{name}.png")}">PNG</a>)</figcaption></figure>'
        for name in plots
    ]
    return '<div class="plots">\n' + "\n".join(figures) + "\n</div>"


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
