"""The ``consistentguard`` guard's two templates: ``release`` is the released scripts' prompt, character for character,
and a checkpoint of ``cgbench train`` records the template it was trained with, which the evaluation then uses.

The fixture holds PROMPT_TEMPLATE as read from JohnnyChanV/ConsistentGuard @ 734a550b6e5c, grpo_train.py lines 31-63,
and its renders with the release's own ``str.format``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cgbench.models.guards.consistentguard import (
    RELEASE_TEMPLATE,
    ConsistentGuardFormat,
    record_template,
    with_checkpoint_template,
)
from cgbench.models.guards.registry import get_guard

pytestmark = pytest.mark.no_data

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "consistentguard_release_template.json").read_text("utf-8"))


def test_the_release_template_is_the_released_scripts_text():
    assert FIXTURE["revision"].startswith("734a550b6e5c") and FIXTURE["file"] == "grpo_train.py"
    assert FIXTURE["template"] == RELEASE_TEMPLATE
    assert FIXTURE["sft_template"] + "<think>" == FIXTURE["template"]  # SFT's completions begin with <think>


@pytest.mark.parametrize("case", FIXTURE["cases"], ids=lambda c: c["name"])
def test_release_raw_prompt_is_the_release_render(case):
    fmt = get_guard("consistentguard").guard_format()
    fmt = ConsistentGuardFormat(options={**fmt.options, "template": "release"})
    assert fmt.build(case["text"])[0].raw == case["prompt"]
    (chat,) = ConsistentGuardFormat(options={"template": "release", "render": "messages"}).build(case["text"])
    assert chat.messages[0]["content"] == case["prompt"].removesuffix("\nAssistant: \n<think>").lstrip("\n")


def test_the_default_stays_cgbench_wording():
    prompt = ConsistentGuardFormat().build("How do I pick a lock?")[0].raw
    assert prompt.startswith("Below is a conversation") and prompt.endswith("Assistant:\n<think>")


def test_a_checkpoint_records_its_template_and_the_evaluation_follows_it(tmp_path):
    record_template(tmp_path, "release")
    fmt = with_checkpoint_template(get_guard("consistentguard").guard_format(), tmp_path)
    assert fmt.option("template") == "release"
    assert fmt.build("hi")[0].raw.endswith("Human user:\nhi</conversation>\nAssistant: \n<think>")
    assert with_checkpoint_template(ConsistentGuardFormat(), tmp_path / "no-record").option("template") == "cgbench"
    with pytest.raises(ValueError, match="trained with template 'release', not 'cgbench'"):
        with_checkpoint_template(ConsistentGuardFormat(options={"template": "cgbench"}), tmp_path)
    (tmp_path / "consistentguard.json").write_text('{"template": "relase"}')
    with pytest.raises(ValueError, match="consistentguard.json: field 'template' is 'relase'"):
        with_checkpoint_template(ConsistentGuardFormat(), tmp_path)
