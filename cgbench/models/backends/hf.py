"""transformers on CPU or GPU: batched greedy generation and first-token scores.

A guard prompt is a long instruction shared by every item with a short user text
inside it. By default (``kv_reuse=True``) the longest token prefix of a call's
prompts is run once, its key/value cache is kept for the next calls that share
it, and only each prompt's remaining tokens are prefilled, batched against it
(layout: prefix, then left padding, then the suffix; positions skip the padding,
so every token sees the positions and keys of the plain path). Greedy decoding
then runs only while a row is unfinished: it stops at EOS, at ``max_new_tokens``,
or once the caller's ``stop`` rule says the verdict is settled. ``kv_reuse=False``
is the plain path: ``generate()`` over the whole left-padded prompts.

Prompts are sorted by token length within each ``complete`` call so a batch
holds prompts of similar length; outputs come back in input order.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cgbench.models.backends.base import USER_TEXT_MARKER, BackendError, Completion, Prompt
from cgbench.models.backends.prefix import PrefillStats, SharedPrefix, as_set, common_prefix, suffix_layout

DTYPES = ("auto", "float32", "bfloat16", "float16")
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of CPUs with native bf16 matrix arithmetic


def cpu_has_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """Whether the CPU has AMX or AVX-512 bf16 (Linux; False where the flags cannot be read)."""
    try:
        flags = Path(cpuinfo).read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return False
    return any(flag in flags for flag in BF16_CPU_FLAGS)


def default_dtype(device: str) -> str:
    """bf16 on GPUs and on CPUs with bf16 arithmetic, fp32 elsewhere."""
    return "bfloat16" if device.startswith("cuda") or (device == "cpu" and cpu_has_bf16()) else "float32"


def prompt_ids(tokenizer: Any, prompt: Prompt) -> list[int]:
    """Token ids of a prompt: chat messages through the tokenizer's chat template, raw text as is (plus BOS).

    User text stays text: a special-token string inside a message's content or a ``Prompt.user_spans`` span
    (a dataset prompt that spells ``<|eot_id|>``) is tokenized as ordinary characters, never as the control
    token, so it cannot close the user turn and write the guard's answer for it.
    """
    if prompt.messages is not None:
        if not getattr(tokenizer, "chat_template", None):
            raise BackendError("this model's tokenizer has no chat template; use a format with raw prompts")
        text = _chat_text(tokenizer, prompt.messages)
        return literal_ids(tokenizer, text, _message_spans(tokenizer, prompt.messages, text), add_special_tokens=False)
    return literal_ids(tokenizer, prompt.raw, prompt.user_spans, add_special_tokens=True)


def load_tokenizer(model_name: str, gguf_file: str | None = None, trust_remote_code: bool = False) -> Any:
    """The model's tokenizer (from a hub id, a folder, or a GGUF file in that folder)."""
    from transformers import AutoTokenizer

    extra = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        return AutoTokenizer.from_pretrained(model_name, trust_remote_code=trust_remote_code, **extra)
    except OSError as exc:
        raise BackendError(f"cannot load model {model_name!r} (its tokenizer): {exc}") from exc


def chat_text(tokenizer: Any, messages: Sequence[dict[str, Any]]) -> str:
    """The chat template's text of ``messages`` with the assistant turn opened."""
    return _chat_text(tokenizer, messages)


def _chat_text(tokenizer: Any, messages: Sequence[dict[str, Any]]) -> str:
    return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)


def _message_spans(tokenizer: Any, messages: Sequence[dict[str, Any]], text: str) -> list[tuple[int, int]]:
    """Where the chat template put each message text in ``text``: each text in turn is rendered as a marker, and
    the rendering around the marker is matched against ``text`` (never a search for the text itself)."""
    spans = []
    for m, message in enumerate(messages):
        content = message["content"]
        for p in range(1 if isinstance(content, str) else len(content)):
            marked = [dict(x) for x in messages]
            if isinstance(content, str):
                marked[m]["content"] = USER_TEXT_MARKER
            elif "text" in content[p]:
                marked[m]["content"] = [dict(part) for part in content]
                marked[m]["content"][p]["text"] = USER_TEXT_MARKER
            else:
                continue
            before, *after = _chat_text(tokenizer, marked).split(USER_TEXT_MARKER)
            end = len(text) - len(after[0]) if len(after) == 1 else -1
            if end >= len(before) and text.startswith(before) and text.endswith(after[0]):
                spans.append((len(before), end))
    return sorted(spans)


def literal_ids(tokenizer: Any, text: str, spans: Sequence[tuple[int, int]], *, add_special_tokens: bool) -> list[int]:
    """``text`` tokenized as usual, except that special-token strings inside the ``spans`` stay text."""
    specials = sorted(
        set(tokenizer.all_special_tokens) | set(getattr(tokenizer, "added_tokens_encoder", {})), key=len, reverse=True
    )
    hostile = _hostile_specials(text, list(spans), [s for s in specials if s])
    if not hostile:  # the common case: exactly the usual tokenization
        return tokenizer(text, add_special_tokens=add_special_tokens)["input_ids"]
    ids = tokenizer("", add_special_tokens=add_special_tokens)["input_ids"]  # BOS (and nothing else) if any
    eos = [i for i in ids if i == tokenizer.eos_token_id and i != tokenizer.bos_token_id]
    ids = [i for i in ids if i not in eos]
    cursor = 0
    for start, end in hostile:
        ids += tokenizer(text[cursor:start], add_special_tokens=False)["input_ids"] if start > cursor else []
        ids += tokenizer(text[start:end], add_special_tokens=False, split_special_tokens=True)["input_ids"]
        cursor = end
    ids += tokenizer(text[cursor:], add_special_tokens=False)["input_ids"] if cursor < len(text) else []
    return ids + eos


def _hostile_specials(text: str, spans: list[tuple[int, int]], specials: list[str]) -> list[tuple[int, int]]:
    """The (start, end) of every special-token string that occurs inside a literal span."""
    if not spans or not specials:
        return []
    pattern = re.compile("|".join(re.escape(s) for s in specials))
    found = []
    for begin, end in spans:
        found += [(m.start(), m.end()) for m in pattern.finditer(text, begin, end)]
    return found


def score_token_ids(tokenizer: Any, score_tokens: tuple[str, str]) -> tuple[int, int]:
    """The first sub-token id of each score word (e.g. ``unsafe``/``safe``, ``Yes``/``No``)."""
    ids = []
    for word in score_tokens:
        pieces = tokenizer(word, add_special_tokens=False)["input_ids"]
        if not pieces:
            raise BackendError(f"score token {word!r} encodes to no token")
        ids.append(pieces[0])
    if ids[0] == ids[1]:
        raise BackendError(f"score tokens {score_tokens} share their first sub-token; P(unsafe) is undefined")
    return ids[0], ids[1]


class HFBackend:
    """Greedy completions with a transformers causal LM; the model loads on first use."""

    name = "hf"

    def __init__(
        self,
        model: str,
        *,
        device: str | None = None,
        dtype: str | None = None,
        batch_size: int = 8,
        gguf_file: str | None = None,
        trust_remote_code: bool = False,
        kv_reuse: bool = True,
    ) -> None:
        if dtype is not None and dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
        self.model_name = model
        self.device = device
        self.dtype = dtype
        self.batch_size = batch_size
        self.gguf_file = gguf_file
        self.trust_remote_code = trust_remote_code
        self.kv_reuse = kv_reuse
        self.stats = PrefillStats()
        self._model = None
        self._tokenizer = None
        self._prefix: SharedPrefix | None = None

    def describe(self) -> dict:
        return {"device": self.device, "dtype": self.dtype, "batch_size": self.batch_size, "kv_reuse": self.kv_reuse}

    def load(self) -> None:
        """Load the tokenizer and the model (done on first use otherwise)."""
        import torch
        from transformers import AutoModelForCausalLM

        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = self.dtype or default_dtype(self.device)
        extra = {"gguf_file": self.gguf_file} if self.gguf_file else {}
        tokenizer = load_tokenizer(self.model_name, self.gguf_file, self.trust_remote_code)
        try:
            model = AutoModelForCausalLM.from_pretrained(
                self.model_name,
                dtype=self.dtype if self.dtype == "auto" else getattr(torch, self.dtype),
                trust_remote_code=self.trust_remote_code,
                **extra,
            )
        except OSError as exc:
            raise BackendError(f"cannot load model {self.model_name!r}: {exc}") from exc
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        self._tokenizer, self._model = tokenizer, model.to(self.device).eval()
        self._prefix = None

    def complete(
        self,
        prompts: Sequence[Prompt],
        *,
        max_new_tokens: int,
        score_tokens: tuple[str, str] | None = None,
        stop: Callable[[str], bool] | None = None,
    ) -> list[Completion]:
        """Greedy completions in input order; with ``score_tokens``, P(first) from the first generated token.

        ``stop(text)``: a row may end once it is true of the text generated so far (kv_reuse only).
        """
        if self._model is None:
            self.load()
        encoded = [prompt_ids(self._tokenizer, p) for p in prompts]
        if not encoded:
            return []
        ids = score_token_ids(self._tokenizer, score_tokens) if score_tokens else None
        prefix = self._shared_prefix(encoded) if self.kv_reuse else None
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
        results: list[Completion | None] = [None] * len(encoded)
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            batch = [encoded[i] for i in chunk]
            if prefix is None:
                done = self._generate(batch, max_new_tokens, ids)
            else:
                done = self._decode(prefix, batch, max_new_tokens, ids, stop)
            for i, completion in zip(chunk, done):
                results[i] = completion
        return results  # type: ignore[return-value]

    def _shared_prefix(self, encoded: list[list[int]]) -> SharedPrefix:
        """The kept prefix cache if it still fits these prompts, else the cache of their common prefix."""
        shared = common_prefix(encoded)[: min(len(row) for row in encoded) - 1]  # every row keeps a token to run
        kept = self._prefix
        if kept is not None and kept.ids:
            reused = len(common_prefix([kept.ids, shared]))
            if reused == len(kept.ids) or reused * 2 >= len(shared):  # the format's head: keep it, cropped if need be
                self._prefix = kept.cropped(reused)
                return self._prefix
        self._prefix = self._run_prefix(shared)
        return self._prefix

    def _run_prefix(self, ids: list[int]) -> SharedPrefix:
        import torch
        from transformers import DynamicCache

        if not ids:
            return SharedPrefix([], [])
        cache = DynamicCache(config=self._model.config)
        with torch.inference_mode():
            inputs = torch.tensor([ids], device=self._model.device)
            self._model(inputs, use_cache=True, logits_to_keep=1, **_cache_arg(self._model, cache))
        self.stats.prefilled += len(ids)
        self.stats.padded += len(ids)
        return SharedPrefix(list(ids), [(layer.keys, layer.values) for layer in cache.layers])

    def _decode(
        self,
        prefix: SharedPrefix,
        batch: list[list[int]],
        max_new_tokens: int,
        ids: tuple[int, int] | None,
        stop: Callable[[str], bool] | None,
    ) -> list[Completion]:
        """Prefill the suffixes against the prefix cache, then greedy steps for the rows still running."""
        import torch

        model, tokenizer = self._model, self._tokenizer
        suffixes = [row[len(prefix.ids) :] for row in batch]
        inputs, mask, positions = suffix_layout(len(prefix.ids), suffixes, tokenizer.pad_token_id, model.device)
        self.stats.add_batch(batch, suffixes, inputs.shape[1])
        eos = as_set(model.generation_config.eos_token_id)
        cache = prefix.expanded(len(batch), model.config)
        rows = list(range(len(batch)))  # the batch rows still running, in cache order
        generated: list[list[int]] = [[] for _ in batch]
        scores: list[float | None] = [None] * len(batch)
        with torch.inference_mode():
            for step in range(max_new_tokens):
                out = model(
                    inputs,
                    attention_mask=mask,
                    position_ids=positions,
                    use_cache=True,
                    logits_to_keep=1,
                    **_cache_arg(model, cache),
                )
                logits = out.logits[:, -1, :]
                if step == 0 and ids is not None:
                    scores = logits[:, list(ids)].float().softmax(dim=-1)[:, 0].tolist()
                chosen = logits.argmax(dim=-1)
                keep = []
                for slot, (row, token) in enumerate(zip(rows, chosen.tolist())):
                    generated[row].append(token)
                    if not (token in eos or _settled(stop, tokenizer, generated[row])):
                        keep.append(slot)
                if not keep or step == max_new_tokens - 1:
                    break
                if len(keep) < len(rows):
                    index = torch.tensor(keep, device=model.device)
                    cache.batch_select_indices(index)
                    chosen, mask, positions = chosen[index], mask[index], positions[index]
                    rows = [rows[slot] for slot in keep]
                inputs = chosen[:, None]
                mask = torch.cat([mask, mask.new_ones(len(rows), 1)], dim=1)
                positions = positions[:, -1:] + 1
        texts = tokenizer.batch_decode(generated, skip_special_tokens=True)
        return [Completion(text, score) for text, score in zip(texts, scores)]

    def _generate(self, batch: list[list[int]], max_new_tokens: int, ids: tuple[int, int] | None) -> list[Completion]:
        import torch
        from transformers import GenerationConfig

        tokenizer, model = self._tokenizer, self._model
        padded = tokenizer.pad({"input_ids": batch}, padding=True, return_tensors="pt").to(model.device)
        self.stats.add_batch(batch, batch, padded["input_ids"].shape[1])
        config = GenerationConfig(
            max_new_tokens=max_new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=model.generation_config.eos_token_id,
            bos_token_id=model.generation_config.bos_token_id,
            return_dict_in_generate=True,
            output_logits=ids is not None,
        )
        with torch.inference_mode():
            out = model.generate(**padded, generation_config=config)
        new = out.sequences[:, padded["input_ids"].shape[1] :]
        texts = tokenizer.batch_decode(new, skip_special_tokens=True)
        if ids is None:
            return [Completion(text) for text in texts]
        pair = out.logits[0][:, list(ids)].float().softmax(dim=-1)[:, 0].tolist()
        return [Completion(text, score) for text, score in zip(texts, pair)]


def _settled(stop: Callable[[str], bool] | None, tokenizer: Any, tokens: list[int]) -> bool:
    return stop is not None and stop(tokenizer.decode(tokens, skip_special_tokens=True))


def _cache_arg(model: Any, cache: Any) -> dict[str, Any]:
    """The cache keyword of the model's forward: ``cache`` in recent transformers, ``past_key_values`` before."""
    import inspect

    return {"cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values": cache}
