"""A per-item translation cache: one JSON line per translated text, appended as batches finish."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def item_key(spec: str, target: str, text: str) -> str:
    return hashlib.sha256(f"{spec}\0{target}\0{text}".encode()).hexdigest()


class TranslationCache:
    """Keyed by (translator spec, target language, English text); survives a crash mid-write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, str] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash: its text is translated again
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
