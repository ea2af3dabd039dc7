"""GRPO reward functions of the ConsistentGuard recipe: format parts, length, diversity, accuracy.

Each is a plain function ``fn(completions, **kwargs) -> list[float]``, as TRL's ``GRPOTrainer`` calls it
(it also passes ``prompts``, ``completion_ids`` and every dataset column as keyword arguments).
A completion is the model's text after the prompt, which ends on ``<think>``: the reasoning is
everything before ``</think>``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable

from cgbench.models.guards.consistentguard import JUDGE_RE, THINK_END, VIOLATIONS_RE, judge_word, reasoning

# Weight presets (``rewards:`` in a recipe takes a preset name or a mapping name -> weight).
# "release": what the released run did. grpo_train.py passes the seven functions to its GRPOTrainer
#   (R1_components/grpo_trainer.py), which sums them as they are: weight 1 each.
# "reward_py_comments": the ``# weight = ...`` comments in R1_components/reward.py, which the release did not apply;
#   has_violation carries no comment there, so single_violations gets 0.1 like the other format parts (our choice).
# Both keep length and diversity at equal weight, as in the paper's reward sin(L/(2·L_best)·π) + [sin((p−2)/2·π) + 1].
REWARD_PRESETS: dict[str, dict[str, float]] = {
    "release": {
        "has_think_end": 1.0,
        "single_judge": 1.0,
        "single_violations": 1.0,
        "think_before_judge": 1.0,
        "length": 1.0,
        "diversity": 1.0,
        "accuracy": 1.0,
    },
    "reward_py_comments": {
        "has_think_end": 0.1,
        "single_judge": 0.1,
        "single_violations": 0.1,
        "think_before_judge": 0.1,
        "length": 0.2,
        "diversity": 0.2,
        "accuracy": 0.4,
    },
}
DEFAULT_PRESET = "release"


def reward_weights(rewards: str | dict[str, float]) -> dict[str, float]:
    """The weights of a preset name, or the mapping itself.

    >>> reward_weights("reward_py_comments")["accuracy"], reward_weights({"accuracy": 2.0})
    (0.4, {'accuracy': 2.0})
    """
    if isinstance(rewards, str):
        if rewards not in REWARD_PRESETS:
            raise ValueError(f"unknown reward preset {rewards!r}; choose from {sorted(REWARD_PRESETS)}")
        return dict(REWARD_PRESETS[rewards])
    return dict(rewards)


def has_think_end(completions: list[str], **kwargs) -> list[float]:
    """1 when the reasoning is closed with ``</think>``.

    >>> has_think_end(["a</think><judge>harmful</judge>", "<judge>harmful</judge>"])
    [1.0, 0.0]
    """
    return [float(THINK_END in c) for c in completions]


def single_judge(completions: list[str], **kwargs) -> list[float]:
    """1 when there is exactly one ``<judge>…</judge>``.

    >>> single_judge(["<judge>harmful</judge>", "<judge>harmful</judge><judge>unharmful</judge>", "harmful"])
    [1.0, 0.0, 0.0]
    """
    return [float(len(JUDGE_RE.findall(c)) == 1) for c in completions]


def single_violations(completions: list[str], **kwargs) -> list[float]:
    """1 when there is exactly one ``<violations>…</violations>``.

    >>> single_violations(["<violations>S1, S2</violations>", "<violations>None"])
    [1.0, 0.0]
    """
    return [float(len(VIOLATIONS_RE.findall(c)) == 1) for c in completions]


def think_before_judge(completions: list[str], **kwargs) -> list[float]:
    """1 when ``</think>`` comes before the first ``<judge>…</judge>``.

    >>> think_before_judge(["x</think><judge>harmful</judge>", "<judge>harmful</judge></think>", "x</think>"])
    [1.0, 0.0, 0.0]
    """
    rewards = []
    for c in completions:
        judge = JUDGE_RE.search(c)
        rewards.append(float(THINK_END in c and judge is not None and c.index(THINK_END) < judge.start()))
    return rewards


def _whitespace_tokens(text: str) -> int:
    return len(text.split())


def length_reward(
    completions: list[str],
    best_length: int = 256,
    count_tokens: Callable[[str], int] | None = None,
    **kwargs,
) -> list[float]:
    """r = sin(L / (2·best_length) · π), L = tokens of the reasoning; 0 without ``</think>``.

    It peaks at L = best_length and is 0 at L = 0 and L = 2·best_length. sin is periodic, so the raw formula
    would rise again past 3·best_length and pay 1 again at 5·best_length; instead r falls to its minimum -1 at
    3·best_length and stays there (our choice: no second peak, and a longer reasoning past the peak never earns
    more than a shorter one). ``count_tokens`` defaults to whitespace words; training binds the model's tokenizer
    (see ``make_rewards``).

    >>> [round(r, 3) for r in length_reward(["a b</think>", "a b c d</think>", "</think>", "a b"], best_length=2)]
    [1.0, 0.0, 0.0, 0.0]
    >>> words = [" ".join(["w"] * n) + "</think>" for n in (5, 6, 8, 10, 40)]  # 2.5, 3, 4, 5, 20 x best_length
    >>> [round(r, 3) for r in length_reward(words, best_length=2)]
    [-0.707, -1.0, -1.0, -1.0, -1.0]
    """
    count = count_tokens or _whitespace_tokens
    rewards = []
    for c in completions:
        think = reasoning(c)
        rewards.append(0.0 if think is None else _length_curve(count(think), best_length))
    return rewards


def _length_curve(length: int, best_length: int) -> float:
    if length >= 3 * best_length:
        return -1.0
    return math.sin(length / (2 * best_length) * math.pi)


def trigram_repetition_rate(text: str) -> float:
    """Distinct word trigrams that occur more than once, over all trigrams (0 when there are none).

    >>> trigram_repetition_rate("a b c d a b c d")  # abc and bcd repeat; 6 trigrams
    0.3333333333333333
    >>> trigram_repetition_rate("one two")
    0.0
    """
    words = text.split()
    trigrams = list(zip(words, words[1:], words[2:]))
    if not trigrams:
        return 0.0
    repeated = sum(1 for n in Counter(trigrams).values() if n > 1)
    return repeated / len(trigrams)


def diversity_reward(completions: list[str], **kwargs) -> list[float]:
    """r = sin((p − 2)/2 · π) + 1 with p the trigram repetition rate of the reasoning; 0 without ``</think>``.

    r = 1 at p = 0 and falls to 0 at p = 1.

    >>> [round(r, 3) for r in diversity_reward(["no repeats at all here</think>", "a b c d a b c d</think>", "x"])]
    [1.0, 0.5, 0.0]
    """
    rewards = []
    for c in completions:
        think = reasoning(c)
        if think is None:
            rewards.append(0.0)
        else:
            rewards.append(math.sin((trigram_repetition_rate(think) - 2) / 2 * math.pi) + 1)
    return rewards


def gold_word(label: int | str) -> str:
    """``harmful``/``unharmful`` from a 1/0 label or the word itself.

    >>> gold_word(1), gold_word("Unharmful")
    ('harmful', 'unharmful')
    """
    if isinstance(label, str) and not label.strip().lstrip("-").isdigit():
        return label.strip().lower()
    return "harmful" if int(label) == 1 else "unharmful"


def accuracy_reward(completions: list[str], label: list[int | str], **kwargs) -> list[float]:
    """1 when the completion's verdict, read as the guard's parser reads it (``judge_word``), equals the gold
    label (the dataset column ``label``); several disagreeing judges, or none after ``</think>``, earn 0.

    >>> accuracy_reward(["r</think><judge>harmful</judge>", "r</think><judge> Unharmful </judge>", "harmful",
    ...                  "r</think><judge>x</judge>", "r</think><judge>harmful</judge><judge>unharmful</judge>"],
    ...                 label=[1, 0, 1, "harmful", 1])
    [1.0, 1.0, 0.0, 0.0, 0.0]
    """
    return [float(judge_word(c) == gold_word(gold)) for c, gold in zip(completions, label, strict=True)]


REWARDS: dict[str, Callable[..., list[float]]] = {
    "has_think_end": has_think_end,
    "single_judge": single_judge,
    "single_violations": single_violations,
    "think_before_judge": think_before_judge,
    "length": length_reward,
    "diversity": diversity_reward,
    "accuracy": accuracy_reward,
}


def make_rewards(
    weights: str | dict[str, float],
    best_length: int = 256,
    count_tokens: Callable[[str], int] | None = None,
) -> tuple[list[Callable[..., list[float]]], list[float]]:
    """The reward functions named in ``weights`` (a preset name or a mapping, in its order) and their weights.

    >>> funcs, w = make_rewards({"accuracy": 0.4, "length": 0.2}, best_length=1)
    >>> [f.__name__ for f in funcs], w, funcs[1](["a</think>"])
    (['accuracy', 'length'], [0.4, 0.2], [1.0])
    """
    weights = reward_weights(weights)
    unknown = sorted(set(weights) - set(REWARDS))
    if unknown:
        raise ValueError(f"unknown reward(s) {unknown}; choose from {sorted(REWARDS)}")
    funcs = [_named(REWARDS[name], name, best_length, count_tokens) for name in weights]
    return funcs, [float(w) for w in weights.values()]


def _named(
    func: Callable[..., list[float]], name: str, best_length: int, count_tokens: Callable[[str], int] | None
) -> Callable[..., list[float]]:
    """``func`` under the name TRL logs it by, with the length settings bound."""
    if func is length_reward:

        def named(completions, **kwargs):
            return length_reward(completions, best_length=best_length, count_tokens=count_tokens)

    else:

        def named(completions, **kwargs):
            return func(completions, **kwargs)

    named.__name__ = name
    return named
