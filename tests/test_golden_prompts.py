"""Golden prompts: every guard's prompt, on every path a user can take, is exactly the string its authors send.

Each file in ``tests/fixtures/golden_prompts/`` holds, for one named guard, prompts rendered from the authors'
published chat template or inference code (``render.py`` there; never from cgbench's ``build``), with the BOS
written out once. The tests key on the fixture's ``guard`` field through the guard registry, so a fixture of a
new guard in the same schema is checked without a code change. Tokenizers are built here with the guard
family's real special tokens (the fixture's ``bos``, ``eos`` and ``special_tokens``) and its real chat template,
so control tokens are single ids exactly where the model's tokenizer has them.

Paths: native ``hf`` (``prompt_ids``), native ``vllm`` (the token ids it hands the engine), and lm-eval's ``hf``
model without ``--apply_chat_template`` (its own ``tok_batch_encode``, ``add_bos_token=True`` as the README
says) and with it (refused with a clear message where it cannot give the exact prompt).
"""

from __future__ import annotations

import types

import pytest
from golden import CASE_NAMES, CASES, FIXTURES, case_of, expected_prompts, fake_vllm_backend, load, tokenizer_for

from cgbench.models.guards import get_guard
from cgbench.models.guards.base import ESCAPE
from cgbench.tasks.guard_task import check_chat_template, format_choice, guard_format, prompt_text

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")


def special_ids(tokenizer) -> set[int]:
    return set(tokenizer.all_special_ids)


def template_specials(tokenizer, prompt: str, text: str) -> int:
    """How many control tokens the prompt holds outside the user's text (the user's spellings stay text)."""
    count = sum(prompt.count(token) for token in tokenizer.all_special_tokens)
    return count - sum(text.count(token) for token in tokenizer.all_special_tokens)


def assert_sends(tokenizer, ids: list[int], expected: str, text: str, *, escaped: bool = False) -> None:
    """``ids`` decode to ``expected`` (zero-width escapes aside), with exactly the BOS policy and control tokens
    of the template; user-text spellings of control tokens never become control tokens."""
    bos = tokenizer.bos_token_id
    decoded = tokenizer.decode(ids, skip_special_tokens=False)
    assert (decoded.replace(ESCAPE, "") if escaped else decoded) == expected
    if bos is not None:
        assert ids[0] == bos and ids.count(bos) == 1, "exactly one BOS, first"
    assert sum(i in special_ids(tokenizer) for i in ids) == template_specials(tokenizer, expected, text)


# ---------------------------------------------------------------- the fixtures themselves


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_names_a_registered_guard_and_its_source(path):
    fixture = load(path)
    assert get_guard(fixture["guard"]).name == path.stem
    assert fixture["source"] and fixture["source_note"]
    assert {case["name"] for case in fixture["cases"]} >= CASE_NAMES
    for case in fixture["cases"]:
        for prompt in expected_prompts(case, fixture):
            bos = fixture["bos"]
            if bos:  # one BOS, first; a spelling of it in the user's text is text
                assert prompt.startswith(bos) and prompt.count(bos) - case["text"].count(bos) == 1
            assert case["text"].strip() in prompt


@pytest.mark.parametrize("path", [p for p in FIXTURES if "chat_template" in load(p)], ids=lambda p: p.stem)
def test_fixture_is_its_chat_templates_render(path):
    """transformers renders the stored hub template to ``template_render``; ``prompt`` departs from it only by
    the declared ``prompt_from_template`` edits."""
    fixture = load(path)
    tokenizer = tokenizer_for(path)
    edits = fixture.get("prompt_from_template", {})
    for case in fixture["cases"]:
        content = [{"type": "text", "text": case["text"]}] if fixture.get("content_parts") else case["text"]
        rendered = tokenizer.apply_chat_template(
            [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
        )
        assert rendered == case["template_render"]
        assert case["prompt"] == rendered.removeprefix(edits.get("drop_prefix", "")) + edits.get("append", "")


# ---------------------------------------------------------------- native backends


@pytest.mark.parametrize(("path", "name"), CASES, ids=lambda v: getattr(v, "stem", v))
def test_native_hf_sends_the_golden_prompt(path, name):
    from cgbench.models.backends.hf import prompt_ids

    fixture, tokenizer = load(path), tokenizer_for(path)
    case = case_of(fixture, name)
    prompts = get_guard(fixture["guard"]).guard_format().build(case["text"])
    assert len(prompts) == len(expected_prompts(case, fixture))
    for prompt, expected in zip(prompts, expected_prompts(case, fixture)):
        ids = prompt_ids(tokenizer, prompt)
        assert_sends(tokenizer, ids, expected, case["text"])
        if name != "hostile":  # the ids the authors' code gets from its own string
            assert ids == tokenizer(expected.removeprefix(fixture["bos"] or ""))["input_ids"]


@pytest.mark.parametrize(("path", "name"), CASES, ids=lambda v: getattr(v, "stem", v))
def test_native_vllm_sends_the_golden_token_ids(path, name, monkeypatch):
    """The vllm backend's request, without vLLM: the prompt token ids it hands the engine."""
    fixture, tokenizer = load(path), tokenizer_for(path)
    case = case_of(fixture, name)
    backend, sent, _ = fake_vllm_backend(monkeypatch, tokenizer, lambda: types.SimpleNamespace(text="", logprobs=None))
    fmt = get_guard(fixture["guard"]).guard_format()
    backend.complete(fmt.build(case["text"]), max_new_tokens=fmt.max_new_tokens)
    assert len(sent) == len(expected_prompts(case, fixture))
    for request, expected in zip(sent, expected_prompts(case, fixture)):
        assert_sends(tokenizer, request["prompt_token_ids"], expected, case["text"])


# ---------------------------------------------------------------- lm-eval


def lm_eval_runs(fixture: dict) -> list[tuple[dict, str]]:
    """(``--metadata``, expected prompt index) for each way the README runs this guard under lm-eval: the named
    guard itself, or, for a guard that asks several prompts per item, each single-prompt option."""
    options = fixture.get("single_prompt_options")
    if not options:
        return [({"guard": fixture["guard"]}, 0)]
    return [({"guard": fixture["guard"], "format_options": o}, i) for i, o in enumerate(options)]


def lm_eval_hf_ids(tokenizer, context: str) -> list[int]:
    """lm-eval's ``hf`` model encoding a generation context (``HFLM.tok_batch_encode``, the code it runs)."""
    pytest.importorskip("lm_eval")
    from lm_eval.models.huggingface import HFLM

    model = types.SimpleNamespace(tokenizer=tokenizer, backend="causal", add_bos_token=True)
    ids, _ = HFLM.tok_batch_encode(model, [context])
    return ids[0].tolist()


@pytest.mark.parametrize(("path", "name"), CASES, ids=lambda v: getattr(v, "stem", v))
def test_lm_eval_hf_without_chat_template_sends_the_golden_prompt(path, name):
    fixture, tokenizer = load(path), tokenizer_for(path)
    case = case_of(fixture, name)
    for metadata, index in lm_eval_runs(fixture):
        fmt = guard_format(*format_choice(metadata))
        if fmt.single_prompt("x").raw is None:
            continue  # a message format runs with --apply_chat_template (next test)
        check_chat_template(fmt, apply_chat_template=False)
        context = prompt_text(fmt.single_prompt(case["text"]), fmt.name)
        ids = lm_eval_hf_ids(tokenizer, context)
        assert_sends(tokenizer, ids, expected_prompts(case, fixture)[index], case["text"], escaped=True)


@pytest.mark.parametrize(("path", "name"), CASES, ids=lambda v: getattr(v, "stem", v))
def test_lm_eval_hf_with_chat_template_sends_the_golden_prompt_or_is_refused(path, name):
    from transformers import PreTrainedTokenizerBase

    fixture, tokenizer = load(path), tokenizer_for(path)
    case = case_of(fixture, name)
    for metadata, index in lm_eval_runs(fixture):
        fmt = guard_format(*format_choice(metadata))
        if fmt.single_prompt("x").raw is not None or fmt.chat_template_problem():
            with pytest.raises(ValueError, match="apply_chat_template|exact prompt"):
                check_chat_template(fmt, apply_chat_template=True)
            continue
        check_chat_template(fmt, apply_chat_template=True)
        content = prompt_text(fmt.single_prompt(case["text"]), fmt.name)
        assert isinstance(tokenizer, PreTrainedTokenizerBase)
        context = tokenizer.apply_chat_template(
            [{"role": "user", "content": content}], tokenize=False, add_generation_prompt=True
        )  # HFLM.apply_chat_template
        ids = lm_eval_hf_ids(tokenizer, context)
        assert_sends(tokenizer, ids, expected_prompts(case, fixture)[index], case["text"], escaped=True)


def test_a_guard_asking_several_prompts_is_refused_by_lm_eval_unless_one_is_chosen():
    from cgbench.tasks.guard_task import load_docs

    with pytest.raises(ValueError, match="builds 4 prompts per item"):
        load_docs(benchmark="simple_safety_tests", lang="en", guard="shieldgemma-2b")
