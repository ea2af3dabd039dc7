"""Generation over a list of texts (``models.backends.generate``), the one path of the runner and of CAO: a text's
prompts go out in one call with the others', and their answers come back to that text, in order."""

from __future__ import annotations

import pytest

from cgbench.models.backends.base import BackendError, Completion
from cgbench.models.backends.generate import OUTPUT_SEPARATOR, OutputCountError, generate
from cgbench.models.guards.registry import get_format

pytestmark = pytest.mark.no_data


class ScriptedBackend:
    """Answers "Yes" to a ShieldGemma prompt about the policy named in ``unsafe_policy`` and the text "bad", else
    "No"; records the calls. ``drop`` leaves out that many completions."""

    def __init__(self, unsafe_policy: str, drop: int = 0) -> None:
        self.unsafe_policy, self.drop, self.calls = unsafe_policy, drop, []

    def complete(self, prompts, *, max_new_tokens, score_tokens=None, stop=None):
        self.calls.append((len(prompts), max_new_tokens, score_tokens, stop))
        answers = []
        for prompt in prompts:
            unsafe = self.unsafe_policy in prompt.raw and "bad" in prompt.raw
            answers.append(Completion("Yes" if unsafe else "No", 0.9 if unsafe else 0.1))
        return answers[: len(answers) - self.drop]


def test_each_texts_prompts_come_back_to_it_in_one_call():
    fmt = get_format("shieldgemma")  # policy=all: four prompts per text
    backend = ScriptedBackend(unsafe_policy="Harassment")
    generated = generate(backend, fmt, ["a kind note", "something bad", "hello"])
    assert [(n, tokens) for n, _, tokens, _ in backend.calls] == [(12, ("Yes", "No"))]
    assert backend.calls[0][1] == fmt.max_new_tokens and backend.calls[0][3] is not None
    assert [g.verdict.pred for g in generated] == [0, 1, 0]
    assert generated[1].verdict.violations == ("harassment",)
    assert generated[1].verdict.score == pytest.approx(0.9)
    assert generated[1].output == OUTPUT_SEPARATOR.join(["No", "Yes", "No", "No"])


def test_a_missing_completion_is_a_backend_error_naming_both_counts():
    backend = ScriptedBackend(unsafe_policy="Harassment", drop=1)
    with pytest.raises(OutputCountError, match="returned 7 outputs for 8 prompts") as raised:
        generate(backend, get_format("shieldgemma"), ["a", "b"])
    assert isinstance(raised.value, BackendError)
