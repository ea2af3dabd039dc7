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
from cgbench.harness.scoring import ScoringError, check_prediction

Key = tuple[str, str, int]


def key_of(prediction: Prediction) -> Key:
    return prediction["benchmark"], prediction["lang"], prediction["idx"]


def read_done(path: Path) -> dict[Key, Prediction]:
    """The predictions already in ``path``, by (benchmark, lang, idx); a torn last line is cut off the file."""
    done: dict[Key, Prediction] = {}
    for number, line in enumerate(complete_lines(path), start=1):
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ScoringError(f"{path}: line {number}: invalid JSON ({exc.msg}); not a torn last line") from exc
        prediction = check_prediction(record, f"{path}: line {number}")
        done[key_of(prediction)] = prediction
    return done


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
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(p, ensure_ascii=False) + "\n" for p in predictions)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)
    return predictions
