"""The one interface every inference backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cgbench.models.guards.base import Prompt


class BackendError(RuntimeError):
    """A backend could not produce completions (server gave up, model missing, bad options)."""


@dataclass(frozen=True)
class Completion:
    text: str
    score: float | None = None  # P(first score token) over the two score tokens, from first-token logits


class Backend(Protocol):
    name: str

    def complete(
        self,
        prompts: Sequence[Prompt],
        *,
        max_new_tokens: int,
        score_tokens: tuple[str, str] | None = None,
    ) -> list[Completion]:
        """Greedy completions for a batch of prompts, in order; with ``score_tokens``, also P(unsafe)."""
        ...
