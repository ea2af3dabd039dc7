"""Any OpenAI-compatible server (``vllm serve``, SGLang, a hosted API) over async HTTP.

Requests run concurrently up to ``concurrency``; a 429, a 5xx, a timeout or a
dropped connection is retried with exponential backoff (honouring
``Retry-After``), and the last failure becomes one clear ``BackendError``. The
API key is read from the environment at request time and only ever sent in the
``Authorization`` header: it is never logged, stored on the object or put in
an error message.

The response is checked before it is used: a choice, message, text or log-probability of the wrong shape,
a non-finite log-probability or one above 0 becomes one ``BackendError`` naming the batch item (nothing is
written for it). Each attempt has a total deadline (``timeout`` seconds for the whole request, however slowly
the server trickles its bytes). A stored output is cut at ``MAX_OUTPUT_CHARS`` characters: its head is kept
and ``OUTPUT_CUT_MARK`` says how much was dropped. Error text that echoes the key or an ``Authorization``
header is redacted. A base URL with ``user:password@`` is refused: the key goes in ``$OPENAI_API_KEY``.

The server tokenizes the prompt, so cgbench cannot keep special-token strings in
user text literal here (the hf and vllm backends do): whether a prompt that
spells ``<|eot_id|>`` becomes a control token depends on the server.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from cgbench.models.backends.base import BackendError, Completion, Prompt, ScoreTokens, mask_url, score_groups

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
TOP_LOGPROBS = 20
MAX_BACKOFF_S = 30.0
MAX_OUTPUT_CHARS = 16_384  # a guard's verdict is at most a few hundred tokens; the rest is not worth storing
OUTPUT_CUT_MARK = "\n[cgbench: output cut, {dropped} more characters not stored]"
LOGPROB_TOLERANCE = 1e-4  # servers round; a log-probability a little above 0 is still a probability of 1
_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+")


class OpenAIBackend:
    """The Backend protocol (``complete``) and plain chat (``chat``/``achat``) over an OpenAI-compatible API."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        timeout: float = 60.0,
        max_retries: int = 5,
        backoff: float = 1.0,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.base_url = _checked_base_url(base_url)
        self.model = model
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff

    def __repr__(self) -> str:
        shown = mask_url(self.base_url)
        return f"OpenAIBackend(base_url={shown!r}, model={self.model!r}, api_key_env={self.api_key_env!r})"

    # -- the Backend protocol -------------------------------------------------------------------

    def complete(
        self,
        prompts: Sequence[Prompt],
        *,
        max_new_tokens: int,
        score_tokens: ScoreTokens | None = None,
        stop: Callable[[str], bool] | None = None,  # ignored: full generation
    ) -> list[Completion]:
        """Greedy completions in order; chat messages go to /chat/completions, raw text to /completions."""
        return _run(self.acomplete(prompts, max_new_tokens=max_new_tokens, score_tokens=score_tokens))

    async def acomplete(
        self,
        prompts: Sequence[Prompt],
        *,
        max_new_tokens: int,
        score_tokens: ScoreTokens | None = None,
    ) -> list[Completion]:
        async with self._client() as client:
            gate = asyncio.Semaphore(self.concurrency)

            async def one(index: int, prompt: Prompt) -> Completion:
                async with gate:
                    try:
                        return await self._complete_one(client, prompt, max_new_tokens, score_tokens)
                    except BackendError as exc:
                        raise BackendError(f"batch item {index}: {exc}") from None

            return list(await asyncio.gather(*(one(i, p) for i, p in enumerate(prompts))))

    # -- plain chat, for teachers and translators ------------------------------------------------

    def chat(self, conversations: Sequence[Sequence[dict[str, str]]], **sampling: Any) -> list[str]:
        """The assistant's reply to each conversation, in order. ``sampling`` goes into the request body."""
        return _run(self.achat(conversations, **sampling))

    async def achat(self, conversations: Sequence[Sequence[dict[str, str]]], **sampling: Any) -> list[str]:
        async with self._client() as client:
            gate = asyncio.Semaphore(self.concurrency)

            async def one(index: int, messages: Sequence[dict[str, str]]) -> str:
                async with gate:
                    body = {"model": self.model, "messages": list(messages), **sampling}
                    try:
                        data = await self._post(client, "/chat/completions", body)
                        return _message_text(data, self._shown("/chat/completions"))
                    except BackendError as exc:
                        raise BackendError(f"batch item {index}: {exc}") from None

            return list(await asyncio.gather(*(one(i, c) for i, c in enumerate(conversations))))

    # -- internals --------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        """``path`` appended to the base URL's path; its query (``?api-version=...``) stays at the end."""
        base = httpx.URL(self.base_url)
        return str(base.copy_with(path=base.path.rstrip("/") + path))

    def _shown(self, path: str) -> str:
        """The URL as messages show it: credentials masked."""
        return mask_url(self._url(path))

    def _client(self) -> httpx.AsyncClient:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        return httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(self.timeout), limits=limits)

    async def _complete_one(
        self,
        client: httpx.AsyncClient,
        prompt: Prompt,
        max_new_tokens: int,
        score_tokens: ScoreTokens | None,
    ) -> Completion:
        body: dict[str, Any] = {"model": self.model, "max_tokens": max_new_tokens, "temperature": 0.0}
        if prompt.messages is not None:
            path = "/chat/completions"
            body["messages"] = list(prompt.messages)
            if score_tokens:
                body.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        else:
            path = "/completions"
            body["prompt"] = prompt.raw
            if score_tokens:
                body["logprobs"] = TOP_LOGPROBS
        data = await self._post(client, path, body)
        what = self._shown(path)
        if prompt.messages is not None:
            text = _message_text(data, what)
            top = _chat_top_logprobs(data, what) if score_tokens else {}
        else:
            text = _completion_text(data, what)
            top = _completion_top_logprobs(data, what) if score_tokens else {}
        score = first_token_score(top, score_tokens) if score_tokens and top else None
        return Completion(text=cap_output(text), score=score)

    async def _post(self, client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
        key = os.environ.get(self.api_key_env) or ""
        try:
            return await with_retries(
                lambda: asyncio.wait_for(client.post(self._url(path), json=body), self.timeout),
                what=self._shown(path),
                max_retries=self.max_retries,
                backoff=self.backoff,
            )
        except BackendError as exc:
            raise BackendError(redact(str(exc), key)) from None


async def with_retries(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    what: str,
    max_retries: int,
    backoff: float,
) -> dict[str, Any]:
    """The JSON body of the first good response; retries 429/5xx/timeouts, raises ``BackendError`` at the end."""
    last = ""
    for attempt in range(max_retries + 1):
        retry_after = None
        try:
            response = await send()
        except (httpx.TimeoutException, TimeoutError):
            last = "timed out"
        except httpx.TransportError as exc:
            last = f"connection failed ({type(exc).__name__})"
        else:
            if response.status_code < 400:
                try:
                    return response.json()
                except ValueError as exc:
                    raise BackendError(
                        f"{what}: the server sent a non-JSON body (HTTP {response.status_code})"
                    ) from exc
            detail = _error_detail(response)
            if response.status_code not in RETRY_STATUS:
                raise BackendError(f"{what}: HTTP {response.status_code}: {detail}")
            last = f"HTTP {response.status_code}: {detail}"
            retry_after = _retry_after(response)
        if attempt < max_retries:
            delay = retry_after if retry_after is not None else backoff * 2**attempt * (1 + random.random() / 4)
            await asyncio.sleep(min(delay, MAX_BACKOFF_S))
    raise BackendError(f"{what}: gave up after {max_retries + 1} attempts; last error: {last}")


def first_token_score(top: dict[str, float], score_tokens: ScoreTokens) -> float | None:
    """P(unsafe) from the first token's top log-probabilities: the unsafe side's share over the score words.

    A token counts for a score word when its text (spaces stripped) is a non-empty prefix of the word;
    the longest such token is taken. A word with no matching token in the top list gets probability 0.

    >>> round(first_token_score({"unsafe": math.log(0.3), "safe": math.log(0.6)}, ("unsafe", "safe")), 3)
    0.333
    >>> first_token_score({"safe": -0.01}, ("unsafe", "safe"))
    0.0
    >>> first_token_score({"Hello": -0.01}, ("unsafe", "safe")) is None
    True
    >>> first_token_score({"unsafe": -1e6, "safe": -1e6}, ("unsafe", "safe"))
    0.5
    """
    first, second = (
        _log_total([_best_prefix_logprob(top, word) for word in words]) for words in score_groups(score_tokens)
    )
    if first is None and second is None:
        return None
    if first is None or second is None:
        return 0.0 if first is None else 1.0
    difference = second - first  # P(first) = 1 / (1 + exp(second - first)), computed without overflow
    return 1.0 / (1.0 + math.exp(difference)) if difference < 700 else 0.0


def _log_total(logprobs: list[float | None]) -> float | None:
    """log of the summed probabilities of one side's score words (None where no word has a logprob)."""
    known = [lp for lp in logprobs if lp is not None]
    if not known:
        return None
    top = max(known)
    return top + math.log(sum(math.exp(lp - top) for lp in known))


def _best_prefix_logprob(top: dict[str, float], word: str) -> float | None:
    word = word.strip()  # score words may carry the leading space of their token (" Unsafe", " yes")
    matches = [(len(t.strip()), lp) for t, lp in top.items() if t.strip() and word.startswith(t.strip())]
    return max(matches)[1] if matches else None


def _choice(data: Any, what: str) -> dict[str, Any]:
    choices = data.get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list) or not choices:
        raise BackendError(f"{what}: the response has no choices[0] (got {_shape(data)})")
    if not isinstance(choices[0], dict):
        raise BackendError(f"{what}: choices[0] is {_shape(choices[0])}, expected an object")
    return choices[0]


def _message_text(data: Any, what: str) -> str:
    message = _choice(data, what).get("message")
    if not isinstance(message, dict):
        raise BackendError(f"{what}: choices[0].message is {_shape(message)}, expected an object")
    return _text(message.get("content"), "choices[0].message.content", what)


def _completion_text(data: Any, what: str) -> str:
    return _text(_choice(data, what).get("text"), "choices[0].text", what)


def _text(value: Any, field: str, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BackendError(f"{what}: {field} is {_shape(value)}, expected text")
    return value


def _choice_logprobs(data: Any, what: str) -> dict | None:
    """``choices[0].logprobs`` as an object, or None when the server sent none."""
    logprobs = _choice(data, what).get("logprobs")
    if logprobs is not None and not isinstance(logprobs, dict):
        raise BackendError(f"{what}: choices[0].logprobs is {_shape(logprobs)}, expected an object")
    return logprobs


def _chat_top_logprobs(data: Any, what: str) -> dict[str, float]:
    """The first generated token's top log-probabilities (empty when the server sent none)."""
    logprobs = _choice_logprobs(data, what)
    if logprobs is None:
        return {}
    content = logprobs.get("content")
    if not content:  # null or empty: no token was generated (a refusal), so there is no score
        return {}
    if not isinstance(content, list):
        raise BackendError(f"{what}: choices[0].logprobs.content is {_shape(content)}, expected a list")
    top = content[0].get("top_logprobs") if isinstance(content[0], dict) else None
    if not isinstance(top, list) or not all(isinstance(entry, dict) for entry in top):
        raise BackendError(f"{what}: choices[0].logprobs.content[0].top_logprobs is {_shape(top)}, expected a list")
    field = "choices[0].logprobs.content[0].top_logprobs"
    return _checked_logprobs([(entry.get("token"), entry.get("logprob")) for entry in top], field, what)


def _completion_top_logprobs(data: Any, what: str) -> dict[str, float]:
    logprobs = _choice_logprobs(data, what)
    if logprobs is None:
        return {}
    top = logprobs.get("top_logprobs")
    if not top:
        return {}
    if not isinstance(top, list):
        raise BackendError(f"{what}: choices[0].logprobs.top_logprobs is {_shape(top)}, expected a list")
    if not isinstance(top[0], dict):
        raise BackendError(f"{what}: choices[0].logprobs.top_logprobs[0] is {_shape(top[0])}, expected an object")
    return _checked_logprobs(list(top[0].items()), "choices[0].logprobs.top_logprobs[0]", what)


def _checked_logprobs(pairs: list[tuple[Any, Any]], field: str, what: str) -> dict[str, float]:
    """(token, log-probability) pairs as a dict; a token that is not text, or a log-probability that is not a
    finite number at most 0, is refused (never stored: a NaN score would poison every later resume)."""
    checked = {}
    for token, logprob in pairs:
        if not isinstance(token, str):
            raise BackendError(f"{what}: {field}: a token is {_shape(token)}, expected text")
        number = isinstance(logprob, int | float) and not isinstance(logprob, bool)
        if not number or not math.isfinite(logprob) or logprob > LOGPROB_TOLERANCE:
            raise BackendError(
                f"{what}: {field}: token {token[:40]!r} has log-probability {str(logprob)[:40]!r}, "
                "expected a finite number at most 0"
            )
        checked[token] = min(float(logprob), 0.0)
    return checked


def _shape(value: Any) -> str:
    """A short description of a JSON value for an error message."""
    if value is None:
        return "missing or null"
    kind = {dict: "an object", list: "a list", str: "text", bool: "a boolean"}.get(type(value), type(value).__name__)
    return f"{kind} {json_preview(value)}"


def json_preview(value: Any, limit: int = 60) -> str:
    import json

    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def cap_output(text: str, limit: int = MAX_OUTPUT_CHARS) -> str:
    """``text``, or its first ``limit`` characters and a mark saying how many were dropped.

    >>> cap_output("abcdef", limit=4)
    'abcd\\n[cgbench: output cut, 2 more characters not stored]'
    """
    if len(text) <= limit:
        return text
    return text[:limit] + OUTPUT_CUT_MARK.format(dropped=len(text) - limit)


def redact(text: str, key: str = "") -> str:
    """``text`` with the API key and any ``Bearer``/``Basic`` credential replaced by ``***``.

    >>> redact('echo: {"authorization": "Bearer sk-123"} sk-123', "sk-123")
    'echo: {"authorization": "Bearer ***"} ***'
    """
    if key:
        text = text.replace(key, "***")
    return _CREDENTIAL.sub(lambda m: f"{m.group(1)} ***", text)


def _checked_base_url(base_url: str) -> str:
    """The base URL without a trailing ``/``; one holding ``user:password@`` is refused (httpx would send Basic
    auth in place of the key), as is one that is not an http(s) URL."""
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise BackendError(f"--base-url {mask_url(base_url)!r} is not a URL ({exc})") from None
    if url.userinfo:
        raise BackendError(
            f"--base-url {mask_url(base_url)!r} holds user:password@: remove it and put the API key in "
            "$OPENAI_API_KEY (it is sent as a Bearer token)"
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise BackendError(f"--base-url {mask_url(base_url)!r} is not an http(s) URL such as http://localhost:8000/v1")
    return base_url if url.query else base_url.rstrip("/")


def _error_detail(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text
    return str(message)[:300]


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


def _run(coroutine: Awaitable[Any]) -> Any:
    """Run a coroutine from sync code; inside a running event loop, use the async methods instead."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    coroutine.close()
    raise BackendError("called from a running event loop: await acomplete()/achat() instead")
