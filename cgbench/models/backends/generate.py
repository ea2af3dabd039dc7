"""Generation over a list of texts with a guard format: every text's prompts completed in one backend call,
the outputs parsed and combined back per text.

Both the runner (``cgbench run``) and the trainer (CAO's runs over the seed set) generate this way. The format
is anything with the few members listed in ``PromptFormat`` (a ``models.guards`` format, which sits above this
layer and is therefore not imported here).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cgbench.models.backends.base import Backend, BackendError, Prompt, ScoreTokens

OUTPUT_SEPARATOR = "\n---\n"  # between the outputs of a guard that asks several prompts per text


class PromptFormat(Protocol):
    max_new_tokens: int
    score_tokens: ScoreTokens | None

    def build(self, text: str) -> list[Prompt]: ...
    def stop_rule(self) -> Callable[[str], bool] | None: ...
    def parse(self, output: str) -> Any: ...  # a Verdict
    def read(self, output: str, score: float | None) -> Any: ...  # the Verdict of a completion and its score
    def combine(self, verdicts: list[Any]) -> Any: ...


class OutputCountError(BackendError):
    """The backend returned another number of completions than it was given prompts."""


@dataclass(frozen=True)
class Generated:
    verdict: Any  # the format's combined Verdict
    output: str  # the raw outputs of the text's prompts, joined by OUTPUT_SEPARATOR


def generate(backend: Backend, fmt: PromptFormat, texts: Sequence[str]) -> list[Generated]:
    """Build each text's prompts, complete them all in one call, parse and combine the outputs per text."""
    prompts = [fmt.build(text) for text in texts]
    flat = [p for text_prompts in prompts for p in text_prompts]
    returned = backend.complete(
        flat, max_new_tokens=fmt.max_new_tokens, score_tokens=fmt.score_tokens, stop=fmt.stop_rule()
    )
    if len(returned) != len(flat):
        raise OutputCountError(f"the backend returned {len(returned)} outputs for {len(flat)} prompts")
    completions = iter(returned)
    generated = []
    for text_prompts in prompts:
        done = [next(completions) for _ in text_prompts]
        verdict = fmt.combine([fmt.read(c.text, c.score) for c in done])
        generated.append(Generated(verdict, OUTPUT_SEPARATOR.join(c.text for c in done)))
    return generated
