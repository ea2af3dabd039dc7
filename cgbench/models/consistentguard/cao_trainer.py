"""CAO on TRL 1.x: DPO loss + λ·KL(π_θ ‖ π_ref) on an anchor, optionally + MLC.

A CAO row is a DPO row (``prompt``, ``chosen``, ``rejected``: the failed-language input, a successful
output, the failed output) plus an anchor (``anchor_prompt``, ``anchor_completion``: an input the model got right
and its output) and, for the MLC term, ``variants`` (the same seed prompt in every language, English first).
TRL drops columns its collator does not know, so the config turns ``remove_unused_columns`` off and
``DataCollatorForCAO`` pads the extra columns.

The anchor term is the paper's L_c = D_KL[π_θ(q_a ⊕ p_a) ‖ π_ref(q_a ⊕ p_a)]: the next-token distributions of the
two models compared at every non-pad position of the anchor sequence, prompt and completion, averaged over those
positions (``anchor_kl_span="sequence"``; the released a_dpo_trainer.py also takes every non-pad anchor position).
``anchor_kl_span="completion"`` keeps only the positions that predict completion tokens.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from accelerate.utils import is_peft_model
from torch.utils.checkpoint import checkpoint
from trl import DPOConfig, DPOTrainer
from trl.trainer.dpo_trainer import DataCollatorForPreference
from trl.trainer.utils import pad, use_adapter

from cgbench.models.consistentguard.mlc import MLC_DIM, MLC_TAU, MLCHead

EXTRA_PREFIXES = ("anchor_", "mlc_")
ANCHOR_SPANS = ("sequence", "completion")


@dataclass
class CAOConfig(DPOConfig):
    """``DPOConfig`` with the anchor KL, the prompt limit TRL 1.x dropped, and the optional MLC term."""

    anchor_kl_weight: float = field(default=1.0, metadata={"help": "λ: weight of KL(π_θ‖π_ref) on the anchor."})
    anchor_kl_span: str = field(
        default="sequence", metadata={"help": "'sequence': every non-pad anchor position; 'completion': its answer."}
    )
    max_prompt_length: int | None = field(
        default=None, metadata={"help": "Keep the last N prompt tokens (TRL 0.x's field; release: 512)."}
    )
    anchor_kl_chunk: int = field(
        default=256, metadata={"help": "Positions per anchor-KL chunk: memory only, the value is the same."}
    )
    mlc_weight: float = field(default=0.0, metadata={"help": "Weight of the MLC loss (release: 0.8); 0 = off."})
    mlc_dim: int = field(default=MLC_DIM, metadata={"help": "MLC projection size."})
    mlc_tau: float = field(default=MLC_TAU, metadata={"help": "MLC temperature."})
    mlc_layer: int = field(default=-1, metadata={"help": "Hidden-state layer for MLC (-1 = last)."})
    mlc_every: int = field(default=2, metadata={"help": "Add the MLC term every this many optimizer steps."})
    remove_unused_columns: bool = field(default=False, metadata={"help": "False: keep the anchor columns."})

    def __post_init__(self):
        super().__post_init__()
        if self.remove_unused_columns:
            raise ValueError("CAO needs remove_unused_columns=False: the anchor columns must reach the collator")
        if self.precompute_ref_log_probs:
            raise ValueError(
                "CAO needs the reference model in memory for the anchor KL: precompute_ref_log_probs=False"
            )
        if self.anchor_kl_chunk < 1:
            raise ValueError(f"anchor_kl_chunk must be positive, got {self.anchor_kl_chunk}")
        if self.anchor_kl_span not in ANCHOR_SPANS:
            raise ValueError(f"anchor_kl_span must be one of {ANCHOR_SPANS}, got {self.anchor_kl_span!r}")


def _truncate(seq: list[int], max_length: int | None, mode: str) -> list[int]:
    if max_length is None:
        return seq
    return seq[-max_length:] if mode == "keep_end" else seq[:max_length]


@dataclass
class DataCollatorForCAO(DataCollatorForPreference):
    """TRL's preference collator, plus padded anchor and MLC-variant tensors when the rows carry them.

    The anchor is truncated like the DPO sequences (``max_length``, ``truncation_mode``); ``anchor_completion_mask``
    marks its completion tokens.
    """

    def torch_call(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = super().torch_call(examples)
        if "anchor_prompt_ids" in examples[0]:
            ids, completion = [], []
            for ex in examples:
                seq = ex["anchor_prompt_ids"] + ex["anchor_completion_ids"]
                mask = [0] * len(ex["anchor_prompt_ids"]) + [1] * len(ex["anchor_completion_ids"])
                ids.append(torch.tensor(_truncate(seq, self.max_length, self.truncation_mode)))
                completion.append(torch.tensor(_truncate(mask, self.max_length, self.truncation_mode)))
            batch["anchor_input_ids"] = pad(ids, padding_value=self.pad_token_id, padding_side="right")
            batch["anchor_attention_mask"] = pad(
                [torch.ones_like(x) for x in ids], padding_value=0, padding_side="right"
            )
            batch["anchor_completion_mask"] = pad(completion, padding_value=0, padding_side="right")
        if "mlc_variant_ids" in examples[0]:
            counts = {len(ex["mlc_variant_ids"]) for ex in examples}
            if len(counts) != 1:
                raise ValueError(f"every row needs the same number of language variants, got {sorted(counts)}")
            rows = [
                torch.tensor(v[: self.max_length] if self.max_length else v)
                for ex in examples
                for v in ex["mlc_variant_ids"]
            ]
            batch["mlc_input_ids"] = pad(rows, padding_value=self.pad_token_id, padding_side="right")
            batch["mlc_attention_mask"] = pad([torch.ones_like(r) for r in rows], padding_value=0, padding_side="right")
        return batch


def tokenize_extras(dataset, tokenizer, variants: bool = True):
    """Add ``anchor_prompt_ids``/``anchor_completion_ids`` (EOS appended, like TRL's chosen) and ``mlc_variant_ids``."""
    columns = set(dataset.column_names) - (set() if variants else {"variants"})
    eos = tokenizer.eos_token or ""

    def tokenize(row: dict[str, Any]) -> dict[str, Any]:
        out = {}
        if "anchor_prompt" in columns:
            prompt_ids = tokenizer(row["anchor_prompt"])["input_ids"]
            completion = row["anchor_completion"]
            full = tokenizer(row["anchor_prompt"] + completion + ("" if completion.endswith(eos) else eos))["input_ids"]
            split = _common_prefix(prompt_ids, full)
            out["anchor_prompt_ids"], out["anchor_completion_ids"] = full[:split], full[split:]
        if "variants" in columns:
            out["mlc_variant_ids"] = [tokenizer(text)["input_ids"] for text in row["variants"]]
        return out

    return dataset.map(tokenize) if columns & {"anchor_prompt", "variants"} else dataset


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def anchor_kl(policy_logits: torch.Tensor, ref_logits: torch.Tensor) -> torch.Tensor:
    """Mean over positions of KL(π_θ ‖ π_ref) over the vocabulary.

    ``policy_logits``/``ref_logits``: (positions, vocab), the next-token logits at the positions the KL covers.
    """
    logp = F.log_softmax(policy_logits.float(), dim=-1)
    logq = F.log_softmax(ref_logits.float(), dim=-1)
    per_position = (logp.exp() * (logp - logq)).sum(-1)
    return per_position.mean() if per_position.numel() else policy_logits.sum() * 0.0


def chunked_anchor_kl(
    policy_hidden: torch.Tensor, ref_hidden: torch.Tensor, head, ref_head, chunk: int
) -> torch.Tensor:
    """``anchor_kl(head(policy_hidden), ref_head(ref_hidden))``, computed ``chunk`` positions at a time.

    ``*_hidden``: (positions, hidden). Each chunk's logits are recomputed in the backward pass (activation
    checkpointing), so at most one chunk of (chunk, vocab) fp32 logits per model exists at once, never the whole
    anchor batch's.
    """
    total = policy_hidden.new_zeros((), dtype=torch.float32)
    positions = policy_hidden.size(0)
    if positions == 0:
        return policy_hidden.sum() * 0.0
    for start in range(0, positions, chunk):
        end = min(start + chunk, positions)
        with torch.no_grad():
            ref = ref_head(ref_hidden[start:end])
        part = checkpoint(_kl_sum, policy_hidden[start:end], ref, head, use_reentrant=False)
        total = total + part
    return total / positions


def _kl_sum(hidden: torch.Tensor, ref_logits: torch.Tensor, head) -> torch.Tensor:
    logp = F.log_softmax(head(hidden).float(), dim=-1)
    logq = F.log_softmax(ref_logits.float(), dim=-1)
    return (logp.exp() * (logp - logq)).sum()


def anchor_positions(batch: dict[str, torch.Tensor], span: str) -> torch.Tensor:
    """(rows, length) bool: the positions whose next-token distributions the anchor KL compares.

    ``sequence``: every non-pad position. ``completion``: the positions that predict a completion token.
    """
    if span == "sequence":
        return batch["anchor_attention_mask"].bool()
    predicts = torch.zeros_like(batch["anchor_completion_mask"], dtype=torch.bool)
    predicts[:, :-1] = batch["anchor_completion_mask"][:, 1:].bool()  # position t predicts token t+1
    return predicts


class CAOTrainer(DPOTrainer):
    """``DPOTrainer`` whose loss adds the anchor KL (and MLC); ``_compute_loss`` is the overridden hook.

    Runs under DDP: the model the Trainer passes in may be a wrapper, so its own methods are reached by unwrapping
    it, and the MLC head gets a gradient on every step (a zero-weighted term on the steps without MLC), so DDP never
    sees an unused parameter. With LoRA the MLC head is left out of the adapter and trained fully, as in the
    MLC release.
    """

    def __init__(
        self,
        model,
        ref_model=None,
        args: CAOConfig | None = None,
        train_dataset=None,
        processing_class=None,
        data_collator=None,
        peft_config=None,
        **kwargs,
    ):
        if not isinstance(args, CAOConfig):
            raise TypeError("CAOTrainer needs args=CAOConfig(...)")
        if processing_class is None or train_dataset is None:
            raise TypeError("CAOTrainer needs processing_class (the tokenizer) and train_dataset")
        if data_collator is None:
            pad_id = processing_class.pad_token_id
            pad_id = processing_class.eos_token_id if pad_id is None else pad_id
            data_collator = DataCollatorForCAO(
                pad_token_id=pad_id, max_length=args.max_length, truncation_mode=args.truncation_mode
            )
        if args.mlc_weight and not hasattr(model, "mlc_head"):
            # A submodule of the model, so optimizers, DDP, DeepSpeed and FSDP see its parameters
            hidden = model.config.get_text_config().hidden_size
            model.add_module("mlc_head", MLCHead(hidden, args.mlc_dim, args.mlc_tau, args.mlc_layer))
        if peft_config is not None and hasattr(model, "mlc_head"):
            peft_config = _without_mlc_head(peft_config)
        super().__init__(
            model,
            ref_model=ref_model,
            args=args,
            train_dataset=tokenize_extras(train_dataset, processing_class, variants=bool(args.mlc_weight)),
            processing_class=processing_class,
            data_collator=data_collator,
            peft_config=peft_config,
            **kwargs,
        )
        if args.mlc_weight:
            self._mlc_head().requires_grad_(True)  # PEFT freezes every parameter outside the adapter

    def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
        dataset = super()._prepare_dataset(dataset, processing_class, args, dataset_name)
        if args.max_prompt_length is None:
            return dataset
        keep = args.max_prompt_length

        def cut(row: dict[str, Any]) -> dict[str, Any]:  # TRL 0.x: prompt_input_ids[-max_prompt_length:]
            out = {"prompt_ids": row["prompt_ids"][-keep:]}
            if "anchor_prompt_ids" in row:
                out["anchor_prompt_ids"] = row["anchor_prompt_ids"][-keep:]
            return out

        return dataset.map(cut)

    def _unwrapped(self):
        return self.accelerator.unwrap_model(self.model)

    def _mlc_head(self) -> MLCHead:
        return self._unwrapped().mlc_head

    def _compute_loss(self, model, inputs, return_outputs):
        inputs = dict(inputs)
        extra = {k: inputs.pop(k) for k in list(inputs) if k.startswith(EXTRA_PREFIXES)}
        result = super()._compute_loss(model, inputs, return_outputs)
        loss = result[0] if return_outputs else result
        mode = "train" if self.model.training else "eval"
        self._log_part(mode, "dpo_loss", loss)
        if "anchor_input_ids" in extra and self.args.anchor_kl_weight:
            kl = self._anchor_kl(model, extra)
            self._log_part(mode, "anchor_kl", kl)
            loss = loss + self.args.anchor_kl_weight * kl
        if self.args.mlc_weight and "mlc_input_ids" in extra:
            loss = loss + self._mlc_term(model, inputs, extra, mode)
        return (loss, result[1]) if return_outputs else loss

    def _log_part(self, mode: str, name: str, value: torch.Tensor) -> None:
        self._metrics[mode][name].append(self.accelerator.gather_for_metrics(value.detach()).mean().item())

    def _mlc_term(self, model, inputs: dict[str, torch.Tensor], extra: dict[str, torch.Tensor], mode: str):
        """λ_MLC · MLC on the steps it runs (every ``mlc_every``); otherwise 0 · (head parameters), so DDP sees them."""
        head = self._mlc_head()
        if self.state.global_step % self.args.mlc_every:
            return sum(p.sum() for p in head.parameters()) * 0.0
        n_langs = extra["mlc_input_ids"].size(0) // (inputs["input_ids"].size(0) // 2)
        mlc = head(model, extra["mlc_input_ids"], extra["mlc_attention_mask"], n_langs)
        self._log_part(mode, "mlc", mlc)
        return self.args.mlc_weight * mlc

    def _anchor_kl(self, model, extra: dict[str, torch.Tensor]) -> torch.Tensor:
        ids, attention = extra["anchor_input_ids"], extra["anchor_attention_mask"]
        positions = anchor_positions(extra, self.args.anchor_kl_span)
        head = self._unwrapped().get_output_embeddings()
        # the head runs outside the model's forward, so outside the autocast accelerate wraps around it: add it back
        with self.accelerator.autocast():
            policy = _hidden_at(model, ids, attention, positions)
            ref_head = head
            with torch.no_grad():
                if self.ref_model is not None:
                    ref_head = self.accelerator.unwrap_model(self.ref_model).get_output_embeddings()
                    ref = _hidden_at(self.ref_model, ids, attention, positions)
                elif is_peft_model(self._unwrapped()):
                    unwrapped = self._unwrapped()
                    name = "ref" if "ref" in unwrapped.peft_config else None
                    with use_adapter(unwrapped, adapter_name=name):  # the LM head carries no adapter (all-linear)
                        ref = _hidden_at(model, ids, attention, positions)
                else:
                    raise ValueError("CAO needs a reference model: pass ref_model or train a PEFT adapter")
            return chunked_anchor_kl(policy, ref, head, ref_head, self.args.anchor_kl_chunk)


def _without_mlc_head(peft_config):
    """A copy of a LoRA config that leaves the MLC projection out of the adapter (it is trained fully)."""
    excluded = peft_config.exclude_modules or []
    excluded = [excluded] if isinstance(excluded, str) else list(excluded)
    return dataclasses.replace(peft_config, exclude_modules=[*excluded, "mlc_head.proj"])


def _hidden_at(model, ids: torch.Tensor, attention: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """The last hidden states at ``positions`` (positions, hidden); the LM head runs later, chunk by chunk.

    ``model`` is called as given (a DDP wrapper stays one).
    """
    out = model(input_ids=ids, attention_mask=attention, output_hidden_states=True, logits_to_keep=1)
    return out.hidden_states[-1][positions]


def train_cao(stage) -> dict[str, float]:
    """Train CAO on ``stage.data`` (pairs JSONL), save a plain HF folder, and return loss and steps/s."""
    from datasets import Dataset

    from cgbench.models.consistentguard.cao import read_pairs
    from cgbench.models.consistentguard.checkpoint import load_model, peft_config, save_final, train_metrics, trl_config

    rows = read_pairs(stage.data)
    if not rows:
        raise ValueError(f"{stage.data}: no CAO pairs (the model made no failures that a success could pair with)")
    columns = ["prompt", "chosen", "rejected", "anchor_prompt", "anchor_completion"]
    if stage.mlc_weight:
        columns.append("variants")
    dataset = Dataset.from_list([{k: r[k] for k in columns} for r in rows])
    model, tokenizer = load_model(stage.model, stage)
    # TRL needs an explicit reference for an in-memory model; with LoRA the disabled adapter is the reference
    ref_model = None if stage.lora else load_model(stage.model, stage, reference=True)[0]
    trainer = CAOTrainer(
        model,
        ref_model=ref_model,
        args=trl_config(CAOConfig, stage),
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config(stage.lora),
    )
    metrics = train_metrics(trainer.train(), trainer, parts=("dpo_loss", "anchor_kl", "mlc"))
    save_final(trainer, stage.output_dir, stage.template)
    return metrics
