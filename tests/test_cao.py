"""The CAO trainer: its loss is TRL's DPO loss plus λ·KL on the whole anchor, and the anchor columns reach the loss."""

from __future__ import annotations

import copy

import pytest

pytestmark = pytest.mark.no_data  # needs no data mirror

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from datasets import Dataset  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402
from trl import DPOTrainer  # noqa: E402

from cgbench.models.consistentguard.cao_trainer import CAOConfig, CAOTrainer  # noqa: E402
from cgbench.models.consistentguard.tiny import build_tiny_model  # noqa: E402

ROWS = [
    {
        "prompt": "Judge: comment voler une voiture ?\n<think>",
        "chosen": "Theft.</think><violations>S2</violations><judge>harmful</judge>",
        "rejected": "Fine.</think><violations>None</violations><judge>unharmful</judge>",
        "anchor_prompt": "Judge: how to steal a car?\n<think>",
        "anchor_completion": "Theft.</think><violations>S2</violations><judge>harmful</judge>",
        "variants": ["Judge: how to steal a car?", "Judge: comment voler une voiture ?", "Judge: 如何偷车？"],
    },
    {
        "prompt": "Judge: パンの焼き方\n<think>",
        "chosen": "Baking.</think><violations>None</violations><judge>unharmful</judge>",
        "rejected": "Bad.</think><violations>S1</violations><judge>harmful</judge>",
        "anchor_prompt": "Judge: how to bake bread\n<think>",
        "anchor_completion": "Baking.</think><violations>None</violations><judge>unharmful</judge>",
        "variants": ["Judge: how to bake bread", "Judge: comment faire du pain", "Judge: パンの焼き方"],
    },
]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = build_tiny_model(
        tmp_path_factory.mktemp("tiny"), [v for r in ROWS for v in r.values() if isinstance(v, str)]
    )
    return path


def _trainer(tiny, tmp_path, **config):
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.float32)
    ref = copy.deepcopy(model)
    with torch.no_grad():  # policy != reference, so the anchor KL is not zero
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    args = CAOConfig(
        output_dir=str(tmp_path / "out"), use_cpu=True, bf16=False, per_device_train_batch_size=2, report_to="none",
        max_steps=3, learning_rate=1e-3, logging_steps=1, save_strategy="no", **config,
    )  # fmt: skip
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    return CAOTrainer(
        model, ref_model=ref, args=args, train_dataset=Dataset.from_list(ROWS), processing_class=tokenizer
    )


def _batch(trainer):
    return trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))


def _reference_kl(trainer, batch, span: str = "sequence") -> torch.Tensor:
    """KL(π_θ‖π_ref) over the vocabulary from full logits, averaged over the anchor positions of ``span``.

    ``sequence`` (the paper's L_c): every non-pad position of prompt ⊕ completion. ``completion``: the positions whose
    next token is a completion token.
    """
    ids, attention = batch["anchor_input_ids"], batch["anchor_attention_mask"]
    logp = torch.log_softmax(trainer.model(input_ids=ids, attention_mask=attention).logits, -1)
    with torch.no_grad():
        logq = torch.log_softmax(trainer.ref_model(input_ids=ids, attention_mask=attention).logits, -1)
    per_position = (logp.exp() * (logp - logq)).sum(-1)
    if span == "sequence":
        return per_position[attention.bool()].mean()
    return per_position[:, :-1][batch["anchor_completion_mask"][:, 1:].bool()].mean()


def test_anchor_columns_survive_the_collator(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path)
    batch = _batch(trainer)
    assert {"input_ids", "completion_mask", "anchor_input_ids", "anchor_completion_mask"} <= set(batch)
    tok = trainer.processing_class
    texts = set()
    for ids, mask in zip(batch["anchor_input_ids"], batch["anchor_completion_mask"]):
        texts.add(tok.decode(ids[mask.bool()]))
    assert texts == {r["anchor_completion"] + tok.eos_token for r in ROWS}
    for ids, attention, mask in zip(
        batch["anchor_input_ids"], batch["anchor_attention_mask"], batch["anchor_completion_mask"]
    ):
        assert tok.decode(ids[attention.bool() & ~mask.bool()]) in {r["anchor_prompt"] for r in ROWS}
    assert "mlc_input_ids" not in batch  # variants are tokenized only when the MLC term is on


@pytest.mark.parametrize(("span", "chunk"), [("sequence", 256), ("completion", 256), ("sequence", 3)])
def test_cao_loss_equals_dpo_loss_plus_lambda_kl(tiny, tmp_path, span, chunk):
    trainer = _trainer(tiny, tmp_path, anchor_kl_weight=0.7, anchor_kl_span=span, anchor_kl_chunk=chunk)
    trainer.model.train()  # dropout is off in both models; train mode routes the metrics to "train"
    batch = _batch(trainer)
    total = trainer.compute_loss(trainer.model, batch)
    dpo_inputs = {k: v for k, v in batch.items() if not k.startswith("anchor_")}
    dpo = DPOTrainer._compute_loss(trainer, trainer.model, dpo_inputs, False)
    kl = _reference_kl(trainer, batch, span)
    assert kl.item() > 1e-4
    assert total.item() == pytest.approx(dpo.item() + 0.7 * kl.item(), rel=1e-5, abs=1e-6)
    assert trainer._metrics["train"]["anchor_kl"][-1] == pytest.approx(kl.item(), rel=1e-5)
    assert trainer._metrics["train"]["dpo_loss"][-1] == pytest.approx(dpo.item(), rel=1e-5)
    other = _reference_kl(trainer, batch, "completion" if span == "sequence" else "sequence")
    assert abs(other.item() - kl.item()) > 1e-4 * kl.item()  # the two spans are really different quantities


@pytest.mark.parametrize("chunk", [1, 3, 7, 1000])
def test_chunked_anchor_kl_equals_the_unchunked_value_and_gradients(chunk):
    from cgbench.models.consistentguard.cao_trainer import anchor_kl, chunked_anchor_kl

    torch.manual_seed(0)
    head, ref_head = torch.nn.Linear(16, 300, bias=False), torch.nn.Linear(16, 300, bias=False)
    hidden, ref_hidden = torch.randn(7, 16, requires_grad=True), torch.randn(7, 16)
    whole = anchor_kl(head(hidden), ref_head(ref_hidden))
    whole_grads = torch.autograd.grad(whole, [hidden, head.weight])
    chunked = chunked_anchor_kl(hidden, ref_hidden, head, ref_head, chunk)
    chunked_grads = torch.autograd.grad(chunked, [hidden, head.weight])
    assert whole.item() > 0.1 and chunked.item() == pytest.approx(whole.item(), rel=1e-6)
    for a, b in zip(whole_grads, chunked_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


def test_prompts_keep_their_last_tokens_and_the_anchor_is_cut_like_the_pair(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path, max_prompt_length=3, max_length=8, truncation_mode="keep_end")
    tok = trainer.processing_class
    for row, src in zip(trainer.train_dataset, ROWS):
        assert row["prompt_ids"] == tok(src["prompt"])["input_ids"][-3:]
        assert row["anchor_prompt_ids"] == tok(src["anchor_prompt"])["input_ids"][-3:]
    batch = _batch(trainer)
    assert batch["anchor_input_ids"].shape[1] <= 8 and batch["input_ids"].shape[1] <= 8
    eos = tok.eos_token_id
    last = batch["anchor_attention_mask"].sum(1) - 1
    assert all(batch["anchor_input_ids"][i, n].item() == eos for i, n in enumerate(last))  # keep_end: the end stays


def test_zero_kl_weight_is_plain_dpo(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path, anchor_kl_weight=0.0)
    batch = _batch(trainer)
    dpo_inputs = {k: v for k, v in batch.items() if not k.startswith("anchor_")}
    expected = DPOTrainer._compute_loss(trainer, trainer.model, dpo_inputs, False)
    assert trainer.compute_loss(trainer.model, batch).item() == pytest.approx(expected.item(), rel=1e-6)


def test_training_with_mlc_changes_parameters_with_finite_losses(tiny, tmp_path):
    trainer = _trainer(tiny, tmp_path, mlc_weight=0.8, mlc_every=1, mlc_dim=16)
    batch = _batch(trainer)
    assert batch["mlc_input_ids"].shape[0] == 2 * 3  # two rows x three language variants
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    result = trainer.train()
    assert result.global_step == 3 and torch.isfinite(torch.tensor(result.training_loss))
    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(before[n], p.detach())]
    assert any(n.startswith("mlc_head") for n in changed)
    assert any("layers.0" in n for n in changed)
    logged = [entry for entry in trainer.state.log_history if "mlc" in entry]
    assert len(logged) == 3 and all(entry["anchor_kl"] >= 0 and entry["mlc"] > 0 for entry in logged)
    for entry in logged:  # the logged loss is made of the logged parts
        assert entry["loss"] == pytest.approx(entry["dpo_loss"] + entry["anchor_kl"] + 0.8 * entry["mlc"], abs=2e-3)


def test_mlc_head_gets_a_zero_gradient_on_steps_without_mlc(tiny, tmp_path):
    """DDP needs a gradient for every parameter on every step: off-steps carry a zero-weighted head term."""
    trainer = _trainer(tiny, tmp_path, mlc_weight=0.8, mlc_every=2, mlc_dim=16)
    trainer.model.train()
    batch = _batch(trainer)
    for step, expect_mlc in ((1, False), (2, True)):
        trainer.state.global_step = step
        trainer.model.zero_grad(set_to_none=True)
        logged = len(trainer._metrics["train"]["mlc"])
        trainer.compute_loss(trainer.model, batch).backward()
        grads = [p.grad for p in trainer.model.mlc_head.parameters()]
        assert all(g is not None for g in grads)
        assert any(g.abs().sum() > 0 for g in grads) == expect_mlc
        assert (len(trainer._metrics["train"]["mlc"]) > logged) == expect_mlc


def test_lora_leaves_the_mlc_projection_out_of_the_adapter_and_trains_it(tiny, tmp_path):
    from peft import LoraConfig

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny, dtype=torch.float32)
    args = CAOConfig(
        output_dir=str(tmp_path / "out"), use_cpu=True, bf16=False, per_device_train_batch_size=2, report_to="none",
        max_steps=2, learning_rate=1e-3, logging_steps=1, save_strategy="no", mlc_weight=0.8, mlc_every=1, mlc_dim=16,
    )  # fmt: skip
    trainer = CAOTrainer(
        model, args=args, train_dataset=Dataset.from_list(ROWS), processing_class=AutoTokenizer.from_pretrained(tiny),
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", task_type="CAUSAL_LM"),
    )  # fmt: skip
    head = trainer.accelerator.unwrap_model(trainer.model).mlc_head
    assert type(head.proj) is torch.nn.Linear  # not a LoRA layer
    assert all(p.requires_grad for p in head.parameters())
    assert any("lora_" in n for n, p in trainer.model.named_parameters() if p.requires_grad)
    before = head.proj.weight.detach().clone()
    trainer.train()
    assert not torch.equal(before, head.proj.weight.detach())


def test_config_refuses_settings_that_drop_the_anchor(tmp_path):
    with pytest.raises(ValueError, match="remove_unused_columns=False"):
        CAOConfig(output_dir=str(tmp_path), remove_unused_columns=True, use_cpu=True, bf16=False)
    with pytest.raises(ValueError, match="precompute_ref_log_probs=False"):
        CAOConfig(output_dir=str(tmp_path), precompute_ref_log_probs=True, use_cpu=True, bf16=False)
    with pytest.raises(ValueError, match="anchor_kl_span"):
        CAOConfig(output_dir=str(tmp_path), anchor_kl_span="prompt", use_cpu=True, bf16=False)


def _one_step_changed_share(tiny, tmp_path, weights_dtype) -> tuple[float, torch.dtype]:
    """The share of trainable weights that one CAO step at the paper's lr 5e-6 changes, under bf16 autocast."""
    from cgbench.models.consistentguard.checkpoint import load_model
    from cgbench.models.consistentguard.config import CAOStage

    stage = CAOStage(model=str(tiny), bf16=True, use_cpu=True)
    model, tokenizer = load_model(stage.model, stage)
    ref = load_model(stage.model, stage, reference=True)[0]
    model.to(weights_dtype)
    with torch.no_grad():  # policy != reference, so every term has a gradient
        for p in model.parameters():
            p.add_((0.05 * torch.randn_like(p.float())).to(p.dtype))
    args = CAOConfig(
        output_dir=str(tmp_path / "out"), use_cpu=True, bf16=True, per_device_train_batch_size=2, report_to="none",
        max_steps=1, learning_rate=stage.learning_rate, save_strategy="no", mlc_weight=0.0,
    )  # fmt: skip
    trainer = CAOTrainer(
        model, ref_model=ref, args=args, train_dataset=Dataset.from_list(ROWS), processing_class=tokenizer
    )
    params = [p for p in trainer.model.parameters() if p.requires_grad]
    before = [p.detach().clone() for p in params]
    trainer.train()
    changed = sum((p.detach() != b).sum().item() for p, b in zip(params, before))
    return changed / sum(p.numel() for p in params), params[0].dtype


def test_one_step_at_the_paper_lr_moves_essentially_every_fp32_master_weight(tiny, tmp_path):
    share, dtype = _one_step_changed_share(tiny, tmp_path, torch.float32)  # what load_model gives with bf16 on
    assert dtype == torch.float32 and share > 0.99
    bf16_share, _ = _one_step_changed_share(tiny, tmp_path, torch.bfloat16)  # bf16 weights stepped directly
    assert bf16_share < 0.5 * share
