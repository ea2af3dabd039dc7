"""Distillation resumes cleanly after a write cut short: the torn line goes, the next answers stay readable."""

from __future__ import annotations

import asyncio

from cgbench.models.consistentguard.distill import distill, read_distilled
from cgbench.models.consistentguard.seed import SeedItem

ANSWER = "<think>Asks for bread.</think><violations>None</violations><judge>unharmful</judge>"


class Teacher:
    async def achat(self, conversations, **sampling):
        return [ANSWER for _ in conversations]


def test_resume_after_a_torn_last_line(tmp_path):
    items = [SeedItem(f"i{n}", "test", f"text {n}", 0) for n in range(3)]
    output = tmp_path / "distilled.jsonl"
    asyncio.run(distill(items[:1], Teacher(), output, progress=False))
    with output.open("a", encoding="utf-8") as f:
        f.write('{"id": "i1", "pro')  # the process was killed mid-write

    stats = asyncio.run(distill(items, Teacher(), output, progress=False))

    assert (stats.skipped_done, stats.kept) == (1, 2)
    assert sorted(row["id"] for row in read_distilled(output)) == ["i0", "i1", "i2"]
