"""Reading the trainer's JSONL files (distilled samples, translations, CAO pairs) with clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_records(path: str | Path, required: tuple[str, ...]) -> list[dict[str, Any]]:
    """The JSON objects of a JSONL file, one per non-empty line, each holding every ``required`` field.

    A bad line raises one ``ValueError`` naming the file, the line (0-based row) and the field.
    """
    path = Path(path)
    records = []
    for row, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: row {row}: invalid JSON ({exc.msg}); truncated or hand-edited file?") from exc
        if not isinstance(record, dict):
            raise ValueError(f"{path}: row {row}: expected a JSON object, got {type(record).__name__}")
        for field in required:
            if field not in record:
                raise ValueError(f"{path}: row {row}: field {field!r} is missing")
        records.append(record)
    return records
