"""What the data layer needs of a translator: the interface, its error, and the per-item translation cache.

The translators themselves (googletrans, hf, openai) and ``get_translator`` live in :mod:`cgbench.models.translators`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from cgbench.benchmarks.jsonl import complete_lines


class TranslationError(RuntimeError):
    """A translator cannot run at all (missing package, offline, unknown model or language)."""


class Translator(Protocol):
    spec: str  # as the user named it, e.g. "hf:facebook/nllb-200-distilled-600M"; keys the translation cache
    model: str | None
    batch_size: int  # texts per call that suit this translator

    def translate(self, texts: Sequence[str], target: str) -> list[str | None]:
        """English ``texts`` in ``target`` (ISO 639-1 code), in order; None where the translator gave up on a text."""
        ...


def item_key(spec: str, target: str, text: str) -> str:
    return hashlib.sha256(f"{spec}\0{target}\0{text}".encode()).hexdigest()


class TranslationCache:
    """Keyed by (translator spec, target language, English text); survives a crash mid-write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        for line in complete_lines(path):  # a line cut short by a crash is dropped: its text is translated again
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # an unreadable entry is a cache miss
            self.entries[record["key"]] = record["text"]

    def get(self, spec: str, target: str, text: str) -> str | None:
        return self.entries.get(item_key(spec, target, text))

    def put_many(self, spec: str, target: str, pairs: list[tuple[str, str]]) -> None:
        """Store (English, translation) pairs and flush them to disk before returning."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            for text, translation in pairs:
                key = item_key(spec, target, text)
                self.entries[key] = translation
                handle.write(json.dumps({"key": key, "translator": spec, "text": translation}, ensure_ascii=False))
                handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
