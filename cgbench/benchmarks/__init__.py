"""The data layer: the benchmark sets, their language splits, loading and validation."""

from cgbench.benchmarks.categories import OPENAI_CATEGORY_NAMES, category_label, category_order, harm_categories
from cgbench.benchmarks.errors import DataError
from cgbench.benchmarks.loading import Item, available_languages, load_all, load_split, set_languages
from cgbench.benchmarks.registry import BENCHMARKS, LANGUAGE_NAMES, LANGUAGES, Benchmark
from cgbench.benchmarks.sets import all_sets, find_set
from cgbench.benchmarks.sets import get_set as get_benchmark

__all__ = [
    "BENCHMARKS",
    "LANGUAGES",
    "LANGUAGE_NAMES",
    "OPENAI_CATEGORY_NAMES",
    "Benchmark",
    "DataError",
    "Item",
    "all_sets",
    "available_languages",
    "category_label",
    "category_order",
    "find_set",
    "get_benchmark",
    "harm_categories",
    "load_all",
    "load_split",
    "set_languages",
]
