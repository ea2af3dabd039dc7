"""Is a language gap real? Paired tests of a language against English on the same items.

For each language L of a benchmark, over the items present in both L and the reference language:

- a paired bootstrap of F1(L) - F1(en): items are resampled with replacement, the same draw for both
  languages; the percentile interval of the difference, and the two-sided bootstrap p-value of "no
  difference" (twice the smaller share of resamples on either side of 0, counted as (k + 1) / (B + 1));
- McNemar's exact test on the verdicts' correctness: of the items exactly one of the two languages gets
  right, is either side more likely? Two-sided binomial test with p = 1/2 on the discordant pairs;
- each kind of p-value adjusted over one benchmark's languages with Holm's step-down method. A gap is
  called significant when the F1 difference's adjusted p-value is below 5%: the tables show F1, so the
  mark speaks of F1. McNemar's test speaks of accuracy and can disagree (a language that trades recall
  for fewer false alarms can keep its accuracy and lose F1); both are kept in ``metrics.json``.

Parse failures follow the metrics' policy: an unparsed output is a wrong answer. The bootstrap also gives
intervals for averages of F1 over languages (a set's average) and over sets (the overall average).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from cgbench.harness.metrics import _f1, effective_preds
from cgbench.harness.schema import LanguageGap

ALPHA = 0.05
# Resamples per language compared, at least: with k languages Holm multiplies the smallest bootstrap p-value
# (2 / (B + 1)) by k, so B = 1000 could never mark a gap with 27 languages (RTP-LX) however large it is.
RESAMPLES_PER_LANGUAGE = 100
SIGNIFICANCE_POLICY = (
    "paired on the items present in both languages: percentile bootstrap interval and two-sided bootstrap "
    "p-value of F1(L) - F1(en); McNemar's exact test on verdict correctness; each p-value Holm-adjusted over "
    f"the languages of a benchmark; significant when the F1 difference's adjusted p-value is below {ALPHA:g}"
)


def bootstrap_indices(n: int, n_bootstrap: int, seed: int = 0) -> np.ndarray:
    """(n_bootstrap x n) item indices: each row one resample of n items drawn with replacement."""
    return np.random.default_rng(seed).integers(0, n, size=(n_bootstrap, n))


def resampled_f1(draws: np.ndarray, labels: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """F1 (unsafe positive) of every resample: one value per row of ``draws`` (item indices)."""
    tp = ((labels == 1) & (preds == 1))[draws].sum(axis=1)
    fp = ((labels == 0) & (preds == 1))[draws].sum(axis=1)
    fn = ((labels == 1) & (preds == 0))[draws].sum(axis=1)
    return _f1(tp, fp, fn)


def bootstrap_p(differences: np.ndarray) -> float:
    """Two-sided p-value of "no difference" from bootstrap differences: twice the smaller tail at 0, each
    tail counted as (k + 1) / (B + 1) so that it is never 0."""
    tail = min(int(np.sum(differences <= 0)), int(np.sum(differences >= 0)))
    return min(1.0, 2 * (tail + 1) / (len(differences) + 1))


def percentile_ci(values: np.ndarray) -> list[float]:
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]


def paired_f1_difference(
    labels: Sequence[int],
    preds_a: Sequence[int | None],
    preds_b: Sequence[int | None],
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> tuple[float, list[float], float | None]:
    """F1(a) - F1(b) on the same items, its paired percentile bootstrap 95% interval and bootstrap p-value
    (an empty interval and None without resamples)."""
    return _paired(np.asarray(labels, dtype=np.int8), preds_a, preds_b, _draws(len(labels), n_bootstrap, seed))


def _draws(n: int, n_bootstrap: int, seed: int) -> np.ndarray | None:
    return bootstrap_indices(n, n_bootstrap, seed) if n_bootstrap > 0 else None


def _paired(
    y: np.ndarray,
    preds_a: Sequence[int | None],
    preds_b: Sequence[int | None],
    draws: np.ndarray | None,
    y_b: np.ndarray | None = None,
) -> tuple[float, list[float], float | None]:
    """F1(a) - F1(b) on the same items; ``y_b``: b's own labels where they differ from a's (RTP-LX)."""
    y_b = y if y_b is None else y_b
    a, b = effective_preds(y.tolist(), preds_a), effective_preds(y_b.tolist(), preds_b)
    everything = np.arange(len(y))[None, :]
    observed = float(resampled_f1(everything, y, a)[0] - resampled_f1(everything, y_b, b)[0])
    if draws is None:
        return observed, [], None
    differences = resampled_f1(draws, y, a) - resampled_f1(draws, y_b, b)
    return observed, percentile_ci(differences), bootstrap_p(differences)


def mcnemar_exact(only_a_right: int, only_b_right: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts (binomial test with p = 1/2); 1 when
    there is no discordant pair."""
    from scipy.stats import binom

    discordant = only_a_right + only_b_right
    if discordant == 0:
        return 1.0
    return float(min(1.0, 2 * binom.cdf(min(only_a_right, only_b_right), discordant, 0.5)))


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted, running = [0.0] * len(p_values), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def language_gaps(
    labels: np.ndarray,
    verdicts: np.ndarray,
    langs: list[str],
    reference: str = "en",
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> dict[str, LanguageGap]:
    """Every language against ``reference`` on an (items x languages) verdict matrix (-1 where unparsed)
    with its gold labels, as ``consistency.verdict_matrix`` gives them. Each language is scored against its own
    labels (a set such as RTP-LX labels the same item differently per language); the items are shared, so the
    resamples are paired. At least ``RESAMPLES_PER_LANGUAGE`` resamples per language compared, so that the Holm
    adjustment over many languages can still reach ``ALPHA``. Empty without the reference."""
    if reference not in langs or len(langs) < 2:
        return {}
    column = {lang: i for i, lang in enumerate(langs)}
    y = {lang: labels[:, i] for lang, i in column.items()}  # each language's own labels (they differ in RTP-LX)
    as_preds = {lang: [None if v < 0 else int(v) for v in verdicts[:, i]] for lang, i in column.items()}
    right = {lang: effective_preds(y[lang].tolist(), preds) == y[lang] for lang, preds in as_preds.items()}
    if n_bootstrap > 0:
        n_bootstrap = max(n_bootstrap, RESAMPLES_PER_LANGUAGE * (len(langs) - 1))
    draws = _draws(len(labels), n_bootstrap, seed)  # one resample for every language: they are the same items
    gaps: dict[str, LanguageGap] = {}
    for lang in langs:
        if lang == reference:
            continue
        diff, ci, p = _paired(y[lang], as_preds[lang], as_preds[reference], draws, y[reference])
        only_lang = int(np.sum(right[lang] & ~right[reference]))
        only_ref = int(np.sum(~right[lang] & right[reference]))
        gaps[lang] = LanguageGap(
            n=len(labels),
            f1_diff=diff,
            f1_diff_ci95=ci,
            f1_diff_p=p,
            f1_diff_p_holm=None,
            only_lang_right=only_lang,
            only_ref_right=only_ref,
            mcnemar_p=mcnemar_exact(only_lang, only_ref),
            mcnemar_p_holm=1.0,
            significant=False,
        )
    for lang, adjusted in zip(gaps, holm([gap["mcnemar_p"] for gap in gaps.values()]), strict=True):
        gaps[lang]["mcnemar_p_holm"] = adjusted
    if draws is not None:
        for lang, adjusted in zip(gaps, holm([gap["f1_diff_p"] for gap in gaps.values()]), strict=True):
            gaps[lang]["f1_diff_p_holm"] = adjusted
            gaps[lang]["significant"] = adjusted < ALPHA
    return gaps


def average_f1_ci95(
    sets: Sequence[tuple[np.ndarray, np.ndarray]], n_bootstrap: int = 1000, seed: int = 0
) -> list[float]:
    """Bootstrap 95% interval of the mean over sets of each set's mean F1 over its languages.

    Each set is (labels, verdicts), both (items x languages), verdicts -1 where unparsed. Within a set the
    languages share one resample of the items (they are the same items); the sets are resampled apart.
    """
    if n_bootstrap <= 0 or not sets:
        return []
    total = np.zeros(n_bootstrap)
    for k, (labels, verdicts) in enumerate(sets):
        draws = bootstrap_indices(labels.shape[0], n_bootstrap, seed + k)
        per_lang = []
        for i in range(labels.shape[1]):
            y = labels[:, i]
            preds = effective_preds(y.tolist(), [None if v < 0 else int(v) for v in verdicts[:, i]])
            per_lang.append(resampled_f1(draws, y, preds))
        total += np.mean(per_lang, axis=0)
    return percentile_ci(total / len(sets))
