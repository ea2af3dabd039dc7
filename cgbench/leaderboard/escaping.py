"""Escaping for every output format: any string from a run (guard, model, run id, benchmark and language keys)
is data, never markup, in the page, the README, the LaTeX table and the plots."""

from __future__ import annotations

import hashlib
import html
import re
from urllib.parse import quote

_MD_ALWAYS = re.compile(r"([\\`*\[\]<>&~$])")  # `$` opens math on GitHub
_MD_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # intraword `_` is no emphasis in GFM
_MD_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def html_text(text: str) -> str:
    """Text or a double-quoted attribute value of the page."""
    return html.escape(str(text), quote=True)


def html_url(path: str) -> str:
    """A relative URL (percent-encoded) inside a double-quoted attribute."""
    return html_text(quote(path, safe="/"))


def md(text: str) -> str:
    """Text in a Markdown table cell or line: no emphasis, link, image, code or HTML from the string.

    ``|`` is left to the table writer.

    >>> md("gamma_guard")
    'gamma_guard'
    >>> md('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror="alert(1)"&gt;'
    >>> md("_a*b_")
    '\\\\_a\\\\*b\\\\_'
    """
    text = " ".join(str(text).splitlines())
    text = _MD_ALWAYS.sub(lambda m: _MD_ENTITIES.get(m.group(1), "\\" + m.group(1)), text)
    return _MD_UNDERSCORE.sub(r"\\_", text)


_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text: a text cell starting with ``= + - @``, tab or CR (a formula
    to Excel, LibreOffice and Sheets) gets a leading ``'``; a number (``-0.5``, ``1e-3``) stays a number. Line
    breaks become spaces.

    >>> [csv_cell(v) for v in ("=HYPERLINK(1)", "-0.52", "@SUM(A1)", "gamma", 3)]
    ["'=HYPERLINK(1)", '-0.52', "'@SUM(A1)", 'gamma', '3']
    """
    text = str(value)
    formula = text.startswith(_CSV_FORMULA_START)
    if "\r" in text or "\n" in text:
        text = " ".join(text.splitlines())  # a bare CR is not quoted by the csv module, and would split the row
    if not formula:
        return text
    try:
        float(text)
    except ValueError:
        return "'" + text
    return text


def md_code(text: str) -> str:
    """``text`` as inline code when it can be (no backtick, one line), else as escaped text."""
    text = str(text)
    return f"`{text}`" if "`" not in text and "\n" not in text and text.strip() == text and text else md(text)


_TEX_ESCAPES = {
    "\\": "\\textbackslash{}",
    "&": "\\&",
    "%": "\\%",
    "$": "\\$",
    "#": "\\#",
    "_": "\\_",
    "{": "\\{",
    "}": "\\}",
    "~": "\\textasciitilde{}",
    "^": "\\textasciicircum{}",
    "<": "\\textless{}",
    ">": "\\textgreater{}",
    "|": "\\textbar{}",
    "\n": " ",
    "\r": " ",
    "†": "$^\\dagger$",
    "–": "--",
}


def tex(text: str) -> str:
    """Text in a LaTeX document (text mode)."""
    return "".join(_TEX_ESCAPES.get(char, char) for char in str(text))


def plot_text(text: str) -> str:
    """A matplotlib label: a ``$`` starts mathtext (and can fail the plot), so it is escaped."""
    return str(text).replace("$", r"\$")


def file_slug(name: str) -> str:
    """A file name part from a key: kept when it is already plain, else made plain and tagged with a short hash
    (so two different keys never share a file)."""
    if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", name) and ".." not in name:
        return name
    plain = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")[:40] or "x"
    return f"{plain}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
