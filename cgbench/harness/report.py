"""Rich tables of a ``metrics.json``: one of the splits, one of consistency per benchmark."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table

from cgbench.harness.schema import CategoryCell, Consistency, LanguageGap, MetricsFile

_STYLE = {"box": box.SIMPLE_HEAD, "pad_edge": False, "collapse_padding": True}


def pct(value: float | None) -> str:
    """A fraction as a percentage with one decimal; a dash when undefined."""
    return "-" if value is None else f"{100 * value:.1f}"


def kappa(value: float | None) -> str:
    """A kappa, which is not a share, with three decimals."""
    return "-" if value is None else f"{value:.3f}"


def splits_table(metrics: MetricsFile) -> Table:
    table = Table(title="Per split (%, unsafe = positive)", title_justify="left", **_STYLE)
    table.add_column("set", overflow="fold")
    table.add_column("lang", no_wrap=True)
    for column in ("n", "F1", "F1\n95% CI", "macro\nF1", "prec.", "recall", "FPR", "AUPRC", "parse\nfail"):
        table.add_column(column, justify="right", no_wrap=True)
    for key, m in sorted(metrics["splits"].items()):
        ci = m["f1_ci95"]
        table.add_row(
            *key.split("/", 1),
            str(m["n"]),
            pct(m["f1"]) + ("*" if m["f1_from_recall"] else ""),
            f"{pct(ci[0])}–{pct(ci[1])}" if ci else "-",
            pct(m["macro_f1"]),
            pct(m["precision"]),
            pct(m["recall"]),
            pct(m["fpr"]),
            pct(m["auprc"]),
            pct(m["parse_fail"]),
        )
    if any(m["f1_from_recall"] for m in metrics["splits"].values()):
        table.caption = "* all-unsafe set: F1 = 2R/(1+R)"
    return table


def consistency_table(benchmark: str, c: Consistency) -> Table:
    ref = c.get("reference") or "en"
    table = Table(title=f"{benchmark}: consistency (%) over {c['n_items']} items", title_justify="left", **_STYLE)
    table.add_column("lang", no_wrap=True)
    for column in ("F1", f"agreement\nvs {ref}", f"Cohen kappa\nvs {ref}", "loophole\nrate"):
        table.add_column(column, justify="right", no_wrap=True)
    f1 = c.get("f1_by_lang", {})
    for lang in c["languages"]:
        table.add_row(
            lang,
            pct(f1.get(lang)),
            pct(c["agreement_vs_en"].get(lang)),
            kappa(c["kappa_vs_en"].get(lang)),
            pct(c["loophole_rate"].get(lang)),
        )
    return table


def consistency_summary(c: Consistency) -> str:
    balanced = c.get("all_correct_balanced")
    correct = "" if balanced is None else f"all right on {pct(balanced)}% (balanced over the classes); "
    en_right = c.get("all_agree_en_right")
    agree_en = "" if en_right is None else f"agree on {pct(en_right)}% of the items English gets right; "
    return (
        f"all {len(c['languages'])} languages agree on {pct(c['all_agree'])}% of items; {agree_en}{correct}"
        f"Fleiss kappa {kappa(c['fleiss_kappa'])}; "
        f"F1 gap {pct(c['f1_gap'])} points ({c['best_lang']} {pct(c['f1_by_lang'][c['best_lang']])} - "
        f"{c['worst_lang']} {pct(c['f1_by_lang'][c['worst_lang']])})"
    )


def points(value: float) -> str:
    """A difference of two shares, in percentage points with a sign."""
    return f"{100 * value:+.1f}"


def p_value(value: float, bound: bool = False) -> str:
    """A p-value; ``bound``: no bootstrap draw crossed 0, so the data only say it is below the value."""
    if bound:
        return f"<{value:.2g}"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def headline_line(metrics: MetricsFile) -> str:
    """The ranking metric in one line: macro-F1 over the two-class sets, one-class sets apart."""
    h = metrics.get("headline")
    if not h:
        return ""
    ci = h.get("macro_f1_ci95") or []
    interval = f" [{pct(ci[0])}, {pct(ci[1])}]" if ci else ""
    parts = [f"headline macro-F1 {pct(h['macro_f1'])}{interval} over {', '.join(h['sets']) or 'no two-class set'}"]
    for benchmark, block in h["one_class"].items():
        if "recall" in block:
            parts.append(f"{benchmark} recall {pct(block['recall'])}, FNR {pct(block['fnr'])}")
        else:
            parts.append(f"{benchmark} FPR {pct(block['fpr'])}")
    return "; ".join(parts)


def gaps_table(benchmark: str, gaps: dict[str, LanguageGap]) -> Table:
    table = Table(title=f"{benchmark}: each language against English, paired", title_justify="left", **_STYLE)
    table.add_column("lang", no_wrap=True)
    columns = (
        "n",
        "F1 - en\n(points)",
        "95% CI",
        "boot. p\n(Holm)",
        "right only\nL / en",
        "McNemar\np (Holm)",
        "test",
        "",
    )
    for column in columns:
        table.add_column(column, justify="right", no_wrap=True)
    for lang, gap in gaps.items():
        ci = gap["f1_diff_ci95"]
        table.add_row(
            lang,
            str(gap["n"]),
            points(gap["f1_diff"]),
            f"[{points(ci[0])}, {points(ci[1])}]" if ci else "-",
            "-" if gap["f1_diff_p_holm"] is None else p_value(gap["f1_diff_p_holm"], gap.get("f1_diff_p_bound", False)),
            f"{gap['only_lang_right']}/{gap['only_ref_right']}",
            p_value(gap["mcnemar_p_holm"]),
            {"bootstrap": "boot.", "mcnemar": "McN."}.get(gap.get("decision", ""), "-"),
            ("▲" if gap.get("direction", 0) > 0 else "▼") if gap["significant"] else "",
        )
    table.caption = (
        "▲ / ▼ significantly above / below English at 5% by the test: boot. = paired bootstrap (10,000 draws) on sets "
        "with both classes, McN. = McNemar's exact test on all-unsafe sets; Holm over all of the run's gaps; "
        "< : no draw crossed 0"
    )
    return table


def categories_table(benchmark: str, cells: dict[str, dict[str, CategoryCell]], field: str) -> Table:
    """One row per harm category, one column per language: ``field`` is recall or loophole_rate."""
    langs = sorted({lang for by_lang in cells.values() for lang in by_lang}, key=lambda lang: (lang != "en", lang))
    what = "recall" if field == "recall" else "loophole rate (flagged in en, passed here)"
    table = Table(title=f"{benchmark}: {what} (%) by harm category", title_justify="left", **_STYLE)
    table.add_column("category", no_wrap=True, overflow="ellipsis", max_width=28)
    table.add_column("n", justify="right")
    for lang in langs:
        table.add_column(lang, justify="right", no_wrap=True)
    for category, by_lang in cells.items():
        n = max(cell["n"] for cell in by_lang.values())
        values = [pct(by_lang[lang][field]) if lang in by_lang else "-" for lang in langs]
        table.add_row(category, str(n), *values)
    return table


def print_tables(metrics: MetricsFile, console: Console | None = None) -> None:
    """Print the split table; per benchmark the consistency table, the language gaps and the categories."""
    console = console or Console()
    console.print(splits_table(metrics))
    if line := headline_line(metrics):
        console.print(line, end="\n\n")
    gaps, categories = metrics.get("language_gaps", {}), metrics.get("category_recall", {})
    for benchmark, c in sorted(metrics["consistency"].items()):
        console.print(consistency_table(benchmark, c))
        console.print(consistency_summary(c), end="\n\n")
        if benchmark in gaps:
            console.print(gaps_table(benchmark, gaps[benchmark]))
    for benchmark, cells in sorted(categories.items()):
        console.print(categories_table(benchmark, cells, "recall"))
        console.print(categories_table(benchmark, cells, "loophole_rate"))
