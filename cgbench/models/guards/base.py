"""What a guard format is: the prompts it builds for a user prompt, and how it reads the answer.

A format never lets the user's text decide the verdict: the parser reads only
the model's output, and the user's text only ever appears inside the prompt.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import IntEnum


class Label(IntEnum):
    SAFE = 0
    UNSAFE = 1


@dataclass(frozen=True)
class Prompt:
    """One model input: chat messages for the model's chat template, or a raw string used as is."""

    messages: tuple[dict[str, str], ...] | None = None
    raw: str | None = None

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.raw is None):
            raise ValueError("a Prompt has either messages or raw text, not both")


@dataclass(frozen=True)
class Verdict:
    """A guard's reading of one output. ``pred`` is None when the output could not be parsed."""

    pred: Label | None
    violations: tuple[str, ...] = ()
    score: float | None = None  # P(unsafe) when the backend gives first-token probabilities

    @property
    def is_parsing_error(self) -> bool:
        return self.pred is None

    def with_score(self, score: float | None) -> Verdict:
        return replace(self, score=score)


@dataclass(frozen=True)
class GuardFormat:
    """Base class of a guard family's prompt format. Subclasses override ``build`` and ``parse``."""

    name: str
    max_new_tokens: int = 16
    # (unsafe token, safe token): P(unsafe) = softmax over these two first-token logits
    score_tokens: tuple[str, str] | None = None
    options: dict[str, str] = field(default_factory=dict)

    def build(self, text: str) -> list[Prompt]:
        """The prompts for one user prompt (usually one; ShieldGemma asks one per policy)."""
        raise NotImplementedError

    def parse(self, output: str) -> Verdict:
        """Read one raw model output."""
        raise NotImplementedError

    def combine(self, verdicts: list[Verdict]) -> Verdict:
        """One verdict from the verdicts of ``build``'s prompts: unsafe if any is, unparsed if any is."""
        if len(verdicts) == 1:
            return verdicts[0]
        if any(v.is_parsing_error for v in verdicts):
            return Verdict(None)
        scores = [v.score for v in verdicts]
        return Verdict(
            Label(max(v.pred for v in verdicts)),
            tuple(code for v in verdicts for code in v.violations),
            max(scores) if all(s is not None for s in scores) else None,
        )
