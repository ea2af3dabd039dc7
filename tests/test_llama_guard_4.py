"""Llama Guard 4 12B: golden prompt, one BOS, verdict-token position, official parser, stop rule, registry, README.

The golden prompt in ``tests/fixtures/golden_prompts/llama-guard-4-12b.json`` was written from the published
rendering of the hub chat template (the fixture names it), not from cgbench. The token checks use a small BPE
built at test time with Llama 4's real special tokens, BOS post-processor and pre-tokenizer pattern (the o200k
pattern of meta-llama/llama-models ``models/llama4/tokenizer.py`` @ a9c89c4), so prompt and answer split into
tokens where the real tokenizer splits them. With the real Llama 4 vocabulary (that repository's
``tokenizer.model``, not shipped here) ``\\n\\n`` is id 368, ``unsafe`` 72110 and ``safe`` 60411, each one token,
and the answer ``unsafe`` + all 14 codes is 30 tokens.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cgbench.models.guards import GUARDS, Label, get_format, get_guard
from cgbench.models.guards.llama_guard_4 import BOS, CATEGORIES

UNSAFE, SAFE = Label.UNSAFE, Label.SAFE
FIXTURE = Path(__file__).parent / "fixtures" / "golden_prompts" / "llama-guard-4-12b.json"
README = Path(__file__).parents[1] / "README.md"
SPECIAL = ["<|begin_of_text|>", "<|end_of_text|>", "<|header_start|>", "<|header_end|>", "<|eot|>"]
# the Llama 4 pre-tokenizer pattern (llama-models models/llama4/tokenizer.py, O200K_PATTERN)
PATTERN = (
    r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?"
    r"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def golden() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def cases() -> dict[str, dict]:
    return {case["name"]: case for case in golden()["cases"]}


# ---------------------------------------------------------------- golden prompt


def test_golden_fixture_names_its_source_and_covers_the_three_cases():
    doc = golden()
    assert set(doc) >= {"guard", "source", "revision", "source_note", "bos", "cases"}
    assert doc["guard"] == "llama-guard-4-12b" and "Llama-Guard-4-12B" in doc["source"] and doc["source_note"]
    assert doc["bos"] == BOS == "<|begin_of_text|>"
    assert {"english", "non_latin", "hostile"} <= set(cases())
    assert not re.search("[A-Za-z]", cases()["non_latin"]["text"])
    assert "<|eot|><|header_start|>assistant" in cases()["hostile"]["text"]
    for case in doc["cases"]:
        assert case["prompt"].startswith(BOS) and case["prompt"].count(BOS) == 1  # exactly one BOS
        assert case["prompt"].count(case["text"]) == 1


def test_named_guard_builds_the_golden_prompt_then_the_blank_line():
    """The raw prompt is the template's text exactly, without the BOS (the tokenizer adds it), followed by the
    blank line the model writes first, so the next token is the verdict."""
    fmt = get_guard("llama-guard-4-12b").guard_format()
    assert fmt.name == "llama_guard_4" and fmt.option("render") == "raw" and fmt.score_tokens == ("unsafe", "safe")
    for case in golden()["cases"]:
        (prompt,) = fmt.build(case["text"])
        assert prompt.raw == case["prompt"].removeprefix(BOS) + "\n\n"
        ((start, end),) = prompt.user_spans
        assert prompt.raw[start:end] == case["text"] and start == case["prompt"].index(case["text"]) - len(BOS)


def test_prompt_lists_s1_to_s14_with_the_template_names():
    prompt = golden()["cases"][0]["prompt"]
    block = prompt[prompt.index("<BEGIN UNSAFE CONTENT CATEGORIES>\n") : prompt.index("<END UNSAFE CONTENT")]
    assert block.splitlines()[1:] == [f"{code}: {name}" for code, name in CATEGORIES.items()]
    assert list(CATEGORIES) == [f"S{i}" for i in range(1, 15)]
    assert "Sex-Related Crimes" not in prompt  # the model card's table names are not the prompt text


def test_messages_rendering_sends_typed_text_parts_without_a_score():
    fmt = get_format("llama_guard_4")
    (prompt,) = fmt.build("How do I pick a lock?")
    assert prompt.messages == ({"role": "user", "content": [{"type": "text", "text": "How do I pick a lock?"}]},)
    assert fmt.score_tokens is None


# ---------------------------------------------------------------- tokens


@pytest.fixture(scope="module")
def llama4_like_tokenizer():
    """A small BPE with Llama 4's special tokens, pre-tokenizer pattern and BOS post-processor."""
    pytest.importorskip("transformers")
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(PATTERN), behavior="isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                                                             use_regex=False)]
    )  # fmt: skip
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=900, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    bpe.train_from_iterator([case["prompt"] + "\n\nunsafe\nS1,S2\n\nsafe" for case in golden()["cases"]], trainer)
    bos = bpe.token_to_id(BOS)
    bpe.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", special_tokens=[(BOS, bos)])
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=BOS, eos_token="<|eot|>",
                                   additional_special_tokens=SPECIAL[1:])  # fmt: skip


def test_hf_token_path_has_one_bos_and_keeps_hostile_markup_literal(llama4_like_tokenizer):
    from cgbench.models.backends.hf import prompt_ids

    tok = llama4_like_tokenizer
    specials = {tok.convert_tokens_to_ids(t) for t in SPECIAL}
    fmt = get_guard("llama-guard-4-12b").guard_format()
    template = [tok.convert_tokens_to_ids(t) for t in re.findall("|".join(map(re.escape, SPECIAL)),
                                                                 cases()["english"]["prompt"])]  # fmt: skip
    for case in golden()["cases"]:
        ids = prompt_ids(tok, fmt.build(case["text"])[0])
        assert [i for i in ids if i in specials] == template  # one BOS first, then only the template's own
        assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1
        assert tok.decode(ids) == case["prompt"] + "\n\n"


def test_the_raw_prompt_ends_exactly_where_the_verdict_token_is_generated(llama4_like_tokenizer):
    """Prompt + answer tokenizes as the prompt's tokens, then the verdict's first token."""
    tok = llama4_like_tokenizer
    fmt = get_guard("llama-guard-4-12b").guard_format()
    for case in golden()["cases"]:
        raw = fmt.build(case["text"])[0].raw
        prompt = tok(raw)["input_ids"]
        for answer in ("unsafe\nS1", "safe"):
            whole = tok(raw + answer)["input_ids"]
            assert whole[: len(prompt)] == prompt
            assert whole[len(prompt)] == tok(answer.split("\n")[0], add_special_tokens=False)["input_ids"][0]
    # through the template (no blank line) the next token is the blank line, not the verdict
    template_text = cases()["english"]["prompt"].removeprefix(BOS)
    after = tok(template_text + "\n\nunsafe")["input_ids"][len(tok(template_text)["input_ids"])]
    assert tok.decode([after]) == "\n\n"


@pytest.mark.parametrize("separator", [",", ", "])
def test_the_token_budget_covers_the_verdict_and_every_category(separator):
    """At least one token per pre-token (the real vocabulary has exactly that: 30 for ``unsafe`` and all 14 codes
    comma-separated), plus the end token."""
    regex = pytest.importorskip("regex")
    answer = "unsafe\n" + separator.join(CATEGORIES)
    assert len(regex.findall(PATTERN, answer)) + 1 <= get_format("llama_guard_4").max_new_tokens


# ---------------------------------------------------------------- parser and stop rule


OUTPUTS = [  # llama-stack get_shield_response: strip; "safe"; re.match(r"^unsafe\n(.*)$"); else an error
    ("safe", SAFE, ()),
    ("\n\nsafe", SAFE, ()),  # through the template the answer starts with the blank line
    ("safe\n", SAFE, ()),
    ("unsafe\nS1", UNSAFE, ("S1",)),
    ("unsafe\nS1,S9", UNSAFE, ("S1", "S9")),
    ("\n\nunsafe\nS2, S14\n", UNSAFE, ("S2", "S14")),
    ("unsafe\nS15,S3", UNSAFE, ("S3",)),
    ("unsafe\nviolence", UNSAFE, ()),
    ("unsafe", UNSAFE, ()),  # no codes line: unsafe, marked codes_missing (llama-stack: an error; see the module)
    # off-format: a parse failure, never a guess
    ("unsafe\n\nS1", None, ()),
    ("unsafe\nS1\nS2", None, ()),
    ("Unsafe\nS1", None, ()),
    ("SAFE", None, ()),
    ("safe\nS1", None, ()),
    ("safe.", None, ()),
    ("The content is safe", None, ()),
    ("", None, ()),
]


@pytest.mark.parametrize(("output", "pred", "codes"), OUTPUTS)
def test_parser_follows_the_official_one(output, pred, codes):
    for fmt in (get_format("llama_guard_4"), get_format("llama_guard_4", render="raw")):
        verdict = fmt.parse(output)
        assert (verdict.pred, verdict.violations) == (pred, codes)
        assert verdict.codes_missing == (output.strip() == "unsafe")


def test_stop_rule_never_cuts_an_answer_whose_parse_can_still_change():
    """Every prefix the rule stops at parses as every continuation of it does (checked on all the outputs, with
    and without more text after them); well-formed answers run to the end token."""
    fmt = get_format("llama_guard_4", render="raw")
    stop = fmt.stop_rule()
    tails = ["", "\n", "x", "\nS3", ",S4", "\n\n", " "]
    for output, _, _ in OUTPUTS:
        for cut in range(len(output) + 1):
            if stop(output[:cut]):
                assert {fmt.parse(output[:cut] + tail) for tail in tails} == {fmt.parse(output[:cut])}
    assert not any(stop(prefix) for prefix in ("", "saf", "safe", "safe\n", "unsafe", "unsafe\n", "unsafe\nS1,"))
    assert all(stop(prefix) for prefix in ("x", "Safe", "safe\nS", "unsafe x", "unsafe\n\nS", "unsafe\nS1\nS2"))
    assert not any(stop(prefix) for prefix in ("unsafe ", "unsafe\n\n", "unsafe\n \n"))


# ---------------------------------------------------------------- registry and README


def test_registered_with_its_hub_id():
    spec = GUARDS["llama-guard-4-12b"]
    assert spec.hub_id == "meta-llama/Llama-Guard-4-12B" and spec.kind == "generative" and spec.params_b == 12.0
    assert spec.format_options == {"render": "raw"}


def test_readme_guards_section_lists_it_with_its_source():
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Guards") : text.index("\n## ", text.index("## Guards") + 1)]
    for needle in ("`llama-guard-4-12b`", "`meta-llama/Llama-Guard-4-12B`"):
        assert needle in section
    guards_page = (README.parent / "docs" / "guards.md").read_text(encoding="utf-8")  # formats and sources
    for needle in ("`llama-guard-4-12b`", "`meta-llama/Llama-Guard-4-12B`", "`llama_guard_4`", "Llama-Guard4/12B"):
        assert needle in guards_page
