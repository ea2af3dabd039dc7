"""Settings of each stage, read from one recipe YAML (a section per stage) plus command-line overrides.

A recipe file (``configs/consistentguard/*.yaml``) has the sections ``seed``, ``distill``, ``sft``,
``grpo``, ``cao_pairs`` and ``cao``. Training sections name their TRL fields directly; anything else a
TRL config accepts goes under ``trainer:`` and is passed through unchanged (TRL checks the names).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from cgbench.models.consistentguard.rewards import DEFAULT_PRESET

T = TypeVar("T")


@dataclass
class SeedConfig:
    output: str = "outputs/seed.jsonl"
    n: int = 1000
    seed: int = 0
    balance: bool = False  # equal harmful / unharmful counts
    # offline: guardreasoner/aegis, guardreasoner/harmbench_prompt, toxicchat_train (mirror files);
    # online (hub ids): hub/aegis, hub/beavertails, hub/toxicchat, hub/wildguard
    sources: list[str] = field(default_factory=lambda: ["toxicchat_train", "guardreasoner/aegis"])
    # "equal": n split evenly over the sources; "pool": uniform over the pooled data (each source's share follows its
    # size); or {source: count} summing to n
    quotas: str | dict[str, int] = "equal"


@dataclass
class DistillConfig:
    input: str = "outputs/seed.jsonl"
    output: str = "outputs/distilled.jsonl"
    base_url: str = "https://api.deepseek.com/v1"
    model: str = "deepseek-chat"  # DeepSeek-V3 in the paper
    api_key_env: str = "OPENAI_API_KEY"
    concurrency: int = 8
    requests_per_second: float = 4.0
    temperature: float = 0.7
    max_tokens: int = 2048
    template: str = "cgbench"  # the instruction the teacher sees (and the SFT rows' prompt)
    label_in_prompt: bool = True  # the paper's teacher explains the known verdict


@dataclass
class LoraSettings:
    r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str | list[str] = "all-linear"


@dataclass
class TrainStage:
    """Fields shared by the three training stages; ``trainer`` holds any other TRL config field."""

    model: str = ""
    data: str = ""
    output_dir: str = ""
    learning_rate: float = 1e-5
    num_train_epochs: float = 1.0
    max_steps: int = -1
    per_device_train_batch_size: int = 1
    gradient_accumulation_steps: int = 1
    lr_scheduler_type: str = "linear"
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 42  # transformers' TrainingArguments default, which every released script trained with
    bf16: bool = True  # bf16 autocast over fp32 master weights (see checkpoint.load_model)
    use_cpu: bool = False
    gradient_checkpointing: bool = False
    logging_steps: int = 1
    save_strategy: str = "no"
    save_steps: float = 500  # transformers' default
    save_total_limit: int | None = None  # transformers' default: keep every checkpoint
    report_to: str = "none"
    lora: LoraSettings | None = None
    template: str = "cgbench"  # the prompt's wording: "cgbench" or "release" (the released scripts' PROMPT_TEMPLATE)
    trainer: dict[str, Any] = field(default_factory=dict)

    _own = ("model", "data", "lora", "trainer", "template")  # fields that are ours, not the TRL config's

    def trl_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the stage's TRL config."""
        own = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in self._own}
        clash = sorted(set(own) & set(self.trainer))
        if clash:
            raise ValueError(f"{clash} set both as a stage field and under trainer:; keep one")
        return {**own, **self.trainer}


@dataclass
class SFTStage(TrainStage):
    """Defaults from the released sft_train.py (effective batch 4 x 1 on one process)."""

    learning_rate: float = 5e-5
    per_device_train_batch_size: int = 4
    weight_decay: float = 0.01
    max_length: int = 4096
    completion_only_loss: bool = True


@dataclass
class GRPOStage(TrainStage):
    """Defaults from the released grpo_train.py on TRL 0.14, including the values TRL 1.x changed."""

    learning_rate: float = 1e-5
    lr_scheduler_type: str = "cosine"
    max_grad_norm: float = 0.1
    num_generations: int = 4
    per_device_train_batch_size: int = 4  # TRL 1.x counts completions: one prompt x 4 generations
    # The release (TRL 0.14) sampled at 0.3 and scored the raw logits; TRL 1.x divides the logits it scores by
    # `temperature`, so the loss uses 1.0 and the sampling temperature reaches the generator via generation_kwargs.
    temperature: float = 1.0
    sampling_temperature: float = 0.3
    max_prompt_length: int | None = 1024  # TRL 1.x has no such field: GRPOTrainerWithPromptLimit keeps the last N
    max_completion_length: int = 2048
    beta: float = 0.04  # TRL 0.14 default: KL to the reference model (TRL 1.x: 0)
    loss_type: str = "grpo"  # per-sequence mean, as TRL 0.14 computed it (TRL 1.x: "dapo")
    use_bias_correction_kl: bool = False  # TRL 0.14's k3 KL without the importance ratio (TRL 1.x: True)
    vllm_importance_sampling_correction: bool = False  # TRL 0.14 had none (TRL 1.x: True)
    use_vllm: bool = False
    vllm_mode: str = "colocate"
    best_length: int = 256  # L_best: 256 in the released code, 512 in the paper
    rewards: str | dict[str, float] = DEFAULT_PRESET  # a preset of rewards.REWARD_PRESETS or name -> weight

    _own = TrainStage._own + ("best_length", "rewards", "max_prompt_length", "sampling_temperature")

    def trl_kwargs(self) -> dict[str, Any]:
        """TRL's fields, with the sampling temperature in ``generation_kwargs`` (hf and vLLM paths read it there)."""
        kwargs = super().trl_kwargs()
        extra = dict(kwargs.get("generation_kwargs") or {})
        if "temperature" in extra:
            raise ValueError("set the sampling temperature as sampling_temperature, not in trainer.generation_kwargs")
        kwargs["generation_kwargs"] = {**extra, "temperature": self.sampling_temperature}
        return kwargs


@dataclass
class CAOPairsConfig:
    model: str = ""
    seed: str = "outputs/seed.jsonl"
    translations: str = "outputs/translations"  # <dir>/<lang>.jsonl with {"id", "text"}
    langs: list[str] = field(default_factory=lambda: ["en", "fr", "zh", "ja", "bn", "hi"])
    output: str = "outputs/cao_pairs.jsonl"
    backend: str = "hf"
    batch_size: int = 8
    max_new_tokens: int = 1024
    template: str = "cgbench"


@dataclass
class CAOStage(TrainStage):
    """Defaults from the released regulated_dpo_trainer.py on TRL 0.14's DPOConfig."""

    learning_rate: float = 5e-6
    lr_scheduler_type: str = "cosine"
    per_device_train_batch_size: int = 2
    gradient_accumulation_steps: int = 4
    num_train_epochs: float = 3.0
    beta: float = 0.1
    max_prompt_length: int | None = 512  # TRL 0.14 default; TRL 1.x has no such field: CAOTrainer keeps the last N
    max_length: int | None = 1024  # TRL 0.14 default
    truncation_mode: str = "keep_end"  # TRL 0.14 default (TRL 1.x: keep_start)
    anchor_kl_weight: float = 1.0
    anchor_kl_span: str = "sequence"  # the whole anchor, as in the paper; "completion" = its completion only
    anchor_kl_chunk: int = 256  # positions per KL chunk (memory only; the value is the same)
    mlc_weight: float = 0.0  # 0.8 in the MLC release when turned on
    mlc_every: int = 2


SECTIONS: dict[str, type] = {
    "seed": SeedConfig,
    "distill": DistillConfig,
    "sft": SFTStage,
    "grpo": GRPOStage,
    "cao_pairs": CAOPairsConfig,
    "cao": CAOStage,
}


def load_section(path: str | Path | None, section: str, overrides: dict[str, Any] | None = None) -> Any:
    """The ``section`` of the recipe at ``path`` (defaults when None), with non-None ``overrides`` applied."""
    cls = SECTIONS[section]
    values: dict[str, Any] = {}
    if path is not None:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping of sections ({', '.join(SECTIONS)})")
        unknown = sorted(set(data) - set(SECTIONS))
        if unknown:
            raise ValueError(f"{path}: unknown section(s) {unknown}; expected {list(SECTIONS)}")
        values = dict(data.get(section) or {})
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return build(cls, values, where=f"{path or 'defaults'}: section {section!r}")


def build(cls: type[T], values: dict[str, Any], where: str) -> T:
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}; known: {sorted(names)}")
    if isinstance(values.get("lora"), dict):
        values["lora"] = build(LoraSettings, values["lora"], f"{where}, lora")
    elif values.get("lora") is True:
        values["lora"] = LoraSettings()
    elif values.get("lora") is False:
        values["lora"] = None
    return cls(**values)
