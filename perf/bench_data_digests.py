"""What checking the data costs: hashing every file of the data mirror from its bytes (as ``cgbench run`` does
once per run), against taking the digests from the digest cache (path, size, mtime, inode and ctime).

    python perf/bench_data_digests.py

Needs ``$CGBENCH_DATA_DIR`` (the mirror). Works in a temporary cache. Prints figures and ratios; asserts nothing.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path


def _cpu_flags() -> str:
    try:
        found = subprocess.run(
            ["grep", "-o", r"avx512_bf16\|avx2", "/proc/cpuinfo"], capture_output=True, text=True, check=False
        ).stdout.split()
    except OSError:
        return "unknown"
    return " ".join(sorted(set(found))) or "none of avx2/avx512_bf16"


def main() -> None:
    mirror = Path(os.environ["CGBENCH_DATA_DIR"])
    os.environ["CGBENCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="cgbench-digests-")
    from cgbench.benchmarks import sources

    files = sorted(p for p in mirror.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    timings = {}
    for label in ("fresh (as run does)", "from the digest cache"):
        started = time.perf_counter()
        if label.startswith("fresh"):
            with sources.fresh_digests():
                for path in files:
                    sources.sha256_of(path)
        else:
            for path in files:
                sources.sha256_of(path)
        timings[label] = time.perf_counter() - started
    print(f"mirror: {len(files)} files, {size / 1e6:.1f} MB; CPU flags: {_cpu_flags()}; {os.cpu_count()} cores")
    for label, seconds in timings.items():
        print(f"{label:>24}: {seconds:.3f} s ({size / 1e6 / seconds:.0f} MB/s)")
    fresh, cached = timings.values()
    print(f"fresh / cached: {fresh / cached:.1f}x")


if __name__ == "__main__":
    main()
