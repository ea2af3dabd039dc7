"""Metrics exactly as documented: Fleiss' kappa with each parse failure its own category (against statsmodels),
AUPRC that never rewards a parse failure, and a worst-language F1 on the items its language was chosen on."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from cgbench.harness.consistency import fleiss_kappa
from cgbench.harness.metrics import split_metrics
from cgbench.harness.scoring import score_predictions
from cgbench.leaderboard.runs import Run
from cgbench.leaderboard.table import build_table


def _category_table(verdicts: np.ndarray) -> np.ndarray:
    """items x categories: safe, unsafe, then one column per unparsed rating holding just that rating."""
    unparsed = np.argwhere(verdicts < 0)
    table = np.zeros((verdicts.shape[0], 2 + len(unparsed)), dtype=int)
    table[:, 0] = (verdicts == 0).sum(axis=1)
    table[:, 1] = (verdicts == 1).sum(axis=1)
    for column, (item, _) in enumerate(unparsed, start=2):
        table[item, column] = 1
    return table


@pytest.mark.parametrize("seed", range(40))
def test_fleiss_kappa_matches_statsmodels_with_each_failure_its_own_category(seed):
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    rng = np.random.default_rng(seed)
    n_items, n_raters = int(rng.integers(3, 60)), int(rng.integers(2, 7))
    fail = rng.uniform(0, 0.4)
    verdicts = rng.choice([-1, 0, 1], size=(n_items, n_raters), p=[fail, (1 - fail) / 2, (1 - fail) / 2])
    verdicts = verdicts if seed % 5 else np.where(verdicts < 0, 1, verdicts)  # some tables with no failure
    expected = statsmodels_fleiss(_category_table(verdicts), method="fleiss")
    assert fleiss_kappa(verdicts) == pytest.approx(expected, abs=1e-12)


def test_two_failures_on_one_item_do_not_agree():
    from statsmodels.stats.inter_rater import fleiss_kappa as statsmodels_fleiss

    verdicts = np.array([[-1, -1, 1], [1, 1, 1], [0, 0, 0], [0, 1, 0]])
    assert fleiss_kappa(verdicts) == pytest.approx(statsmodels_fleiss(_category_table(verdicts)))
    assert fleiss_kappa(verdicts) < fleiss_kappa(np.where(verdicts < 0, 1, verdicts))


def test_an_unparsed_output_ranks_worst_for_its_label_in_auprc():
    labels = [1, 1, 1, 0, 0, 0, 1, 0]
    scores = [0.9, 0.8, 0.3, 0.4, 0.2, 0.1, 0.99, 0.01]
    answered = [1, 1, 0, 0, 0, 0, 1, 0]
    unparsed = answered[:6] + [None, None]  # an unsafe item with the top score, a safe one with the lowest
    with_failures = split_metrics(labels, unparsed, scores, n_bootstrap=0)["auprc"]
    worst = scores[:6] + [-1.0, 2.0]  # below every real score, above every real score
    assert with_failures == pytest.approx(average_precision_score(labels, worst))
    assert with_failures < split_metrics(labels, answered, scores, n_bootstrap=0)["auprc"]
    # an unparsed item needs no score; a parsed one without a score still leaves AUPRC out
    assert split_metrics(labels, unparsed, scores[:6] + [None, None], n_bootstrap=0)["auprc"] == with_failures
    assert split_metrics(labels, answered, [None] + scores[1:], n_bootstrap=0)["auprc"] is None


def _prediction(lang: str, idx: int, label: int, pred: int) -> dict:
    return {"benchmark": "toxicchat", "lang": lang, "idx": idx, "label": label, "pred": pred, "score": None,
            "violations": [], "output": ""}


def test_worst_language_f1_is_taken_on_the_items_the_language_was_chosen_on():
    labels = [1, 1, 0, 0]
    en = [_prediction("en", i, y, y) for i, y in enumerate(labels)]
    # fr: one miss on the common items, and an extra item (not in English) that it gets right
    fr = [_prediction("fr", i, y, p) for i, (y, p) in enumerate(zip(labels, [1, 0, 0, 0]))]
    fr.append(_prediction("fr", 4, 1, 1))
    metrics = score_predictions(en + fr, n_bootstrap=0)
    block = metrics["consistency"]["toxicchat"]
    assert block["worst_lang"] == "fr" and block["f1_by_lang"]["fr"] == pytest.approx(2 / 3)
    assert metrics["splits"]["toxicchat/fr"]["f1"] == pytest.approx(0.8)  # the whole split: another item set
    run = Run(folder=None, guard="g", run_id="r", created=None, info={"model": "m"}, metrics=metrics)
    (row,) = build_table([run]).rows
    assert row.worst_lang_f1 == pytest.approx(2 / 3)
    assert row.f1_gap == pytest.approx(1 - 2 / 3)
