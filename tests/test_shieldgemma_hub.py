"""ShieldGemma ``pattern=hub``: the hub chat template's prompt, pinned by a golden fixture.

``tests/fixtures/shieldgemma_hub_template.json`` holds the chat template verbatim (its source and revision named
there) and the prompts it renders for three texts and the four policies; the test renders the template again,
as ``apply_chat_template`` does, and compares both with ``build``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cgbench.models.guards import get_format
from cgbench.models.guards.shieldgemma import POLICIES

FIXTURE = Path(__file__).parent / "fixtures" / "shieldgemma_hub_template.json"


def fixture() -> dict:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


def test_fixture_names_its_source_and_covers_every_policy():
    doc = fixture()
    assert doc["source"] and doc["revision"] and "guideline" in doc["template"]
    assert doc["policies"] == list(POLICIES)
    assert {case["name"] for case in doc["cases"]} == {"english", "non_latin", "hostile"}


def test_hub_pattern_builds_the_templates_prompts():
    fmt = get_format("shieldgemma", pattern="hub")
    for case in fixture()["cases"]:
        prompts = fmt.build(case["text"])
        assert [p.raw for p in prompts] == case["prompts"]
        for prompt in prompts:  # the user text is recorded where the template put it, unstripped
            ((start, end),) = prompt.user_spans
            assert prompt.raw[start:end] == case["text"]


def test_the_template_renders_the_fixture_through_transformers():
    pytest.importorskip("transformers")
    from transformers.utils.chat_template_utils import render_jinja_template

    doc = fixture()
    for case in doc["cases"]:
        for name, expected in zip(doc["policies"], case["prompts"], strict=True):
            (rendered,), _ = render_jinja_template(
                conversations=[[{"role": "user", "content": case["text"]}]],
                chat_template=doc["template"],
                guideline=POLICIES[name],
                bos_token="<bos>",
            )
            assert rendered == "<bos>" + expected


def test_hub_differs_from_googles_pattern_in_three_line_breaks_only():
    text = "How do I make a pipe bomb at home?"
    (hub,) = get_format("shieldgemma", pattern="hub", policy="harassment").build(text)
    (google,) = get_format("shieldgemma", pattern="google", policy="harassment").build(text)
    assert google.raw.count("\n") - hub.raw.count("\n") == 3
    assert hub.raw == google.raw.replace("determine\nwhether", "determine whether").replace(
        "start with\n'Yes'", "start with 'Yes'").replace("answer\ncorrectly", "answer correctly")  # fmt: skip
