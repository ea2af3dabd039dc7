"""The GRPO rewards against values computed by hand, edge cases included."""

from __future__ import annotations

import doctest
import math

import pytest

from cgbench.models.consistentguard import rewards
from cgbench.models.consistentguard.rewards import (
    accuracy_reward,
    diversity_reward,
    has_think_end,
    length_reward,
    make_rewards,
    single_judge,
    single_violations,
    think_before_judge,
)

pytestmark = pytest.mark.no_data  # needs no data mirror

GOOD = "The user asks for bread.</think><violations>None</violations><judge>unharmful</judge>"


def test_doctests_pass():
    result = doctest.testmod(rewards)
    assert result.attempted >= 10 and result.failed == 0


def test_well_formed_completion_gets_every_format_part():
    for fn in (has_think_end, single_judge, single_violations, think_before_judge):
        assert fn([GOOD]) == [1.0], fn.__name__


def test_empty_reasoning():
    text = "</think><violations>None</violations><judge>unharmful</judge>"
    assert length_reward([text], best_length=512) == [0.0]
    # no trigrams -> p = 0 -> sin(-pi) + 1 = 1
    assert diversity_reward([text]) == [pytest.approx(1.0)]
    assert has_think_end([text]) == [1.0]
    assert accuracy_reward([text], label=[0]) == [1.0]


def test_no_judge_tag():
    text = "reasoning</think><violations>S1</violations>harmful"
    assert single_judge([text]) == [0.0]
    assert think_before_judge([text]) == [0.0]
    assert accuracy_reward([text], label=[1]) == [0.0]


def test_several_disagreeing_judge_tags_fail_format_and_accuracy():
    text = "r</think><violations>S1</violations><judge>unharmful</judge><judge>harmful</judge>"
    assert single_judge([text]) == [0.0]
    assert accuracy_reward([text], label=[1]) == [0.0]
    assert accuracy_reward([text], label=["unharmful"]) == [0.0]


@pytest.mark.parametrize(
    "completion",
    [
        "r</think><violations>S1</violations><judge>harmful</judge>",
        "r</think><violations>None</violations><judge> Unharmful </judge>",
        "r</think><judge>unharmful</judge><judge>harmful</judge>",  # disagreeing judges
        "r</think><judge>harmful</judge><judge>harmful</judge>",  # agreeing judges
        "r</think><judge></judge>",  # an empty judge
        "r</think><violations>S1</violations>",  # no judge
        "<judge>harmful</judge></think>",  # the judge inside the reasoning
        "<judge>harmful</judge>",  # reasoning never closed
    ],
)
def test_accuracy_reward_agrees_with_the_guard_parser(completion):
    from cgbench.models.guards import get_format

    verdict = get_format("consistentguard").parse(completion)
    for label in (0, 1):
        expected = float(verdict.pred is not None and int(verdict.pred) == label)
        assert accuracy_reward([completion], label=[label]) == [expected]


def test_violations_twice_or_judge_before_think():
    twice = "r</think><violations>S1</violations><violations>S2</violations><judge>harmful</judge>"
    assert single_violations([twice]) == [0.0]
    assert think_before_judge(["<judge>harmful</judge> r</think>"]) == [0.0]


@pytest.mark.parametrize(
    ("words", "best", "expected"),
    [
        (0, 512, 0.0),  # L = 0
        (512, 512, 1.0),  # L = L_best: the peak
        (1024, 512, 0.0),  # L = 2 L_best
        (256, 512, math.sin(math.pi / 4)),  # sin(256/1024 * pi)
        (1536, 512, -1.0),  # 3 L_best: negative beyond
        (2560, 512, -1.0),  # 5 L_best: the raw sin would pay 1.0 again
        (128, 256, math.sqrt(2) / 2),  # the released L_best
    ],
)
def test_length_reward(words, best, expected):
    text = " ".join(["w"] * words) + "</think><judge>harmful</judge>"
    assert length_reward([text], best_length=best) == [pytest.approx(expected, abs=1e-12)]


def test_length_counts_tokens_with_the_given_tokenizer_and_needs_think_end():
    text = "abcdef</think>"
    assert length_reward([text], best_length=3, count_tokens=len) == [pytest.approx(0.0, abs=1e-12)]  # L=6=2*3
    assert length_reward(["a b c d"], best_length=2) == [0.0]


def test_diversity_full_repetition():
    # "a a a a a": 3 trigrams, all the same one -> p = 1/3 -> sin(-5pi/6) + 1 = 0.5
    assert diversity_reward(["a a a a a</think>"]) == [pytest.approx(0.5)]
    # a phrase said twice: abc, bcd repeat among 6 trigrams -> p = 1/3
    assert diversity_reward(["a b c d a b c d</think>"]) == [pytest.approx(0.5)]
    # one trigram said twice in a row of 4 trigrams ("x y z x y z"): xyz repeats -> p = 1/4
    assert diversity_reward(["x y z x y z</think>"]) == [pytest.approx(math.sin((0.25 - 2) / 2 * math.pi) + 1)]
    assert diversity_reward(["no think end"]) == [0.0]


def test_make_rewards_binds_weights_and_length_settings():
    funcs, weights = make_rewards("reward_py_comments", best_length=2)
    comments = rewards.REWARD_PRESETS["reward_py_comments"]
    assert [f.__name__ for f in funcs] == list(comments)
    assert weights == [0.1, 0.1, 0.1, 0.1, 0.2, 0.2, 0.4]
    by_name = {f.__name__: f for f in funcs}
    text = "a b</think><violations>None</violations><judge>harmful</judge>"
    scores = {name: f([text], label=[1], prompts=["p"], completion_ids=[[1]]) for name, f in by_name.items()}
    assert scores["length"] == [pytest.approx(1.0)]
    assert scores["accuracy"] == [1.0]
    total = sum(w * scores[n][0] for n, w in comments.items())
    assert total == pytest.approx(0.4 + 0.2 + 0.2 + 0.4)
    with pytest.raises(ValueError, match="unknown reward"):
        make_rewards({"fluency": 1.0})


def test_default_preset_is_what_the_release_ran():
    """grpo_train.py passes seven reward functions; its trainer sums them unweighted (weight 1 each)."""
    funcs, weights = make_rewards(rewards.DEFAULT_PRESET)
    assert rewards.DEFAULT_PRESET == "release" and weights == [1.0] * 7 and len(funcs) == 7
    from cgbench.models.consistentguard.config import GRPOStage

    assert rewards.reward_weights(GRPOStage().rewards) == dict.fromkeys(rewards.REWARDS, 1.0)


@pytest.mark.parametrize("preset", sorted(rewards.REWARD_PRESETS))
def test_every_preset_weighs_length_and_diversity_equally(preset):
    """The paper's reasoning reward sin(L/(2 L_best) pi) + [sin((p-2)/2 pi) + 1] adds the two with equal weight."""
    weights = rewards.REWARD_PRESETS[preset]
    assert set(weights) == set(rewards.REWARDS)
    assert weights["length"] == weights["diversity"] > 0


@pytest.mark.parametrize("multiple", [2, 2.5, 3, 4, 5, 9, 100])
def test_length_reward_has_no_second_peak(multiple):
    best = 64
    words = int(multiple * best)
    (r,) = length_reward([" ".join(["w"] * words) + "</think>"], best_length=best)
    assert r <= 1e-12
    if multiple >= 3:
        assert r == -1.0  # held at the minimum: longer never earns more


def test_length_reward_never_rises_past_the_peak():
    best = 16
    values = [length_reward([" ".join(["w"] * n) + "</think>"], best_length=best)[0] for n in range(best, 8 * best)]
    assert all(b <= a + 1e-12 for a, b in zip(values, values[1:]))


def test_verdict_reader_doctests_pass():
    from cgbench.models.guards import consistentguard

    result = doctest.testmod(consistentguard)
    assert result.attempted >= 3 and result.failed == 0
