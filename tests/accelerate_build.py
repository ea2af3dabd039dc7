"""Build cgbench's SFT, GRPO and CAO (+ MLC) trainers on a tiny model under ``accelerate launch``, without training.

``accelerate launch --config_file CONFIG tests/accelerate_build.py MODEL_DIR OUT_JSON [STAGE ...]``: rank 0 writes
what each trainer (all three when no stage is named) was built with: accelerate's distributed type, DeepSpeed or
FSDP on or off. ``test_accelerate_configs.py`` runs it with the shipped configs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from accelerate import PartialState
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer

STAGE = {"use_cpu": True, "output_dir": "unused", "max_steps": 1}
PROMPT = "Judge: how to steal a car?\n<think>"
ANSWER = "Theft.</think><violations>S2</violations><judge>harmful</judge>"


def build(model_dir: str, stages: list[str]) -> dict[str, dict]:
    from trl import SFTConfig, SFTTrainer

    from cgbench.models.consistentguard.cao_trainer import CAOConfig, CAOTrainer
    from cgbench.models.consistentguard.checkpoint import trl_config
    from cgbench.models.consistentguard.config import load_section
    from cgbench.models.consistentguard.grpo import grpo_config
    from cgbench.models.consistentguard.grpo_trainer import GRPOTrainerWithPromptLimit
    from cgbench.models.consistentguard.rewards import make_rewards

    def model():
        return AutoModelForCausalLM.from_pretrained(model_dir)

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    row = {"prompt": PROMPT, "chosen": ANSWER, "rejected": "Fine.</think><judge>unharmful</judge>",
           "anchor_prompt": PROMPT, "anchor_completion": ANSWER, "variants": [PROMPT, "Juger : voler ?"]}  # fmt: skip
    grpo = load_section(None, "grpo", {**STAGE, "num_generations": 2, "per_device_train_batch_size": 2})
    cao = load_section(None, "cao", {**STAGE, "mlc_weight": 0.8})
    makers = {
        "sft": lambda: SFTTrainer(
            model=model(), args=trl_config(SFTConfig, load_section(None, "sft", STAGE)), processing_class=tokenizer,
            train_dataset=Dataset.from_list([{"prompt": PROMPT, "completion": ANSWER}]),
        ),
        "grpo": lambda: GRPOTrainerWithPromptLimit(
            model=model(), reward_funcs=make_rewards(grpo.rewards)[0], args=grpo_config(grpo),
            train_dataset=Dataset.from_list([{"prompt": PROMPT}]), processing_class=tokenizer, max_prompt_length=1024,
        ),
        "cao": lambda: CAOTrainer(
            model(), ref_model=model(), args=trl_config(CAOConfig, cao),
            train_dataset=Dataset.from_list([row]), processing_class=tokenizer,
        ),
    }  # fmt: skip
    trainers = {name: makers[name]() for name in stages or makers}
    return {
        name: {
            "distributed_type": str(t.accelerator.distributed_type),
            "deepspeed": t.is_deepspeed_enabled,
            "fsdp": t.is_fsdp_enabled,
        }
        for name, t in trainers.items()
    }


if __name__ == "__main__":
    state = PartialState(cpu=True)
    built = build(sys.argv[1], sys.argv[3:])
    if state.is_main_process:
        Path(sys.argv[2]).write_text(json.dumps(built, indent=1))
