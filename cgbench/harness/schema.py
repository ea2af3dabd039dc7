"""The one results schema, shared by the native runner, the lm-eval import and the leaderboard.

All rates are fractions in [0, 1]; the leaderboard shows them as percentages.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict


class Prediction(TypedDict):
    """One line of ``predictions.jsonl``."""

    benchmark: str
    lang: str
    idx: int
    label: int
    pred: int | None  # None: the output could not be parsed (kept and counted, never turned into a verdict)
    score: float | None  # P(unsafe), when the guard has one
    violations: list[str]
    output: str  # the raw model text
    codes_missing: NotRequired[bool]  # written (true) only for an unsafe answer without its categories line


class SplitMetrics(TypedDict):
    """Metrics of one benchmark x language split. Unsafe is the positive class."""

    n: int
    f1: float
    macro_f1: float | None  # None on a one-class set (SimpleSafetyTests)
    precision: float
    recall: float
    fpr: float | None  # None when the split has no safe items
    auprc: float | None  # None without scores, or on a one-class set
    parse_fail: float  # share of items whose output could not be parsed
    codes_missing: NotRequired[float]  # share of items answered unsafe without the categories line the format asks
    f1_ci95: list[float]  # bootstrap 95% interval [low, high]
    f1_from_recall: bool  # True on all-unsafe sets: F1 = 2R/(1+R)


class Consistency(TypedDict):
    """Cross-lingual consistency of one benchmark, over items present in every language."""

    languages: list[str]
    reference: str | None  # the language the pairwise fields compare against ("en"); None when absent
    n_items: int
    all_agree: float  # share of items whose verdict is the same in every language
    agreement_vs_en: dict[str, float]
    kappa_vs_en: dict[str, float | None]
    fleiss_kappa: float | None
    loophole_rate: dict[str, float | None]  # flagged unsafe in English, passed as safe; None: English flags none
    f1_by_lang: dict[str, float]  # F1 of each language on the common items, behind the gap
    f1_gap: float  # best minus worst language F1
    best_lang: str
    worst_lang: str
    n_parallel_vs_en: NotRequired[dict[str, int]]  # items each language shares with English
    label_disagreements_vs_en: NotRequired[dict[str, int]]  # of those, items labelled otherwise than in English
    all_correct: float  # share of items every language gets right (a constant guard gets only one class)
    all_correct_balanced: float  # mean over the gold classes of all_correct within the class: 50% for a constant
    n_en_right: int  # items English gets right (verdict parsed and equal to the gold label)
    all_agree_en_right: float | None  # share of those that every language judges the same; None without English


class LanguageGap(TypedDict):
    """One language against English on the items both have, in one benchmark (``harness.significance``)."""

    n: int  # items present in both languages
    n_bootstrap: int  # resamples behind the interval and the bootstrap p-value
    f1_diff: float  # F1(L) - F1(en) on those items
    f1_diff_ci95: list[float]  # paired percentile bootstrap 95% interval (empty without resamples)
    f1_diff_p: float | None  # two-sided paired bootstrap p-value of no F1 difference
    f1_diff_p_bound: bool  # no resample reached 0: f1_diff_p is the bound 1/(B+1), read it as "<"
    f1_diff_p_holm: float | None  # f1_diff_p, Holm-adjusted over all of the guard's gaps
    only_lang_right: int  # McNemar's discordant pairs: right in L only
    only_ref_right: int  # ... right in English only
    mcnemar_p: float  # exact two-sided McNemar p-value (accuracy)
    mcnemar_p_holm: float  # mcnemar_p, Holm-adjusted over all of the guard's gaps
    decision: str  # "bootstrap" on a set with both classes, "mcnemar" on an all-unsafe set
    p: float | None  # the decision's p-value
    p_holm: float | None  # p, Holm-adjusted over all of the guard's gaps (one family per guard)
    direction: int  # +1: L scores above English, -1: below, 0: equal
    significant: bool  # p_holm < 0.05


class CategoryCell(TypedDict):
    """Recall of one harm category in one language (``harness.categories``)."""

    n: int  # items of the category in the language
    recall: float  # share flagged unsafe (an unparsed output is a miss)
    loophole_rate: float | None  # flagged in English, passed as safe here; None for English or when English flags none
    recall_ci95: list[float]  # Wilson 95% interval of the recall


class Headline(TypedDict):
    """The ranking metric of a run (``harness.headline``): macro-F1 over the sets with both classes; the
    one-class sets apart, as recall and miss rate (FNR)."""

    macro_f1: float | None  # mean over two-class sets of the mean over languages of macro-F1; None without one
    macro_f1_ci95: list[float]  # percentile bootstrap 95% interval (items resampled within each set)
    sets: dict[str, float]  # two-class set -> its mean macro-F1 over languages
    one_class: dict[str, dict[str, float]]  # one-class set -> {"recall", "fnr"} (all-unsafe) or {"fpr"} (all-safe)
    n_bootstrap: int


class MetricsFile(TypedDict, total=False):
    """``metrics.json`` of a run folder. Split keys are ``"<benchmark>/<lang>"``.

    The fields from ``language_gaps`` on came with schema version 2; files written before lack them."""

    schema_version: int
    splits: dict[str, SplitMetrics]
    consistency: dict[str, Consistency]
    parse_failure_policy: str  # how an unparsed output is counted in F1
    consistency_policy: str  # how an unparsed verdict is counted in consistency
    language_gaps: dict[str, dict[str, LanguageGap]]  # benchmark -> language -> test against English
    significance_policy: str
    f1_avg_ci95: dict[str, list[float]]  # "<benchmark>" (mean over its languages) and "all" (mean over sets)
    category_recall: dict[str, dict[str, dict[str, CategoryCell]]]  # benchmark -> category -> language
    categories_note: str  # where the categories came from, or why there are none
    calibration: dict[str, dict]  # benchmark -> harness.calibration.SetCalibration (runs with scores)
    category_consistency: dict[str, dict[str, dict]]  # benchmark -> lang -> harness.category_consistency cell
    script_gaps: dict[str, dict[str, dict]]  # benchmark -> LANG-Latn -> harness.script_gaps.ScriptGap
    headline: Headline  # schema 3: the ranking metric (``harness.headline``)


class RunInfo(TypedDict, total=False):
    """``run.json`` of a run folder."""

    guard: str
    model: str
    model_params: float | None  # parameters, in billions, for the leaderboard's size column
    backend: str
    prompt_format: str
    run_id: str
    created: str  # ISO 8601, UTC
    versions: dict[str, str]
    git_commit: str | None
    data_checksums: dict[str, str]  # of the last session; a resume on other digests needs --allow-changed-data
    data_pinned: bool  # False: in some session, a data file differed from its pinned sha256 (--allow-changed-data)
    data_changed: dict[str, str]  # those files, with their pinned sha256
    allow_changed_data: bool  # some session ran with --allow-changed-data
    wall_time_s: float
    items_per_s: float
    n_items: int
    source: str  # "native" or "lm-eval"
    settings: dict[str, object]  # backend and guard settings that change predictions (batch size, dtype, ...)
    n_run_now: int  # items predicted by the last (possibly resumed) session; wall time and items/s cover it
    resumed: bool
    status: str  # "running" while predictions are still being written; absent once the run is complete
    # the scope, which a resume must share (absent in runs written before it was recorded)
    sets: list[str]
    langs: list[str]
    limit: int | float | None  # lm-eval imports: its --limit (a fraction below 1)
    n_samples: int  # lm-eval imports: the samples lm-eval evaluated
    format_options: dict[str, str]
    batch_size: int
    backend_options: dict[str, object]
    base_url: str | None  # credentials masked
    # each session of the run, recorded as it starts (started, allow_changed_data, its data_checksums, data_pinned
    # and data_changed), with n_run and wall_time_s once it ends (a killed session has none)
    sessions: list[dict[str, object]]
    split_seconds: dict[str, dict[str, float]]  # "<benchmark>/<lang>" -> n items timed, seconds (split_timing)
    shared_seconds: float  # seconds of work shared by every split (the probe's embedding pass)
