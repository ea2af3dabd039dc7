"""The data layer: the benchmark sets, their language splits, loading and validation."""

from cgbench.benchmarks.errors import DataError
from cgbench.benchmarks.loading import Item, available_languages, load_all, load_split
from cgbench.benchmarks.registry import BENCHMARKS, LANGUAGE_NAMES, LANGUAGES, Benchmark, get_benchmark

__all__ = [
    "BENCHMARKS",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "Benchmark",
    "DataError",
    "Item",
    "available_languages",
    "get_benchmark",
    "load_all",
    "load_split",
]
