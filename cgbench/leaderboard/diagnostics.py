"""Why a guard is weaker in a language: the diagnostic tables below the ranking and their plots.

- threshold transfer (``metrics.json`` ``calibration``): per guard with scores, set and language, the
  calibration error, F1 at 0.5, at the English-best threshold and at the language's own cross-fitted
  threshold; and one reliability plot per guard;
- category consistency (``metrics.json`` ``category_consistency``): for guards that name categories;
- cost (``run.json`` ``split_seconds``): measured seconds per 1,000 items per language.

Each table is a :class:`~cgbench.leaderboard.details.Cells`, rendered for the README and for the page.
A run without these fields simply has no rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cgbench.leaderboard.details import Cells
from cgbench.leaderboard.escaping import file_slug, html_text, md, plot_text
from cgbench.leaderboard.formats import lang_order, pct, points
from cgbench.leaderboard.runs import Run
from cgbench.leaderboard.table import short_name

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TRANSFER_ABOUT = (
    "Scores mean the same thing in every language only if one threshold serves them all. ECE: expected "
    "calibration error of P(unsafe) (10 equal-width bins). F1 at 0.5; at the threshold that maximises English F1 "
    "on the same set (in-sample for English); and at the language's own best threshold, cross-fitted on two folds "
    "(each half judged at the threshold chosen on the other half). Own − en: what the English threshold loses."
)
CATEGORY_CONSISTENCY_ABOUT = (
    "For guards that name the violated categories: on items flagged unsafe both in English and in the language, "
    "the share naming the same category set and the mean Jaccard overlap of the sets."
)
SECONDS_ABOUT = "Measured wall seconds per 1,000 items of each language, from the runs' per-split timing."


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    about: str
    cells: Cells


@dataclass(frozen=True)
class Diagnostics:
    sections: list[Section]
    plots: list[str]  # plot names written under the plots folder

    def markdown(self) -> str:
        lines = []
        for section in self.sections:
            lines += [f"### {section.title}", "", section.about, "", *_markdown(section.cells), ""]
        return "\n".join(lines) + ("\n" if lines else "")

    def html(self) -> str:
        parts = []
        for section in self.sections:
            parts += [
                f'<h2 id="{section.anchor}">{html_text(section.title)}</h2>',
                f"<p>{html_text(section.about)}</p>",
                _html(section.cells),
            ]
        return "\n".join(parts)


def transfer_cells(runs: list[Run]) -> Cells:
    header = ["guard", "set", "lang", "ECE", "F1 @0.5", "F1 @en thr", "F1 own thr (cross-fit)", "own − en", "en thr"]
    rows = []
    for run in runs:
        for benchmark, cal in sorted(run.metrics.get("calibration", {}).items()):
            threshold = cal.get("en_threshold")
            for lang in sorted(cal.get("by_lang", {}), key=lang_order):
                cell = cal["by_lang"][lang]
                at_en, own = cell.get("f1_at_en"), cell.get("f1_crossfit")
                rows.append(
                    [
                        run.guard,
                        short_name(benchmark),
                        lang,
                        pct(cell.get("ece")),
                        pct(cell.get("f1_at_05")),
                        pct(at_en),
                        pct(own),
                        points(own - at_en) if own is not None and at_en is not None else "–",
                        f"{threshold:.3f}" if threshold is not None else "–",
                    ]
                )
    return Cells(header=header, rows=rows, marked=[False] * len(rows), text_columns=3)


def _split_cells(runs: list[Run], field: str):
    """(run, benchmark, lang, cell) for each cell of ``metrics[field]`` (benchmark -> lang -> cell), in order."""
    for run in runs:
        for benchmark, by_lang in sorted(run.metrics.get(field, {}).items()):
            for lang in sorted(by_lang, key=lang_order):
                yield run, benchmark, lang, by_lang[lang]


def category_consistency_cells(runs: list[Run]) -> Cells:
    header = ["guard", "set", "lang", "items flagged in both", "same category set", "mean Jaccard"]
    rows = []
    for run, benchmark, lang, cell in _split_cells(runs, "category_consistency"):
        rows.append(
            [
                run.guard,
                short_name(benchmark),
                lang,
                str(cell.get("n", 0)),
                pct(cell.get("same_set")),
                pct(cell.get("mean_jaccard")),
            ]
        )
    return Cells(header=header, rows=rows, marked=[False] * len(rows), text_columns=3)


SCRIPT_ABOUT = (
    "Romanized splits (`cgbench data add-variant LANG --script latin`) against their native script, on the same "
    "items: F1 in each, the difference, the share of identical verdicts, and the loophole rate (flagged in the "
    "native script, passed as safe romanized). Every run that holds a romanized split is listed, not only the "
    "run shown in the ranking."
)


def script_gap_cells(runs: list[Run]) -> Cells:
    header = ["guard", "run", "set", "lang", "items", "F1 native", "F1 romanized", "romanized − native", "same"]
    header.append("loophole")
    rows = []
    for run, benchmark, lang, gap in _split_cells(runs, "script_gaps"):
        rows.append(
            [
                run.guard,
                run.run_id,
                short_name(benchmark),
                lang,
                str(gap.get("n", 0)),
                pct(gap.get("f1_native")),
                pct(gap.get("f1_romanized")),
                points(gap["f1_diff"]) if gap.get("f1_diff") is not None else "–",
                pct(gap.get("agreement")),
                pct(gap.get("loophole_rate")),
            ]
        )
    return Cells(header=header, rows=rows, marked=[False] * len(rows), text_columns=4)


def seconds_cells(runs: list[Run]) -> Cells:
    """Seconds per 1,000 items per language, summed over the sets of each run that recorded per-split timing."""
    langs = sorted({key.split("/")[1] for run in runs for key in run.info.get("split_seconds", {})}, key=lang_order)
    rows = []
    for run in runs:
        timing = run.info.get("split_seconds", {})
        if not timing:
            continue
        cells = []
        for lang in langs:
            seconds = sum(t["seconds"] for key, t in timing.items() if key.split("/")[1] == lang)
            items = sum(t["n"] for key, t in timing.items() if key.split("/")[1] == lang)
            cells.append(f"{1000 * seconds / items:.1f}" if items else "–")
        rows.append([run.guard, run.info.get("backend", "?"), *cells])
    return Cells(header=["guard", "backend", *langs], rows=rows, marked=[False] * len(rows), text_columns=2)


COST_FILE = "token_cost.csv"  # written by `cgbench data cost --csv results/token_cost.csv`
COST_ABOUT = (
    "Tokens per item with each guard family's own template and tokenizer, and in brackets the ratio to English "
    "on the same items (from results/token_cost.csv, written by `cgbench data cost`)."
)


def cost_cells(results_dir: Path | None) -> Cells:
    """Mean tokens per item and ratio to English per tokenizer, set and language; no rows without the file."""
    from cgbench.harness.cost import read_cost_csv

    path = results_dir / COST_FILE if results_dir else None
    if path is None or not path.is_file():
        return Cells(header=[], rows=[], marked=[])
    found = read_cost_csv(path)
    langs = sorted({r["lang"] for r in found}, key=lang_order)
    cells: dict[tuple[str, str, str], dict[str, str]] = {}
    for r in found:
        ratio = f" (×{float(r['ratio_to_en']):.2f})" if r["ratio_to_en"] else ""
        cells.setdefault((r["family"], r["guard"], r["benchmark"]), {})[r["lang"]] = f"{float(r['mean']):.0f}{ratio}"
    rows = [
        [family, guard, short_name(b), *(by.get(lang, "–") for lang in langs)]
        for (family, guard, b), by in cells.items()
    ]
    return Cells(header=["tokenizer", "template", "set", *langs], rows=rows, marked=[False] * len(rows), text_columns=3)


def build_diagnostics(
    runs: list[Run], plots_dir: Path, results_dir: Path | None = None, all_runs: list[Run] | None = None
) -> Diagnostics:
    """The diagnostic sections of the shown ``runs`` (with rows only) and their plots, written under
    ``plots_dir``; the romanized splits of ``all_runs``; the cost table from ``results_dir/token_cost.csv``."""
    candidates = [
        Section("threshold-transfer", "Threshold transfer and calibration", TRANSFER_ABOUT, transfer_cells(runs)),
        Section(
            "category-consistency",
            "Category consistency",
            CATEGORY_CONSISTENCY_ABOUT,
            category_consistency_cells(runs),
        ),
        Section("romanized", "Native vs romanized script", SCRIPT_ABOUT, script_gap_cells(all_runs or runs)),
        Section("cost", "Token cost per language", COST_ABOUT, cost_cells(results_dir)),
        Section("seconds", "Measured seconds per 1,000 items", SECONDS_ABOUT, seconds_cells(runs)),
    ]
    sections = [s for s in candidates if s.cells.rows]
    plots = write_reliability_plots(runs, plots_dir)
    return Diagnostics(sections=sections, plots=plots)


def write_reliability_plots(runs: list[Run], plots_dir: Path) -> list[str]:
    """One reliability plot per guard with scores, a panel per set, a line per language."""
    import matplotlib

    from cgbench.leaderboard.plots import PNG_METADATA, RC, _save_svg

    names = []
    with matplotlib.rc_context(RC):
        for run in runs:
            calibration = run.metrics.get("calibration") or {}
            if not calibration:
                continue
            name = f"reliability_{file_slug(run.guard)}"
            plots_dir.mkdir(parents=True, exist_ok=True)
            figure = _reliability_figure(run.guard, calibration)
            figure.savefig(plots_dir / f"{name}.png", format="png", metadata=PNG_METADATA)
            _save_svg(figure, plots_dir / f"{name}.svg")
            names.append(name)
    return names


def _reliability_figure(guard: str, calibration: dict) -> Figure:
    from matplotlib.figure import Figure

    from cgbench.leaderboard.plots import guard_palette

    benchmarks = [b for b in sorted(calibration) if _two_classes(calibration[b])] or sorted(calibration)
    figure = Figure(figsize=(3.6 * len(benchmarks) + 0.6, 3.8), layout="constrained")
    axes = figure.subplots(1, len(benchmarks), squeeze=False)[0]
    for ax, benchmark in zip(axes, benchmarks, strict=True):
        ax.plot([0, 1], [0, 1], color="#8c8c8c", linestyle=":", linewidth=1)
        langs = sorted(calibration[benchmark]["by_lang"], key=lang_order)
        colors = guard_palette(len(langs))  # one colour per language, none repeated within the plot
        for k, lang in enumerate(langs):
            cell = calibration[benchmark]["by_lang"][lang]
            curve = cell.get("reliability") or []
            label = plot_text(f"{lang} (ECE {100 * cell['ece']:.0f}%)")
            ax.plot(
                [c[0] for c in curve],
                [c[1] for c in curve],
                marker="o",
                markersize=3,
                color=colors[k],
                label=label,
                gid=f"reliability-{file_slug(benchmark)}-{lang}",
            )
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("mean P(unsafe) in bin")
        ax.set_title(plot_text(short_name(benchmark)))
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("share unsafe")
    figure.suptitle(plot_text(f"{guard}: reliability by language"))
    return figure


def _two_classes(calibration: dict) -> bool:
    """A set with a cross-fitted threshold has both classes (the curve of a one-class set says little)."""
    return any(cell.get("f1_crossfit") is not None for cell in calibration.get("by_lang", {}).values())


def _markdown(cells: Cells) -> list[str]:
    align = ["---" if i < cells.text_columns else "--:" for i in range(len(cells.header))]
    return [_md_row(cells.header), _md_row(align)] + [_md_row(row) for row in cells.rows]


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(md(c) for c in cells) + " |"


def _html(cells: Cells) -> str:
    numeric = ' class="num"'

    def row(tag: str, values: list[str]) -> str:
        tags = [f"<{tag}{numeric if i >= cells.text_columns else ''}>" for i in range(len(values))]
        return "<tr>" + "".join(f"{t}{html_text(v)}</{tag}>" for t, v in zip(tags, values, strict=True)) + "</tr>"

    body = "\n".join(row("td", r) for r in cells.rows)
    return (
        f'<div class="scroll"><table class="diagnostics-table">\n<thead>{row("th", cells.header)}</thead>\n'
        f"<tbody>\n{body}\n</tbody>\n</table></div>"
    )
