"""`cgbench data cost` over the whole suite: wall and CPU seconds per tokenizer, and in all.

    python perf/bench_cost.py                      # qwen2.5, smollm2, xlm-r over every set and language
    python perf/bench_cost.py --tokenizer gemma3   # one tokenizer

Run it twice: the first run of a GGUF tokenizer (smollm2, gemma3) converts it and caches the result under
$CGBENCH_CACHE_DIR, which later runs read. Loading counts (transformers' import is part of it).
"""

from __future__ import annotations

import argparse
import os
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", action="append", help="repeat; default qwen2.5, smollm2, xlm-r")
    args = parser.parse_args()

    from cgbench.benchmarks import BENCHMARKS, available_languages, load_split
    from cgbench.benchmarks.sources import cache_dir
    from cgbench.harness.cost import DEFAULT_FAMILIES, load_counter, split_rows

    families = args.tokenizer or list(DEFAULT_FAMILIES)
    wall, cpu = time.perf_counter(), time.process_time()
    langs = available_languages()
    splits = {b: {lang: load_split(b, lang) for lang in langs} for b in BENCHMARKS}
    n_items = sum(len(items) for by_lang in splits.values() for items in by_lang.values())
    print(f"data: {n_items} items, {time.perf_counter() - wall:.1f} s wall")
    for family in families:
        w, c = time.perf_counter(), time.process_time()
        counter = load_counter(family, cache_dir())
        loaded_w, loaded_c = time.perf_counter() - w, time.process_time() - c
        rows = [row for b, by_lang in splits.items() for row in split_rows(family, b, by_lang, counter)]
        tokens = sum(r.prefill_tokens for r in rows)
        w, c = time.perf_counter() - w, time.process_time() - c
        print(
            f"{family:8s} load {loaded_w:5.1f} s wall ({loaded_c:5.1f} CPU), total {w:5.1f} s wall ({c:5.1f} CPU), "
            f"{tokens / max(w - loaded_w, 1e-9) / 1e6:.2f} M prompt tokens/s counted"
        )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"all: {wall:.1f} s wall, {cpu:.1f} s CPU; cores {os.cpu_count()}; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
