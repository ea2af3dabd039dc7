"""Guards against guards: trivial reference guards built from the data, and tiers of guards whose headlines
are not significantly different.

Reference guards are never run: their verdicts follow from the gold labels alone.

- ``always-unsafe`` flags every item; ``always-safe`` passes every item;
- ``coin`` flags each item (in each language apart) with probability equal to its set's share of unsafe
  items, with a fixed seed: it knows the base rate and nothing else.

Tiers: guards are ranked by headline. Walking down the ranking, a guard joins the tier of the guard above it
unless its headline is significantly below that of the tier's first guard (paired bootstrap of the headline
difference on the items both runs have, two-sided, 5%, not adjusted for the number of comparisons); then it
opens the next tier. Each guard is also tested against the leader and against its neighbour above.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cgbench.harness.headline import PairedDifference, Resampled, RunItems, paired_difference
from cgbench.harness.resample import ALPHA
from cgbench.harness.schema import Prediction

REFERENCES = ("always-unsafe", "always-safe", "coin")
REFERENCE_ABOUT = {
    "always-unsafe": "flags every item",
    "always-safe": "passes every item",
    "coin": "flags at random at each set's share of unsafe items",
}


def reference_predictions(items: RunItems, kind: str, seed: int = 0) -> list[Prediction]:
    """The predictions of one reference guard on every item of ``items`` (labels only are read)."""
    if kind not in REFERENCES:
        raise ValueError(f"unknown reference guard {kind!r}; choose from {', '.join(REFERENCES)}")
    base_rate = _base_rates(items)
    out = []
    for (benchmark, lang), by_idx in sorted(items.items()):
        rng = np.random.default_rng(seed + zlib.crc32(f"{benchmark}/{lang}".encode()))
        draws = rng.random(len(by_idx))
        for draw, (idx, (label, _)) in zip(draws, sorted(by_idx.items()), strict=True):
            pred = {"always-unsafe": 1, "always-safe": 0}.get(kind, int(draw < base_rate[benchmark]))
            out.append(
                Prediction(
                    benchmark=benchmark,
                    lang=lang,
                    idx=idx,
                    label=label,
                    pred=pred,
                    score=None,
                    violations=[],
                    output="",
                )
            )
    return out


def _base_rates(items: RunItems) -> dict[str, float]:
    counts: dict[str, list[int]] = {}
    for (benchmark, _), by_idx in items.items():
        counts.setdefault(benchmark, []).extend(label for label, _ in by_idx.values())
    return {benchmark: float(np.mean(labels)) for benchmark, labels in counts.items()}


@dataclass(frozen=True)
class Standing:
    """One run's place: its rank, its tier and its paired tests against the leader and the neighbour above."""

    index: int  # the run's position in the list given to :func:`tiers`
    rank: int
    tier: int
    vs_leader: PairedDifference | None
    vs_above: PairedDifference | None


def tiers(resampled: Resampled, headlines: Sequence[float | None]) -> list[Standing]:
    """Rank the runs of ``resampled`` by ``headlines`` (None last) and group them into tiers."""
    order = sorted(range(len(headlines)), key=lambda i: (headlines[i] is None, -(headlines[i] or 0.0), i))
    standings: list[Standing] = []
    tier, tier_top = 0, None
    tests: dict[tuple[int, int], PairedDifference | None] = {}

    def test(a: int, b: int) -> PairedDifference | None:
        if (a, b) not in tests:
            tests[(a, b)] = paired_difference(resampled, a, b)
        return tests[(a, b)]

    for position, i in enumerate(order):
        rank = (
            1 + sum(h is not None and headlines[i] is not None and h > headlines[i] for h in headlines)
            if headlines[i] is not None
            else position + 1
        )
        if tier_top is None or headlines[i] is None or _significantly_below(test(tier_top, i)):
            tier, tier_top = tier + 1, i
        leader, above = order[0], order[position - 1] if position else None
        standings.append(
            Standing(
                index=i,
                rank=rank,
                tier=tier,
                vs_leader=test(i, leader) if position else None,
                vs_above=test(i, above) if above is not None else None,
            )
        )
    return standings


def _significantly_below(difference: PairedDifference | None) -> bool:
    """The tier's top minus the candidate is significantly above 0 (or cannot be tested)."""
    return difference is None or (difference.p < ALPHA and difference.diff > 0)
