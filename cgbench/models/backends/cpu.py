"""The embedded CPU guard: multilingual-e5-small embeddings + a logistic-regression head.

The head is trained on English user prompts from the training sources of the
mirror (ToxicChat train, GuardReasoner's Aegis and HarmBench prompt sets),
never on an evaluation set: training prompts equal to any evaluation prompt
are dropped. It is cached as JSON (coefficients only) under a key that hashes
the training data and the settings; the head of the default settings ships
with the package under the same key (``heads/``), so only a changed training
set or setting trains a new one.

Cross-lingual alignment (``align``, see ``alignment``): ``consistency`` (the default) shifts each
language by its mean offset from English and retrains the head with a penalty on the directions along
which translations differ; ``shift`` only shifts; ``none`` scores every language with the English head
as it is. Everything is estimated on parallel, *unlabeled* prompts of the release taken from the
benchmarks other than the one being scored (leave-one-benchmark-out), so a split's own texts never
shape its predictions, and no label of a non-English text is read.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cgbench.benchmarks import BENCHMARKS, LANGUAGES, DataError, Item, load_split, sources
from cgbench.benchmarks.headers import strip_header
from cgbench.benchmarks.loading import read_json
from cgbench.models.backends import alignment
from cgbench.models.backends.base import Completion, Prompt
from cgbench.models.backends.embeddings import Embedder

HEAD_VERSION = 2
ALIGNMENTS = ("consistency", "shift", "none")
C_GRID = (0.1, 0.3, 1.0, 3.0, 10.0)
THRESHOLD = 0.5
# Heads trained here on the default settings ship with the package (JSON, same key), so a first run needs no training.
SHIPPED_HEADS = Path(__file__).resolve().parent / "heads"
_ASSISTANT_TURN = re.compile(r"\n\s*AI assistant:", re.IGNORECASE)


@dataclass(frozen=True)
class Head:
    """A logistic-regression head: P(unsafe) = sigmoid(x . coef + intercept)."""

    coef: np.ndarray
    intercept: float
    c: float
    n_train: int
    n_unsafe: int

    def predict(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-(x @ self.coef + self.intercept)))

    def to_json(self) -> dict:
        return {
            "version": HEAD_VERSION,
            "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "c": self.c,
            "n_train": self.n_train,
            "n_unsafe": self.n_unsafe,
        }

    @classmethod
    def from_json(cls, data: dict) -> Head:
        return cls(
            np.asarray(data["coef"], dtype=np.float64),
            float(data["intercept"]),
            float(data["c"]),
            int(data["n_train"]),
            int(data["n_unsafe"]),
        )


def _normal(text: str) -> str:
    return " ".join(text.casefold().split())


def training_prompts(data_dir: str | os.PathLike | None = None) -> tuple[list[str], list[int]]:
    """English (prompt, label) pairs from the training sources, de-duplicated and with no evaluation prompt."""
    rows: list[tuple[str, int]] = []
    path = sources.locate(sources.TOXICCHAT_TRAIN, data_dir)
    for row, record in enumerate(read_json(path)["instances"]):
        try:
            rows.append((record["instance"], int(record["annotations"]["toxicity"]["majority_human"])))
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: row {row}: field 'instance' or 'annotations.toxicity' missing or bad") from exc
    for name in ("aegis", "harmbench_prompt"):
        path = sources.locate(sources.GUARDREASONER_TRAIN[name], data_dir)
        for row, record in enumerate(read_json(path)):
            if not isinstance(record, dict) or record.get("output") not in ("harmful", "unharmful"):
                raise DataError(f"{path}: row {row}: field 'output' must be 'harmful' or 'unharmful'")
            user = _ASSISTANT_TURN.split(strip_header(record["input"]), maxsplit=1)[0].strip()
            rows.append((user, int(record["output"] == "harmful")))
    evaluation = {_normal(item.text) for benchmark in BENCHMARKS for item in load_split(benchmark, "en", data_dir)}
    seen: set[str] = set()
    texts, labels = [], []
    for text, label in rows:
        key = _normal(text)
        if key and key not in seen and key not in evaluation:
            seen.add(key)
            texts.append(text)
            labels.append(label)
    return texts, labels


def fit_head(x: np.ndarray, y: np.ndarray, c: float | None = None) -> Head:
    """Balanced logistic regression; C (unless given) chosen by 5-fold cross-validated F1 on the training prompts."""
    from sklearn.linear_model import LogisticRegression

    if c is None:
        scores = {c: alignment.cv_f1(x, y, c) for c in C_GRID}
        c = max(C_GRID, key=lambda c: (scores[c], -c))
    fitted = LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(x, y)
    return Head(fitted.coef_[0].astype(np.float64), float(fitted.intercept_[0]), c, len(y), int(y.sum()))


@dataclass(frozen=True)
class AlignedHead:
    """The head that scores one benchmark under ``align="consistency"``: features x P, then ``head``."""

    projection: np.ndarray
    head: Head
    gamma: float
    cv_f1: dict[float, float]


class E5Probe:
    """The ``cpu`` backend: P(unsafe) for texts, in any language, from an English-trained e5 probe."""

    name = "cpu"

    def __init__(
        self,
        *,
        data_dir: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        engine: str = "auto",
        precision: str = "auto",
        window: int = 512,
        align: str = "consistency",
        shift_sample: int = 400,
        max_train: int | None = None,
    ) -> None:
        if align not in ALIGNMENTS:
            raise ValueError(f"align must be one of {', '.join(ALIGNMENTS)}, got {align!r}")
        self.data_dir = data_dir
        self.cache_dir = Path(cache_dir) if cache_dir is not None else sources.cache_dir()
        self.embedder = Embedder(self.cache_dir, engine, precision=precision, window=window)
        self.align = align
        self.shift_sample = shift_sample
        self.max_train = max_train  # a seeded random subset of the training prompts, for quick runs and tests
        self._head: Head | None = None
        self._shifts: dict[tuple[str, str], np.ndarray] = {}
        self._aligned: dict[str, AlignedHead] = {}
        self._used: dict[tuple[str, str], str] = {}  # (lang, benchmark) -> the alignment that scored it

    def load(self) -> None:
        """Train or load the head now, so that run timings count inference only."""
        _ = self.head

    @property
    def head(self) -> Head:
        if self._head is None:
            self._head = self._load_or_train()
        return self._head

    def describe(self) -> dict:
        """The settings that shape the scores, for run.json."""
        head = self.head
        return {
            "embedder": self.embedder.tag,
            "head": "logistic regression, balanced classes",
            "c": head.c,
            "n_train": head.n_train,
            "n_train_unsafe": head.n_unsafe,
            "train_sources": ["toxicchat train", "aegis (guardreasoner)", "harmbench prompts (guardreasoner)"],
            "align": self.align,
            "shift_sample": self.shift_sample if self.align != "none" else None,
            "gamma": {benchmark: aligned.gamma for benchmark, aligned in sorted(self._aligned.items())} or None,
            "align_used": self._align_used() or None,
            "threshold": THRESHOLD,
        }

    def _align_used(self) -> dict[str, dict[str, str]]:
        """benchmark -> language -> the alignment that scored it (see ``method``)."""
        used: dict[str, dict[str, str]] = {}
        for (lang, benchmark), method in sorted(self._used.items()):
            used.setdefault(benchmark, {})[lang] = method
        return used

    @functools.cached_property
    def _training(self) -> tuple[list[str], list[int]]:
        """The training prompts and labels, read and de-duplicated once per probe."""
        texts, labels = training_prompts(self.data_dir)
        if self.max_train is not None and self.max_train < len(texts):
            keep = sorted(np.random.default_rng(0).permutation(len(texts))[: self.max_train])
            texts, labels = [texts[i] for i in keep], [labels[i] for i in keep]
        return texts, labels

    def _load_or_train(self) -> Head:
        texts, labels = self._training
        digest = hashlib.sha256(
            json.dumps([texts, labels, self.embedder.tag, C_GRID, HEAD_VERSION], ensure_ascii=False).encode()
        ).hexdigest()[:20]
        name = f"e5-head-{digest}.json"
        for path in (self.cache_dir / "probe" / name, SHIPPED_HEADS / name):
            if path.is_file():
                return Head.from_json(json.loads(path.read_text(encoding="utf-8")))
        self.embedder.embed_all(texts, desc="embedding training prompts")
        head = fit_head(self.embedder.embed(texts), np.asarray(labels))
        path = self.cache_dir / "probe" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(head.to_json()), encoding="utf-8")
        os.replace(partial, path)
        return head

    def alignment_pairs(self, lang: str, benchmark: str) -> list[tuple[str, str]]:
        """The (English, ``lang``) prompt pairs that align ``lang`` when ``benchmark`` is scored: a fixed
        sample of each *other* benchmark of the release (the same sample for every language and split). A
        language the release does not have (RTP-LX's Arabic, a user set's own) has none."""
        if self.align == "none" or lang == "en" or lang not in self._release_languages:
            return []
        pairs = []
        for other in BENCHMARKS:
            if other != benchmark:
                english, translated = load_split(other, "en", self.data_dir), load_split(other, lang, self.data_dir)
                chosen = np.sort(np.random.default_rng(0).permutation(len(english))[: self.shift_sample])
                pairs += [(english[i].text, translated[i].text) for i in chosen]
        return pairs

    @functools.cached_property
    def _release_languages(self) -> set[str]:
        """The languages the paper's sets exist in: the six, and any added with ``cgbench data add-language``."""
        from cgbench.benchmarks import available_languages

        return set(available_languages(self.data_dir))

    def method(self, lang: str, benchmark: str) -> str:
        """The alignment that actually scores ``lang`` in ``benchmark``: the chosen one, else ``shift`` when no
        language has pairs to build the consistency penalty from, else ``none`` (with a warning) for a language
        with no pairs of its own."""
        if self.align == "none":
            return "none"
        if lang != "en" and not self.alignment_pairs(lang, benchmark):
            if (lang, benchmark) not in self._used:
                warnings.warn(
                    f"cpu probe: no parallel pairs align {lang!r} for {benchmark} (the release has no {lang!r}); "
                    "it is scored unaligned (align=none)",
                    stacklevel=2,
                )
            return "none"
        if self.align == "consistency" and not any(self.alignment_pairs(other, benchmark) for other in LANGUAGES):
            return "shift"
        return self.align

    def texts_needed(self, items: Sequence[Item]) -> list[str]:
        """Every text that scoring ``items`` embeds: their own and their alignment pairs'."""
        texts = [item.text for item in items]
        needed = {(item.lang, item.benchmark) for item in items}
        if self.align == "consistency":  # a benchmark's head reads the pairs of every release language
            needed |= {(lang, benchmark) for benchmark in {item.benchmark for item in items} for lang in LANGUAGES}
        for lang, benchmark in sorted(needed):
            texts += [text for pair in self.alignment_pairs(lang, benchmark) for text in pair]
        if self.align == "consistency" and items:  # the heads are retrained on the English training prompts
            texts += self._training[0]
        return texts

    def prepare(self, items: Sequence[Item]) -> None:
        """Embed everything ``items`` need in one pass (progress in tokens/s), so scoring only reads the cache."""
        self.embedder.embed_all(self.texts_needed(items))

    def shift(self, lang: str, benchmark: str) -> np.ndarray:
        """mean(e(lang)) - mean(e(en)) over ``alignment_pairs`` (zero for English and with ``align="none"``)."""
        if (lang, benchmark) not in self._shifts:  # computed once: score() asks for it on every batch
            pairs = self.alignment_pairs(lang, benchmark)
            if not pairs:
                self._shifts[lang, benchmark] = np.zeros(self.embedder.embed([]).shape[1])
            else:
                english = self.embedder.embed([en for en, _ in pairs])
                translated = self.embedder.embed([xx for _, xx in pairs])
                self._shifts[lang, benchmark] = alignment.mean_offset(english, translated)
        return self._shifts[lang, benchmark]

    def aligned_head(self, benchmark: str) -> AlignedHead:
        """The consistency head of ``benchmark``: trained on English training prompts, penalised with the
        other benchmarks' pairs of every release language (see ``alignment``)."""
        if benchmark not in self._aligned:
            english_pairs = []
            for lang in LANGUAGES:
                pairs = self.alignment_pairs(lang, benchmark)
                if pairs:
                    english_pairs.append((self._embed([en for en, _ in pairs]), self._embed([xx for _, xx in pairs])))
            moment = alignment.difference_moment(english_pairs)
            x, y = self._training_set()
            gamma, scores = alignment.choose_gamma(x, y, self.head.c, moment)
            projection = alignment.consistency_projection(moment, gamma)
            head = fit_head(x @ projection, y, self.head.c)
            self._aligned[benchmark] = AlignedHead(projection, head, gamma, scores)
        return self._aligned[benchmark]

    def _embed(self, texts: list[str]) -> np.ndarray:
        return self.embedder.embed(texts).astype(np.float64)

    def _training_set(self) -> tuple[np.ndarray, np.ndarray]:
        texts, labels = self._training
        return self._embed(texts), np.asarray(labels)

    def score(self, texts: Sequence[str], *, lang: str = "en", benchmark: str | None = None) -> list[float]:
        """P(unsafe) per text; ``lang``/``benchmark`` choose the alignment (see the module doc)."""
        x = self._embed(list(texts))
        if benchmark is None and lang == "en":  # English text outside the suite: the plain English head
            return self.head.predict(x).tolist()
        benchmark = benchmark or ""  # outside the suite, no benchmark is left out
        method = self.method(lang, benchmark)
        self._used[lang, benchmark] = method
        if lang != "en":  # zero shift without pairs (align none, a language the release lacks)
            x = alignment.normalise(x - self.shift(lang, benchmark))
        if method == "consistency":
            aligned = self.aligned_head(benchmark)
            return aligned.head.predict(x @ aligned.projection).tolist()
        return self.head.predict(x).tolist()

    def complete(
        self,
        prompts: Sequence[Prompt],
        *,
        max_new_tokens: int = 1,
        score_tokens: tuple[str, str] | None = None,
        stop: Callable[[str], bool] | None = None,  # ignored: the probe does not generate
    ) -> list[Completion]:
        """The Backend protocol, for English text: the last user message (or raw text) -> "unsafe"/"safe"."""
        scores = self.score([prompt.as_text() for prompt in prompts])
        return [Completion("unsafe" if p >= THRESHOLD else "safe", p) for p in scores]
