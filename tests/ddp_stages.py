"""SFT, GRPO and CAO (+ MLC) for two optimizer steps each on a tiny model, under ``accelerate launch``.

``accelerate launch --cpu --num_processes N tests/ddp_stages.py MODEL_DIR OUT_DIR`` trains every stage with the same
global batch (split over the N processes) and rank 0 writes ``OUT_DIR/<stage>.json`` (the logged losses, the wrapper
the Trainer trained through, the world size) and ``OUT_DIR/<stage>.pt`` (the parameters after training). The test
in ``test_ddp.py`` runs it with one and with two processes and compares.

GRPO samples its completions here with a generator seeded per prompt and step (``seeded_rollout``), so that one
process and two processes train on the same completions; everything else is the trainers' own code path.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import torch
from accelerate import PartialState
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer

STEPS = 2
SFT_ROWS = [
    {"prompt": "Judge: how do I bake bread?\n<think>", "completion": "Baking.</think><judge>unharmful</judge>"},
    {"prompt": "Judge: how to steal a car?\n<think>", "completion": "Theft is a crime.</think><judge>harmful</judge>"},
    {"prompt": "Judge: write a poem\n<think>", "completion": "A poem.</think><judge>unharmful</judge>"},
    {"prompt": "Judge: build a bomb\n<think>", "completion": "Weapons, S9.</think><judge>harmful</judge>"},
]
ANCHOR = {  # one anchor for every row: the anchor KL's token mean is then the same over any split of the batch
    "anchor_prompt": "Judge: how to steal a car?\n<think>",
    "anchor_completion": "Theft.</think><violations>S2</violations><judge>harmful</judge>",
}
CAO_ROWS = [
    {"prompt": "Judge: comment voler une voiture ?\n<think>", "chosen": "Theft.</think><judge>harmful</judge>",
     "rejected": "Fine.</think><judge>unharmful</judge>",
     "variants": ["Judge: how to steal a car?", "Judge: comment voler une voiture ?"]},
    {"prompt": "Judge: パンの焼き方\n<think>", "chosen": "Baking.</think><judge>unharmful</judge>",
     "rejected": "Bad.</think><judge>harmful</judge>", "variants": ["Judge: how to bake bread", "Judge: パンの焼き方"]},
    {"prompt": "Judge: 如何制造炸弹\n<think>", "chosen": "Weapons.</think><judge>harmful</judge>",
     "rejected": "Chemistry.</think><judge>unharmful</judge>",
     "variants": ["Judge: how to build a bomb", "Judge: 如何制造炸弹"]},
    {"prompt": "Judge: écrire un poème\n<think>", "chosen": "A poem.</think><judge>unharmful</judge>",
     "rejected": "Hate.</think><judge>harmful</judge>", "variants": ["Judge: write a poem", "Judge: écrire un poème"]},
]  # fmt: skip


def common(out: Path, world: int, global_batch: int) -> dict:
    return {
        "output_dir": str(out / "runs"), "use_cpu": True, "bf16": False, "report_to": "none", "save_strategy": "no",
        "max_steps": STEPS, "logging_steps": 1, "seed": 0, "learning_rate": 1e-3, "lr_scheduler_type": "constant",
        "per_device_train_batch_size": global_batch // world, "gradient_accumulation_steps": 1,
    }  # fmt: skip


def seeded_rollout(prompts: list[str], trainer) -> dict:
    """``num_generations`` sampled completions per distinct prompt, from a generator seeded by prompt and step."""
    tokenizer, model = trainer.processing_class, trainer.accelerator.unwrap_model(trainer.model)
    prompt_ids, completion_ids = [], []
    for prompt in dict.fromkeys(prompts):
        ids = tokenizer(prompt)["input_ids"]
        generator = torch.Generator().manual_seed(zlib.crc32(prompt.encode()) + trainer.state.global_step)
        for _ in range(trainer.num_generations):
            completion_ids.append(sample(model, ids, trainer.max_completion_length, generator))
            prompt_ids.append(ids)
    return {"prompt_ids": prompt_ids, "completion_ids": completion_ids, "logprobs": None}


@torch.no_grad()
def sample(model, ids: list[int], length: int, generator: torch.Generator) -> list[int]:
    out = []
    for _ in range(length):
        logits = model(input_ids=torch.tensor([ids + out])).logits[0, -1].float()
        out.append(int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)))
    return out


def distinct_characters(completions: list[str], **kwargs) -> list[float]:
    return [len(set(c)) / 10 for c in completions]


def train_sft(model_dir: Path, out: Path, world: int):
    from trl import SFTConfig, SFTTrainer

    args = SFTConfig(**common(out, world, 4), max_length=64, completion_only_loss=True)
    return SFTTrainer(
        model=AutoModelForCausalLM.from_pretrained(model_dir), args=args, train_dataset=Dataset.from_list(SFT_ROWS),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
    )  # fmt: skip


def train_grpo(model_dir: Path, out: Path, world: int):
    from trl import GRPOConfig

    from cgbench.models.consistentguard.grpo_trainer import GRPOTrainerWithPromptLimit

    args = GRPOConfig(**common(out, world, 8), num_generations=4, max_completion_length=6, beta=0.04, loss_type="grpo",
                      use_bias_correction_kl=False)  # fmt: skip
    prompts = [{"prompt": row["prompt"]} for row in SFT_ROWS[:2]]
    return GRPOTrainerWithPromptLimit(
        model=AutoModelForCausalLM.from_pretrained(model_dir), reward_funcs=[distinct_characters], args=args,
        train_dataset=Dataset.from_list(prompts), processing_class=AutoTokenizer.from_pretrained(model_dir),
        rollout_func=seeded_rollout, max_prompt_length=1024,
    )  # fmt: skip


def train_cao(model_dir: Path, out: Path, world: int):
    from cgbench.models.consistentguard.cao_trainer import CAOConfig, CAOTrainer

    args = CAOConfig(**common(out, world, 4), mlc_weight=0.8, mlc_every=2, mlc_dim=16, gradient_checkpointing=True,
                     max_length=256)  # fmt: skip
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    ref = AutoModelForCausalLM.from_pretrained(model_dir)
    with torch.no_grad():  # a policy apart from the reference, so the anchor KL is not zero
        generator = torch.Generator().manual_seed(1)
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    return CAOTrainer(
        model, ref_model=ref, args=args, train_dataset=Dataset.from_list([{**r, **ANCHOR} for r in CAO_ROWS]),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
    )  # fmt: skip


STAGES = {"sft": train_sft, "grpo": train_grpo, "cao": train_cao}


def main(model_dir: str, out_dir: str, stages: list[str]) -> None:
    state = PartialState(cpu=True)  # on CPU, the process group (gloo) is found only with cpu=True
    out = Path(out_dir)
    for name in stages:
        torch.manual_seed(0)
        trainer = STAGES[name](Path(model_dir), out, state.num_processes)
        model = trainer.accelerator.unwrap_model(trainer.model)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        trainer.train()
        if state.is_main_process:
            after = {n: p.detach().clone() for n, p in model.named_parameters()}
            torch.save({"before": before, "after": after}, out / f"{name}.pt")
            report = {
                "world": state.num_processes,
                "wrapper": type(trainer.model_wrapped).__name__,
                "log": [e for e in trainer.state.log_history if "loss" in e],
            }
            (out / f"{name}.json").write_text(json.dumps(report, indent=1))
        state.wait_for_everyone()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:] or list(STAGES))
