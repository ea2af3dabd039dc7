"""Any OpenAI-compatible server (``vllm serve``, SGLang, a hosted API) over async HTTP.

Requests run concurrently up to ``concurrency``; a 429, a 5xx, a timeout or a
dropped connection is retried with exponential backoff (honouring
``Retry-After``), and the last failure becomes one clear ``BackendError``. The
API key is read from the environment at request time and only ever sent in the
``Authorization`` header: it is never logged, stored on the object or put in
an error message.

The server tokenizes the prompt, so cgbench cannot keep special-token strings in
user text literal here (the hf and vllm backends do): whether a prompt that
spells ``<|eot_id|>`` becomes a control token depends on the server.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx

from cgbench.models.backends.base import BackendError, Completion, Prompt, ScoreTokens, mask_url, score_groups

RETRY_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
TOP_LOGPROBS = 20
MAX_BACKOFF_S = 30.0


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
        self.base_url = base_url.rstrip("/")
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

            async def one(prompt: Prompt) -> Completion:
                async with gate:
                    return await self._complete_one(client, prompt, max_new_tokens, score_tokens)

            return list(await asyncio.gather(*(one(p) for p in prompts)))

    # -- plain chat, for teachers and translators ------------------------------------------------

    def chat(self, conversations: Sequence[Sequence[dict[str, str]]], **sampling: Any) -> list[str]:
        """The assistant's reply to each conversation, in order. ``sampling`` goes into the request body."""
        return _run(self.achat(conversations, **sampling))

    async def achat(self, conversations: Sequence[Sequence[dict[str, str]]], **sampling: Any) -> list[str]:
        async with self._client() as client:
            gate = asyncio.Semaphore(self.concurrency)

            async def one(messages: Sequence[dict[str, str]]) -> str:
                async with gate:
                    body = {"model": self.model, "messages": list(messages), **sampling}
                    data = await self._post(client, "/chat/completions", body)
                    return _message_text(data, self._shown("/chat/completions"))

            return list(await asyncio.gather(*(one(c) for c in conversations)))

    # -- internals --------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

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
        if prompt.messages is not None:
            text = _message_text(data, self._shown(path))
            top = _chat_top_logprobs(data)
        else:
            text = _choice(data, self._shown(path)).get("text") or ""
            top = _completion_top_logprobs(data)
        score = first_token_score(top, score_tokens) if score_tokens and top else None
        return Completion(text=text, score=score)

    async def _post(self, client: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await with_retries(
            lambda: client.post(self._url(path), json=body),
            what=self._shown(path),
            max_retries=self.max_retries,
            backoff=self.backoff,
        )


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
        except httpx.TimeoutException:
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
    """
    sides = [[_best_prefix_logprob(top, word) for word in words] for words in score_groups(score_tokens)]
    if all(lp is None for side in sides for lp in side):
        return None
    unsafe, safe = (sum(math.exp(lp) for lp in side if lp is not None) for side in sides)
    return unsafe / (unsafe + safe)


def _best_prefix_logprob(top: dict[str, float], word: str) -> float | None:
    word = word.strip()  # score words may carry the leading space of their token (" Unsafe", " yes")
    matches = [(len(t.strip()), lp) for t, lp in top.items() if t.strip() and word.startswith(t.strip())]
    return max(matches)[1] if matches else None


def _choice(data: Any, what: str) -> dict[str, Any]:
    try:
        return data["choices"][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise BackendError(f"{what}: the response has no choices[0]") from exc


def _message_text(data: Any, what: str) -> str:
    message = _choice(data, what).get("message") or {}
    return message.get("content") or ""


def _chat_top_logprobs(data: dict[str, Any]) -> dict[str, float]:
    try:
        first = data["choices"][0]["logprobs"]["content"][0]
        return {entry["token"]: entry["logprob"] for entry in first["top_logprobs"]}
    except (KeyError, IndexError, TypeError):
        return {}


def _completion_top_logprobs(data: dict[str, Any]) -> dict[str, float]:
    try:
        return dict(data["choices"][0]["logprobs"]["top_logprobs"][0])
    except (KeyError, IndexError, TypeError, ValueError):
        return {}


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
