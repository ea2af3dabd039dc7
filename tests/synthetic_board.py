"""A results folder of many synthetic guards, scored by the harness: for tests of the statistics and the page
at the size of a real board (twenty guards with forty-character names).

Three sets of made-up names, so no data file is read: two with both classes and one all-unsafe; four
languages, Japanese missing a quarter of the first set's items."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cgbench.harness.scoring import write_metrics, write_predictions

SETS = {"synth_chat": (160, 0.3), "synth_forum": (120, 0.15), "synth_unsafe": (40, 1.0)}  # items, unsafe share
LANGS = ("en", "fr", "ja", "hi")
NAME_WIDTH = 40


def guard_name(k: int) -> str:
    """A forty-character guard name, distinct in its first characters."""
    return f"guard-{k:02d}-multilingual-safety-classifier-xl"[:NAME_WIDTH].ljust(NAME_WIDTH, "x")


def write_board(root: Path, n_guards: int = 20, seed: int = 0, n_bootstrap: int = 2000) -> list[str]:
    """``root/<guard>/run-1/`` for ``n_guards`` guards of rising accuracy; returns their names."""
    rng = np.random.default_rng(seed)
    labels = {name: (rng.random(n) < share).astype(int) for name, (n, share) in SETS.items()}
    names = []
    for k in range(n_guards):
        name = guard_name(k)
        skill = 0.6 + 0.3 * k / max(1, n_guards - 1)
        predictions = []
        for benchmark, y in labels.items():
            for lang in LANGS:
                accuracy = skill - (0.08 if lang == "hi" else 0.0)
                for idx, label in enumerate(y):
                    if benchmark == "synth_chat" and lang == "ja" and idx % 4 == 3:
                        continue
                    right = rng.random() < accuracy
                    pred = None if rng.random() < 0.01 else int(label if right else 1 - label)
                    predictions.append(
                        {
                            "benchmark": benchmark,
                            "lang": lang,
                            "idx": idx,
                            "label": int(label),
                            "pred": pred,
                            "score": None,
                            "violations": [],
                            "output": "",
                        }
                    )
        run_dir = root / f"guard-{k:02d}" / "run-1"
        write_predictions(run_dir / "predictions.jsonl", predictions)
        info = {
            "guard": name,
            "model": f"org/{name}",
            "run_id": "run-1",
            "created": f"2026-01-{k + 1:02d}T00:00:00+00:00",
        }
        (run_dir / "run.json").write_text(json.dumps(info), encoding="utf-8")
        write_metrics(run_dir, n_bootstrap=n_bootstrap)
        names.append(name)
    return names
