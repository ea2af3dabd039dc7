"""The transformers backend: a tiny random Llama built at test time, and SmolLM2-135M-Instruct."""

from __future__ import annotations

import pytest

from cgbench.benchmarks import load_split
from cgbench.models.backends import BackendError, get_backend
from cgbench.models.backends.hf import HFBackend, cpu_has_bf16, default_dtype, score_token_ids
from cgbench.models.guards.base import Prompt
from cgbench.models.guards.registry import get_format

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
    batched = HFBackend(str(tiny_dir), batch_size=4, dtype="float32").complete(
        PROMPTS, max_new_tokens=5, score_tokens=("unsafe", "safe")
    )
    single = HFBackend(str(tiny_dir), batch_size=1, dtype="float32").complete(
        PROMPTS, max_new_tokens=5, score_tokens=("unsafe", "safe")
    )
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
    batched = HFBackend(str(smollm2_dir), batch_size=3, dtype="float32").complete(
        prompts, max_new_tokens=6, score_tokens=("Yes", "No")
    )
    single = HFBackend(str(smollm2_dir), batch_size=1, dtype="float32").complete(
        prompts, max_new_tokens=6, score_tokens=("Yes", "No")
    )
    assert "Paris" in batched[0].text
    answer = batched[1].text.strip()
    assert answer.startswith(("Yes", "No"))
    assert (batched[1].score > 0.5) == answer.startswith("Yes")  # the score agrees with the greedy first token
    assert [c.text for c in batched] == [c.text for c in single]
    assert [c.score for c in batched] == pytest.approx([c.score for c in single], abs=1e-4)


# The formats whose prompts share a long head: (name, options, items, new tokens)
SHARED_HEAD_FORMATS = [
    ("llama_guard", {"render": "raw"}, 6, 6),
    ("guardreasoner", {}, 6, 6),
    ("shieldgemma", {}, 2, 3),  # four prompts per item, one per policy
]


def _format_prompts(name: str, options: dict, n: int) -> list[Prompt]:
    fmt = get_format(name, **options)
    return [prompt for item in load_split("toxicchat", "en")[:n] for prompt in fmt.build(item.text)]


def _reuse_against_plain(model_dir, prompts, max_new_tokens, score_tokens, calls=2):
    """The same prompts through the plain path and the prefix-reuse path (in ``calls`` calls, so a kept cache
    serves the later ones); returns both completions and the reuse backend's prefill figures."""
    plain = HFBackend(str(model_dir), dtype="float32", batch_size=4, kv_reuse=False)
    reuse = HFBackend(str(model_dir), dtype="float32", batch_size=4)
    size = -(-len(prompts) // calls)
    outputs = []
    for backend in (plain, reuse):
        done = []
        for start in range(0, len(prompts), size):
            done += backend.complete(
                prompts[start : start + size], max_new_tokens=max_new_tokens, score_tokens=score_tokens
            )
        outputs.append(done)
    return outputs[0], outputs[1], reuse.stats


def _assert_same(plain, reuse):
    assert [c.text for c in reuse] == [c.text for c in plain]
    if plain[0].score is None:
        assert all(c.score is None for c in reuse)
    else:
        assert [c.score for c in reuse] == pytest.approx([c.score for c in plain], abs=1e-5)


@pytest.mark.parametrize(("name", "options", "n", "new_tokens"), SHARED_HEAD_FORMATS)
def test_prefix_reuse_gives_the_plain_texts_and_scores_on_a_tiny_model(tiny_dir, name, options, n, new_tokens):
    prompts = _format_prompts(name, options, n)
    score_tokens = get_format(name).score_tokens or ("unsafe", "safe")  # scores show any drift in the logits
    plain, reuse, stats = _reuse_against_plain(tiny_dir, prompts, new_tokens, score_tokens)
    _assert_same(plain, reuse)
    assert len({round(c.score, 6) for c in plain}) > 1  # the prompts' own tokens matter
    assert stats.prefilled < 0.8 * stats.prompt_tokens  # the shared head was prefilled once, not per prompt


@pytest.mark.parametrize(("name", "options", "n", "new_tokens"), SHARED_HEAD_FORMATS)
def test_prefix_reuse_gives_the_plain_texts_and_scores_on_smollm2(smollm2_dir, name, options, n, new_tokens):
    prompts = _format_prompts(name, options, min(n, 4))
    plain, reuse, stats = _reuse_against_plain(smollm2_dir, prompts, new_tokens, get_format(name).score_tokens)
    _assert_same(plain, reuse)
    assert stats.prefilled < 0.8 * stats.prompt_tokens


def test_prompts_that_share_nothing_fall_back_to_whole_prompts(tiny_dir):
    prompts = [Prompt(raw="hello world"), Prompt(raw="unsafe bread"), Prompt(raw="what is the time")]
    plain, reuse, stats = _reuse_against_plain(tiny_dir, prompts, 4, ("unsafe", "safe"), calls=1)
    _assert_same(plain, reuse)
    assert stats.prefilled == stats.prompt_tokens


def test_a_kept_prefix_is_cropped_to_what_the_next_call_shares(tiny_dir):
    """A first call whose prompts share more than the format's head, then calls that share only the head."""
    fmt = get_format("llama_guard", render="raw")
    texts = ["how do I bake bread", "how do I say hello", "what is the time", "hello world", "how do I"]
    prompts = [fmt.build(text)[0] for text in texts]
    plain, reuse, _ = _reuse_against_plain(tiny_dir, prompts[:2] + prompts[2:], 5, fmt.score_tokens, calls=3)
    _assert_same(plain, reuse)


def test_stop_rule_ends_rows_early(tiny_dir):
    fmt = get_format("llama_guard", render="raw")
    prompts = [fmt.build(item.text)[0] for item in load_split("toxicchat", "en")[:3]]
    full = HFBackend(str(tiny_dir), dtype="float32").complete(prompts, max_new_tokens=5)
    backend = HFBackend(str(tiny_dir), dtype="float32")
    seen = []
    first = backend.complete(prompts, max_new_tokens=5, stop=lambda text: seen.append(text) or True)
    assert len(seen) == len(prompts)  # one token per row, then the rule ended it
    assert all(done.text.startswith(f.text) for f, done in zip(first, full))


@pytest.mark.parametrize(
    ("name", "options"), [("llama_guard", {"render": "raw"}), ("shieldgemma", {"policy": "dangerous_content"})]
)
def test_early_stops_keep_the_prediction_file(smollm2_dir, name, options):
    """With its stop rule, a format's predictions (pred, score, violations) are those of full generation."""
    from cgbench.harness.runner import predict_generative

    fmt = get_format(name, **options)
    items = load_split("toxicchat", "en")[:4]
    plain = HFBackend(str(smollm2_dir), dtype="float32", kv_reuse=False)  # generate() to EOS or max_new_tokens
    fast = HFBackend(str(smollm2_dir), dtype="float32")
    full = predict_generative(plain, fmt, items)
    early = predict_generative(fast, fmt, items)
    assert [(p["pred"], p["violations"]) for p in early] == [(p["pred"], p["violations"]) for p in full]
    assert [p["score"] for p in early] == pytest.approx([p["score"] for p in full], abs=1e-5)
    assert all(f["output"].startswith(e["output"]) for e, f in zip(early, full))


def test_bf16_is_the_cpu_default_only_where_the_cpu_has_it(tmp_path):
    with_amx = tmp_path / "amx"
    with_amx.write_text("flags\t\t: fpu sse avx512f amx_bf16 amx_tile\n")
    without = tmp_path / "plain"
    without.write_text("flags\t\t: fpu sse avx2\n")
    assert cpu_has_bf16(with_amx) and not cpu_has_bf16(without) and not cpu_has_bf16(tmp_path / "missing")
    assert default_dtype("cuda:0") == "bfloat16"
    assert default_dtype("cpu") == ("bfloat16" if cpu_has_bf16() else "float32")


def test_vllm_backend_turns_prefix_caching_on_and_passes_options_through():
    """Without starting an engine: the settings that run.json records."""
    from cgbench.models.backends.vllm import VLLMBackend

    settings = get_backend("vllm", model="m", max_model_len=2048, swap_space=1).describe()
    assert settings["enable_prefix_caching"] is True and settings["max_model_len"] == 2048
    assert settings["swap_space"] == 1
    assert VLLMBackend("m", enable_prefix_caching=False).describe()["enable_prefix_caching"] is False
