"""Numbers published in papers (``reported.json``), kept apart from measured runs.

Each guard entry names its source; the values are F1 in percent exactly as published.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from cgbench.leaderboard.runs import LeaderboardError
from cgbench.leaderboard.table import Split, split_order


@dataclass(frozen=True)
class Source:
    key: str
    citation: str
    url: str


@dataclass(frozen=True)
class ReportedGuard:
    guard: str
    model: str
    params_b: float | None
    source: Source
    f1: dict[Split, float]  # percent, as published
    cgbench_guard: str | None = None  # the registry name of the same guard, to find its measured runs
    note: str = ""  # where in the source the numbers are, and how they were collected

    def matches(self, guard: str, model: str) -> bool:
        """Is a measured run of ``guard`` (registry name) with ``model`` this published guard?"""
        return guard == self.cgbench_guard or (bool(model) and model == self.model)


@dataclass(frozen=True)
class Reported:
    about: str
    guards: list[ReportedGuard]

    @property
    def columns(self) -> list[Split]:
        return sorted({split for guard in self.guards for split in guard.f1}, key=split_order)

    def matching(self, guard: str, model: str) -> list[ReportedGuard]:
        return [g for g in self.guards if g.matches(guard, model)]

    @property
    def notes(self) -> list[str]:
        """The guards' notes on where their numbers come from, each once."""
        return list(dict.fromkeys(guard.note for guard in self.guards if guard.note))

    @property
    def sources(self) -> list[Source]:
        return list({guard.source.key: guard.source for guard in self.guards}.values())


def load_reported(path: Path | None = None) -> Reported:
    """Read and check the reported-numbers file (the packaged one by default)."""
    if path is None:
        text = resources.files("cgbench.leaderboard").joinpath("reported.json").read_text(encoding="utf-8")
        name = "reported.json"
    else:
        text, name = path.read_text(encoding="utf-8"), path.as_posix()
    try:
        data = json.loads(text)
        sources = {key: Source(key, value["citation"], value["url"]) for key, value in data["sources"].items()}
        guards = [_guard(entry, sources, i) for i, entry in enumerate(data["guards"])]
        return Reported(about=data["about"], guards=guards)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise LeaderboardError(f"{name}: {exc}") from exc


def _guard(entry: dict[str, Any], sources: dict[str, Source], i: int) -> ReportedGuard:
    if entry["source"] not in sources:
        raise ValueError(f"guards[{i}].source {entry['source']!r} is not in sources")
    f1 = {}
    for key, value in entry["f1"].items():
        benchmark, sep, lang = key.partition("/")
        if not sep or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise ValueError(f"guards[{i}].f1[{key!r}] must be '<benchmark>/<lang>': percent in [0, 100]")
        f1[(benchmark, lang)] = float(value)
    return ReportedGuard(
        entry["guard"],
        entry["model"],
        entry.get("params_b"),
        sources[entry["source"]],
        f1,
        cgbench_guard=entry.get("cgbench_guard"),
        note=entry.get("note", ""),
    )
