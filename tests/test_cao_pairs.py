"""CAO pairs: every anchor is a sample the model got right, in the language that got it right."""

from __future__ import annotations

import pytest

from cgbench.benchmarks import Item
from cgbench.models.consistentguard.cao import build_pairs
from cgbench.models.guards.consistentguard import ConsistentGuardFormat

pytestmark = pytest.mark.no_data  # needs no data mirror

LANGS = ["en", "fr", "zh"]
TEXTS = {"en": "how to steal a car", "fr": "comment voler une voiture", "zh": "如何偷车"}


def _case(right: dict[str, bool], label: int = 1):
    by_lang = {lang: [Item("seed", lang, 0, TEXTS[lang], label, "s0")] for lang in LANGS}
    predictions = {
        lang: [{"pred": label if right[lang] else 1 - label, "output": f"{lang}-{'right' if right[lang] else 'wrong'}"}]
        for lang in LANGS
    }
    return by_lang, predictions


def _prompt(lang: str) -> str:
    return ConsistentGuardFormat().build(TEXTS[lang])[0].raw


def test_english_failure_takes_its_anchor_from_the_language_that_succeeded():
    by_lang, predictions = _case({"en": False, "fr": True, "zh": False})
    pairs, report = build_pairs(by_lang, predictions, ConsistentGuardFormat())
    assert [p["lang"] for p in pairs] == ["en", "zh"]
    for pair in pairs:
        assert pair["anchor_lang"] == "fr"
        assert pair["anchor_prompt"] == _prompt("fr") and pair["anchor_completion"] == "fr-right"
        assert pair["chosen"] == "fr-right" and pair["rejected"] == f"{pair['lang']}-wrong"
        assert pair["prompt"] == _prompt(pair["lang"])
    assert report["en"].failures == 1 and report["fr"].correct == 1


def test_english_success_is_the_anchor_and_no_anchor_is_ever_a_failure():
    for right in ({"en": True, "fr": False, "zh": False}, {"en": False, "fr": False, "zh": True}):
        by_lang, predictions = _case(right)
        pairs, _ = build_pairs(by_lang, predictions, ConsistentGuardFormat())
        assert pairs
        for pair in pairs:
            lang = pair["anchor_lang"]
            assert right[lang] and pair["anchor_prompt"] == _prompt(lang)
            assert pair["anchor_completion"] == predictions[lang][0]["output"]
    assert {
        p["anchor_lang"] for p in build_pairs(*_case({"en": True, "fr": False, "zh": True}), ConsistentGuardFormat())[0]
    } == {"en"}


def test_no_success_no_pair():
    pairs, report = build_pairs(*_case({"en": False, "fr": False, "zh": False}), ConsistentGuardFormat())
    assert pairs == [] and all(r.failures == 1 and r.pairs == 0 for r in report.values())


def test_truncation_report_counts_per_language_what_the_cao_limits_cut():
    from cgbench.models.consistentguard.cao import cut_rows, truncation_report

    words = lambda text: len(text.split())  # noqa: E731 - one token per word
    pairs = [
        {"lang": "en", "prompt": "w " * 10, "chosen": "a " * 3, "rejected": "b " * 2},  # fits
        {"lang": "bn", "prompt": "w " * 30, "chosen": "a " * 3, "rejected": "b"},  # prompt 30 -> 20
        {"lang": "bn", "prompt": "w " * 15, "chosen": "a " * 20, "rejected": "b"},  # 15 + 1 + 20 > 30
    ]
    report = truncation_report(pairs, words, max_prompt_length=20, max_length=30, mode="keep_end")
    assert report["en"].summary()["prompt_cut"] == 0 and report["en"].sequence_cut == 0
    bn = report["bn"].summary()
    assert (bn["pairs"], bn["prompt_cut"], bn["median_prompt_tokens_dropped"], bn["sequence_cut"]) == (2, 1, 10, 1)
    assert "prompt head" in bn["where"]
    assert cut_rows(report)[1][:5] == ("bn", "2", "1 (50%)", "10", "1 (50%)")
    raised = truncation_report(pairs, words, max_prompt_length=64, max_length=64, mode="keep_end")  # the override
    assert all(r.prompt_cut == r.sequence_cut == 0 for r in raised.values())
