"""The one interface every translator implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class TranslationError(RuntimeError):
    """A translator cannot run at all (missing package, offline, unknown model or language)."""


class Translator(Protocol):
    spec: str  # as the user named it, e.g. "hf:facebook/nllb-200-distilled-600M"; keys the translation cache
    model: str | None
    batch_size: int  # texts per call that suit this translator

    def translate(self, texts: Sequence[str], target: str) -> list[str | None]:
        """English ``texts`` in ``target`` (ISO 639-1 code), in order; None where the translator gave up on a text."""
        ...
