"""cgbench: a multilingual safety benchmark suite for LLM safeguards."""

__version__ = "0.1.0"
