"""Speed and fidelity of the e5 engines on the same suite texts, and the cold full-suite run of the CPU guard.

    python perf/bench_embeddings.py [--texts 2000] [--engines torch:fp32,torch:bf16,onnx:q4,onnx:int8]
                                    [--f1 simple_safety_tests] [--avx2] [--full-run]

Takes the texts evenly from the 18 splits (``$CGBENCH_DATA_DIR`` or the cache), as the probe embeds them (one
text at a time), and prints for each engine: load time, tokens/s, texts/s, the speed ratio to the torch fp32
engine (the engine of the committed runs), tokens per CPU-second of the process and that ratio (steadier than
wall time on a shared machine: with OMP_NUM_THREADS=1 it is close to the speed of one free core), and the
cosine of its vectors to torch fp32's (min, mean, share >= 0.995). ``--f1`` scores whole splits with each
engine's own head (trained on the English training prompts, ``align=none`` so that no other benchmark's pairs
need embedding) and prints F1 per split and the difference to torch fp32. ``--avx2`` limits torch's oneDNN and
MKL kernels to AVX2 (ONNX Runtime's MLAS picks its kernels by CPUID and has no such switch). ``--full-run``
times a cold `cgbench run` over the whole suite (a fresh cache folder) in a subprocess. Prints figures and the
CPU flags; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

AVX2_ENV = {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}


def cpu_flags() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    flags = sorted(set(re.findall(r"\b(avx2|avx512f|avx512_bf16|avx512_vnni|avx_vnni|amx_bf16|amx_int8)\b", text)))
    model = re.search(r"model name\s*:\s*(.*)", text)
    return f"{model.group(1) if model else '?'}; {' '.join(flags)}; {os.cpu_count()} logical CPUs"


def suite_texts(count: int) -> list[str]:
    from cgbench.benchmarks import BENCHMARKS, LANGUAGES, load_split

    splits = [[item.text for item in load_split(b, lang)] for b in BENCHMARKS for lang in LANGUAGES]
    texts: list[str] = []
    for k, split in enumerate(splits):
        share = count // len(splits) + (k < count % len(splits))
        texts += split[:: max(len(split) // share, 1)][:share]
    return texts


def load(engine: str, precision: str):
    if engine == "torch":
        from cgbench.models.backends.e5torch import TorchE5

        return TorchE5(precision=precision)
    from cgbench.models.backends.e5onnx import OnnxE5

    return OnnxE5(precision=precision)


def engines(count: int, names: list[str]) -> None:
    texts = suite_texts(count)
    reference, reference_s, reference_cpu = None, 0.0, 0.0
    for name in names:
        engine, precision = name.split(":")
        start = time.perf_counter()
        model = load(engine, precision)
        load_s = time.perf_counter() - start
        ids = model.encode(texts)
        tokens = sum(len(i) + 2 for i in ids)
        model.embed_ids(ids[:4])  # warm-up
        start, cpu_start = time.perf_counter(), time.process_time()
        vectors = model.embed_ids(ids)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
        if reference is None:
            if name != "torch:fp32":
                print("(the first engine is the reference; list torch:fp32 first for the targets)")
            reference, reference_s, reference_cpu = vectors, seconds, cpu_seconds
            print(f"{len(texts)} texts, {tokens} tokens, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}")
        cosine = (vectors * reference).sum(axis=1)
        print(
            f"{name:11s} load {load_s:5.1f} s  {seconds:7.1f} s  {tokens / seconds:7.0f} tokens/s  "
            f"{len(texts) / seconds:6.1f} texts/s  x{reference_s / seconds:4.2f}  "
            f"{tokens / cpu_seconds:7.0f} tokens/CPU-s  x{reference_cpu / cpu_seconds:4.2f}  cosine to {names[0]}: "
            f"min {cosine.min():.5f} mean {cosine.mean():.5f} >=0.995 {100 * np.mean(cosine >= 0.995):.2f}%",
            flush=True,
        )


def f1_per_split(splits: list[str], names: list[str]) -> None:
    from sklearn.metrics import f1_score

    from cgbench.benchmarks import LANGUAGES, load_split
    from cgbench.models.backends.cpu import THRESHOLD, E5Probe

    first: dict[str, float] = {}
    for name in names:
        engine, precision = name.split(":")
        probe = E5Probe(engine=engine, precision=precision, align="none")
        row = []
        for benchmark in splits:
            for lang in LANGUAGES:
                items = load_split(benchmark, lang)
                probe.embedder.embed_all([item.text for item in items], desc=f"{name} {benchmark} {lang}")
                scores = np.array(probe.score([item.text for item in items], lang=lang, benchmark=benchmark))
                f1 = 100 * f1_score([item.label for item in items], scores >= THRESHOLD)
                first.setdefault(f"{benchmark}/{lang}", f1)
                row.append(f"{benchmark}/{lang} {f1:.1f} ({f1 - first[f'{benchmark}/{lang}']:+.1f})")
        print(f"F1 {name:11s} " + "  ".join(row), flush=True)


def full_run() -> None:
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as results:
        env = {**os.environ, "CGBENCH_CACHE_DIR": cache}
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "cgbench.cli", "run", "--results-dir", results, "--run-id", "cold"],
            env=env,
            check=True,
        )
        print(f"cgbench run, full suite, cold cache: {time.perf_counter() - start:.0f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--engines", default="torch:fp32,torch:bf16,onnx:q4,onnx:int8")
    parser.add_argument("--f1", default="", help="comma-separated benchmarks to score per engine (all languages)")
    parser.add_argument("--avx2", action="store_true", help="limit torch's kernels to AVX2 (re-runs this script)")
    parser.add_argument("--full-run", action="store_true", help="also time a cold full-suite `cgbench run`")
    args = parser.parse_args()
    if args.avx2 and not all(os.environ.get(k) == v for k, v in AVX2_ENV.items()):
        argv = [sys.executable, *sys.argv]
        sys.exit(subprocess.run(argv, env={**os.environ, **AVX2_ENV}).returncode)
    print(f"CPU: {cpu_flags()}; torch ISA limit: {os.environ.get('ONEDNN_MAX_CPU_ISA', 'none')}")
    names = args.engines.split(",")
    if args.texts:
        engines(args.texts, names)
    if args.f1:
        f1_per_split(args.f1.split(","), names)
    if args.full_run:
        full_run()


if __name__ == "__main__":
    main()
