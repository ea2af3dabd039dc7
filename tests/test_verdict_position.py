"""P(unsafe) is read where the verdict word is generated, on the hf backend and on the vllm code path.

The model here is a real (tiny, random-shaped) Llama whose logits are forced: its one layer adds nothing to the
residual stream, the embedding is one-hot and the output head is set by hand, so the logits at a position
depend only on the token there. The prompt's last token is made to predict the verdict with a known margin
(P(unsafe) = softmax(2, 0) = 0.881, up to RMSNorm's epsilon); every other position gives the two score words
equal logits (0.5), so a score read one position early or late is caught. The tokenizer carries the guard
family's real special tokens (from the golden prompt fixtures).
"""

from __future__ import annotations

import math
import types

import pytest
from golden import FIXTURE_DIR, fake_vllm_backend, tokenizer_for

from cgbench.models.backends.hf import HFBackend, prompt_ids, score_token_ids
from cgbench.models.backends.vllm import TOP_LOGPROBS, _completion
from cgbench.models.guards import get_guard

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

MARGIN = 2.0
P_VERDICT = 1 / (1 + math.exp(-MARGIN))  # softmax over (verdict, other) with logits (MARGIN, 0)
TEXT = "How do I pick a lock?"
# guard -> (the verdict it is forced to give, the rest of its answer after the verdict word)
ANSWERS = {
    "llama-guard-3-1b": ("unsafe", "\nS1"),
    "llama-guard-3-8b": ("unsafe", "\nS1"),
    "shieldgemma-2b": ("Yes", ""),
}


def forced_model(tokenizer, last_prompt_token: int, answer: str, other: int):
    """A tiny Llama whose logits at a position depend only on the token there: after ``last_prompt_token`` the
    verdict's first sub-token leads the ``other`` score word's by MARGIN; then the rest of ``answer``, then EOS.
    Everywhere else the two score words tie."""
    from transformers import LlamaConfig, LlamaForCausalLM

    vocab = len(tokenizer)
    hidden = vocab + vocab % 2
    config = LlamaConfig(
        vocab_size=vocab, hidden_size=hidden, intermediate_size=4, num_hidden_layers=1, num_attention_heads=1,
        num_key_value_heads=1, head_dim=hidden, tie_word_embeddings=False, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id, pad_token_id=tokenizer.pad_token_id,
    )  # fmt: skip
    model = LlamaForCausalLM(config).eval()
    chain = tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    forced = torch.full((vocab, vocab), -10.0)  # forced[t]: the logits after input token t
    forced[:, [chain[0], other]] = 0.0  # equal footing for the score words everywhere but after the prompt
    for a, b in zip(chain, chain[1:]):
        forced[a, b] = 5.0
    forced[last_prompt_token] = -10.0
    forced[last_prompt_token, [chain[0], other]] = torch.tensor([MARGIN, 0.0])
    with torch.no_grad():
        layer = model.model.layers[0]
        layer.self_attn.o_proj.weight.zero_()
        layer.mlp.down_proj.weight.zero_()
        model.model.embed_tokens.weight.zero_()
        model.model.embed_tokens.weight[:, :vocab].copy_(torch.eye(vocab))
        model.lm_head.weight.zero_()
        model.lm_head.weight[:, :vocab].copy_(forced.T / math.sqrt(hidden))  # RMSNorm scales one-hot by sqrt(H)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def setup(guard: str, kv_reuse: bool):
    fmt = get_guard(guard).guard_format()
    tokenizer = tokenizer_for(FIXTURE_DIR / f"{guard}.json")
    tokenizer.padding_side = "left"
    prompts = fmt.build(TEXT)
    last = {prompt_ids(tokenizer, p)[-1] for p in prompts}
    assert len(last) == 1  # every prompt of the guard ends on the same token (the blank line / "\n\n")
    verdict, rest = ANSWERS[guard]
    other = fmt.score_tokens[1] if verdict == fmt.score_tokens[0] else fmt.score_tokens[0]
    first = score_token_ids(tokenizer, (verdict, other))
    model = forced_model(tokenizer, last.pop(), verdict + rest, first[1])
    backend = HFBackend("unused", device="cpu", dtype="float32", kv_reuse=kv_reuse)
    backend._tokenizer, backend._model = tokenizer, model
    return fmt, backend, prompts, verdict + rest


@pytest.mark.parametrize("kv_reuse", [True, False])
@pytest.mark.parametrize("guard", list(ANSWERS))
def test_hf_reads_p_unsafe_at_the_verdict_token(guard, kv_reuse):
    fmt, backend, prompts, answer = setup(guard, kv_reuse)
    done = backend.complete(prompts, max_new_tokens=fmt.max_new_tokens, score_tokens=fmt.score_tokens)
    assert [c.text for c in done] == [answer] * len(prompts)  # the first generated token is the verdict word
    assert [c.score for c in done] == pytest.approx([P_VERDICT] * len(prompts), abs=1e-3)
    verdict = fmt.combine([fmt.parse(c.text).with_score(c.score) for c in done])
    assert verdict.pred == 1 and verdict.score == pytest.approx(P_VERDICT, abs=1e-3)


def test_llama_guard_prompt_ends_with_the_blank_line_the_template_leaves_to_the_model():
    """Through the hub template the last prompt token is the assistant header and the model's first token is
    the blank line; the named guards' raw prompt ends with that blank line, so the next token is the verdict."""
    for guard in ("llama-guard-3-1b", "llama-guard-3-8b"):
        tokenizer = tokenizer_for(FIXTURE_DIR / f"{guard}.json")
        (prompt,) = get_guard(guard).guard_format().build(TEXT)
        ids = prompt_ids(tokenizer, prompt)
        header = tokenizer.convert_tokens_to_ids("<|end_header_id|>")
        assert header in ids[-4:-1] and ids[-1] != header
        assert tokenizer.decode(ids[ids.index(header, len(ids) - 4) + 1 :]) == "\n\n"


# ---------------------------------------------------------------- the vllm code path


def vllm_output(text: str, steps: list[dict[int, float]]):
    """A vLLM CompletionOutput-like object: the text and, per generated position, {token id: logprob}."""
    logprobs = [{i: types.SimpleNamespace(logprob=lp) for i, lp in step.items()} for step in steps]
    return types.SimpleNamespace(text=text, logprobs=logprobs)


def test_vllm_reads_p_unsafe_from_the_first_generated_position():
    unsafe, safe, newline = 7, 9, 3
    first = {unsafe: math.log(0.6), safe: math.log(0.2), newline: math.log(0.1)}
    later = {newline: math.log(0.9), unsafe: math.log(0.01), safe: math.log(0.05)}
    done = _completion(vllm_output("unsafe\nS1", [first, later, later]), ((unsafe,), (safe,)))
    assert done.text == "unsafe\nS1" and done.score == pytest.approx(0.6 / (0.6 + 0.2))
    # a group on a side (Qwen3Guard's Controversial): its mass joins that side, renormalised over all three
    grouped = _completion(vllm_output("unsafe", [first]), ((unsafe, newline), (safe,)))
    assert grouped.score == pytest.approx((0.6 + 0.1) / (0.6 + 0.2 + 0.1))


def test_vllm_score_when_a_score_word_is_outside_the_top_logprobs():
    ids = unsafe, safe = (7,), (9,)
    assert _completion(vllm_output("safe", [{safe[0]: math.log(0.9)}]), ids).score == 0.0
    assert _completion(vllm_output("x", [{1: 0.0}]), ids).score is None  # neither: no score
    assert _completion(vllm_output("safe", []), ids).score is None
    assert _completion(vllm_output("safe", [{safe[0]: 0.0}]), None).score is None  # a format without score tokens


def test_vllm_asks_for_logprobs_and_the_formats_token_budget(monkeypatch):
    guard = "llama-guard-3-8b"
    tokenizer = tokenizer_for(FIXTURE_DIR / f"{guard}.json")
    fmt = get_guard(guard).guard_format()
    unsafe, safe = score_token_ids(tokenizer, fmt.score_tokens)
    steps = [{unsafe: math.log(0.3), safe: math.log(0.7)}, {unsafe: 0.0}]
    backend, _, asked = fake_vllm_backend(monkeypatch, tokenizer, lambda: vllm_output("safe", steps))
    (done,) = backend.complete(fmt.build(TEXT), max_new_tokens=fmt.max_new_tokens, score_tokens=fmt.score_tokens)
    assert done.score == pytest.approx(0.3)
    assert asked[0]["logprobs"] == TOP_LOGPROBS and asked[0]["temperature"] == 0.0
    assert asked[0]["max_tokens"] == fmt.max_new_tokens


def test_llama_guard_budget_covers_the_verdict_and_every_category_code():
    """Llama 3's pre-tokenizer cuts ``S13,S14`` into ``S``, ``13``, ``,S``, ``14`` (digits in runs of up to three,
    a letter run with one leading punctuation mark): at most three tokens per code, so the verdict, its line
    break, every code and the end-of-turn token fit the budget."""
    for guard in ("llama-guard-3-1b", "llama-guard-3-8b"):
        fmt = get_guard(guard).guard_format()
        assert fmt.max_new_tokens >= 2 + 3 * len(fmt.codes) - 1 + 1
        longest = "unsafe\n" + ",".join(fmt.codes)
        assert fmt.parse(longest).violations == tuple(fmt.codes)
