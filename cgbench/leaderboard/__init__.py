"""``results/`` -> ``leaderboard/``: the ranked table (README.md, CSV, LaTeX), the plots and ``index.html``.

Reads only each run folder's ``metrics.json`` and ``run.json`` (``cgbench.harness.schema``). One run per
guard is shown: the newest by ``created`` unless ``picks`` names one. A folder that is incomplete or does
not follow the schema is skipped and reported, never fatal. The same inputs give byte-identical files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cgbench.leaderboard.own_sets import html_section, markdown_sections, paper_runs, with_sections
from cgbench.leaderboard.reported import Reported, load_reported
from cgbench.leaderboard.runs import LeaderboardError, Run, Skipped, load_runs, parse_picks, select_runs
from cgbench.leaderboard.table import Row, Table, build_table

PLOTS_DIR = "plots"


@dataclass(frozen=True)
class Leaderboard:
    table: Table
    skipped: list[Skipped]
    files: list[Path]  # every file written, sorted
    warnings: list[str] = field(default_factory=list)  # shown runs whose metrics.json lacks newer fields


def build_leaderboard(
    results_dir: Path,
    out_dir: Path,
    picks: dict[str, str] | None = None,
    reported: Reported | None = None,
    n_bootstrap: int | None = None,
) -> Leaderboard:
    """Regenerate every output under ``out_dir`` from the runs under ``results_dir``; ``n_bootstrap``: resamples
    of the tiers' paired tests (default :data:`cgbench.harness.resample.N_BOOTSTRAP`)."""
    from cgbench.leaderboard.diagnostics import build_diagnostics
    from cgbench.leaderboard.html import page
    from cgbench.leaderboard.plots import write_plots
    from cgbench.leaderboard.standings import compute_standings
    from cgbench.leaderboard.text import leaderboard_csv, leaderboard_tex, readme, reported_csv

    runs, skipped = load_runs(results_dir)
    chosen = select_runs(paper_runs(runs), picks)  # a run of RTP-LX or an added set only gets its own section
    standings = compute_standings(chosen, **({} if n_bootstrap is None else {"n_bootstrap": n_bootstrap}))
    table = build_table(chosen + standings.references, standings.by_guard, standings.notes)
    reported = reported or load_reported()
    out_dir.mkdir(parents=True, exist_ok=True)
    plots_dir = out_dir / PLOTS_DIR
    for stale in sorted(plots_dir.glob("*.png")) + sorted(plots_dir.glob("*.svg")):
        stale.unlink()  # a plot of a set or guard that is gone must not linger
    plots = write_plots(table, plots_dir, reported)
    diagnostics = build_diagnostics(chosen, plots_dir, results_dir, runs)  # thresholds, categories, scripts, cost
    plots += diagnostics.plots
    texts = {
        "README.md": "\n".join([readme(table, reported, plots).rstrip("\n"), "", *markdown_sections(runs)])
        + diagnostics.markdown(),
        "leaderboard.csv": leaderboard_csv(table),
        "leaderboard.tex": leaderboard_tex(table),
        "reported.csv": reported_csv(reported),
        "index.html": with_sections(page(table, reported, plots, diagnostics.html()), html_section(runs)),
    }
    for name, text in texts.items():
        (out_dir / name).write_text(text, encoding="utf-8", newline="\n")
    files = [out_dir / name for name in texts] + [plots_dir / f"{n}.{ext}" for n in plots for ext in ("png", "svg")]
    warnings = [warning for run in chosen if (warning := run.warning())] + standings.notes
    return Leaderboard(table=table, skipped=skipped, files=sorted(files), warnings=warnings)


__all__ = [
    "Leaderboard",
    "LeaderboardError",
    "Reported",
    "Row",
    "Run",
    "Skipped",
    "Table",
    "build_leaderboard",
    "build_table",
    "load_reported",
    "load_runs",
    "parse_picks",
    "select_runs",
]
