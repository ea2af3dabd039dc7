"""The paper recipe: every value names its source, and the stages read it as the release ran it (no torch needed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from cgbench.models.consistentguard.config import load_section
from cgbench.models.consistentguard.rewards import REWARD_PRESETS, reward_weights

pytestmark = pytest.mark.no_data  # needs no data mirror

PAPER = Path(__file__).resolve().parents[1] / "configs" / "consistentguard" / "paper.yaml"
SOURCE = re.compile(r"paper|\w+\.py|MLC release|our choice|TRL 0\.14|transformers' default|Deviation")
KEY = re.compile(r"^(\s*)([A-Za-z_]\w*):\s*(.*)$")


def _values_and_sources(text: str) -> list[tuple[int, str, str]]:
    """(line, key, source text) of every leaf value; its source is the comment on its line or just above it."""
    lines = text.splitlines()
    found = []
    for n, line in enumerate(lines):
        match = KEY.match(line)
        if not match or not match.group(3) or match.group(3).startswith("#"):
            continue  # a section header or a mapping that opens below
        comment = line.split("#", 1)[1] if "#" in line else ""
        above = n - 1
        while not line.partition("#")[1] and above >= 0 and lines[above].strip().startswith("#"):
            comment = lines[above] + comment  # the whole comment block just above
            above -= 1
        found.append((n + 1, match.group(2), comment))
    return found


def test_every_paper_value_names_its_source():
    found = _values_and_sources(PAPER.read_text(encoding="utf-8"))
    assert len(found) > 60
    missing = [(line, key) for line, key, source in found if not SOURCE.search(source)]
    assert not missing, f"{PAPER.name}: values without a source comment: {missing}"


def test_the_source_check_can_fail():
    assert [k for _, k, s in _values_and_sources("a:\n  b: 1\n  c: 2  # paper\n") if not SOURCE.search(s)] == ["b"]


def test_paper_stages_hold_the_released_values():
    sft = load_section(PAPER, "sft")
    assert (sft.per_device_train_batch_size, sft.gradient_accumulation_steps, sft.weight_decay, sft.seed) == (
        4, 1, 0.01, 42,
    )  # fmt: skip
    grpo = load_section(PAPER, "grpo")
    assert (grpo.beta, grpo.loss_type, grpo.max_prompt_length, grpo.use_bias_correction_kl) == (
        0.04,
        "grpo",
        1024,
        False,
    )
    assert reward_weights(grpo.rewards) == dict.fromkeys(REWARD_PRESETS["release"], 1.0)
    cao = load_section(PAPER, "cao")
    assert (cao.max_prompt_length, cao.max_length, cao.truncation_mode, cao.anchor_kl_span) == (
        512, 1024, "keep_end", "sequence",
    )  # fmt: skip
    assert yaml.safe_load(PAPER.read_text())["grpo"]["trainer"]["scale_rewards"] == "group"


def test_unknown_reward_preset_is_refused():
    with pytest.raises(ValueError, match="unknown reward preset 'released'"):
        reward_weights("released")
