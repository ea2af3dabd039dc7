"""The ranked table: one row per guard, computed from its run's ``metrics.json`` and ``run.json``, plus the
reference rows (trivial guards computed from the labels) and each row's tier (``leaderboard.standings``).

Every figure is a fraction in [0, 1]; the writers show percentages. Rows are ranked by the headline
(``harness.headline``: macro-F1 over the sets with both classes). Averages are plain means over the splits a
run has: a set's average over its languages, and the consistency columns over the sets that have a
consistency block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from statistics import fmean
from typing import Any

from cgbench.benchmarks import BENCHMARKS, LANGUAGES, category_order
from cgbench.harness.headline import PairedDifference
from cgbench.harness.ranking import Standing
from cgbench.leaderboard.runs import Run

SHORT_NAMES = {"openai_moderation": "OM", "toxicchat": "TC", "simple_safety_tests": "SST"}

Split = tuple[str, str]  # (benchmark, lang)
Interval = list[float]  # [low, high], fractions


@dataclass(frozen=True)
class Row:
    rank: int
    guard: str
    model: str
    params_b: float | None
    run_id: str
    f1: dict[Split, float]
    set_avg: dict[str, float]
    overall: float  # a run always has at least one split
    all_agree: float | None  # share of items judged the same in every language
    worst_lang_f1: float | None  # F1 of each set's worst language
    f1_gap: float | None  # best minus worst language F1
    parse_fail: float  # share of all items whose output could not be parsed
    f1_ci: dict[Split, Interval] = field(default_factory=dict)  # bootstrap 95% interval of each split's F1
    set_avg_ci: dict[str, Interval] = field(default_factory=dict)  # ... of each set's average (schema 2)
    overall_ci: Interval | None = None  # ... of the overall average (schema 2)
    gaps: dict[Split, dict[str, Any]] = field(default_factory=dict)  # LanguageGap of each non-English split
    categories: dict[str, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)  # set/cat/lang
    codes_missing: float = 0.0  # share of all items answered unsafe without the categories line (Llama Guard 4)
    headline: float | None = None  # macro-F1 over the two-class sets: the ranking metric
    headline_ci: Interval | None = None
    set_macro_f1: dict[str, float] = field(default_factory=dict)  # two-class set -> mean macro-F1
    one_class: dict[str, dict[str, float]] = field(default_factory=dict)  # one-class set -> recall/fnr or fpr
    kappa: float | None = None  # Fleiss' kappa, mean over sets
    all_correct: float | None = None  # balanced all-correct, mean over the two-class sets (50% for a constant)
    agree_en_right: float | None = None  # all-agree on the items English gets right, mean over sets
    reference: bool = False  # a trivial guard computed from the labels
    tier: int | None = None
    vs_leader: PairedDifference | None = None
    vs_above: PairedDifference | None = None

    @property
    def significant(self) -> set[Split]:
        """The splits whose F1 differs from English at 5% (Holm over all of the guard's gaps)."""
        return {split for split, gap in self.gaps.items() if gap.get("significant")}

    def direction(self, split: Split) -> int:
        """+1 where a significant gap is above English, -1 below, 0 where there is none."""
        gap = self.gaps.get(split)
        return int(gap.get("direction", -1 if gap["f1_diff"] < 0 else 1)) if gap and gap.get("significant") else 0

    @property
    def label(self) -> str:
        """The rank as shown: references are not ranked."""
        return "ref" if self.reference else str(self.rank)


@dataclass(frozen=True)
class Table:
    benchmarks: list[str]
    columns: list[Split]  # the splits any run has, in registry order
    rows: list[Row]  # ranked by headline, reference rows among them at their headline's place
    notes: list[str] = field(default_factory=list)  # runs without a tier, and why

    @property
    def guards(self) -> list[Row]:
        """The measured rows, without the references."""
        return [row for row in self.rows if not row.reference]

    @property
    def two_class(self) -> list[str]:
        return [b for b in self.benchmarks if any(b in row.set_macro_f1 for row in self.rows)]

    @property
    def one_class(self) -> list[str]:
        return [b for b in self.benchmarks if any(b in row.one_class for row in self.rows)]

    def languages(self, benchmark: str) -> list[str]:
        return [lang for b, lang in self.columns if b == benchmark]


@dataclass(frozen=True)
class Column:
    """One numeric column of the ranked table, shared by every writer."""

    key: str  # CSV header and HTML id
    label: str  # short header, e.g. "OM en", "F1 gap"
    group: str  # the set title for per-set columns, else ""
    sublabel: str  # the header under the group, e.g. "en", "avg"
    value: Callable[[Row], float | None]
    higher_is_better: bool = True
    interval: Callable[[Row], Interval | None] | None = None  # 95% interval of the value (F1 columns)
    gap: Callable[[Row], dict[str, Any] | None] | None = None  # the split's test against English (F1 by language)

    def ci(self, row: Row) -> Interval | None:
        return self.interval(row) if self.interval else None

    def test(self, row: Row) -> dict[str, Any] | None:
        return self.gap(row) if self.gap else None

    def significant(self, row: Row) -> bool:
        gap = self.test(row)
        return bool(gap and gap.get("significant"))


def headline_columns(table: Table) -> list[Column]:
    """The summary: the headline and its parts, the one-class sets apart, and consistency."""
    columns = [
        Column("headline", "macro-F1", "", "macro-F1", lambda row: row.headline, interval=lambda row: row.headline_ci),
        Column(
            "vs_leader",
            "vs #1",
            "",
            "vs #1",
            lambda row: row.vs_leader.diff if row.vs_leader else None,
            interval=lambda row: row.vs_leader.ci95 if row.vs_leader and row.vs_leader.ci95 else None,
        ),
    ]
    for benchmark in table.two_class:
        columns.append(
            Column(
                f"macro_f1_{benchmark}",
                f"{short_name(benchmark)} macro-F1",
                "",
                f"{short_name(benchmark)}",
                lambda row, b=benchmark: row.set_macro_f1.get(b),
            )
        )
    for benchmark in table.one_class:
        short = short_name(benchmark) + "†"
        columns += [
            Column(
                f"recall_{benchmark}",
                f"{short} recall",
                "",
                f"{short} recall",
                lambda row, b=benchmark: row.one_class.get(b, {}).get("recall", row.one_class.get(b, {}).get("fpr")),
            ),
            Column(
                f"fnr_{benchmark}",
                f"{short} FNR",
                "",
                f"{short} FNR",
                lambda row, b=benchmark: row.one_class.get(b, {}).get("fnr"),
                higher_is_better=False,
            ),
        ]
    columns += [
        Column("all_agree", "all-agree", "", "all-agree", lambda row: row.all_agree),
        Column("kappa", "kappa", "", "kappa", lambda row: row.kappa),
        Column("all_correct", "all-correct", "", "all-correct", lambda row: row.all_correct),
        Column("agree_en_right", "agree | en right", "", "agree | en right", lambda row: row.agree_en_right),
        Column("f1_gap", "F1 gap", "", "F1 gap", lambda row: row.f1_gap, higher_is_better=False),
        Column("parse_fail", "parse fail", "", "parse fail", lambda row: row.parse_fail, higher_is_better=False),
    ]
    if any(row.codes_missing for row in table.rows):  # only guards whose format asks for a categories line
        columns.append(Column("codes_missing", "codes missing", "", "codes missing", lambda row: row.codes_missing))
    return columns


def metric_columns(table: Table) -> list[Column]:
    """The headline and consistency columns first, then per set one F1 column per language and the set average."""
    columns = headline_columns(table)
    for benchmark in table.benchmarks:
        mark = "†" if benchmark in table.one_class else ""
        group, short = benchmark_title(benchmark) + mark, short_name(benchmark) + mark
        for lang in table.languages(benchmark):
            split = (benchmark, lang)
            columns.append(
                Column(
                    f"f1_{benchmark}_{lang}",
                    f"{short} {lang}",
                    group,
                    lang,
                    _f1_of(benchmark, lang),
                    interval=lambda row, split=split: row.f1_ci.get(split),
                    gap=lambda row, split=split: row.gaps.get(split),
                )
            )
        columns.append(
            Column(
                f"f1_{benchmark}_avg",
                f"{short} avg",
                group,
                "avg",
                _avg_of(benchmark),
                interval=lambda row, benchmark=benchmark: row.set_avg_ci.get(benchmark),
            )
        )
    return columns


def column_groups(columns: list[Column]) -> list[tuple[str, int]]:
    """Runs of neighbouring columns with the same group, as (group, count)."""
    groups: list[tuple[str, int]] = []
    for column in columns:
        if groups and groups[-1][0] == column.group:
            groups[-1] = (column.group, groups[-1][1] + 1)
        else:
            groups.append((column.group, 1))
    return groups


def _f1_of(benchmark: str, lang: str) -> Callable[[Row], float | None]:
    return lambda row: row.f1.get((benchmark, lang))


def _avg_of(benchmark: str) -> Callable[[Row], float | None]:
    return lambda row: row.set_avg.get(benchmark)


def build_table(runs: list[Run], standings: dict[str, Standing] | None = None, notes: list[str] | None = None) -> Table:
    """Rank ``runs`` (one per guard, references flagged) by headline; ties share a rank and are ordered by guard.
    References take no rank of their own and do not push the guards below them down."""
    columns = sorted({_split(key) for run in runs for key in run.metrics["splits"]}, key=split_order)
    benchmarks = list(dict.fromkeys(benchmark for benchmark, _ in columns))
    standings = standings or {}
    unranked = [_with_standing(_row(run, benchmarks), standings.get(run.guard)) for run in runs]
    unranked.sort(key=lambda row: (row.headline is None, -(row.headline or 0.0), row.guard))
    guards = [row for row in unranked if not row.reference]
    rows = [replace(row, rank=1 + sum(_above(other, row) for other in guards)) for row in unranked]
    return Table(benchmarks=benchmarks, columns=columns, rows=rows, notes=list(notes or []))


def _above(other: Row, row: Row) -> bool:
    if row.headline is None:
        return other.headline is not None or other.overall > row.overall
    return other.headline is not None and other.headline > row.headline


def _with_standing(row: Row, standing: Standing | None) -> Row:
    if standing is None:
        return row
    return replace(row, tier=standing.tier, vs_leader=standing.vs_leader, vs_above=standing.vs_above)


def benchmark_title(benchmark: str) -> str:
    return BENCHMARKS[benchmark].title if benchmark in BENCHMARKS else benchmark


def short_name(benchmark: str) -> str:
    return SHORT_NAMES.get(benchmark, benchmark)


def recall_based(benchmark: str) -> bool:
    """All-unsafe sets report F1 = 2R/(1+R): the registry's flag, for the whole set whatever subset a run has."""
    return benchmark in BENCHMARKS and BENCHMARKS[benchmark].all_unsafe


def params_label(params_b: float | None, missing: str = "–") -> str:
    return missing if params_b is None else f"{params_b:g}B"


def _row(run: Run, benchmarks: list[str]) -> Row:
    splits = run.metrics["splits"]
    f1 = {_split(key): split["f1"] for key, split in splits.items()}
    by_set: dict[str, list[float]] = {}
    for (benchmark, _), value in f1.items():
        by_set.setdefault(benchmark, []).append(value)
    set_avg = {benchmark: fmean(by_set[benchmark]) for benchmark in benchmarks if benchmark in by_set}
    consistency = run.metrics.get("consistency", {})
    blocks = {benchmark: consistency[benchmark] for benchmark in benchmarks if benchmark in consistency}
    worst = [value for b, block in blocks.items() if (value := _worst_f1(b, block, f1)) is not None]
    items = sum(split["n"] for split in splits.values())
    failed = sum(split["n"] * split["parse_fail"] for split in splits.values())
    averages = run.metrics.get("f1_avg_ci95", {})
    headline = run.metrics.get("headline") or _headline_from_splits(splits)
    two_class = set(headline.get("sets", {}))
    return Row(
        rank=0,
        guard=run.guard,
        model=run.info.get("model", ""),
        params_b=run.info.get("model_params"),
        run_id=run.run_id,
        f1=f1,
        set_avg=set_avg,
        overall=fmean(set_avg.values()),
        all_agree=_mean([block["all_agree"] for block in blocks.values()]),
        worst_lang_f1=_mean(worst),
        f1_gap=_mean([block["f1_gap"] for block in blocks.values()]),
        parse_fail=failed / items if items else 0.0,
        codes_missing=sum(split["n"] * split.get("codes_missing", 0.0) for split in splits.values()) / items
        if items
        else 0.0,
        f1_ci={_split(key): split["f1_ci95"] for key, split in splits.items() if len(split.get("f1_ci95") or []) == 2},
        set_avg_ci={b: ci for b, ci in averages.items() if b in set_avg and len(ci) == 2},
        overall_ci=averages["all"] if len(averages.get("all") or []) == 2 else None,
        gaps={
            (benchmark, lang): gap
            for benchmark, by_lang in run.metrics.get("language_gaps", {}).items()
            for lang, gap in by_lang.items()
        },
        categories={
            benchmark: {category: by_category[category] for category in category_order(by_category)}
            for benchmark, by_category in run.metrics.get("category_recall", {}).items()
        },
        headline=headline.get("macro_f1"),
        headline_ci=headline["macro_f1_ci95"] if len(headline.get("macro_f1_ci95") or []) == 2 else None,
        set_macro_f1=dict(headline.get("sets", {})),
        one_class=dict(headline.get("one_class", {})),
        kappa=_mean([b["fleiss_kappa"] for b in blocks.values() if b.get("fleiss_kappa") is not None]),
        all_correct=_mean(
            [
                b["all_correct_balanced"]
                for name, b in blocks.items()
                if "all_correct_balanced" in b and name in two_class
            ]
        ),
        agree_en_right=_mean(
            [b["all_agree_en_right"] for b in blocks.values() if b.get("all_agree_en_right") is not None]
        ),
        reference=run.reference,
    )


def _headline_from_splits(splits: dict[str, Any]) -> dict[str, Any]:
    """The headline of a metrics.json written before it had one (schema 2), from its per-split macro-F1 and
    recall; without an interval."""
    by_set: dict[str, list[float]] = {}
    recall: dict[str, list[float]] = {}
    for key, split in splits.items():
        benchmark = key.split("/")[0]
        if split.get("macro_f1") is not None:
            by_set.setdefault(benchmark, []).append(split["macro_f1"])
        elif split.get("fpr") is None and "recall" in split:
            recall.setdefault(benchmark, []).append(split["recall"])
    sets = {b: fmean(v) for b, v in by_set.items()}
    return {
        "macro_f1": fmean(sets.values()) if sets else None,
        "sets": sets,
        "one_class": {b: {"recall": fmean(v), "fnr": 1 - fmean(v)} for b, v in recall.items()},
    }


def _worst_f1(benchmark: str, block: dict, f1: dict[Split, float]) -> float | None:
    """F1 of the set's worst language on the items its consistency block covers (those present in every
    language, where the worst language was chosen); the whole split's F1 only for blocks without ``f1_by_lang``."""
    by_lang = block.get("f1_by_lang")
    if isinstance(by_lang, dict) and block["worst_lang"] in by_lang:
        return by_lang[block["worst_lang"]]
    return f1.get((benchmark, block["worst_lang"]))


def _mean(values: list[float]) -> float | None:
    return fmean(values) if values else None


def _split(key: str) -> Split:
    benchmark, lang = key.split("/")
    return benchmark, lang


def split_order(split: Split) -> tuple[int, str, int, str]:
    benchmark, lang = split
    order = list(BENCHMARKS)
    langs = list(LANGUAGES)
    return (
        order.index(benchmark) if benchmark in order else len(order),
        benchmark,
        langs.index(lang) if lang in langs else len(langs),
        lang,
    )
