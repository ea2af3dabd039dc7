"""Romanized splits: golden transliterations per script, `cgbench data add-variant` end to end on the CPU guard,
and the native-vs-romanized pairing."""

from __future__ import annotations

import json

import pytest

from cgbench.benchmarks import DataError, load_split
from cgbench.benchmarks.loading import _load
from cgbench.benchmarks.romanize import add_variant, informal, romanizer, variant_code
from cgbench.harness.runner import RunOptions, run
from cgbench.harness.script_gaps import script_gaps

GOLDEN = {
    # the inherent vowel dropped at a word's end, long vowels doubled, as typed in Hinglish
    "hi": [("नमस्ते", "namaste"), ("क्या हाल है?", "kyaa haal hai?"), ("बम", "bam")],
    "bn": [("নমস্কার", "namaskaar"), ("কেমন আছেন?", "keman aachhen?")],
    # tones dropped, one syllable per word, full-width punctuation to ASCII with its space
    "zh": [("你好，世界。", "ni hao, shi jie."), ("炸弹 bomb 2024年", "zha dan bomb 2024 nian")],
    # kanji read as Japanese (not as Chinese), long vowels spelled out without macrons
    "ja": [("こんにちは", "konnichiha"), ("東京", "toukyou"), ("爆弾の作り方", "bakudan no tsukurikata")],
}


@pytest.mark.parametrize("lang", sorted(GOLDEN))
def test_golden_romanizations(lang):
    convert = romanizer(lang)
    sources, expected = zip(*GOLDEN[lang])
    assert convert(list(sources)) == list(expected)


def test_informal_drops_diacritics_and_tidies_spaces():
    assert informal("kyā  hāl hai ?") == "kya hal hai?"
    assert informal("Tōkyō （東京）") == "Tokyo (東京)"
    assert informal("a\n  b  ") == "a\nb"


def test_romanizers_are_named_with_their_package():
    assert {lang: romanizer(lang).package for lang in GOLDEN} == {
        "hi": "uroman",
        "bn": "uroman",
        "zh": "pypinyin",
        "ja": "pykakasi",
    }
    with pytest.raises(DataError, match="--script 'cyrillic'"):
        variant_code("hi", "cyrillic")


def test_add_variant_registers_a_parallel_split_that_runs_on_the_cpu_guard(tmp_path):
    """One test, because romanizing the three sets is the slow part: the split, its manifest, then a run."""
    _load.cache_clear()
    added = add_variant("zh")
    manifest = json.loads((added.folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["language"] == "zh-Latn" and manifest["script"] == "Latin" and manifest["variant_of"] == "zh"
    assert manifest["romanizer"]["package"] == "pypinyin" and manifest["romanizer"]["version"][0].isdigit()
    native, romanized = load_split("toxicchat", "zh"), load_split("toxicchat", "zh-Latn")
    assert [(i.idx, i.label) for i in romanized] == [(i.idx, i.label) for i in native]
    assert all(text.isascii() for text in (i.text for i in load_split("simple_safety_tests", "zh-Latn")))
    with pytest.raises(DataError, match="already added"):
        add_variant("zh")
    with pytest.raises(DataError, match="no such split"):
        add_variant("xx")

    options = RunOptions(
        guard="e5-probe",
        sets=["simple_safety_tests"],
        langs=["en", "zh", "zh-Latn"],
        limit=8,
        results_dir=tmp_path,
        backend_options={"max_train": 160, "align": "none"},
    )
    metrics = json.loads((run(options, show_tables=False) / "metrics.json").read_text(encoding="utf-8"))
    gap = metrics["script_gaps"]["simple_safety_tests"]["zh-Latn"]
    assert gap["native"] == "zh" and gap["n"] == 8
    assert gap["f1_diff"] == pytest.approx(gap["f1_romanized"] - gap["f1_native"])
    assert gap["f1_romanized"] == pytest.approx(metrics["splits"]["simple_safety_tests/zh-Latn"]["f1"])
    assert "zh-Latn" in metrics["language_gaps"]["simple_safety_tests"]  # against English, like any language
    _load.cache_clear()


def _p(lang, idx, pred, label=1):
    return {"benchmark": "toxicchat", "lang": lang, "idx": idx, "label": label, "pred": pred, "score": None,
            "violations": [], "output": ""}  # fmt: skip


def test_script_gaps_on_synthetic_predictions():
    native = [_p("hi", 0, 1), _p("hi", 1, 1), _p("hi", 2, 0, 0), _p("hi", 3, 1)]
    romanized = [_p("hi-Latn", 0, 1), _p("hi-Latn", 1, 0), _p("hi-Latn", 2, 0, 0), _p("hi-Latn", 3, None)]
    gap = script_gaps(native + romanized + [_p("en", 0, 1)])["toxicchat"]["hi-Latn"]
    assert gap["n"] == 4 and gap["agreement"] == 0.5
    assert gap["loophole_rate"] == pytest.approx(1 / 3)  # item 1 passed as safe; the unparsed item 3 is no loophole
    assert gap["f1_native"] == 1.0 and gap["f1_romanized"] == pytest.approx(2 * 1 / (2 * 1 + 0 + 2))
    assert script_gaps(romanized) == {}  # no native split in the run
