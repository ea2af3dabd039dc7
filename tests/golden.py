"""The golden prompt fixtures (``fixtures/golden_prompts/``): loading them, and tokenizers with each guard
family's real special tokens, BOS policy and chat template, built offline from a fixture."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable
from pathlib import Path

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "golden_prompts"
FIXTURES = sorted(FIXTURE_DIR.glob("*.json"))
REQUIRED = {"guard": str, "source": str, "source_note": str, "cases": list}
CASE_NAMES = {"english", "non_latin", "hostile"}


def load(path: Path) -> dict:
    """One fixture, its schema checked (errors name the file and the field)."""
    fixture = json.loads(path.read_text(encoding="utf-8"))
    for key, kind in REQUIRED.items():
        if not isinstance(fixture.get(key), kind):
            raise ValueError(f"{path.name}: field {key!r} must be a {kind.__name__}")
    for key in ("revision", "bos"):
        if key not in fixture or not isinstance(fixture[key], str | None):
            raise ValueError(f"{path.name}: field {key!r} must be a string or null")
    for i, case in enumerate(fixture["cases"]):
        if not all(isinstance(case.get(k), str) for k in ("name", "text", "prompt")):
            raise ValueError(f"{path.name}: cases[{i}] needs string fields name, text and prompt")
    return fixture


CASES = [(path, case["name"]) for path in FIXTURES for case in load(path)["cases"]]


def case_of(fixture: dict, name: str) -> dict:
    return next(case for case in fixture["cases"] if case["name"] == name)


def expected_prompts(case: dict, fixture: dict) -> list[str]:
    """What the model receives: the authors' prompt(s), then the fixture's declared ``verdict_lead`` (the words
    before the verdict that a raw render appends so the score is read at the verdict token), if any."""
    lead = fixture.get("verdict_lead", "")
    return [prompt + lead for prompt in case.get("prompts") or [case["prompt"]]]


_TOKENIZERS: dict[Path, object] = {}


def tokenizer_for(path: Path):
    """A byte-level BPE tokenizer with the guard family's real special tokens, BOS policy and chat template."""
    if path in _TOKENIZERS:
        return _TOKENIZERS[path]
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    fixture = load(path)
    bos, eos = fixture["bos"], fixture.get("eos")
    specials = list(dict.fromkeys([s for s in (bos, eos, *fixture.get("special_tokens", [])) if s]))
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=800, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    corpus = [p for case in fixture["cases"] for p in expected_prompts(case, fixture)] + ["safe unsafe Yes No harmful"]
    bpe.train_from_iterator(corpus, trainer)
    if bos:
        bpe.post_processor = processors.TemplateProcessing(
            single=f"{bos} $A", special_tokens=[(bos, bpe.token_to_id(bos))]
        )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        bos_token=bos,
        eos_token=eos,
        pad_token=eos,
        additional_special_tokens=[s for s in specials if s not in (bos, eos)],
        chat_template=fixture.get("chat_template"),
        clean_up_tokenization_spaces=False,
    )
    _TOKENIZERS[path] = tokenizer
    return tokenizer


def fake_vllm_backend(monkeypatch, tokenizer, output: Callable[[], object]):
    """A ``VLLMBackend`` whose engine is a stand-in (vLLM itself is not imported): it records each call's
    requests and sampling parameters and answers every request with ``output()``, a CompletionOutput-like
    object (``text``, ``logprobs``). Returns (backend, requests sent, sampling parameters asked)."""
    from cgbench.models.backends.vllm import VLLMBackend

    sent, asked = [], []

    class Engine:
        def get_tokenizer(self):
            return tokenizer

        def generate(self, requests, params, use_tqdm=False):
            sent.extend(requests)
            asked.append(params)
            return [types.SimpleNamespace(outputs=[output()]) for _ in requests]

    fake = types.ModuleType("vllm")
    fake.SamplingParams = lambda **kwargs: kwargs
    monkeypatch.setitem(sys.modules, "vllm", fake)
    backend = VLLMBackend("unused")
    backend._llm = Engine()
    return backend, sent, asked
