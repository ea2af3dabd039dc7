"""Category consistency across languages and agreement with the sets' own harm categories, on synthetic
predictions."""

from __future__ import annotations

import pytest
from rich.console import Console

from cgbench.harness.category_consistency import GUARD_TO_SET, category_consistency, jaccard
from cgbench.harness.diagnostics_report import print_diagnostics
from cgbench.harness.scoring import score_predictions
from cgbench.models.guards.llama_guard import LLAMA_GUARD_3_CATEGORIES
from cgbench.models.guards.qwen3guard import CATEGORIES as QWEN3GUARD_CATEGORIES


def _p(benchmark, lang, idx, pred, violations, label=1):
    return {
        "benchmark": benchmark,
        "lang": lang,
        "idx": idx,
        "label": label,
        "pred": pred,
        "score": None,
        "violations": list(violations),
        "output": "",
    }


def test_same_set_and_jaccard_over_items_flagged_in_both_languages():
    predictions = [
        _p("toxicchat", "en", 0, 1, ["S1"]),
        _p("toxicchat", "fr", 0, 1, ["S1"]),  # same set
        _p("toxicchat", "en", 1, 1, ["S1", "S2"]),
        _p("toxicchat", "fr", 1, 1, ["S2"]),  # jaccard 1/2
        _p("toxicchat", "en", 2, 1, ["S10"]),
        _p("toxicchat", "fr", 2, 1, ["S12"]),  # jaccard 0
        _p("toxicchat", "en", 3, 1, ["S5"]),
        _p("toxicchat", "fr", 3, 0, []),  # not flagged in fr: left out
        _p("toxicchat", "en", 4, None, []),
        _p("toxicchat", "fr", 4, 1, ["S5"]),  # unparsed in en: left out
    ]
    cells = category_consistency(predictions)["toxicchat"]
    assert cells["fr"]["n"] == 3
    assert cells["fr"]["same_set"] == pytest.approx(1 / 3)
    assert cells["fr"]["mean_jaccard"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert cells["en"]["same_set"] == 1.0 and cells["en"]["n"] == 4
    assert cells["fr"]["set_agreement"] is None  # ToxicChat carries no categories


def test_a_guard_that_names_no_category_has_no_table():
    predictions = [_p("toxicchat", lang, 0, 1, []) for lang in ("en", "fr")]
    assert category_consistency(predictions) == {}
    assert "category_consistency" in score_predictions(predictions, n_bootstrap=0)
    assert score_predictions(predictions, n_bootstrap=0)["category_consistency"] == {}


def test_agreement_with_the_sets_own_categories_goes_through_the_mapping():
    own = {"openai_moderation": {0: ["SH"], 1: ["H", "V"], 2: ["HR"], 3: ["S"]}}
    predictions = [
        _p("openai_moderation", "en", 0, 1, ["S11"]),  # self-harm: agrees
        _p("openai_moderation", "en", 1, 1, ["S1"]),  # violent crimes -> V: agrees
        _p("openai_moderation", "en", 2, 1, ["S7"]),  # privacy has no counterpart: disagrees
        _p("openai_moderation", "en", 3, 1, []),  # flagged without a category: not judged
        _p("openai_moderation", "ja", 0, 1, ["Suicide & Self-Harm"]),
        _p("openai_moderation", "ja", 1, 1, ["Unethical Acts"]),  # hate -> H: agrees
        _p("openai_moderation", "ja", 2, 0, []),
        _p("openai_moderation", "ja", 3, 1, ["Violent"]),
    ]
    cells = category_consistency(predictions, own)["openai_moderation"]
    assert (cells["en"]["n_set"], cells["en"]["set_agreement"]) == (3, pytest.approx(2 / 3))
    assert (cells["ja"]["n_set"], cells["ja"]["set_agreement"]) == (3, pytest.approx(2 / 3))
    assert cells["ja"]["n"] == 3 and cells["ja"]["same_set"] == 0.0  # codes vs names never match


def test_mapping_names_only_real_categories():
    guard_names = set(LLAMA_GUARD_3_CATEGORIES) | set(QWEN3GUARD_CATEGORIES)
    sst_areas = {
        "Child safety",
        "Illegal and Highly Regulated items",
        "Physical harm and Violence",
        "Scams and fraud",
        "Suicide, Self-Harm, and Eating Disorders",
    }
    targets = {"openai_moderation": {"S", "H", "V", "HR", "SH", "S3", "H2", "V2"}, "simple_safety_tests": sst_areas}
    for benchmark, mapping in GUARD_TO_SET.items():
        assert set(mapping) <= guard_names
        assert set().union(*mapping.values()) <= targets[benchmark]
    assert set().union(*GUARD_TO_SET["simple_safety_tests"].values()) == sst_areas  # every area is reachable


def test_jaccard_of_empty_sets_is_one():
    assert jaccard(set(), set()) == 1.0 and jaccard({"a"}, {"a", "b"}) == 0.5


def test_cgbench_score_prints_the_tables():
    predictions = [_p("toxicchat", "en", 0, 1, ["S1"]), _p("toxicchat", "fr", 0, 1, ["S2"])]
    predictions += [dict(_p("toxicchat", lang, 1, 0, [], label=0), score=0.2) for lang in ("en", "fr")]
    for p in predictions[:2]:
        p["score"] = 0.9
    console = Console(record=True, width=150)
    print_diagnostics(score_predictions(predictions, n_bootstrap=0), console)
    text = console.export_text()
    assert "toxicchat: category consistency against English" in text
    assert "toxicchat: thresholds and calibration" in text
