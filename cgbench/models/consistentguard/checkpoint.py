"""Loading a stage's starting model and saving its result as a plain Hugging Face folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cgbench.models.consistentguard.config import LoraSettings, TrainStage
from cgbench.models.guards.consistentguard import record_template, recorded_template


def load_model(path: str, stage: TrainStage, reference: bool = False):
    """The model and tokenizer to train.

    The trained model is loaded in fp32 whatever ``stage.bf16`` says: the optimizer steps fp32 master weights and
    ``bf16`` turns on bf16 autocast (standard mixed precision). bf16 weights stepped directly lose most updates: at
    lr 5e-6 an Adam step is far below a bf16 weight's resolution. A ``reference`` model only runs forward, so it is
    loaded in bf16 when the stage trains in bf16 on an accelerator.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dtype = torch.bfloat16 if reference and stage.bf16 and not stage.use_cpu else torch.float32
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


def peft_config(lora: LoraSettings | None):
    if lora is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.lora_alpha,
        lora_dropout=lora.lora_dropout,
        target_modules=lora.target_modules,
        task_type="CAUSAL_LM",
    )


def trl_config(cls: type, stage: TrainStage, **extra: Any):
    """A TRL config of class ``cls`` from the stage's fields (bf16 off on CPU)."""
    kwargs = {**stage.trl_kwargs(), **extra}
    if stage.use_cpu:
        kwargs["bf16"] = False
    return cls(**kwargs)


def check_template(stage: TrainStage) -> None:
    """Refuse to train on another template than the one the starting checkpoint was trained with."""
    recorded = recorded_template(stage.model) if Path(stage.model).is_dir() else None
    if recorded is not None and recorded != stage.template:
        raise ValueError(
            f"{stage.model} was trained with template {recorded!r} but the stage sets {stage.template!r}; "
            "set template: to the same value in every stage"
        )


def save_final(trainer, output_dir: str | Path, template: str = "cgbench") -> Path:
    """Save the trained model as a plain folder that any loader reads: LoRA merged, training-only heads removed,
    and the prompt template it was trained with recorded (``consistentguard.json``) for the evaluation.

    ``trainer.save_model`` gathers DeepSpeed/FSDP shards; a LoRA adapter is then merged on the main process.
    """
    output_dir = Path(output_dir)
    _save_model(trainer, output_dir)
    if trainer.accelerator.is_main_process:
        record_template(output_dir, template)
    return output_dir


def _save_model(trainer, output_dir: Path) -> Path:
    from accelerate.utils import is_peft_model

    output_dir = Path(output_dir)
    model = trainer.accelerator.unwrap_model(trainer.model)
    base = model.get_base_model() if is_peft_model(model) else model
    if hasattr(base, "mlc_head"):
        del base.mlc_head
    if not is_peft_model(model):
        trainer.save_model(str(output_dir))
        return output_dir
    adapter = output_dir / "adapter"
    trainer.save_model(str(adapter))
    if trainer.accelerator.is_main_process:
        from peft import AutoPeftModelForCausalLM

        merged = AutoPeftModelForCausalLM.from_pretrained(str(adapter), dtype=base.dtype).merge_and_unload()
        merged.save_pretrained(output_dir)
        trainer.processing_class.save_pretrained(output_dir)
    trainer.accelerator.wait_for_everyone()
    return output_dir


def train_metrics(result, trainer=None, parts: tuple[str, ...] = ()) -> dict[str, float]:
    """Loss, steps/s and runtime from ``Trainer.train``'s output, and the mean of each logged loss part in ``parts``."""
    keys = ("train_loss", "train_steps_per_second", "train_runtime")
    metrics = {k: float(result.metrics[k]) for k in keys if k in result.metrics} | {"steps": result.global_step}
    for part in parts:
        logged = [entry[part] for entry in trainer.state.log_history if part in entry]
        if logged:
            metrics[part] = sum(logged) / len(logged)
    return metrics
