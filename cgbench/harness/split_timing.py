"""Measured wall seconds per split (benchmark/lang), recorded by the runner in ``run.json`` ``split_seconds``
so the leaderboard can show seconds per 1,000 items per language.

Each batch's backend call and verdict parsing are timed and added to its split; a resumed run adds its sessions'
seconds and items to the earlier ones. Work shared by every split (loading the model, the probe's one embedding
pass) is not in any split: ``run.json`` keeps it as ``shared_seconds``.
"""

from __future__ import annotations

from collections.abc import Mapping


class SplitClock:
    """Seconds and items per ``benchmark/lang``."""

    def __init__(self, previous: Mapping[str, Mapping[str, float]] | None = None) -> None:
        self.splits: dict[str, dict[str, float]] = {
            key: {"n": int(cell["n"]), "seconds": float(cell["seconds"])} for key, cell in (previous or {}).items()
        }

    def add(self, benchmark: str, lang: str, n: int, seconds: float) -> None:
        cell = self.splits.setdefault(f"{benchmark}/{lang}", {"n": 0, "seconds": 0.0})
        cell["n"] += n
        cell["seconds"] += seconds

    def record(self) -> dict[str, dict[str, float]]:
        """The run.json field: per split, items timed and their seconds (rounded to milliseconds)."""
        return {key: {"n": c["n"], "seconds": round(c["seconds"], 3)} for key, c in sorted(self.splits.items())}
