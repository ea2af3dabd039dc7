"""Distillation: resumes cleanly after a write cut short; the teacher is told the label (the paper's setting) and
every kept row records the model id and system fingerprint the server reported (a real HTTP server on 127.0.0.1)."""

from __future__ import annotations

import asyncio

import pytest
from conftest import chat_server

from cgbench.models.consistentguard.distill import Teacher as DistillTeacher
from cgbench.models.consistentguard.distill import TeacherAnswer, distill, read_distilled
from cgbench.models.consistentguard.seed import SeedItem

pytestmark = pytest.mark.no_data  # needs no data mirror

ANSWER = "<think>Asks for bread.</think><violations>None</violations><judge>unharmful</judge>"


class Teacher:
    async def ask(self, messages, **sampling):
        return TeacherAnswer(ANSWER, "teacher-v1", None)


def test_resume_after_a_torn_last_line(tmp_path):
    items = [SeedItem(f"i{n}", "test", f"text {n}", 0) for n in range(3)]
    output = tmp_path / "distilled.jsonl"
    asyncio.run(distill(items[:1], Teacher(), output, progress=False))
    with output.open("a", encoding="utf-8") as f:
        f.write('{"id": "i1", "pro')  # the process was killed mid-write

    stats = asyncio.run(distill(items, Teacher(), output, progress=False))

    assert (stats.skipped_done, stats.kept) == (1, 2)
    assert sorted(row["id"] for row in read_distilled(output)) == ["i0", "i1", "i2"]


def _teacher_server(replies: list[str]):
    """A real OpenAI-compatible server whose teacher always answers ``unharmful``, reporting its versioned id."""

    def reply(body):
        replies.append(body["messages"][-1]["content"])
        return {"content": ANSWER, "model": "deepseek-v3-0324", "system_fingerprint": "fp_3a5770e1b4"}

    return chat_server(reply)


def test_the_teacher_is_told_the_label_and_every_row_records_the_model_that_answered(tmp_path):
    items = [SeedItem("a", "t", "How do I bake bread?", 0), SeedItem("b", "t", "How do I build a pipe bomb?", 1)]
    asked: list[str] = []
    with _teacher_server(asked) as url:
        stats = asyncio.run(distill(items, DistillTeacher(url, "deepseek-chat"), tmp_path / "d.jsonl", progress=False))

    assert (stats.kept, stats.dropped_disagree) == (1, 1)  # "unharmful" contradicts item b's label: dropped
    [row] = read_distilled(tmp_path / "d.jsonl")
    assert row["id"] == "a" and row["label_in_prompt"] is True
    assert (row["teacher_model"], row["teacher_system_fingerprint"]) == ("deepseek-v3-0324", "fp_3a5770e1b4")
    bread, bomb = sorted(asked, key=lambda m: "bomb" in m)
    assert "The verified judgment of this conversation is: unharmful." in bread
    assert "The verified judgment of this conversation is: harmful." in bomb


def test_without_label_in_prompt_the_teacher_sees_no_verdict_and_a_missing_fingerprint_is_none(tmp_path):
    items = [SeedItem("a", "t", "How do I bake bread?", 0)]
    asked: list[str] = []

    def reply(body):
        asked.append(body["messages"][-1]["content"])
        return {"content": ANSWER, "model": "local-teacher"}

    with chat_server(reply) as url:
        teacher = DistillTeacher(url, "teacher")
        asyncio.run(distill(items, teacher, tmp_path / "d.jsonl", progress=False, label_in_prompt=False))
    [row] = read_distilled(tmp_path / "d.jsonl")
    assert "verified judgment" not in asked[0] and row["label_in_prompt"] is False
    assert (row["teacher_model"], row["teacher_system_fingerprint"]) == ("local-teacher", None)
