"""perf/memory_estimate.py's arithmetic, checked on the tiny model's config: its parameter count is the model's, and
each strategy's training states are the bytes per parameter it claims."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.no_data
torch = pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[1] / "perf" / "memory_estimate.py"


@pytest.fixture(scope="module")
def memory():
    spec = importlib.util.spec_from_file_location("memory_estimate", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["memory_estimate"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from transformers import AutoModelForCausalLM

    from cgbench.models.consistentguard.tiny import build_tiny_model

    path = build_tiny_model(tmp_path_factory.mktemp("tiny"))
    params = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(path).parameters())
    return json.loads((path / "config.json").read_text()), params


def test_parameter_count_is_the_models(memory, tiny):
    config, params = tiny
    assert memory.Arch.from_config(config).params() == params
    assert memory.Arch.from_config({**config, "tie_word_embeddings": False}).params() == params + (
        config["vocab_size"] * config["hidden_size"]
    )


def test_training_states_are_the_bytes_per_parameter_of_each_strategy(memory, tiny):
    config, p = tiny
    states = {s: memory.training_states(p, s, gpus=2) for s in memory.STRATEGIES}
    assert states == {"ddp": 16 * p, "zero2": 2 * p + 14 * p / 2, "zero3": 16 * p / 2, "zero3_offload": 4 * p / 2}
    assert memory.reference_model(p, "zero3", 2) == p and memory.reference_model(p, "zero2", 2) == 2 * p


def test_peak_adds_the_parts_and_sleep_mode_takes_vllm_out_of_training(memory, tiny):
    config, p = tiny
    arch = memory.Arch.from_config(config)
    awake = memory.Stage("grpo", batch=4, length=64, reference=True, vllm_fraction=0.2, logits="chunked")
    parts = memory.estimate(arch, awake, "zero3", gpus=2, gpu_gb=40)
    assert parts["peak"] == pytest.approx(sum(v for k, v in parts.items() if k != "peak"))
    assert parts["vllm"] == pytest.approx(8.0) and parts["logits"] == 0
    assert parts["activations"] * 1e9 == 2 * 4 * 64 * 128 * 2 + 4 * 64 * (6 * 128 + 3 * 256) * 2
    asleep = memory.estimate(arch, memory.Stage(**{**vars(awake), "sleep": True}), "zero3", 2, 40)
    assert asleep["peak"] == pytest.approx(parts["peak"] - parts["activations"])  # generating is the larger phase
    cao = memory.Stage("cao", batch=4, length=64, reference=True, anchor_chunk=None)
    whole = memory.logits(arch, cao)
    assert whole == 4 * 64 * arch.vocab * 6 + 2 * 64 * arch.vocab * 12
    chunked = memory.logits(arch, memory.Stage(**{**vars(cao), "anchor_chunk": 16}))
    assert chunked == whole - (128 - 16) * arch.vocab * 12
