"""Inference backends: vllm, hf (transformers), openai-compatible HTTP, and the cpu probe."""

from cgbench.models.backends.base import Backend, BackendError, Completion
from cgbench.models.backends.registry import BACKENDS, get_backend

__all__ = ["BACKENDS", "Backend", "BackendError", "Completion", "get_backend"]
