"""Tiers and reference rows: the shown runs' predictions, read once, the trivial reference guards built from
their labels, and one paired resample of everything (``harness.headline``, ``harness.ranking``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cgbench.harness.headline import RunItems, resample_runs, run_items
from cgbench.harness.ranking import REFERENCE_ABOUT, REFERENCES, Standing, reference_predictions, tiers
from cgbench.harness.resample import N_BOOTSTRAP
from cgbench.harness.scoring import ScoringError, predictions_file, read_predictions, score_predictions
from cgbench.leaderboard.runs import Run

REFERENCE_PREFIX = "ref: "


@dataclass(frozen=True)
class Standings:
    references: list[Run]
    by_guard: dict[str, Standing] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # runs left out of the tiers, and why


def reference_name(kind: str) -> str:
    return f"{REFERENCE_PREFIX}{kind}"


def compute_standings(runs: list[Run], n_bootstrap: int = N_BOOTSTRAP) -> Standings:
    """Reference rows from the runs' labels, and every run's rank, tier and paired tests."""
    items, notes = {}, []
    for run in runs:
        source = predictions_file(run.folder)
        if source is None:
            notes.append(f"{run.guard}: run {run.run_id} keeps no predictions file, so no tier and no paired test")
            continue
        try:
            items[run.guard] = run_items(read_predictions(source))
        except ScoringError as exc:
            notes.append(f"{run.guard}: no tier, its predictions cannot be read ({str(exc).split(': ', 1)[-1]})")
    if not items:
        return Standings(references=[], notes=notes)
    labels = _all_labels(list(items.values()))
    references = {reference_name(kind): run_items(reference_predictions(labels, kind)) for kind in REFERENCES}
    everything = {**items, **references}
    guards = list(everything)
    resampled = resample_runs([everything[g] for g in guards], n_bootstrap)
    headlines = [None if (h := resampled.headline(i)) is None else float(h[0]) for i in range(len(guards))]
    standings = {guards[s.index]: s for s in tiers(resampled, headlines)}
    return Standings(
        references=[_reference_run(name, references[name]) for name in references], by_guard=standings, notes=notes
    )


def _all_labels(runs: list[RunItems]) -> RunItems:
    """Every split and item any run has, with its gold label."""
    merged: RunItems = {}
    for items in runs:
        for split, by_idx in items.items():
            merged.setdefault(split, {}).update({idx: (label, None) for idx, (label, _) in by_idx.items()})
    return merged


def _reference_run(name: str, items: RunItems) -> Run:
    predictions = reference_predictions(items, name.removeprefix(REFERENCE_PREFIX))
    metrics = score_predictions(predictions, n_bootstrap=0)
    about = REFERENCE_ABOUT[name.removeprefix(REFERENCE_PREFIX)]
    info = {"guard": name, "model": f"reference: {about}", "run_id": "computed from the labels"}
    return Run(
        folder=Path("references"),
        guard=name,
        run_id=info["run_id"],
        created=None,
        info=info,
        metrics=metrics,
        reference=True,
    )
