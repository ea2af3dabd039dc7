"""Formats whose answer opens with fixed words before the verdict (``Safety: Unsafe``, ``Harmful request: yes``).

The model's first generated token is then the opening word, not the verdict, so a first-token P(unsafe) read
through the model's chat template is meaningless. ``render=raw`` gives the chat template's text followed by those
opening words (the tokens the model writes anyway), so the first generated token is the verdict; the parser and
the stop rule put the words back in front of the output. ``render=messages`` gives the conversation for the
model's own chat template, and no first-token score.

The answer's first line must be the verdict line exactly; a second line names the categories when the verdict is
not safe. Anything else is a parse failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, ClassVar

from cgbench.models.guards.base import GuardFormat, Label, Prompt, Verdict, complete_lines


@dataclass(frozen=True)
class PrefilledVerdictFormat(GuardFormat):
    """Subclasses set ``verdict_prefix``, ``verdict_line`` (group 1 = the verdict word), ``safe_word``, and
    implement ``raw_text``, ``messages`` and ``violations`` (and ``label`` for more than two verdicts)."""

    verdict_prefix: ClassVar[str] = ""
    verdict_line: ClassVar[re.Pattern[str]]
    safe_word: ClassVar[str] = ""
    choices: ClassVar[dict[str, tuple[str, ...]]] = {"render": ("messages", "raw")}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.option("render") == "messages":  # the first generated token is the opening word, not the verdict
            object.__setattr__(self, "score_tokens", None)

    @property
    def prefix(self) -> str:
        """The part of the answer that the raw prompt already holds."""
        return self.verdict_prefix if self.option("render") == "raw" else ""

    def raw_text(self, text: str) -> str:
        """The chat template's text for one user prompt, up to where the answer starts (no BOS)."""
        raise NotImplementedError

    def messages(self, text: str) -> tuple[dict[str, Any], ...]:
        """The conversation that the authors pass to the model's chat template."""
        raise NotImplementedError

    def build(self, text: str) -> list[Prompt]:
        if self.option("render") == "raw":
            return [Prompt.around(lambda t: self.raw_text(t) + self.verdict_prefix, text)]
        return [Prompt(messages=self.messages(text))]

    def verdict_word(self, line: str) -> str | None:
        match = self.verdict_line.fullmatch(line)
        return match.group(1) if match else None

    def label(self, word: str) -> Label:
        """The label of a verdict word other than ``safe_word``."""
        return Label.UNSAFE

    def violations(self, line: str) -> tuple[str, ...]:
        """The categories named on the answer's second line ("" when there is none)."""
        raise NotImplementedError

    def parse(self, output: str) -> Verdict:
        lines = [line.strip() for line in (self.prefix + output).strip().splitlines() if line.strip()]
        word = self.verdict_word(lines[0]) if lines else None
        if word is None:
            return Verdict(None)
        if word == self.safe_word:
            return Verdict(Label.SAFE)
        return Verdict(self.label(word), self.violations(lines[1] if len(lines) > 1 else ""))

    def stop_rule(self):
        return self.settled

    def settled(self, output: str) -> bool:
        """The verdict line is complete and is safe (or off-format), or the categories line after it is complete."""
        lines = complete_lines(self.prefix + output)
        if not lines:
            return False
        word = self.verdict_word(lines[0])
        return word is None or word == self.safe_word or len(lines) >= 2
