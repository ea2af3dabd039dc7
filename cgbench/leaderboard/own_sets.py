"""Sets beyond the paper's three (RTP-LX, sets added with ``cgbench data add-benchmark``), each in a section of
its own: they have their own languages and, in RTP-LX, their own labels per language, so they stay out of the
paper board's ranking and headline.

Per set: the newest run of each guard that scored it; the mean F1 over its languages (recall for a one-label
set), the four languages the published tables list, the share of parallel items judged alike in every language,
and the published numbers of ``reported.json`` for the set beside them (not like-for-like: see their note).
"""

from __future__ import annotations

from statistics import fmean

from cgbench.benchmarks import BENCHMARKS, find_set
from cgbench.leaderboard.escaping import html_text, md
from cgbench.leaderboard.formats import pct
from cgbench.leaderboard.reported import Reported
from cgbench.leaderboard.runs import Run

SHOWN_LANGS = ("en", "zh", "fr", "ja")  # the columns of the published RTP-LX tables (Qwen3Guard, Table 5)


def paper_runs(runs: list[Run]) -> list[Run]:
    """The runs the paper board ranks: those that scored at least one of the paper's sets."""
    return [run for run in runs if any(key.split("/")[0] in BENCHMARKS for key in run.metrics["splits"])]


def own_set_runs(runs: list[Run]) -> dict[str, list[Run]]:
    """set -> the newest run of each guard that scored it, by guard."""
    newest: dict[tuple[str, str], Run] = {}
    for run in runs:
        for name in sorted({key.split("/")[0] for key in run.metrics["splits"]} - set(BENCHMARKS)):
            key = (name, run.guard)
            if key not in newest or _age(run) > _age(newest[key]):
                newest[key] = run
    sections: dict[str, list[Run]] = {}
    for (name, _), run in sorted(newest.items()):
        sections.setdefault(name, []).append(run)
    return sections


def _age(run: Run) -> tuple[str, str]:
    return (run.created.isoformat() if run.created else "", run.run_id)


def _one_label(name: str) -> bool:
    known = find_set(name)
    return bool(known and known.all_unsafe)


def set_rows(name: str, runs: list[Run], reported: Reported) -> tuple[list[str], list[list[str]]]:
    """Header and rows of one set's table: measured runs, then the published numbers for the set."""
    metric = "recall" if _one_label(name) else "f1"
    header = ["guard", "source", f"mean {metric}", *SHOWN_LANGS, "other languages", "all agree (parallel)", "langs"]
    rows = []
    for run in sorted(runs, key=lambda run: run.guard):
        values = {
            key.split("/")[1]: split[metric]
            for key, split in run.metrics["splits"].items()
            if key.split("/")[0] == name
        }
        others = [value for lang, value in values.items() if lang not in SHOWN_LANGS]
        agree = run.metrics.get("consistency", {}).get(name, {}).get("all_agree")
        rows.append(
            [run.guard, f"measured ({run.run_id})", pct(fmean(values.values()))]
            + [pct(values[lang]) if lang in values else "–" for lang in SHOWN_LANGS]
            + [pct(fmean(others)) if others else "–", pct(agree) if agree is not None else "–", str(len(values))]
        )
    for guard in reported.guards:
        cells = {lang: value for (benchmark, lang), value in guard.f1.items() if benchmark == name}
        if cells:
            published = [f"{cells[lang]:.1f}" if lang in cells else "–" for lang in (*SHOWN_LANGS, "others")]
            mean = f"{cells['avg']:.1f}" if "avg" in cells else "–"
            rows.append([guard.guard, f"reported [{guard.source.key}]", mean, *published, "–", "–"])
    return header, rows


def markdown_sections(runs: list[Run], reported: Reported) -> list[str]:
    """The README lines of every set beyond the paper's, or none."""
    lines = []
    for name, set_runs in own_set_runs(runs).items():
        header, rows = set_rows(name, set_runs, reported)
        lines += [f"## {md(_title(name))}: a set of its own", "", md(_about(name)), ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
        lines += [""]
    return lines


def html_section(runs: list[Run], reported: Reported) -> str:
    """The same tables as HTML, to go at the end of the page (empty without such a set)."""
    parts = []
    for name, set_runs in own_set_runs(runs).items():
        header, rows = set_rows(name, set_runs, reported)
        head = "".join(f"<th>{html_text(cell)}</th>" for cell in header)
        body = "".join("<tr>" + "".join(f"<td>{html_text(cell)}</td>" for cell in row) + "</tr>" for row in rows)
        parts.append(
            f'<section class="own-set"><h2>{html_text(_title(name))}: a set of its own</h2>'
            f"<p>{html_text(_about(name))}</p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            "</section>"
        )
    return "\n".join(parts)


def with_sections(page: str, section: str) -> str:
    """``page`` with ``section`` placed just before ``</body>``."""
    if not section:
        return page
    at = page.rfind("</body>")
    return page[:at] + section + "\n" + page[at:] if at >= 0 else page + section


def _title(name: str) -> str:
    known = find_set(name)
    return known.title if known else name


def _about(name: str) -> str:
    what = "recall (every item is unsafe)" if _one_label(name) else "F1, unsafe positive"
    text = (
        f"{what}, each language against its own labels; 'other languages' is the mean over the set's languages "
        "beyond en/zh/fr/ja; 'all agree' is over the items present in every language."
    )
    if name == "rtp_lx":
        text += (
            " RTP-LX labels each locale by its own annotators (unsafe at mean Toxicity > 1, the threshold in "
            "run.json). Published rows may use another RTP-LX version and label threshold."
        )
    return text
