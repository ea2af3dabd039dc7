"""Estimated peak GPU memory per GPU of each ConsistentGuard stage, from a model's config.json (no GPU needed).

    python perf/memory_estimate.py                           # Qwen2.5-3B, paper.yaml's settings, 2x A100 40G
    python perf/memory_estimate.py --config path/config.json --gpus 2 --gpu-gb 40

The estimate adds, per GPU: the training states of the parallelism (bf16 weights and gradients, fp32 master weights
and Adam's two moments: 16 bytes per parameter, split as each strategy shards them), the bf16 reference model (GRPO,
CAO), vLLM's colocated share (GRPO: gpu_memory_utilization x GPU memory, released while training under sleep mode),
the activations kept by gradient checkpointing (each layer's input) plus one layer recomputed, the largest logits
tensors, ZeRO-3's gathered parameters, and a fixed allowance for the CUDA context and communication buffers. It is an
estimate of the configured worst case (every sequence at its maximum length), not a measurement: fragmentation and
framework buffers come on top.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

GB = 1e9
BF16, FP32 = 2, 4
CONTEXT_GB = 1.5  # CUDA context, NCCL and allocator buffers (an allowance, not derived)
STRATEGIES = ("ddp", "zero2", "zero3", "zero3_offload")
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Arch:
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool

    @classmethod
    def from_config(cls, config: dict) -> Arch:
        return cls(config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"],
                   config["num_attention_heads"], config["num_key_value_heads"], config["vocab_size"],
                   bool(config.get("tie_word_embeddings", False)))  # fmt: skip

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    def layer_params(self) -> int:
        """One decoder layer of a Qwen2/Llama block: q/k/v (with biases, as Qwen2), o, the gated MLP, two norms."""
        kv = self.kv_heads * self.head_dim
        attention = self.hidden * self.hidden + self.hidden + 2 * (self.hidden * kv + kv) + self.hidden * self.hidden
        return attention + 3 * self.hidden * self.intermediate + 2 * self.hidden

    def params(self) -> int:
        embeddings = self.vocab * self.hidden * (1 if self.tied else 2)
        return embeddings + self.layers * self.layer_params() + self.hidden  # + the final norm


@dataclass(frozen=True)
class Stage:
    name: str
    batch: int  # sequences per GPU per forward
    length: int  # tokens per sequence (the configured maximum)
    reference: bool
    vllm_fraction: float = 0.0  # of the GPU's memory
    sleep: bool = False
    logits: str = "full"  # "full": B x L x V bf16 + an fp32 copy for the loss; "chunked": TRL's fused LM head
    anchor_chunk: int | None = None  # CAO: positions per anchor-KL chunk (None: the whole anchor batch at once)


def training_states(params: int, strategy: str, gpus: int) -> float:
    """Bytes per GPU for weights, gradients, fp32 master weights and Adam (m, v)."""
    if strategy == "ddp":  # fp32 weights stepped directly under autocast: weights, grads, m, v all fp32
        return params * (FP32 + FP32 + 2 * FP32)
    optimizer = params * (FP32 + 2 * FP32)  # fp32 master weights + Adam's m and v
    if strategy == "zero2":
        return params * BF16 + params * BF16 / gpus + optimizer / gpus
    if strategy == "zero3":
        return (params * BF16 + params * BF16 + optimizer) / gpus
    if strategy == "zero3_offload":
        return (params * BF16 + params * BF16) / gpus  # the optimizer's 12 bytes/parameter live in CPU memory
    raise ValueError(f"unknown strategy {strategy!r}; choose from {STRATEGIES}")


def reference_model(params: int, strategy: str, gpus: int) -> float:
    return params * BF16 / (gpus if strategy.startswith("zero3") else 1)


def activations(arch: Arch, stage: Stage) -> float:
    """Gradient checkpointing: every layer's bf16 input kept, plus one layer's intermediates during recompute."""
    tokens = stage.batch * stage.length
    kept = arch.layers * tokens * arch.hidden * BF16
    one_layer = tokens * (6 * arch.hidden + 3 * arch.intermediate) * BF16
    return kept + one_layer


def logits(arch: Arch, stage: Stage) -> float:
    tokens = stage.batch * stage.length
    if stage.logits == "chunked":  # TRL 1.x's fused LM head: log-probs without the full logits
        return 0.0
    full = tokens * arch.vocab * (BF16 + FP32)  # bf16 logits and the fp32 copy the loss takes
    if stage.anchor_chunk is None and stage.reference:  # CAO's anchor KL before chunking: logp, logq, p in fp32
        anchor = stage.batch // 2 * stage.length * arch.vocab * 3 * FP32
    elif stage.reference:
        anchor = stage.anchor_chunk * arch.vocab * 3 * FP32
    else:
        anchor = 0.0
    return full + anchor


def gathered(arch: Arch, strategy: str) -> float:
    """ZeRO-3 gathers a module's full bf16 weights while it runs: the embedding (the LM head) and two layers."""
    if not strategy.startswith("zero3"):
        return 0.0
    return (arch.vocab * arch.hidden + 2 * arch.layer_params()) * BF16


def estimate(arch: Arch, stage: Stage, strategy: str, gpus: int, gpu_gb: float) -> dict[str, float]:
    """GB per GPU by component, and the peak (vLLM's share counted only outside training when it sleeps)."""
    params = arch.params()
    parts = {
        "states": training_states(params, strategy, gpus) / GB,
        "reference": reference_model(params, strategy, gpus) / GB if stage.reference else 0.0,
        "activations": activations(arch, stage) / GB,
        "logits": logits(arch, stage) / GB,
        "gathered": gathered(arch, strategy) / GB,
        "context": CONTEXT_GB,
        "vllm": stage.vllm_fraction * gpu_gb,
    }
    training = sum(v for k, v in parts.items() if k != "vllm")
    if stage.sleep:  # vLLM's weights and cache leave the GPU while the policy trains; generation needs no activations
        generating = training - parts["activations"] - parts["logits"] + parts["vllm"]
        parts["peak"] = max(training, generating)
    else:
        parts["peak"] = training + parts["vllm"]
    return parts


def paper_stages(recipe: Path) -> list[Stage]:
    """SFT, GRPO and CAO as ``paper.yaml`` sets them (per-GPU batch, maximum lengths, vLLM share, sleep, chunk)."""
    import yaml

    cfg = yaml.safe_load(recipe.read_text(encoding="utf-8"))
    sft, grpo, cao = cfg["sft"], cfg["grpo"], cfg["cao"]
    trainer = grpo.get("trainer", {})
    return [
        Stage("sft", sft["per_device_train_batch_size"], sft["max_length"], reference=False),
        Stage("grpo", grpo["per_device_train_batch_size"], grpo["max_prompt_length"] + grpo["max_completion_length"],
              reference=True, vllm_fraction=trainer.get("vllm_gpu_memory_utilization", 0.0),
              sleep=bool(trainer.get("vllm_enable_sleep_mode")), logits="chunked"),
        # DPO runs chosen and rejected together: 2 x the per-device batch of pairs
        Stage("cao", 2 * cao["per_device_train_batch_size"], cao["max_length"], reference=True,
              anchor_chunk=cao.get("anchor_kl_chunk")),
    ]  # fmt: skip


def table(arch: Arch, stages: list[Stage], gpus: int, gpu_gb: float) -> list[tuple[str, ...]]:
    rows = []
    for stage in stages:
        cells = []
        for strategy in STRATEGIES:
            peak = estimate(arch, stage, strategy, gpus, gpu_gb)["peak"]
            cells.append(f"{peak:.1f}{'' if peak <= gpu_gb else ' (OOM)'}")
        rows.append((stage.name, *cells))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=HERE / "model_configs" / "qwen2.5-3b.json")
    parser.add_argument("--recipe", type=Path, default=HERE.parent / "configs" / "consistentguard" / "paper.yaml")
    parser.add_argument("--gpus", type=int, default=2)
    parser.add_argument("--gpu-gb", type=float, default=40.0)
    args = parser.parse_args()
    arch = Arch.from_config(json.loads(args.config.read_text(encoding="utf-8")))
    stages = paper_stages(args.recipe)
    variants = [dataclasses.replace(s, name=f"{s.name}, vLLM awake", sleep=False) for s in stages if s.sleep]
    variants += [dataclasses.replace(s, name=f"{s.name}, unchunked anchor KL", anchor_chunk=None)
                 for s in stages if s.anchor_chunk]  # fmt: skip
    print(f"{args.config.name}: {arch.params() / 1e9:.2f}B parameters; {args.gpus} GPUs x {args.gpu_gb:g} GB")
    print("estimated peak GB per GPU (configured maximum lengths):")
    print("| stage | " + " | ".join(STRATEGIES) + " |")
    print("|---" * (len(STRATEGIES) + 1) + "|")
    for row in table(arch, stages + variants, args.gpus, args.gpu_gb):
        print("| " + " | ".join(row) + " |")
    for stage in stages:
        parts = estimate(arch, stage, "zero3_offload", args.gpus, args.gpu_gb)
        detail = ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
        print(f"{stage.name} (zero3_offload, batch {stage.batch} x {stage.length} tokens): {detail}")


if __name__ == "__main__":
    main()
