"""Label-free cross-lingual alignment of an English embedding probe, from parallel unlabeled prompts.

Two steps, each estimated on (English, language L) prompt pairs of the benchmarks *other* than the one
being scored, and never on a label of a non-English text:

- ``shift``: the mean offset mean(e(L)) - mean(e(en)) is subtracted from L's embeddings (first moment).
- ``consistency``: on top of the shift, the head is retrained on the English training prompts with a
  penalty gamma * w' S w, where S is the second moment of the differences e(en) - shifted e(L) over the
  pairs of every release language. A head pays for weight on directions along which translations of one
  prompt differ, so a prompt and its translations get closer scores (the MLC/CAO idea, for a linear
  probe). The penalty is folded into the features: with P = (I + gamma S)^(-1/2), an L2 logistic
  regression on x P has exactly that penalty. gamma is the largest of ``GAMMAS`` whose 5-fold
  cross-validated F1 on the English training prompts stays within ``CV_TOLERANCE`` of gamma = 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

GAMMAS = (0.0, 100.0, 300.0, 1000.0, 3000.0)
CV_TOLERANCE = 0.01  # one F1 point on the English training prompts


def normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def mean_offset(english: np.ndarray, translated: np.ndarray) -> np.ndarray:
    """mean(e(L)) - mean(e(en)) over parallel rows."""
    return (translated - english).mean(axis=0)


def difference_moment(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Second moment of e(en) - shift(e(L)) over the pairs of every language (each with its own offset)."""
    differences = [english - normalise(translated - mean_offset(english, translated)) for english, translated in pairs]
    d = np.concatenate(differences)
    return d.T @ d / len(d)


def consistency_projection(moment: np.ndarray, gamma: float) -> np.ndarray:
    """P = (I + gamma S)^(-1/2): an L2 penalty on the head in x P is the penalty |w|^2 + gamma w' S w in x."""
    values, vectors = np.linalg.eigh(np.eye(len(moment)) + gamma * moment)
    return (vectors * values**-0.5) @ vectors.T


def cv_f1(x: np.ndarray, y: np.ndarray, c: float) -> float:
    """5-fold (seeded, stratified) cross-validated F1 of a balanced logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    return float(cross_val_score(model, x, y, cv=folds, scoring="f1").mean())


def choose_gamma(x: np.ndarray, y: np.ndarray, c: float, moment: np.ndarray) -> tuple[float, dict[float, float]]:
    """The largest gamma whose English cross-validated F1 is within ``CV_TOLERANCE`` of no penalty."""
    scores = {gamma: cv_f1(x @ consistency_projection(moment, gamma), y, c) for gamma in GAMMAS}
    best = max(gamma for gamma in GAMMAS if scores[gamma] >= scores[0.0] - CV_TOLERANCE)
    return best, scores
