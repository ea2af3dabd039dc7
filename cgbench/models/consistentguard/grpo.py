"""Stage 2: GRPO with TRL's ``GRPOTrainer`` (the prompt limit added back) and the recipe's weighted rewards.

Prompts are the seed items in the ConsistentGuard format (opened on ``<think>``); the ``label`` column
reaches the accuracy reward. Generation uses vLLM on a GPU when the stage sets ``use_vllm``.
"""

from __future__ import annotations

from cgbench.models.consistentguard.checkpoint import load_model, peft_config, save_final, train_metrics, trl_config
from cgbench.models.consistentguard.config import GRPOStage
from cgbench.models.consistentguard.rewards import make_rewards, reward_weights
from cgbench.models.consistentguard.seed import read_seed
from cgbench.models.guards.consistentguard import raw_prompt


def grpo_dataset(path: str, template: str = "cgbench"):
    from datasets import Dataset

    items = read_seed(path)
    if not items:
        raise ValueError(f"{path}: no seed items")
    return Dataset.from_list([{"prompt": raw_prompt(i.text, template), "label": i.label} for i in items])


def grpo_config(stage: GRPOStage):
    """The stage's ``GRPOConfig``, with the weights of its reward preset or mapping."""
    from trl import GRPOConfig

    return trl_config(GRPOConfig, stage, reward_weights=list(reward_weights(stage.rewards).values()))


def train_grpo(stage: GRPOStage) -> dict[str, float]:
    """Train, save a plain HF folder in ``stage.output_dir``, and return loss and steps/s."""
    from cgbench.models.consistentguard.grpo_trainer import GRPOTrainerWithPromptLimit

    model, tokenizer = load_model(stage.model, stage)
    funcs, _ = make_rewards(
        stage.rewards,
        best_length=stage.best_length,
        count_tokens=lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]),
    )
    trainer = GRPOTrainerWithPromptLimit(
        model=model,
        reward_funcs=funcs,
        args=grpo_config(stage),
        max_prompt_length=stage.max_prompt_length,
        train_dataset=grpo_dataset(stage.data, stage.template),
        processing_class=tokenizer,
        peft_config=peft_config(stage.lora),
    )
    metrics = train_metrics(trainer.train())
    save_final(trainer, stage.output_dir, stage.template)
    return metrics
