"""What a guard format is: the prompts it builds for a user prompt, and how it reads the answer.

A format never lets the user's text decide the verdict: the parser reads only
the model's output, and the user's text only ever appears inside the prompt.

Raw prompts (``Prompt.raw``) carry no BOS token: the backend's tokenizer adds it
(``add_special_tokens=True``, the default of transformers, vLLM and lm-eval's ``hf`` model).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import ClassVar

from cgbench.benchmarks.control_tokens import CONTROL_TOKEN
from cgbench.benchmarks.registry import unknown_name
from cgbench.models.backends.base import Prompt, ScoreTokens

__all__ = ["GuardFormat", "Label", "Prompt", "Verdict", "escape_controls", "unknown_name"]

ESCAPE = "\u200b"  # zero-width space: after a token's first character, the spelling no longer matches it


def escape_controls(text: str, spans: Sequence[tuple[int, int]] | None = None) -> str:
    """``text`` with every control-token spelling inside the user ``spans`` (all of it when None) broken
    by a zero-width space, for harnesses that tokenize the prompt string themselves (lm-eval).

    >>> escape_controls("<|eot_id|>hi<|eot_id|>", [(10, 22)])
    '<|eot_id|>hi<\u200b|eot_id|>'
    """
    spans = [(0, len(text))] if spans is None else spans
    out, cursor = [], 0
    for begin, end in spans:
        for match in CONTROL_TOKEN.finditer(text, begin, end):
            out += [text[cursor : match.start() + 1], ESCAPE]
            cursor = match.start() + 1
    return "".join(out) + text[cursor:]


class Label(IntEnum):
    SAFE = 0
    UNSAFE = 1


@dataclass(frozen=True)
class Verdict:
    """A guard's reading of one output. ``pred`` is None when the output could not be parsed."""

    pred: Label | None
    violations: tuple[str, ...] = ()
    score: float | None = None  # P(unsafe) when the backend gives first-token probabilities
    # an unsafe answer whose format asks for a categories line and got none (Llama Guard 4's bare ``unsafe``):
    # a verdict, counted apart from parse failures
    codes_missing: bool = False

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
    # (unsafe token, safe token), either side possibly a group: P(unsafe) = the unsafe side's share of the softmax
    # over these first-token logits (see ``ScoreTokens``)
    score_tokens: ScoreTokens | None = None
    options: dict[str, str] = field(default_factory=dict)

    # option -> allowed values, the first one being the default
    choices: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __post_init__(self) -> None:
        clean = {}
        for key, value in self.options.items():
            if key not in self.choices:
                raise unknown_name(f"option of format {self.name!r}", key, self.choices)
            if str(value) not in self.choices[key]:
                raise unknown_name(f"value of option {key!r}", str(value), self.choices[key])
            clean[key] = str(value)
        object.__setattr__(self, "options", clean)

    def option(self, key: str) -> str:
        """An option's value, or its default."""
        return self.options.get(key, self.choices[key][0])

    def build(self, text: str) -> list[Prompt]:
        """The prompts for one user prompt (usually one; ShieldGemma asks one per policy)."""
        raise NotImplementedError

    def single_prompt(self, text: str) -> Prompt:
        """The one prompt of a single-prompt harness (lm-eval); an error for formats that need several."""
        prompts = self.build(text)
        if len(prompts) != 1:
            raise ValueError(
                f"format {self.name!r} builds {len(prompts)} prompts per item with options {self.options}; "
                f"a single-prompt harness needs one: choose it with the format's options {self.choices}"
            )
        return prompts[0]

    def parse(self, output: str) -> Verdict:
        """Read one raw model output."""
        raise NotImplementedError

    def read(self, output: str, score: float | None) -> Verdict:
        """The verdict of one completion: its parsed text with the backend's first-token P(unsafe) attached.
        Formats whose authors decide from the score (ShieldGemma) override this."""
        return self.parse(output).with_score(score)

    def chat_template_problem(self) -> str | None:
        """Why a generic harness that wraps this format's message prompt in the model's chat template (lm-eval's
        ``--apply_chat_template``) would not send the model the exact prompt; None when it would."""
        return None

    def stop_rule(self) -> Callable[[str], bool] | None:
        """A rule that is true of a partial output once more tokens cannot change its parsed verdict (pred and
        violations), so a backend may stop there; None: generate to EOS or ``max_new_tokens``."""
        return None

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


def first_line(output: str) -> tuple[str, list[str]]:
    """The first non-empty line of an output (stripped) and the non-empty lines after it."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return (lines[0], lines[1:]) if lines else ("", [])


def complete_lines(output: str) -> list[str]:
    """The non-empty lines of a partial output that a line break has already ended (stripped).

    >>> complete_lines("\\n\\nunsafe\\nS1,")
    ['unsafe']
    """
    return [line.strip() for line in (output + "x").splitlines()[:-1] if line.strip()]
