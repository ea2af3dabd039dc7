"""The MLC loss: minimal for collinear language vectors, larger for spread ones, and differentiable."""

from __future__ import annotations

import math

import pytest

pytestmark = pytest.mark.no_data  # needs no data mirror

torch = pytest.importorskip("torch")

from cgbench.models.consistentguard.mlc import MLCHead, last_token_states, mlc_loss  # noqa: E402


def _floor(languages: int, tau: float) -> float:
    """The loss of a rank-1 matrix: logits (1/tau, 0, ..., 0) over min(L, D) singular values."""
    return -math.log(math.exp(1 / tau) / (math.exp(1 / tau) + languages - 1))


def test_collinear_vectors_reach_the_minimum():
    direction = torch.randn(1, 1, 16)
    scales = torch.tensor([1.0, 2.0, 0.5, 3.0, 1.5, 0.7]).view(1, 6, 1)
    loss = mlc_loss(direction * scales, tau=0.2)
    assert loss.item() == pytest.approx(_floor(6, 0.2), rel=1e-4)


def test_orthogonal_vectors_give_the_uniform_loss_and_random_ones_lie_between():
    orthogonal = torch.eye(6, 16).unsqueeze(0)
    assert mlc_loss(orthogonal, tau=0.2).item() == pytest.approx(math.log(6), rel=1e-5)
    torch.manual_seed(0)
    spread = mlc_loss(torch.randn(4, 6, 16), tau=0.2).item()
    near = mlc_loss(torch.randn(4, 1, 16) + 0.05 * torch.randn(4, 6, 16), tau=0.2).item()
    assert _floor(6, 0.2) < near < spread < math.log(6) + 1e-6


def test_gradient_flows_and_a_step_lowers_the_loss():
    torch.manual_seed(0)
    vectors = torch.randn(2, 4, 8, requires_grad=True)
    loss = mlc_loss(vectors)
    loss.backward()
    assert vectors.grad is not None and torch.isfinite(vectors.grad).all() and vectors.grad.abs().sum() > 0
    with torch.no_grad():
        after = mlc_loss(vectors - 0.5 * vectors.grad)
    assert after < loss


def test_gradient_is_finite_at_the_rank_one_minimum():
    vectors = (torch.randn(1, 1, 8) * torch.ones(1, 5, 1)).requires_grad_()
    mlc_loss(vectors).backward()
    assert torch.isfinite(vectors.grad).all()


def test_last_token_states_with_right_and_left_padding():
    hidden = torch.arange(2 * 4 * 1, dtype=torch.float).view(2, 4, 1)
    mask = torch.tensor([[1, 1, 0, 0], [0, 1, 1, 1]])
    assert last_token_states(hidden, mask).flatten().tolist() == [1.0, 7.0]


def test_head_on_a_tiny_model_backpropagates_into_model_and_projection():
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(0)
    config = Qwen2Config(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2,
    )  # fmt: skip
    model = Qwen2ForCausalLM(config)
    head = MLCHead(32, dim=16, layer=-1)
    ids = torch.randint(0, 64, (6, 5))  # 2 prompts x 3 languages
    mask = torch.ones_like(ids)
    mask[1, 3:] = 0
    loss = head(model, ids, mask, n_langs=3)
    loss.backward()
    assert torch.isfinite(loss)
    assert head.proj.weight.grad.abs().sum() > 0
    assert model.model.layers[0].mlp.up_proj.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="groups of 4"):
        head(model, ids, mask, n_langs=4)
