"""Cross-lingual consistency on hand-built cases whose values are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score

from cgbench.harness.consistency import benchmark_consistency, cohen_kappa, fleiss_kappa


def _predictions(verdicts: dict[str, list], labels: list[int], benchmark: str = "openai_moderation"):
    """Predictions from per-language verdict lists; a verdict of "missing" leaves the item out."""
    return [
        {
            "benchmark": benchmark,
            "lang": lang,
            "idx": idx,
            "label": labels[idx],
            "pred": pred,
            "score": None,
            "violations": [],
            "output": "",
        }
        for lang, preds in verdicts.items()
        for idx, pred in enumerate(preds)
        if pred != "missing"
    ]


LABELS = [1, 1, 0, 0]


def test_all_languages_agree():
    verdicts = [1, 0, 0, 0]
    c = benchmark_consistency(_predictions({"en": verdicts, "fr": verdicts, "ja": verdicts}, LABELS))
    assert c["languages"] == ["en", "fr", "ja"] and c["reference"] == "en" and c["n_items"] == 4
    assert c["all_agree"] == 1.0
    assert c["agreement_vs_en"] == {"fr": 1.0, "ja": 1.0}
    assert c["kappa_vs_en"] == {"fr": 1.0, "ja": 1.0}
    assert c["fleiss_kappa"] == pytest.approx(1.0)
    assert c["loophole_rate"] == {"fr": 0.0, "ja": 0.0}
    assert c["f1_gap"] == 0.0
    assert c["f1_by_lang"]["fr"] == pytest.approx(2 / 3)


def test_one_language_flips():
    # ja passes item 0, which English flags: one disagreement in four items
    c = benchmark_consistency(_predictions({"en": [1, 1, 0, 0], "fr": [1, 1, 0, 0], "ja": [0, 1, 0, 0]}, LABELS))
    assert c["all_agree"] == pytest.approx(3 / 4)
    assert c["agreement_vs_en"] == {"fr": 1.0, "ja": pytest.approx(3 / 4)}
    # po = 3/4, pe = 1/2 * 1/4 + 1/2 * 3/4 = 1/2
    assert c["kappa_vs_en"]["ja"] == pytest.approx((3 / 4 - 1 / 2) / (1 - 1 / 2))
    assert c["kappa_vs_en"]["ja"] == pytest.approx(cohen_kappa_score([1, 1, 0, 0], [0, 1, 0, 0]))
    # per item agreement: 1/3, 1, 1, 1 -> 5/6; category shares 5/12 and 7/12 -> chance 74/144
    assert c["fleiss_kappa"] == pytest.approx((5 / 6 - 74 / 144) / (1 - 74 / 144))
    assert c["fleiss_kappa"] == pytest.approx(23 / 35)
    assert c["loophole_rate"] == {"fr": 0.0, "ja": 0.5}
    assert c["f1_by_lang"] == {"en": 1.0, "fr": 1.0, "ja": pytest.approx(2 / 3)}
    assert c["f1_gap"] == pytest.approx(1 / 3)
    assert (c["best_lang"], c["worst_lang"]) == ("en", "ja")


def test_item_missing_in_one_language_is_left_out_everywhere():
    # item 3 is missing in fr; ja disagrees only there, so without it every language agrees
    c = benchmark_consistency(
        _predictions({"en": [1, 1, 0, 0], "fr": [1, 1, 0, "missing"], "ja": [1, 1, 0, 1]}, LABELS)
    )
    assert c["n_items"] == 3
    assert c["all_agree"] == 1.0
    assert c["agreement_vs_en"] == {"fr": 1.0, "ja": 1.0}
    assert c["fleiss_kappa"] == pytest.approx(1.0)
    assert c["f1_gap"] == 0.0


def test_unparsed_verdicts_agree_with_nothing():
    # item 0: en flags it, fr and ja give no verdict (even the two failures do not agree)
    c = benchmark_consistency(_predictions({"en": [1, 1, 0], "fr": [None, 1, 0], "ja": [None, 1, 0]}, [1, 1, 0]))
    assert c["all_agree"] == pytest.approx(2 / 3)
    assert c["agreement_vs_en"] == {"fr": pytest.approx(2 / 3), "ja": pytest.approx(2 / 3)}
    # po = 2/3, pe = 2/3 * 1/3 + 1/3 * 1/3 = 1/3 (the unparsed rating matches no category)
    assert c["kappa_vs_en"]["fr"] == pytest.approx(0.5)
    # per item agreement 0, 1, 1 -> 2/3; unsafe share 4/9, safe 3/9, two one-rating categories of 1/9 each
    # -> chance 16/81 + 9/81 + 2/81 = 1/3
    assert c["fleiss_kappa"] == pytest.approx(0.5)
    assert c["loophole_rate"] == {"fr": 0.0, "ja": 0.0}  # a parse failure is not a pass
    assert c["f1_by_lang"]["fr"] == pytest.approx(2 / 3)  # but it is a miss for F1
    both_unparsed = benchmark_consistency(_predictions({"en": [None, 0], "fr": [None, 0]}, [1, 0]))
    assert both_unparsed["agreement_vs_en"] == {"fr": 0.5}
    assert both_unparsed["all_agree"] == 0.5


def test_undefined_values_are_none():
    c = benchmark_consistency(_predictions({"en": [0, 0], "fr": [0, 0]}, [1, 0]))
    assert c["kappa_vs_en"] == {"fr": None}
    assert c["fleiss_kappa"] is None
    assert c["loophole_rate"] == {"fr": None}  # English flags nothing
    assert cohen_kappa(*[np.array([-1, -1])] * 2) == 0.0
    assert fleiss_kappa(np.zeros((0, 3))) is None


def test_without_english_only_the_symmetric_measures_remain():
    c = benchmark_consistency(_predictions({"fr": [1, 0, 0, 0], "ja": [1, 1, 0, 0]}, LABELS))
    assert c["reference"] is None
    assert c["agreement_vs_en"] == {} and c["kappa_vs_en"] == {} and c["loophole_rate"] == {}
    assert c["all_agree"] == pytest.approx(3 / 4)
    assert c["f1_gap"] == pytest.approx(1 - 2 / 3)


def test_bad_inputs():
    with pytest.raises(ValueError, match="at least two languages"):
        benchmark_consistency(_predictions({"en": [1, 0]}, [1, 0]))
    with pytest.raises(ValueError, match="openai_moderation/en item 0 is predicted twice"):
        benchmark_consistency(_predictions({"en": [1], "fr": [1]}, [1]) * 2)
    with pytest.raises(ValueError, match="one benchmark expected"):
        benchmark_consistency(_predictions({"en": [1]}, [1]) + _predictions({"fr": [1]}, [1], "toxicchat"))
    with pytest.raises(ValueError, match="no item is present in every language"):
        benchmark_consistency(_predictions({"en": [1, "missing"], "fr": ["missing", 1]}, [1, 1]))
