"""Stage 1, cold start: supervised fine-tuning on the distilled reasoning with TRL's ``SFTTrainer``.

The dataset is prompt-completion text (the ConsistentGuard prompt, opened on ``<think>``, and the
teacher's reasoning and verdict), so the loss is taken on the completion only.
"""

from __future__ import annotations

from cgbench.models.consistentguard.checkpoint import load_model, peft_config, save_final, train_metrics, trl_config
from cgbench.models.consistentguard.config import SFTStage
from cgbench.models.consistentguard.distill import read_distilled
from cgbench.models.guards.consistentguard import raw_prompt


def sft_dataset(path: str, template: str = "cgbench"):
    """Prompt-completion rows, the prompt rebuilt from the seed text in ``template`` (a distillation serves any)."""
    from datasets import Dataset

    rows = read_distilled(path)
    if not rows:
        raise ValueError(f"{path}: no distilled rows to train on")
    missing = [n for n, r in enumerate(rows) if not isinstance(r.get("text"), str)]
    if missing:
        raise ValueError(f"{path}: row {missing[0]}: field 'text' (the seed prompt) is missing")
    return Dataset.from_list([{"prompt": raw_prompt(r["text"], template), "completion": r["completion"]} for r in rows])


def train_sft(stage: SFTStage) -> dict[str, float]:
    """Train, save a plain HF folder in ``stage.output_dir``, and return loss and steps/s."""
    from trl import SFTConfig, SFTTrainer

    model, tokenizer = load_model(stage.model, stage)
    trainer = SFTTrainer(
        model=model,
        args=trl_config(SFTConfig, stage),
        train_dataset=sft_dataset(stage.data, stage.template),
        processing_class=tokenizer,
        peft_config=peft_config(stage.lora),
    )
    metrics = train_metrics(trainer.train())
    save_final(trainer, stage.output_dir, stage.template)
    return metrics
