"""The backend registry: one name per backend, each built lazily (no heavy import until chosen)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cgbench.benchmarks.registry import unknown_name
from cgbench.models.backends.base import Backend


def _hf(**kwargs: Any) -> Backend:
    from cgbench.models.backends.hf import HFBackend

    return HFBackend(**kwargs)


def _vllm(**kwargs: Any) -> Backend:
    from cgbench.models.backends.vllm import VLLMBackend

    return VLLMBackend(**kwargs)


def _openai(**kwargs: Any) -> Backend:
    from cgbench.models.backends.openai import OpenAIBackend

    return OpenAIBackend(**kwargs)


def _cpu(**kwargs: Any) -> Backend:
    from cgbench.models.backends.cpu import E5Probe

    return E5Probe(**kwargs)


BACKENDS: dict[str, Callable[..., Backend]] = {"hf": _hf, "vllm": _vllm, "openai": _openai, "cpu": _cpu}
DESCRIPTIONS = {
    "hf": "transformers on CPU or GPU: batched, left-padded, greedy, first-token scores",
    "vllm": "offline vllm.LLM: tensor/data parallel, logprob scores",
    "openai": "any OpenAI-compatible server (vllm serve, SGLang, a hosted API) over HTTP",
    "cpu": "the embedded e5 probe (no generation): P(unsafe) from embeddings",
}


def get_backend(name: str, **kwargs: Any) -> Backend:
    """A backend by name; ``kwargs`` go to its constructor. Unknown names raise ValueError with the choices."""
    if name not in BACKENDS:
        raise unknown_name("backend", name, BACKENDS)
    return BACKENDS[name](**kwargs)
