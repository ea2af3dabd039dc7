"""Steps/s of each ConsistentGuard training stage (SFT, GRPO, CAO) on this machine, for given model folders.

    python perf/bench_training.py --model tiny --model path/to/SmolLM2-folder --steps 5

``tiny`` builds the tiny random Qwen2 of ``cgbench train tiny-model``. Data: 8 seed prompts from the
mirror's training files with a fixed three-step reasoning as the distilled completion, and CAO pairs
built from them (chosen = the right verdict, rejected = the wrong one). Prints a table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from cgbench.models.consistentguard.cao_trainer import train_cao
from cgbench.models.consistentguard.config import load_section
from cgbench.models.consistentguard.grpo import train_grpo
from cgbench.models.consistentguard.seed import sample_seed, write_seed
from cgbench.models.consistentguard.sft import train_sft
from cgbench.models.consistentguard.tiny import build_tiny_model
from cgbench.models.guards.consistentguard import ConsistentGuardFormat


def completion(label: int, flip: bool = False) -> str:
    word = "harmful" if label != flip else "unharmful"
    codes = "S2" if word == "harmful" else "None"
    return f"Step 1: a request. Step 2: {codes}. Step 3: {word}.\n</think>\n<violations>{codes}</violations>\n<judge>{word}</judge>"  # noqa: E501


def write_data(root: Path) -> tuple[Path, Path, Path]:
    items, _ = sample_seed(["guardreasoner/aegis"], n=8, balance=True)
    fmt = ConsistentGuardFormat()
    seed, distilled, pairs = root / "seed.jsonl", root / "distilled.jsonl", root / "pairs.jsonl"
    write_seed(items, seed)
    with distilled.open("w") as d, pairs.open("w") as p:
        for item in items:
            prompt = fmt.build(item.text)[0].raw
            d.write(json.dumps({**item.to_dict(), "prompt": prompt, "completion": completion(item.label)}) + "\n")
            row = {"prompt": prompt, "chosen": completion(item.label), "rejected": completion(item.label, True)}
            p.write(json.dumps({**row, "anchor_prompt": prompt, "anchor_completion": row["chosen"]}) + "\n")
    return seed, distilled, pairs


def bench(model: str, steps: int, root: Path) -> list[tuple[str, float, float]]:
    seed, distilled, pairs = write_data(root)
    common = {"use_cpu": True, "bf16": False, "max_steps": steps, "logging_steps": steps}
    rows = []
    stages = [
        ("sft (batch 4)", train_sft, "sft", {"data": str(distilled), "per_device_train_batch_size": 4}),
        ("grpo (4 gens x 64 tok)", train_grpo, "grpo",
         {"data": str(seed), "num_generations": 4, "per_device_train_batch_size": 4, "max_completion_length": 64}),
        ("cao (batch 2, KL anchor)", train_cao, "cao", {"data": str(pairs), "gradient_accumulation_steps": 1}),
    ]  # fmt: skip
    for name, train, section, extra in stages:
        stage = load_section(None, section, {"model": model, "output_dir": str(root / section), **common, **extra})
        start = time.perf_counter()
        metrics = train(stage)
        rows.append((name, metrics["train_steps_per_second"], time.perf_counter() - start))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", required=True, help="HF folder, or 'tiny' (repeatable)")
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    table = Table("model", "stage", "steps/s", "wall s (incl. load, save)", title=f"training speed, {args.steps} steps")
    for model in args.model:
        with tempfile.TemporaryDirectory() as tmp:
            path = str(build_tiny_model(Path(tmp) / "tiny")) if model == "tiny" else model
            for name, rate, wall in bench(path, args.steps, Path(tmp)):
                table.add_row(Path(model).name, name, f"{rate:.2f}", f"{wall:.1f}")
    Console().print(table)


if __name__ == "__main__":
    main()
