"""The shared prompt prefix of the hf backend: its key/value cache, the suffix layout, and the prefill accounting.

torch and transformers are imported inside the functions that need them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


def common_prefix(sequences: Sequence[Sequence[int]]) -> list[int]:
    """The longest token prefix that all sequences share.

    >>> common_prefix([[1, 2, 3, 4], [1, 2, 5], [1, 2, 3]])
    [1, 2]
    >>> common_prefix([[1, 2], [3]])
    []
    """
    if not sequences:
        return []
    first, n = sequences[0], min(len(s) for s in sequences)
    for pos in range(n):
        if any(s[pos] != first[pos] for s in sequences):
            return list(first[:pos])
    return list(first[:n])


@dataclass
class SharedPrefix:
    """The token ids of a prefix and, per layer, its keys and values (batch 1)."""

    ids: list[int]
    layers: list[tuple[Any, Any]]

    def cropped(self, length: int) -> SharedPrefix:
        """The first ``length`` tokens of this prefix (views, no copy)."""
        if length == len(self.ids):
            return self
        return SharedPrefix(self.ids[:length], [(k[..., :length, :], v[..., :length, :]) for k, v in self.layers])

    def expanded(self, batch: int, config: Any) -> Any:
        """A fresh ``DynamicCache`` holding this prefix once per row of a batch."""
        from transformers import DynamicCache

        cache = DynamicCache(config=config)
        if self.ids:
            for layer, (keys, values) in zip(cache.layers, self.layers):
                layer.update(keys.expand(batch, -1, -1, -1), values.expand(batch, -1, -1, -1))
        return cache


def suffix_layout(prefix_len: int, suffixes: list[list[int]], pad_id: int, device: Any) -> tuple[Any, Any, Any]:
    """Input ids, attention mask and position ids for suffixes that follow a cached prefix.

    Each row is the prefix, then left padding, then its suffix: the mask hides the padding and the
    positions skip it, so a suffix token has the same position (and sees the same keys) as in the
    whole prompt. The mask covers the prefix too (shape: batch x (prefix + longest suffix)).
    """
    import torch

    width = max(len(s) for s in suffixes)
    inputs = torch.full((len(suffixes), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(suffixes), prefix_len + width), dtype=torch.long)
    mask[:, :prefix_len] = 1
    positions = torch.full((len(suffixes), width), prefix_len, dtype=torch.long)
    for row, suffix in enumerate(suffixes):
        start = width - len(suffix)
        inputs[row, start:] = torch.tensor(suffix, dtype=torch.long)
        mask[row, prefix_len + start :] = 1
        positions[row, start:] = torch.arange(prefix_len, prefix_len + len(suffix))
    return inputs.to(device), mask.to(device), positions.to(device)


def as_set(token_ids: int | Iterable[int] | None) -> set[int]:
    """A generation config's ``eos_token_id`` (None, one id or several) as a set."""
    if token_ids is None:
        return set()
    return {token_ids} if isinstance(token_ids, int) else set(token_ids)


@dataclass
class PrefillStats:
    """What a backend prefilled: prompt tokens, tokens run through the model, and padded positions."""

    prompts: int = 0
    prompt_tokens: int = 0
    prefilled: int = 0  # real tokens run through the model: shared prefixes once, plus every suffix
    padded: int = 0  # positions computed in prefill batches, padding included
    batches: list[int] = field(default_factory=list)

    def add_batch(self, prompts: list[list[int]], prefilled: list[list[int]], width: int) -> None:
        self.prompts += len(prompts)
        self.prompt_tokens += sum(len(p) for p in prompts)
        self.prefilled += sum(len(p) for p in prefilled)
        self.padded += width * len(prompts)
        self.batches.append(len(prompts))

    def per_prompt(self) -> dict[str, float]:
        """Mean prompt length, tokens prefilled and positions computed per prompt."""
        n = max(self.prompts, 1)
        return {
            "prompt_tokens": self.prompt_tokens / n,
            "prefilled": self.prefilled / n,
            "computed": self.padded / n,
        }
