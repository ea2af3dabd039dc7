"""What a run folder is, below both scoring and the run lock: its plain-name id, its predictions file, its error.

``scoring`` reads and writes run folders and ``rundir`` guards one run at a time; both take these names from
here, so neither imports the other.
"""

from __future__ import annotations

import re
from pathlib import Path

PREDICTION_FILES = ("predictions.jsonl", "predictions.jsonl.gz")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # used with fullmatch only
MAX_RUN_ID = 128  # characters; a file name may hold 255 bytes, and run ids show in tables and file names


class RunError(ValueError):
    """A run that cannot start: bad options, a missing model, a folder that holds another run or is in use."""


def check_run_id(run_id: str, option: str = "--run-id") -> str:
    """``run_id`` when it is a plain folder name (letters, digits, ``.``, ``_``, ``-``; no path, no ``..``;
    at most ``MAX_RUN_ID`` characters)."""
    if len(run_id) > MAX_RUN_ID:
        raise RunError(f"{option} is {len(run_id)} characters long; use at most {MAX_RUN_ID}")
    if not RUN_ID.fullmatch(run_id) or ".." in run_id:
        raise RunError(
            f"{option} {run_id!r} is not a plain name: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, and no '..'"
        )
    return run_id


def predictions_file(run_dir: str | Path) -> Path | None:
    """The predictions file of a run folder, or None."""
    return next((Path(run_dir) / name for name in PREDICTION_FILES if (Path(run_dir) / name).is_file()), None)
