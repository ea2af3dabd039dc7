"""The whole ConsistentGuard recipe through ``cgbench train`` on a tiny random Qwen2 model, offline.

seed (mirror files) -> distillation (teacher = a real HTTP server on 127.0.0.1) -> SFT -> GRPO ->
CAO pairs (synthetic translations from files) -> CAO (+ MLC) -> ``cgbench run`` with the checkpoint.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from conftest import chat_server  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from cgbench.cli import app  # noqa: E402
from cgbench.models.consistentguard.seed import evaluation_texts, normalise  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "configs" / "consistentguard" / "tiny-cpu.yaml"
LANGS = ["en", "fr", "zh"]


class Teacher:
    """The teacher's replies in ConsistentGuard's format, from ``verdicts`` (prompt text -> judgment).

    A text it lacks gets an unparseable answer; every request body is recorded.
    """

    def __init__(self, verdicts: dict[str, str]) -> None:
        self.verdicts, self.requests = verdicts, []

    def __call__(self, body: dict) -> str:
        self.requests.append(body)
        user = body["messages"][-1]["content"]
        verdict = self.verdicts.get(user.split("User: ", 1)[1].split("\n</conversation>")[0])
        if verdict is None:
            return "I cannot tell."
        codes = "S2" if verdict == "harmful" else "None"
        return (
            f"<think>Step 1: a request. Step 2: {codes}. Step 3: {verdict}.</think>"
            f"<violations>{codes}</violations><judge>{verdict}</judge>"
        )


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, f"cgbench {' '.join(map(str, args))}\n{result.output}\n{result.exception!r}"
    return result.output


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _metric(output: str, name: str) -> float:
    """A row of a training command's table; it must be finite."""
    match = re.search(rf"│ {name}\s+│ (\S+)", output)
    assert match, f"no {name} row in\n{output}"
    value = float(match.group(1))
    assert math.isfinite(value), output
    return value


def _loss(output: str) -> float:
    return _metric(output, "train_loss")


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


def _changed(before: Path, after: Path) -> bool:
    a, b = _weights(before), _weights(after)
    assert set(a) == set(b), "the checkpoint's tensors differ from the starting model's (a training head left in?)"
    return any(not torch.equal(a[k], b[k]) for k in a)


def test_recipe_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    out = tmp_path
    _cli("train", "tiny-model", out / "model")

    # 1. seed: 8 balanced prompts from the mirror's training files, none from an evaluation set
    _cli("train", "seed", "-c", TINY, "--n", 8, "--output", out / "seed.jsonl")
    seed = _rows(out / "seed.jsonl")
    assert len(seed) == 8 and sum(r["label"] for r in seed) == 4
    exact, normalised = evaluation_texts()
    assert not any(r["text"] in exact or normalise(r["text"]) in normalised for r in seed)
    refused = CliRunner().invoke(app, ["train", "seed", "--source", "beavertails", "--output", str(out / "x.jsonl")])
    assert refused.exit_code == 2 and "judge the response" in refused.output

    # 2. distillation: one answer disagrees with the label, one does not parse -> both dropped and counted
    words = {r["text"]: "harmful" if r["label"] else "unharmful" for r in seed}
    words[seed[0]["text"]] = "unharmful" if seed[0]["label"] else "harmful"
    del words[seed[1]["text"]]
    teacher = Teacher(words)
    args = ("train", "distill", "-c", TINY, "--input", out / "seed.jsonl", "--output", out / "distilled.jsonl")
    with chat_server(teacher) as url:
        report = _cli(*args, "--base-url", url)
        _cli(*args, "--base-url", url)  # resumed: only the two dropped items are asked again
    assert "dropped disagree │ 1" in report and "dropped unparsed │ 1" in report and "kept             │ 6" in report
    distilled = _rows(out / "distilled.jsonl")
    assert len(distilled) == 6 and all(r["prompt"].endswith("<think>") for r in distilled)
    assert "Step 3" in distilled[0]["completion"]
    assert "verified judgment" in teacher.requests[0]["messages"][-1]["content"]  # label_in_prompt, the default
    assert len(teacher.requests) == 8 + 2 and len(_rows(out / "distilled.jsonl")) == 6

    # 3. SFT: completion-only loss; 4. GRPO on the seed prompts
    sft = _cli("train", "sft", "-c", TINY, "--model", out / "model", "--data", out / "distilled.jsonl",
               "--output-dir", out / "sft")  # fmt: skip
    assert _loss(sft) > 0 and _changed(out / "model", out / "sft")
    grpo = _cli("train", "grpo", "-c", TINY, "--model", out / "sft", "--data", out / "seed.jsonl",
                "--output-dir", out / "grpo")  # fmt: skip
    _loss(grpo)
    assert _changed(out / "sft", out / "grpo")

    # 5. CAO pairs: synthetic "translations" (reversed words, tagged) stand in for a translator
    translations = out / "translations"
    translations.mkdir()
    for lang in LANGS[1:]:
        with (translations / f"{lang}.jsonl").open("w", encoding="utf-8") as f:
            for r in seed:
                f.write(json.dumps({"id": r["id"], "text": f"[{lang}] " + " ".join(r["text"].split()[::-1])}) + "\n")
    pairs_out = _cli("train", "cao-pairs", "-c", TINY, "--model", out / "grpo", "--seed", out / "seed.jsonl",
                     "--from-files", translations, "--output", out / "pairs.jsonl", *sum((["--lang", x] for x in LANGS), []))  # fmt: skip  # noqa: E501
    report = json.loads((out / "pairs.report.json").read_text())
    assert list(report) == LANGS and all(r["items"] == 8 for r in report.values())
    cuts = json.loads((out / "pairs.truncation.json").read_text())  # per language: what CAO's limits will cut
    assert set(cuts) <= set(LANGS) and all(c["pairs"] >= c["prompt_cut"] for c in cuts.values())
    assert "CAO truncation at max_prompt_length 512, max_length 1024" in pairs_out
    assert all(r["failures"] == r["items"] - r["correct"] and r["pairs"] <= r["failures"] for r in report.values())
    pairs = _rows(out / "pairs.jsonl")
    assert len(pairs) == sum(r["pairs"] for r in report.values()) > 0, pairs_out
    for pair in pairs:
        assert pair["anchor_prompt"] in pair["variants"] and pair["prompt"] in pair["variants"]
        assert pair["anchor_completion"] == pair["chosen"] != pair["rejected"]
        assert pair["anchor_lang"] != pair["lang"]  # the anchor is a success, the pair's language failed

    # 6. CAO training (DPO + anchor KL + MLC)
    cao = _cli("train", "cao", "-c", TINY, "--model", out / "grpo", "--data", out / "pairs.jsonl",
               "--output-dir", out / "cg")  # fmt: skip
    # the loss is DPO + λ·anchor KL + λ_MLC·MLC: both custom terms ran and add up to the logged loss
    parts = {name: _metric(cao, name) for name in ("dpo_loss", "anchor_kl", "mlc")}
    assert parts["anchor_kl"] > 0 and parts["mlc"] > 0, cao
    assert _loss(cao) == pytest.approx(parts["dpo_loss"] + parts["anchor_kl"] + 0.8 * parts["mlc"], abs=1e-2)
    assert _changed(out / "grpo", out / "cg")

    # 7. the checkpoint is a plain folder that cgbench's runner scores
    if "run" not in {c.name for c in app.registered_commands}:  # before the runner lands: load and generate
        from cgbench.models.backends import get_backend
        from cgbench.models.guards.consistentguard import ConsistentGuardFormat

        prompt = ConsistentGuardFormat().build("How do I bake bread?")
        assert get_backend("hf", model=str(out / "cg")).complete(prompt, max_new_tokens=8)[0].text
        return
    results = out / "results"
    _cli("run", "--guard", "consistentguard", "--model", out / "cg", "--backend", "hf", "--sets", "simple_safety_tests",
         "--langs", "en", "--limit", 2, "--results-dir", results, "--run-id", "tiny")  # fmt: skip
    metrics = json.loads((results / "consistentguard" / "tiny" / "metrics.json").read_text())
    assert metrics and len(_rows(results / "consistentguard" / "tiny" / "predictions.jsonl")) == 2


@pytest.mark.slow
def test_smollm2_trains_a_few_steps_per_stage(tmp_path, smollm2_dir, monkeypatch):
    """SmolLM2-135M-Instruct through SFT, GRPO and CAO (+ MLC), a few steps each, with hand-written data."""
    from cgbench.models.consistentguard.cao_trainer import train_cao
    from cgbench.models.consistentguard.config import load_section
    from cgbench.models.consistentguard.grpo import train_grpo
    from cgbench.models.consistentguard.seed import sample_seed, write_seed
    from cgbench.models.consistentguard.sft import train_sft
    from cgbench.models.guards.consistentguard import ConsistentGuardFormat

    monkeypatch.setenv("TQDM_DISABLE", "1")
    items, _ = sample_seed(["guardreasoner/aegis"], n=4, balance=True)
    write_seed(items, tmp_path / "seed.jsonl")
    fmt, distilled, pairs = ConsistentGuardFormat(), [], []
    for item in items:
        prompt, right = fmt.build(item.text)[0].raw, Teacher({item.text: "harmful" if item.label else "unharmful"})
        wrong = Teacher({item.text: "unharmful" if item.label else "harmful"})
        body = {"messages": [{"content": "User: " + item.text + "\n</conversation>"}]}
        chosen, rejected = (t(body).removeprefix("<think>").replace("</think>", "\n</think>\n") for t in (right, wrong))
        distilled.append({**item.to_dict(), "prompt": prompt, "completion": chosen})
        variants = [prompt, prompt.replace("User:", "Utilisateur :")]
        pairs.append({"prompt": prompt, "chosen": chosen, "rejected": rejected, "anchor_prompt": prompt,
                      "anchor_completion": chosen, "variants": variants})  # fmt: skip
    for name, rows in (("distilled", distilled), ("pairs", pairs)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    common = {"use_cpu": True, "bf16": False, "max_steps": 2, "per_device_train_batch_size": 2}
    stages = [
        (train_sft, "sft", smollm2_dir, {"data": tmp_path / "distilled.jsonl"}),
        (train_grpo, "grpo", tmp_path / "sft",
         {"data": tmp_path / "seed.jsonl", "num_generations": 2, "max_completion_length": 24}),
        (train_cao, "cao", tmp_path / "grpo", {"data": tmp_path / "pairs.jsonl", "gradient_accumulation_steps": 1,
                                               "mlc_weight": 0.8, "mlc_every": 1}),
    ]  # fmt: skip
    for train, section, start, extra in stages:
        values = {"model": str(start), "output_dir": str(tmp_path / section), **common, **extra}
        metrics = train(
            load_section(None, section, {k: str(v) if isinstance(v, Path) else v for k, v in values.items()})
        )
        assert math.isfinite(metrics["train_loss"]) and metrics["steps"] == 2
        if section != "grpo":  # GRPO's update is zero when the sampled completions' rewards tie
            assert _changed(Path(start), tmp_path / section)


PAPER = REPO / "configs" / "consistentguard" / "paper.yaml"


def test_grpo_config_from_the_paper_recipe_has_the_released_objective():
    from cgbench.models.consistentguard.config import load_section
    from cgbench.models.consistentguard.grpo import grpo_config

    args = grpo_config(load_section(PAPER, "grpo", {"use_cpu": True, "output_dir": "unused"}))
    assert args.beta == 0.04  # a KL to the reference model, as TRL 0.14 defaulted
    assert args.loss_type == "grpo"  # per-sequence mean
    assert args.use_bias_correction_kl is False and args.vllm_importance_sampling_correction is False
    assert args.scale_rewards == "group" and args.multi_objective_aggregation == "sum_then_normalize"
    assert args.reward_weights == [1.0] * 7
    assert (args.learning_rate, args.lr_scheduler_type, args.max_grad_norm) == (1e-5, "cosine", 0.1)
    assert (args.num_generations, args.per_device_train_batch_size, args.gradient_accumulation_steps) == (4, 4, 1)
    assert (args.max_completion_length, args.seed) == (2048, 42)
    # the release scored the raw logits and sampled at 0.3: TRL divides the scored logits by `temperature`
    assert args.temperature == 1.0 and args.generation_kwargs == {"temperature": 0.3}
    assert (args.vllm_max_model_length, args.vllm_enable_sleep_mode, args.vllm_mode) == (1024 + 2048, True, "colocate")
    assert (args.save_strategy, args.save_steps, args.save_total_limit) == ("steps", 100, 2)


def test_grpo_scores_raw_log_probabilities_and_samples_at_the_sampling_temperature(tmp_path):
    """The per-token log-probabilities the trainer's loss uses are a log-softmax of the raw logits (the release's
    ``get_per_token_logps``), while generation samples at 0.3; scoring at 0.3, TRL's default wiring, differs."""
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from cgbench.models.consistentguard.config import load_section
    from cgbench.models.consistentguard.grpo import grpo_config, grpo_dataset
    from cgbench.models.consistentguard.grpo_trainer import GRPOTrainerWithPromptLimit
    from cgbench.models.consistentguard.seed import SeedItem, write_seed
    from cgbench.models.consistentguard.tiny import build_tiny_model

    torch.manual_seed(0)
    path = build_tiny_model(tmp_path / "tiny")
    tokenizer = AutoTokenizer.from_pretrained(path)
    write_seed([SeedItem("a", "t", "How do I bake bread?", 0), SeedItem("b", "t", "How do I rob a bank?", 1)],
               tmp_path / "seed.jsonl")  # fmt: skip
    dataset: Dataset = grpo_dataset(str(tmp_path / "seed.jsonl"), "release")
    ids = tokenizer([dataset[0]["prompt"] + "The user asks about bread.</think><judge>unharmful</judge>"],
                    return_tensors="pt")["input_ids"]  # fmt: skip
    keep = 12
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = model(ids).logits[:, -keep - 1 : -1].double()
    direct = torch.log_softmax(logits, -1).gather(-1, ids[:, -keep:, None])[..., 0]
    sharpened = torch.log_softmax(logits / 0.3, -1).gather(-1, ids[:, -keep:, None])[..., 0]

    def trainer_logps(**override):
        values = {"use_cpu": True, "bf16": False, "use_vllm": False, "gradient_checkpointing": False,
                  "output_dir": str(tmp_path / "out"), "num_generations": 2, "per_device_train_batch_size": 2,
                  **override}  # fmt: skip
        args = grpo_config(load_section(PAPER, "grpo", values))
        trainer = GRPOTrainerWithPromptLimit(
            model=AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32), args=args,
            reward_funcs=[lambda completions, **kw: [0.0] * len(completions)] * 7, train_dataset=dataset,
            processing_class=tokenizer,
        )  # fmt: skip
        trainer.model.eval()
        with torch.no_grad():
            logps, _, _ = trainer._get_per_token_logps_and_entropies(trainer.model, ids, torch.ones_like(ids), keep)
        return trainer, logps.double()

    trainer, paper = trainer_logps()
    assert trainer.generation_config.temperature == 0.3 and trainer.generation_config.do_sample
    torch.testing.assert_close(paper, direct, rtol=1e-5, atol=1e-5)
    _, scored_at_sampling = trainer_logps(temperature=0.3)  # the value the loss used before the fix
    torch.testing.assert_close(scored_at_sampling, sharpened, rtol=1e-5, atol=1e-5)
    assert (scored_at_sampling - direct).abs().max() > 0.1
    print(f"log-probs at temperature 1.0 {direct[0, :4].tolist()}, at 0.3 {sharpened[0, :4].tolist()}")


def test_grpo_keeps_the_last_max_prompt_length_tokens(tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    from cgbench.models.consistentguard.grpo_trainer import GRPOTrainerWithPromptLimit
    from cgbench.models.consistentguard.tiny import build_tiny_model

    path = build_tiny_model(tmp_path / "tiny")
    tokenizer = AutoTokenizer.from_pretrained(path)
    args = GRPOConfig(output_dir=str(tmp_path / "out"), use_cpu=True, bf16=False, report_to="none",
                      num_generations=2, per_device_train_batch_size=2, max_completion_length=4)  # fmt: skip
    prompts = ["Judge the conversation: how do I bake bread at home? <think>", "short <think>"]
    trainer = GRPOTrainerWithPromptLimit(
        model=AutoModelForCausalLM.from_pretrained(path), args=args, processing_class=tokenizer,
        reward_funcs=[lambda completions, **kw: [0.0] * len(completions)],
        train_dataset=Dataset.from_list([{"prompt": p} for p in prompts]), max_prompt_length=5,
    )  # fmt: skip
    ids, _, _ = trainer._tokenize_prompts(prompts)
    full = [tokenizer(p)["input_ids"] for p in prompts]
    assert len(full[0]) > 5 and ids == [f[-5:] for f in full]
