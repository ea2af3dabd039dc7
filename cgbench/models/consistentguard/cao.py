"""CAO data: translate the seed set, run the current model in every language, synthesise preference pairs.

Per seed item and language, the model's verdict is a success (equals the label) or a failure (wrong or
unparsed). Each failure becomes a pair when the item succeeded in some language: prompt = the failed
language's input, chosen = a successful output (English first), rejected = the failed output. The
anchor is a success, never a failure: the input of the language that succeeded (English when it did) with
its own output. ``variants`` are the item's prompts in every language (English first) for the optional MLC term.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cgbench.benchmarks import Item
from cgbench.models.backends.generate import generate
from cgbench.models.consistentguard.records import read_records
from cgbench.models.consistentguard.seed import SeedItem
from cgbench.models.guards.consistentguard import ConsistentGuardFormat

SOURCE_LANG = "en"


@dataclass
class LangReport:
    items: int = 0
    correct: int = 0
    failures: int = 0  # found
    pairs: int = 0  # used: failures with a successful output to pair against


def read_translations(folder: str | Path, lang: str, items: list[SeedItem]) -> dict[str, str]:
    """``<folder>/<lang>.jsonl`` rows ``{"id", "text"}``: the seed texts in ``lang``; every seed id must be there."""
    path = Path(folder) / f"{lang}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no translations for {lang!r} (expected rows {{'id', 'text'}})")
    texts = {}
    for row, record in enumerate(read_records(path, ("id", "text"))):
        if not isinstance(record["text"], str):
            raise ValueError(f"{path}: row {row}: field 'text' must be a string")
        texts[record["id"]] = record["text"]
    missing = [item.id for item in items if item.id not in texts]
    if missing:
        raise ValueError(f"{path}: {len(missing)} seed ids have no translation, e.g. {missing[0]!r}")
    return texts


def translate_seed(items: list[SeedItem], langs: list[str], translator, folder: str | Path) -> None:
    """Write ``<folder>/<lang>.jsonl`` with a translator of ``cgbench.models.translators``; skips done files."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for lang in langs:
        path = folder / f"{lang}.jsonl"
        if lang == SOURCE_LANG or path.exists():
            continue
        texts = translator.translate([item.text for item in items], lang)
        with path.open("w", encoding="utf-8") as out:
            for item, text in zip(items, texts, strict=True):
                if text is not None:  # a text the translator gave up on has no variant; read_translations says so
                    out.write(json.dumps({"id": item.id, "text": text}, ensure_ascii=False) + "\n")


def language_items(items: list[SeedItem], langs: list[str], folder: str | Path) -> dict[str, list[Item]]:
    """The seed set as runner Items per language (``benchmark`` = ``seed``, ``idx`` = position in the seed)."""
    out = {}
    for lang in langs:
        texts = {i.id: i.text for i in items} if lang == SOURCE_LANG else read_translations(folder, lang, items)
        out[lang] = [Item("seed", lang, n, texts[item.id], item.label, item.id) for n, item in enumerate(items)]
    return out


def run_languages(
    by_lang: dict[str, list[Item]], predict: Callable[[list[Item]], list], batch_size: int
) -> dict[str, list]:
    """Predictions per language, through ``predict`` (a batch of Items -> their predictions)."""
    from tqdm.auto import tqdm

    results = {}
    for lang, items in by_lang.items():
        preds = []
        for start in tqdm(range(0, len(items), batch_size), desc=f"CAO run {lang}"):
            preds.extend(predict(items[start : start + batch_size]))
        results[lang] = preds
    return results


def build_pairs(
    by_lang: dict[str, list[Item]], predictions: dict[str, list], fmt: ConsistentGuardFormat
) -> tuple[list[dict], dict[str, LangReport]]:
    """Pairs and anchors from the predictions, and the per-language report (found / used)."""
    langs = list(by_lang)
    order = [SOURCE_LANG, *[lang for lang in langs if lang != SOURCE_LANG]] if SOURCE_LANG in langs else langs
    report = {lang: LangReport() for lang in langs}
    pairs = []
    for n, english in enumerate(by_lang[order[0]]):
        prompts = {lang: fmt.build(by_lang[lang][n].text)[0].raw for lang in langs}
        right = {lang: predictions[lang][n]["pred"] == english.label for lang in langs}
        success = next((lang for lang in order if right[lang]), None)
        for lang in langs:
            report[lang].items += 1
            report[lang].correct += right[lang]
            if right[lang]:
                continue
            report[lang].failures += 1
            if success is None:
                continue
            report[lang].pairs += 1
            chosen = predictions[success][n]["output"]
            pairs.append(
                {
                    "id": english.source_id,
                    "lang": lang,
                    "label": english.label,
                    "prompt": prompts[lang],
                    "chosen": chosen,
                    "rejected": predictions[lang][n]["output"],
                    "anchor_lang": success,
                    "anchor_prompt": prompts[success],
                    "anchor_completion": chosen,
                    "variants": [prompts[lang_] for lang_ in order],
                }
            )
    return pairs, report


def make_pairs(cfg, items: list[SeedItem], backend, translator=None) -> tuple[list[dict], dict[str, LangReport]]:
    """Translate when a translator is given, run ``backend`` in every language, and build the pairs."""
    if translator is not None:
        translate_seed(items, cfg.langs, translator, cfg.translations)
    by_lang = language_items(items, cfg.langs, cfg.translations)
    fmt = ConsistentGuardFormat(max_new_tokens=cfg.max_new_tokens, options={"template": cfg.template})
    predictions = run_languages(by_lang, lambda batch: _predict(backend, fmt, batch), cfg.batch_size)
    return build_pairs(by_lang, predictions, fmt)


def _predict(backend, fmt: ConsistentGuardFormat, batch: list[Item]) -> list[dict]:
    """``pred`` (None when unparsed) and raw ``output`` of each item, as the runner's predictions record them."""
    generated = generate(backend, fmt, [item.text for item in batch])
    return [{"pred": None if g.verdict.pred is None else int(g.verdict.pred), "output": g.output} for g in generated]


@dataclass
class CutReport:
    pairs: int = 0
    prompt_cut: int = 0  # prompts longer than max_prompt_length: their first tokens are dropped
    prompt_tokens_dropped: list[int] = field(default_factory=list)
    sequence_cut: int = 0  # prompt (after its cut) + the longer completion over max_length
    where: str = ""

    def summary(self) -> dict:
        dropped = sorted(self.prompt_tokens_dropped)
        median = dropped[len(dropped) // 2] if dropped else 0
        return {"pairs": self.pairs, "prompt_cut": self.prompt_cut, "median_prompt_tokens_dropped": median,
                "sequence_cut": self.sequence_cut, "where": self.where}  # fmt: skip


def truncation_report(
    pairs: list[dict], count_tokens, max_prompt_length: int | None, max_length: int | None, mode: str
) -> dict[str, CutReport]:
    """Per language, how many CAO pairs the CAO stage's limits will cut, and where (``count_tokens``: text -> int).

    The prompt keeps its last ``max_prompt_length`` tokens (the instruction's head goes first); then a sequence over
    ``max_length`` loses its first tokens (``keep_end``) or its last ones (``keep_start``).
    """
    where_seq = "sequence start (prompt head)" if mode == "keep_end" else "sequence end (completion tail)"
    report: dict[str, CutReport] = {}
    for pair in pairs:
        lang = report.setdefault(pair.get("lang", "?"), CutReport(where=f"prompt start; {where_seq}"))
        lang.pairs += 1
        prompt = count_tokens(pair["prompt"])
        if max_prompt_length is not None and prompt > max_prompt_length:
            lang.prompt_cut += 1
            lang.prompt_tokens_dropped.append(prompt - max_prompt_length)
            prompt = max_prompt_length
        longest = prompt + 1 + max(count_tokens(pair["chosen"]), count_tokens(pair["rejected"]))  # + EOS
        if max_length is not None and longest > max_length:
            lang.sequence_cut += 1
    return report


def cut_rows(report: dict[str, CutReport]) -> list[tuple[str, ...]]:
    """Rows: language, pairs, prompts cut (share), median tokens dropped from the prompt, sequences cut, where."""
    rows = []
    for lang, r in report.items():
        s = r.summary()
        share = f"{r.prompt_cut} ({r.prompt_cut / r.pairs:.0%})" if r.pairs else "0"
        seq = f"{r.sequence_cut} ({r.sequence_cut / r.pairs:.0%})" if r.pairs else "0"
        rows.append((lang, str(r.pairs), share, str(s["median_prompt_tokens_dropped"]), seq, r.where))
    return rows


def write_pairs(pairs: list[dict], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for pair in pairs:
            out.write(json.dumps(pair, ensure_ascii=False) + "\n")


def read_pairs(path: str | Path) -> list[dict]:
    return read_records(path, ("prompt", "chosen", "rejected", "anchor_prompt", "anchor_completion"))


def report_rows(report: dict[str, LangReport]) -> list[tuple[str, ...]]:
    """Rows: language, items, correct, failures found, pairs used."""
    return [(lang, str(r.items), str(r.correct), str(r.failures), str(r.pairs)) for lang, r in report.items()]
