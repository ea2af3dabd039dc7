"""Append-only JSON-lines files that survive a crash mid-write (predictions, translation caches, distillations)."""

from __future__ import annotations

from pathlib import Path


def complete_lines(path: Path) -> list[bytes]:
    """The complete lines of ``path``, cutting a torn last line (a write cut short) off the file.

    Without the cut, the next append would land on the torn line and both records would be lost.
    """
    if not path.is_file():
        return []
    data = path.read_bytes()
    complete, _, torn = data.rpartition(b"\n")
    if torn:
        with path.open("r+b") as handle:
            handle.truncate(len(data) - len(torn))
    return complete.split(b"\n") if complete else []
