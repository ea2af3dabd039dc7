"""Is a language gap real? Paired tests of a language against English on the items both have.

For each language L of a benchmark, over the items present in both L and the reference language (whatever
the other languages hold):

- a paired bootstrap of F1(L) - F1(en) (:mod:`cgbench.harness.resample`, 10,000 draws): items are resampled
  with replacement, the same draw for both languages; the percentile interval of the difference, and the
  two-sided bootstrap p-value of "no difference". When no draw reaches 0 the p-value is the bound
  1 / (B + 1), flagged ``f1_diff_p_bound`` and written ``< 1/(B+1)``;
- McNemar's exact test on the verdicts' correctness: of the items exactly one of the two languages gets
  right, is either side more likely? Two-sided binomial test with p = 1/2 on the discordant pairs.

The decision: on a set with both classes the bootstrap p-value of the F1 difference; on an all-unsafe set
(F1 = 2R/(1+R) moves only with recall, and recall is the share of items judged right) McNemar's exact test,
which is the exact test there. The decisions of all of one guard's gaps, every set and language, form one
Holm family (:func:`adjust_family`); a gap is significant when its adjusted decision p-value is below 5%.

Parse failures follow the metrics' policy: an unparsed output is a wrong answer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cgbench.harness.metrics import effective_preds
from cgbench.harness.resample import (
    ALPHA,
    N_BOOTSTRAP,
    bootstrap_test,
    f1_from_counts,
    percentile_ci,
    resampled_sums,
)
from cgbench.harness.schema import LanguageGap

SIGNIFICANCE_POLICY = (
    f"each language against English on the items both have; paired percentile bootstrap ({N_BOOTSTRAP} draws) "
    "of F1(L) - F1(en), p-value bounded by 1/(B+1) when no draw crosses 0; McNemar's exact test on verdict "
    "correctness; the decision is the bootstrap p-value on sets with both classes and McNemar's on all-unsafe "
    f"sets, Holm-adjusted over all of a guard's gaps (every set and language); significant below {ALPHA:g}"
)

Items = Mapping[int, tuple[int, int | None]]  # item idx -> (gold label, verdict or None when unparsed)


def bootstrap_p(differences: np.ndarray) -> float:
    """The two-sided bootstrap p-value of "no difference" (see :func:`resample.bootstrap_test`)."""
    return bootstrap_test(differences)[0]


def _f1_columns(labels: np.ndarray, preds: np.ndarray) -> np.ndarray:
    """(n x 3) indicators of true positive, false positive and false negative."""
    return np.stack([(labels == 1) & (preds == 1), (labels == 0) & (preds == 1), (labels == 1) & (preds == 0)], axis=1)


def _f1_of(sums: np.ndarray) -> np.ndarray:
    return f1_from_counts(sums[:, 0], sums[:, 1], sums[:, 2])


def paired_f1_difference(
    labels: Sequence[int],
    preds_a: Sequence[int | None],
    preds_b: Sequence[int | None],
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
) -> tuple[float, list[float], float | None]:
    """F1(a) - F1(b) on the same items, its paired percentile bootstrap 95% interval and bootstrap p-value
    (an empty interval and None without resamples)."""
    diff, ci, p, _ = _paired(np.asarray(labels, dtype=np.int8), preds_a, preds_b, n_bootstrap, seed)
    return diff, ci, p


def _paired(
    y: np.ndarray, preds_a: Sequence[int | None], preds_b: Sequence[int | None], n_bootstrap: int, seed: int
) -> tuple[float, list[float], float | None, bool]:
    a, b = effective_preds(y.tolist(), preds_a), effective_preds(y.tolist(), preds_b)
    sums = resampled_sums(np.hstack([_f1_columns(y, a), _f1_columns(y, b)]), n_bootstrap, seed)
    differences = _f1_of(sums[:, :3]) - _f1_of(sums[:, 3:])
    if n_bootstrap <= 0:
        return float(differences[0]), [], None, False
    p, bound = bootstrap_test(differences[1:])
    return float(differences[0]), percentile_ci(differences[1:]), p, bound


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
    by_lang: Mapping[str, Items],
    *,
    reference: str = "en",
    n_bootstrap: int = N_BOOTSTRAP,
    seed: int = 0,
) -> dict[str, LanguageGap]:
    """Every language of one benchmark against ``reference``, each on the items it shares with the reference.
    Empty without the reference. The Holm fields are left for :func:`adjust_family`."""
    if reference not in by_lang or len(by_lang) < 2:
        return {}
    one_class = not any(label == 0 for items in by_lang.values() for label, _ in items.values())
    english = by_lang[reference]
    shared: dict[tuple[int, ...], list[str]] = {}  # languages with the same items in common share one resample
    for lang in sorted(by_lang):
        common = tuple(sorted(set(by_lang[lang]) & set(english)))
        if lang != reference and common:
            shared.setdefault(common, []).append(lang)
    gaps: dict[str, LanguageGap] = {}
    for common, langs in shared.items():
        y_ref = np.array([english[i][0] for i in common], dtype=np.int8)
        ref = effective_preds(y_ref.tolist(), [english[i][1] for i in common])
        # each language is scored against its own labels (RTP-LX labels one item differently per language)
        y = {lang: np.array([by_lang[lang][i][0] for i in common], dtype=np.int8) for lang in langs}
        preds = {lang: effective_preds(y[lang].tolist(), [by_lang[lang][i][1] for i in common]) for lang in langs}
        columns = [_f1_columns(y_ref, ref)] + [_f1_columns(y[lang], preds[lang]) for lang in langs]
        sums = resampled_sums(np.hstack(columns), max(n_bootstrap, 0), seed)
        for k, lang in enumerate(langs, start=1):
            differences = _f1_of(sums[:, 3 * k : 3 * k + 3]) - _f1_of(sums[:, :3])
            right = (preds[lang] == y[lang], ref == y_ref)
            gaps[lang] = _gap(right, differences, n_bootstrap, one_class)
    return dict(sorted(gaps.items()))


def _gap(
    right: tuple[np.ndarray, np.ndarray], differences: np.ndarray, n_bootstrap: int, one_class: bool
) -> LanguageGap:
    """One language's gap from its observed (row 0) and resampled F1 differences to the reference; ``right``: which
    items the language and the reference get right."""
    if n_bootstrap > 0:
        p, bound = bootstrap_test(differences[1:])
        ci = percentile_ci(differences[1:])
    else:
        p, bound, ci = None, False, []
    right_lang, right_ref = right
    only_lang, only_ref = int(np.sum(right_lang & ~right_ref)), int(np.sum(~right_lang & right_ref))
    mcnemar = mcnemar_exact(only_lang, only_ref)
    decision = "mcnemar" if one_class else "bootstrap"
    diff = float(differences[0])
    return LanguageGap(
        n=len(right_lang),
        n_bootstrap=max(n_bootstrap, 0),
        f1_diff=diff,
        f1_diff_ci95=ci,
        f1_diff_p=p,
        f1_diff_p_bound=bound,
        f1_diff_p_holm=None,
        only_lang_right=only_lang,
        only_ref_right=only_ref,
        mcnemar_p=mcnemar,
        mcnemar_p_holm=mcnemar,
        decision=decision,
        p=mcnemar if decision == "mcnemar" else p,
        p_holm=None,
        direction=int(np.sign(round(diff, 12))),
        significant=False,
    )


def adjust_family(gaps: Mapping[str, Mapping[str, LanguageGap]]) -> None:
    """Holm-adjust, in place, all of one guard's gaps (benchmark -> language -> gap) as one family: the
    decision p-values (significance), and apart the bootstrap and the McNemar p-values."""
    every = [gap for by_lang in gaps.values() for gap in by_lang.values()]
    for field, adjusted_field in (("mcnemar_p", "mcnemar_p_holm"), ("f1_diff_p", "f1_diff_p_holm"), ("p", "p_holm")):
        tested = [gap for gap in every if gap[field] is not None]
        for gap, adjusted in zip(tested, holm([gap[field] for gap in tested]), strict=True):
            gap[adjusted_field] = adjusted
    for gap in every:
        gap["significant"] = gap["p_holm"] is not None and gap["p_holm"] < ALPHA


def average_f1_draws(labels: np.ndarray, verdicts: np.ndarray, n_bootstrap: int, seed: int = 0) -> np.ndarray:
    """One set's mean F1 over its languages in each of ``n_bootstrap`` resamples of its items, the languages
    sharing each resample (they are the same items). ``labels``/``verdicts``: (items x languages), -1 unparsed."""
    columns = []
    for i in range(labels.shape[1]):
        y = labels[:, i]
        preds = effective_preds(y.tolist(), [None if v < 0 else int(v) for v in verdicts[:, i]])
        columns.append(_f1_columns(y, preds))
    sums = resampled_sums(np.hstack(columns), n_bootstrap, seed)[1:]
    return np.mean([_f1_of(sums[:, 3 * i : 3 * i + 3]) for i in range(labels.shape[1])], axis=0)


def average_f1_ci95(
    sets: Sequence[tuple[np.ndarray, np.ndarray]], n_bootstrap: int = N_BOOTSTRAP, seed: int = 0
) -> list[float]:
    """Bootstrap 95% interval of the mean over sets of each set's mean F1 over its languages; the k-th set is
    resampled with ``seed + k``, the sets apart."""
    if n_bootstrap <= 0 or not sets:
        return []
    draws = [average_f1_draws(labels, verdicts, n_bootstrap, seed + k) for k, (labels, verdicts) in enumerate(sets)]
    return percentile_ci(np.mean(draws, axis=0))
