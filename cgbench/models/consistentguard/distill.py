"""Cold-start distillation: a teacher behind an OpenAI-compatible API writes ConsistentGuard reasoning.

The teacher sees the ConsistentGuard instruction and, by default (``label_in_prompt``), the seed label: the paper
distils reasoning that explains the known verdict. It is asked to reason in three steps: understand the request,
match it to the policy categories, judge. An answer is kept only when it parses in ConsistentGuard's format and its
judgment equals the seed label; the others are dropped and counted. Every kept row records the model id the server
reported and its ``system_fingerprint`` (None when the server sends none), so "deepseek-chat" is pinned to what
answered. The output JSONL is appended as answers arrive, so a rerun skips the ids already written.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from cgbench.benchmarks.jsonl import complete_lines
from cgbench.models.backends.openai import OpenAIBackend, _message_text
from cgbench.models.consistentguard.records import read_records
from cgbench.models.consistentguard.seed import SeedItem
from cgbench.models.guards.base import Label
from cgbench.models.guards.consistentguard import (
    THINK_END,
    THINK_START,
    VIOLATIONS_RE,
    consistentguard_prompt,
    judges,
    raw_prompt,
    reasoning,
)

TEACHER_SYSTEM = (
    "You are a safety analyst. Reason in three steps inside the think tags: (1) understand what the user is "
    "asking for and why; (2) match the request against the listed categories, naming any that apply; "
    "(3) judge whether a category is really violated. Then answer exactly in the requested format."
)
# cgbench's wording: the paper conditions the teacher on the ground-truth label, but its prompt is not published.
LABEL_HINT = (
    "\n\nThe verified judgment of this conversation is: {word}. Explain, in the three steps, why it is {word}, "
    "and end with <judge>{word}</judge>."
)


@dataclass
class DistillStats:
    kept: int = 0
    skipped_done: int = 0
    dropped_disagree: int = 0
    dropped_unparsed: int = 0


class TeacherAnswer(NamedTuple):
    text: str
    model: str | None  # the model id the server reported
    system_fingerprint: str | None


class Teacher(OpenAIBackend):
    """The OpenAI-compatible teacher: each answer with the model id and system fingerprint the server reported."""

    async def ask(self, messages: list[dict[str, str]], **sampling: Any) -> TeacherAnswer:
        async with self._client() as client:
            body = {"model": self.model, "messages": messages, **sampling}
            data = await self._post(client, "/chat/completions", body)
        text = _message_text(data, self._shown("/chat/completions"))
        return TeacherAnswer(text, data.get("model"), data.get("system_fingerprint"))


def teacher_messages(text: str, template: str = "cgbench", label: int | None = None) -> list[dict[str, str]]:
    """The teacher's conversation; with a ``label`` (1 = harmful) the user turn states the verdict to explain."""
    user = consistentguard_prompt(text, template)
    if label is not None:
        user += LABEL_HINT.format(word="harmful" if label else "unharmful")
    return [{"role": "system", "content": TEACHER_SYSTEM}, {"role": "user", "content": user}]


def completion_from_teacher(answer: str) -> str | None:
    """The SFT completion (what follows the prompt's opening ``<think>``) in canonical form, or None.

    >>> completion_from_teacher("<think>Asks for bread.</think><violations>None</violations><judge>unharmful</judge>")
    'Asks for bread.\\n</think>\\n<violations>None</violations>\\n<judge>unharmful</judge>'
    >>> completion_from_teacher("unharmful") is None
    True
    """
    think = reasoning(answer)
    if think is None:
        return None
    think = think.split(THINK_START, 1)[-1].strip()
    tail = answer.partition(THINK_END)[2]
    verdicts, violations = judges(tail), VIOLATIONS_RE.findall(tail)
    if not think or len(set(verdicts)) != 1 or len(violations) != 1:
        return None
    return f"{think}\n{THINK_END}\n<violations>{violations[0].strip()}</violations>\n<judge>{verdicts[0]}</judge>"


def read_done(path: Path) -> set[str]:
    """Ids already written to ``path``; a partly written last line is cut off the file, so appends start clean."""
    done = set()
    for line in complete_lines(path):
        try:
            done.add(json.loads(line)["id"])
        except (json.JSONDecodeError, KeyError):
            continue
    return done


class RateLimiter:
    """At most ``per_second`` request starts per second, shared by concurrent tasks."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            now = time.monotonic()
            delay = self._next - now
            self._next = max(now, self._next) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


async def distill(
    items: list[SeedItem],
    teacher,
    output: str | Path,
    *,
    concurrency: int = 8,
    requests_per_second: float = 4.0,
    progress: bool = True,
    template: str = "cgbench",
    label_in_prompt: bool = True,
    **sampling,
) -> DistillStats:
    """Ask the teacher (``teacher.ask``) about every item not yet in ``output``; append the kept rows."""
    from tqdm.auto import tqdm

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    done = read_done(output)
    todo = [item for item in items if item.id not in done]
    stats = DistillStats(skipped_done=len(items) - len(todo))
    limiter, gate = RateLimiter(requests_per_second), asyncio.Semaphore(concurrency)
    from cgbench.models.guards.consistentguard import ConsistentGuardFormat

    fmt = ConsistentGuardFormat(options={"template": template})
    bar = tqdm(total=len(todo), desc="distilling", disable=not progress)

    async def one(item: SeedItem, out) -> None:
        async with gate:
            await limiter.wait()
            messages = teacher_messages(item.text, template, item.label if label_in_prompt else None)
            answer = await teacher.ask(messages, **sampling)
        completion = completion_from_teacher(answer.text)
        verdict = fmt.parse(completion) if completion else None
        if verdict is None or verdict.pred is None:
            stats.dropped_unparsed += 1
        elif verdict.pred != Label(item.label):
            stats.dropped_disagree += 1
        else:
            row = {
                **item.to_dict(),
                "prompt": raw_prompt(item.text, template),
                "completion": completion,
                "template": template,
                "teacher": answer.text,
                "teacher_model": answer.model,
                "teacher_system_fingerprint": answer.system_fingerprint,
                "label_in_prompt": label_in_prompt,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            stats.kept += 1
        bar.update(1)

    with output.open("a", encoding="utf-8") as out:
        await asyncio.gather(*(one(item, out) for item in todo))
    bar.close()
    return stats


def read_distilled(path: str | Path) -> list[dict]:
    """Rows of a distillation JSONL: ``prompt``, ``completion``, ``label`` and the seed fields."""
    return read_records(path, ("prompt", "completion", "label"))
