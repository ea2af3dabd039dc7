"""The predictions file of a native run: appended batch by batch, durable, and resumable after a kill.

Each batch is written, flushed and fsync'ed before the next starts. A process
killed mid-write leaves at most one torn last line; reading the file back drops
it (and truncates the file there), so that item is simply done again.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from cgbench.benchmarks.jsonl import complete_lines
from cgbench.harness.schema import Prediction
from cgbench.harness.scoring import Key, ScoringError, by_key, check_prediction, key_of, read_predictions


def read_done(path: Path) -> dict[Key, Prediction]:
    """The predictions already in ``path``, by (benchmark, lang, idx); a torn last line is cut off the file.

    An item predicted twice is refused, by the same rule as ``cgbench score``.
    """
    predictions = []
    for number, line in enumerate(complete_lines(path), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ScoringError(f"{path}: line {number}: invalid JSON ({exc.msg}); not a torn last line") from exc
        predictions.append(check_prediction(record, f"{path}: line {number}"))
    return by_key(predictions, str(path))


def expand(gz_path: Path, path: Path) -> None:
    """Turn a finished run's ``predictions.jsonl.gz`` into the appendable ``predictions.jsonl`` (then drop the .gz)."""
    predictions = list(by_key(read_predictions(gz_path), str(gz_path)).values())
    _write_atomic(path, predictions)
    gz_path.unlink()


def append(path: Path, predictions: Iterable[Prediction]) -> None:
    """Append ``predictions`` as JSON lines and make them durable before returning."""
    text = "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in predictions)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def rewrite_sorted(path: Path) -> list[Prediction]:
    """Rewrite ``path`` in (benchmark, lang, idx) order, atomically, so every run of the same items is byte-equal."""
    predictions = sorted(read_done(path).values(), key=key_of)
    _write_atomic(path, predictions)
    return predictions


def _write_atomic(path: Path, predictions: list[Prediction]) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in predictions)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
