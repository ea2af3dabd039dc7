"""Offline ``vllm.LLM``: the fast path on GPUs. vllm is imported only when the engine starts.

Prompts are tokenized here (chat template or raw text plus BOS, exactly as the
hf backend does) and handed to vLLM as token ids, so both backends see the same
tokens. Tensor and data parallelism, dtype, max_model_len and any other engine
argument pass straight through to ``vllm.LLM``. Prefix caching is on by default
(every guard prompt starts with the same long instruction).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from cgbench.models.backends.base import BackendError, Completion, Prompt, ScoreTokens
from cgbench.models.backends.hf import IdGroups, prompt_ids, score_id_groups

TOP_LOGPROBS = 20


class VLLMBackend:
    """Greedy completions with an offline vLLM engine, started on first use."""

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        tensor_parallel_size: int = 1,
        data_parallel_size: int = 1,
        dtype: str = "auto",
        max_model_len: int | None = None,
        seed: int = 0,
        enable_prefix_caching: bool = True,
        **engine_args: Any,
    ) -> None:
        self.model_name = model
        self.engine_args = {
            "tensor_parallel_size": tensor_parallel_size,
            "dtype": dtype,
            "seed": seed,
            "enable_prefix_caching": enable_prefix_caching,  # a guard prompt's shared head is computed once
            **({"data_parallel_size": data_parallel_size} if data_parallel_size != 1 else {}),
            **({"max_model_len": max_model_len} if max_model_len else {}),
            **engine_args,
        }
        self._llm = None

    def describe(self) -> dict:
        """The engine arguments, prefix caching included: run.json records them as the run's settings."""
        return dict(self.engine_args)

    def load(self) -> None:
        """Start the engine (done on first use otherwise)."""
        try:
            from vllm import LLM
        except ImportError as exc:
            raise BackendError("the vllm backend needs vLLM: pip install 'cgbench[vllm]'") from exc
        self._llm = LLM(model=self.model_name, **self.engine_args)

    def complete(
        self,
        prompts: Sequence[Prompt],
        *,
        max_new_tokens: int,
        score_tokens: ScoreTokens | None = None,
        stop: Callable[[str], bool] | None = None,  # ignored: full generation
    ) -> list[Completion]:
        """Greedy completions in input order; with ``score_tokens``, P(first) from the first token's logprobs."""
        if self._llm is None:
            self.load()
        from vllm import SamplingParams

        tokenizer = self._llm.get_tokenizer()
        ids = score_id_groups(tokenizer, score_tokens) if score_tokens else None
        scoring = _logprob_args(SamplingParams, ids)
        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens, seed=0, **scoring)
        requests = [{"prompt_token_ids": prompt_ids(tokenizer, p)} for p in prompts]
        outputs = self._llm.generate(requests, params, use_tqdm=False)
        return [_completion(out.outputs[0], ids) for out in outputs]


def _logprob_args(sampling_params: Any, ids: IdGroups | None) -> dict[str, Any]:
    """Ask for the two score tokens' logprobs whatever their rank (``SamplingParams.logprob_token_ids``, where
    this vLLM has it); older vLLM gives the top ``TOP_LOGPROBS`` only, and a score token outside them counts as 0."""
    if ids is None:
        return {}
    if "logprob_token_ids" in getattr(sampling_params, "__struct_fields__", ()):
        return {"logprob_token_ids": list(ids[0] + ids[1])}
    return {"logprobs": TOP_LOGPROBS}


def _completion(output: Any, ids: IdGroups | None) -> Completion:
    if ids is None:
        return Completion(output.text)
    first = output.logprobs[0] if output.logprobs else {}
    unsafe, safe = ([math.exp(first[i].logprob) if i in first else 0.0 for i in side] for side in ids)
    total = sum(unsafe) + sum(safe)
    return Completion(output.text, sum(unsafe) / total if total > 0 else None)
