"""A run folder as one run: a plain-name id, one process at a time, and a resume that only continues the same run.

``run.json`` records the run's scope (sets, languages, limit, format and backend
options, batch size). A resume compares it field by field and refuses any
difference, so predictions of two different runs never share one file.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cgbench.harness.runfolder import RunError, check_run_id, predictions_file

LOCK_FILE = ".lock"

__all__ = ["LOCK_FILE", "RunError", "check_run_id", "check_same_run", "locked", "newest_run", "read_run_json"]


def read_run_json(run_dir: Path) -> dict[str, Any] | None:
    """The run's ``run.json``, or None when there is none; a broken one is an error naming the file."""
    path = run_dir / "run.json"
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: invalid JSON ({exc}); fix or remove it, or choose another --run-id") from exc
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def newest_run(root: Path) -> Path | None:
    """The run under ``root`` (one guard's folder) that started last, by the ``created`` its run.json records."""
    runs = [p.parent for p in root.glob("*/run.json") if predictions_file(p.parent) is not None]
    if not runs:
        return None
    return max(runs, key=lambda d: (str((read_run_json(d) or {}).get("created") or ""), d.name))


def check_same_run(run_dir: Path, previous: dict[str, Any] | None, current: dict[str, Any], force: bool) -> None:
    """Refuse to continue a run whose recorded guard, model, backend, format or scope differs from ``current``."""
    if previous is None:
        if force:
            return
        raise RunError(
            f"{run_dir} holds predictions but no run.json, so what they were run with is unknown; "
            "add --force to continue it anyway, or choose another --run-id"
        )
    for name, value in current.items():
        if name not in previous:
            if force:
                continue
            raise RunError(
                f"{run_dir}/run.json does not record {name!r} (an older run); add --force to continue it "
                "with the current settings, or choose another --run-id"
            )
        if previous[name] != value:
            raise RunError(
                f"{run_dir} was started with {name}={previous[name]!r}, not {value!r}; "
                "resume with the same settings or choose another --run-id"
            )


def check_same_data(
    run_dir: Path, previous: dict[str, Any], checksums: dict[str, str], allow_changed: bool, force: bool
) -> None:
    """Refuse to continue a run on data files whose sha256 differs from the one its run.json records, unless
    ``allow_changed`` (``--allow-changed-data``: the run then records both sessions' digests)."""
    recorded = previous.get("data_checksums")
    if not isinstance(recorded, dict):
        if force:
            return
        raise RunError(
            f"{run_dir}/run.json does not record 'data_checksums' (an older run), so the data it was run on is "
            "unknown; add --force to continue it on the current data, or choose another --run-id"
        )
    if allow_changed:
        return
    for path in sorted(set(recorded) | set(checksums)):
        if recorded.get(path) != checksums.get(path):
            raise RunError(
                f"{run_dir} was run on {path} with sha256 {recorded.get(path)}, but that file now has sha256 "
                f"{checksums.get(path)}; resume on the same data, or pass --allow-changed-data to continue on "
                "the new data (run.json then records both)"
            )


def add_session(previous: dict[str, Any], session: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The run's data record and sessions once ``session`` (run on ``data``, see ``runinfo.data_record``) has
    started: the data counts as pinned only when every session's data was pinned."""
    changed = {**(previous.get("data_changed") or {}), **data["data_changed"]}
    return {
        "data_checksums": data["data_checksums"],
        "data_pinned": bool(previous.get("data_pinned", True)) and data["data_pinned"],
        "data_changed": changed,
        "allow_changed_data": bool(previous.get("allow_changed_data")) or session["allow_changed_data"],
        "sessions": [*(previous.get("sessions") or []), session],
    }


@contextlib.contextmanager
def locked(run_dir: Path) -> Iterator[None]:
    """Hold an advisory lock on ``run_dir`` (creating the folder); a second holder gets a clear error.

    A folder this call created is removed again when the body fails before writing a predictions file,
    so a failed start (missing model, bad option) does not leave a folder behind.
    """
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    lock_path = run_dir / LOCK_FILE
    handle = lock_path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise RunError(
                f"{run_dir} is in use by another cgbench run (pid {holder}); wait for it to end, "
                "or choose another --run-id"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        try:
            yield
        except BaseException:
            if created and predictions_file(run_dir) is None:
                _remove_empty(run_dir)
            raise
    finally:
        handle.close()


def _remove_empty(run_dir: Path) -> None:
    for name in (LOCK_FILE, "run.json"):
        with contextlib.suppress(FileNotFoundError):
            (run_dir / name).unlink()
    with contextlib.suppress(OSError):
        run_dir.rmdir()
