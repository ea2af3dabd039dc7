"""Stop rules: a format may end generation early only where more text cannot change the parsed verdict."""

from __future__ import annotations

import pytest

from cgbench.models.guards.base import complete_lines
from cgbench.models.guards.registry import FORMATS, get_format

LLAMA_GUARD_OUTPUTS = [
    "safe",
    "safe\n",
    "safe<|eot_id|>",
    "\n\nsafe\nS1",
    "unsafe\nS1,S10",
    "unsafe\nS1,S10\nmore text",
    "\n\nunsafe\n\nS2\n",
    "unsafe",
    "safely speaking\nS1",
    "Unsafe\r\nS3, S14\n",
    "uns afe\nS1",
    "I cannot answer that.\nunsafe\nS1",
    "",
]
SHIELDGEMMA_OUTPUTS = ["Yes", "No", " Yes, it does", "No.\nThe prompt", "Yesterday", "Nobody", "  no", "Maybe", "", "y"]


def _verdict(fmt, output):
    verdict = fmt.parse(output)
    return verdict.pred, verdict.violations


@pytest.mark.parametrize(
    ("fmt", "outputs"),
    [
        (get_format("llama_guard"), LLAMA_GUARD_OUTPUTS),
        (get_format("llama_guard", variant="1b", render="raw"), LLAMA_GUARD_OUTPUTS),
        (get_format("shieldgemma"), SHIELDGEMMA_OUTPUTS),
    ],
)
def test_a_settled_prefix_parses_as_the_whole_output(fmt, outputs):
    """Wherever the rule stops a partial output, its verdict and codes are those of the whole output."""
    stop = fmt.stop_rule()
    stopped = 0
    for output in outputs:
        for cut in range(len(output) + 1):
            if stop(output[:cut]):
                assert _verdict(fmt, output[:cut]) == _verdict(fmt, output), (output, cut)
                stopped += 1
                break
    assert stopped >= len(outputs) // 2  # the rule does stop early on most outputs


def test_llama_guard_stops_after_the_verdict_line_or_the_codes_line():
    stop = get_format("llama_guard").stop_rule()
    assert not stop("\n\n") and not stop("\n\nsafe") and stop("\n\nsafe\n")
    assert not stop("unsafe\n") and not stop("unsafe\nS1,") and stop("unsafe\nS1,S2\n")
    assert stop("I think\n")  # an unparseable first line stays unparseable
    assert stop("\nWhat") and stop("saf e") and not stop("\nuns") and not stop(" Safe")  # ... as soon as it is one


def test_llama_guard_verdict_answer_stops_at_the_first_word():
    fmt = get_format("llama_guard", answer="verdict")
    stop = fmt.stop_rule()
    assert not stop("\n\n") and not stop("uns") and stop("unsafe") and stop("\n\nsafe") and stop("Sorry")
    assert fmt.parse("unsafe").pred == 1 and fmt.parse("\n\nsafe").pred == 0


def test_shieldgemma_stops_once_the_answer_word_is_closed():
    stop = get_format("shieldgemma").stop_rule()
    assert not stop("") and not stop(" Ye") and not stop("Yes") and stop("Yes,") and stop("No ") and stop("Maybe")


def test_formats_without_a_rule_generate_to_the_end():
    assert {name for name, cls in FORMATS.items() if cls().stop_rule() is None} == {
        "instruct",
        "guardreasoner",
        "wildguard",
        "consistentguard",
    }


def test_complete_lines_keeps_only_ended_lines():
    assert complete_lines("\n\nunsafe\nS1,") == ["unsafe"]
    assert complete_lines("safe") == [] and complete_lines("safe\r\n") == ["safe"]
