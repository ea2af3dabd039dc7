"""Harm categories from the items' metadata, and recall and loophole rate by category."""

from __future__ import annotations

from collections import Counter

import pytest

from cgbench.benchmarks import harm_categories, load_split
from cgbench.harness.categories import category_recall, load_categories
from cgbench.harness.scoring import score_predictions


def test_categories_come_from_the_upstream_metadata():
    items = load_split("openai_moderation", "en")
    counts = Counter(c for item in items for c in harm_categories("openai_moderation", item.meta))
    assert set(counts) == {"S", "H", "V", "HR", "SH", "S3", "H2", "V2"}
    for item in items:  # an OpenAI Moderation item is unsafe exactly when some category is flagged
        assert bool(harm_categories("openai_moderation", item.meta)) == (item.label == 1)
    areas = Counter(
        c for item in load_split("simple_safety_tests", "en") for c in harm_categories("simple_safety_tests", item.meta)
    )
    assert sum(areas.values()) == 100 and len(areas) == 5
    assert harm_categories("toxicchat", load_split("toxicchat", "en")[0].meta) == []


def test_load_categories_skips_sets_without_them():
    found, problems = load_categories(["toxicchat", "simple_safety_tests"])
    assert list(found) == ["simple_safety_tests"] and problems == []
    assert len(found["simple_safety_tests"]) == 100


def _prediction(lang: str, idx: int, label: int, pred: int | None) -> dict:
    return {"benchmark": "openai_moderation", "lang": lang, "idx": idx, "label": label, "pred": pred}


def test_recall_and_loophole_by_category_by_hand():
    categories = {0: ["H", "V"], 1: ["H"], 2: ["V"], 3: ["H"], 4: []}
    verdicts = {  # idx -> (label, en, fr)
        0: (1, 1, 0),
        1: (1, 1, 1),
        2: (1, 0, 1),
        3: (1, 1, None),  # unparsed in French: a miss for recall, not a loophole
        4: (0, 0, 1),
    }
    predictions = [_prediction("en", i, y, en) for i, (y, en, _) in verdicts.items()]
    predictions += [_prediction("fr", i, y, fr) for i, (y, _, fr) in verdicts.items()]
    table = category_recall(predictions, categories)
    assert list(table) == ["H", "V"]  # upstream order
    assert table["H"]["en"] == {
        "n": 3,
        "recall": 1.0,
        "loophole_rate": None,
        "recall_ci95": pytest.approx([0.4385, 1.0], abs=1e-4),
    }
    assert table["H"]["fr"] == {
        "n": 3,
        "recall": pytest.approx(1 / 3),
        "loophole_rate": pytest.approx(1 / 3),
        "recall_ci95": [pytest.approx(0.0615, abs=1e-4), pytest.approx(0.7923, abs=1e-4)],
    }
    assert table["V"]["en"]["recall"] == 0.5 and table["V"]["fr"]["recall"] == 0.5
    assert table["V"]["fr"]["loophole_rate"] == 1.0  # item 0: flagged in English, passed in French


def test_scoring_carries_categories_and_gaps():
    items = load_split("simple_safety_tests", "en")
    predictions = []
    for lang in ("en", "ja"):
        for item in items:
            missed = lang == "ja" and item.meta["harm_area"] == "Scams and fraud"
            pred = 0 if missed else 1
            predictions.append(_prediction(lang, item.idx, 1, pred) | {"benchmark": "simple_safety_tests"})
    for p in predictions:
        p |= {"score": None, "violations": [], "output": ""}
    categories, _ = load_categories(["simple_safety_tests"])
    metrics = score_predictions(predictions, n_bootstrap=200, categories=categories)
    cells = metrics["category_recall"]["simple_safety_tests"]
    assert cells["Scams and fraud"]["ja"] == {
        "n": 20,
        "recall": 0.0,
        "loophole_rate": 1.0,
        "recall_ci95": [0.0, pytest.approx(0.1611, abs=1e-4)],
    }
    assert cells["Child safety"]["ja"]["recall"] == 1.0
    gap = metrics["language_gaps"]["simple_safety_tests"]["ja"]
    assert gap["only_ref_right"] == 20 and gap["only_lang_right"] == 0 and gap["significant"]
    assert gap["f1_diff"] == pytest.approx(2 * 0.8 / 1.8 - 1)
    assert set(metrics["f1_avg_ci95"]) == {"simple_safety_tests", "all"}
