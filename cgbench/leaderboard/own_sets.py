"""Sets beyond the paper's three (RTP-LX, sets added with ``cgbench data add-benchmark``), each in a section of
its own: they have their own languages and, in RTP-LX, their own labels per language, so they stay out of the
paper board's ranking and headline.

Per set: the newest run of each guard that scored it; the mean F1 over its languages (recall for a one-label
set), the ten languages the published table lists, the share of parallel items judged alike in every language,
and the published numbers of ``reported.json`` for the set beside them (not like-for-like: see their note).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from statistics import fmean

from cgbench.benchmarks import BENCHMARKS, find_set
from cgbench.leaderboard.escaping import html_text, md
from cgbench.leaderboard.formats import pct
from cgbench.leaderboard.runs import LeaderboardError, Run

# the languages of the published RTP-LX table (Qwen3Guard technical report, Table 5)
SHOWN_LANGS = ("en", "zh", "ar", "es", "fr", "id", "it", "ja", "ko", "ru")


@dataclass(frozen=True)
class Published:
    """Published numbers for one set beyond the paper's (``reported.json``, ``own_sets``)."""

    guard: str
    source: str  # a key of reported.json's ``sources``
    citation: str
    f1: dict[str, float]  # lang (or "others", "avg") -> percent


@dataclass(frozen=True)
class SetReports:
    about: str
    note: str
    guards: list[Published]


def load_published(text: str | None = None) -> dict[str, SetReports]:
    """set -> its published numbers, from ``reported.json``'s ``own_sets`` block (the packaged file by default)."""
    if text is None:
        text = resources.files("cgbench.leaderboard").joinpath("reported.json").read_text(encoding="utf-8")
    try:
        data = json.loads(text)
        sources = data["sources"]
        return {
            name: SetReports(
                block["about"],
                block.get("note", ""),
                [
                    Published(g["guard"], g["source"], sources[g["source"]]["citation"], _percents(g["f1"]))
                    for g in block["guards"]
                ],
            )
            for name, block in data.get("own_sets", {}).items()
        }
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise LeaderboardError(f"reported.json: own_sets: {exc}") from exc


def _percents(cells: dict) -> dict[str, float]:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 100 for v in cells.values()):
        raise ValueError(f"f1 values must be percents in [0, 100], got {cells}")
    return {str(k): float(v) for k, v in cells.items()}


def is_own_set(name: str) -> bool:
    """A registered set beyond the paper's three (RTP-LX, an added set): it gets a section of its own. A set the
    registry does not know (an older or a hand-made run) stays on the main board."""
    return name not in BENCHMARKS and find_set(name) is not None


def paper_runs(runs: list[Run]) -> list[Run]:
    """The runs the main board ranks: those that scored at least one set that is not a set of its own."""
    return [run for run in runs if any(not is_own_set(key.split("/")[0]) for key in run.metrics["splits"])]


def own_set_runs(runs: list[Run]) -> dict[str, list[Run]]:
    """set -> the newest run of each guard that scored it, by guard."""
    newest: dict[tuple[str, str], Run] = {}
    for run in runs:
        sets = {key.split("/")[0] for key in run.metrics["splits"]}
        for name in sorted(name for name in sets if is_own_set(name)):
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


def set_rows(name: str, runs: list[Run], published: dict[str, SetReports]) -> tuple[list[str], list[list[str]]]:
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
    for guard in published[name].guards if name in published else []:
        cells = guard.f1
        values = [f"{cells[lang]:.1f}" if lang in cells else "–" for lang in (*SHOWN_LANGS, "others")]
        mean = f"{cells['avg']:.1f}" if "avg" in cells else "–"
        rows.append([guard.guard, f"reported [{guard.source}]", mean, *values, "–", "–"])
    return header, rows


def _sources(name: str, published: dict[str, SetReports]) -> list[str]:
    """The set's published-numbers note and each source's citation, once."""
    if name not in published:
        return []
    reports = published[name]
    cited = dict.fromkeys(f"[{guard.source}] {guard.citation}" for guard in reports.guards)
    return [reports.about, *cited, reports.note]


def markdown_sections(runs: list[Run], published: dict[str, SetReports] | None = None) -> list[str]:
    """The README lines of every set beyond the paper's, or none."""
    published = load_published() if published is None else published
    lines = []
    for name, set_runs in own_set_runs(runs).items():
        header, rows = set_rows(name, set_runs, published)
        lines += [f"## {md(_title(name))}: a set of its own", "", md(_about(name)), ""]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
        lines += [""] + [f"- {md(text)}" for text in _sources(name, published) if text] + [""]
    return lines


def html_section(runs: list[Run], published: dict[str, SetReports] | None = None) -> str:
    """The same tables as HTML, to go at the end of the page (empty without such a set)."""
    published = load_published() if published is None else published
    parts = []
    for name, set_runs in own_set_runs(runs).items():
        header, rows = set_rows(name, set_runs, published)
        notes = "".join(f"<li>{html_text(text)}</li>" for text in _sources(name, published) if text)
        head = "".join(f"<th>{html_text(cell)}</th>" for cell in header)
        body = "".join("<tr>" + "".join(f"<td>{html_text(cell)}</td>" for cell in row) + "</tr>" for row in rows)
        parts.append(
            f'<section class="own-set"><h2>{html_text(_title(name))}: a set of its own</h2>'
            f"<p>{html_text(_about(name))}</p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            f"<ul>{notes}</ul></section>"
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
        "beyond the ten shown; 'all agree' is over the items present in every language."
    )
    if name == "rtp_lx":
        text += (
            " RTP-LX labels each locale by its own annotators (unsafe at mean Toxicity > 1, the threshold in "
            "run.json). Published rows may use another RTP-LX version and label threshold."
        )
    return text
