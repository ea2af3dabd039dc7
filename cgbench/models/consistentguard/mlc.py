"""The multilingual consistency (MLC) loss: one prompt's language variants should share one direction.

For each prompt, the hidden state of the last prompt token of every language variant (at one layer)
goes through a linear projection and is L2-normalised; the stacked vectors' singular values,
divided by the largest, are logits (temperature τ) of a cross-entropy whose target is index 0.
The loss is smallest when the matrix has rank 1: all languages on one direction.
Defaults follow the MLC release: projection 512, τ 0.2, weight λ 0.8, last layer, every 2 steps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

MLC_DIM = 512
MLC_TAU = 0.2
MLC_WEIGHT = 0.8


def mlc_loss(vectors: torch.Tensor, tau: float = MLC_TAU) -> torch.Tensor:
    """Cross-entropy to index 0 over the scaled singular values of each (languages x dim) matrix.

    ``vectors`` has shape (prompts, languages, dim); the result is the mean over prompts.
    """
    if vectors.dim() != 3 or vectors.size(1) < 2:
        raise ValueError(f"expected (prompts, languages >= 2, dim), got shape {tuple(vectors.shape)}")
    unit = F.normalize(vectors.float(), dim=-1, eps=1e-12)
    singular = torch.linalg.svdvals(unit)  # stable gradients even with repeated singular values
    logits = singular / (singular[..., :1].detach() + 1e-12) / tau
    target = torch.zeros(logits.size(0), dtype=torch.long, device=logits.device)
    return F.cross_entropy(logits, target)


def last_token_states(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """The hidden state at each row's last attended position (left or right padding): (rows, hidden)."""
    positions = torch.arange(attention_mask.size(1), device=attention_mask.device)
    last = (positions * attention_mask.to(positions.dtype)).argmax(dim=1)
    return hidden[torch.arange(hidden.size(0), device=hidden.device), last]


class MLCHead(nn.Module):
    """The linear extractor and the loss computed from a model's hidden states."""

    def __init__(self, hidden_size: int, dim: int = MLC_DIM, tau: float = MLC_TAU, layer: int = -1) -> None:
        super().__init__()
        self.proj = nn.Linear(hidden_size, dim)
        self.tau = tau
        self.layer = layer

    def forward(
        self, model: nn.Module, input_ids: torch.Tensor, attention_mask: torch.Tensor, n_langs: int
    ) -> torch.Tensor:
        """The loss for rows grouped as (prompt 0: lang 0..n-1, prompt 1: ...), each row one prompt variant."""
        if input_ids.size(0) % n_langs:
            raise ValueError(f"{input_ids.size(0)} rows do not split into groups of {n_langs} languages")
        out = model(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True, logits_to_keep=1)
        states = last_token_states(out.hidden_states[self.layer], attention_mask)
        projected = self.proj(states.to(self.proj.weight.dtype))
        return mlc_loss(projected.view(-1, n_langs, projected.size(-1)), self.tau)
