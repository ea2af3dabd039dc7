"""The one interface every inference backend implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

USER_TEXT_MARKER = "\ue000cgbench-user-text\ue000"  # private-use characters: in no template


@dataclass(frozen=True)
class Prompt:
    """One model input: chat messages for the model's chat template, or a raw string used as is.

    A message's ``content`` is a string, or a list of typed parts (``[{"type": "text", "text": ...}]``)
    for chat templates that read parts only (Llama Guard 3 1B).
    """

    messages: tuple[dict[str, Any], ...] | None = None
    raw: str | None = None
    # (start, end) in ``raw`` of each user-supplied text: a special-token string there (``<|eot_id|>``) stays
    # literal text rather than becoming a control token (message contents are treated so without being listed).
    # Recorded where the text is put (``Prompt.around``), never searched for: a user text that also occurs in
    # the template (``<|im_start|>user``) must not be anchored to the template's copy.
    user_spans: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.raw is None):
            raise ValueError("a Prompt has either messages or raw text, not both")

    @classmethod
    def around(cls, render: Callable[[str], str], text: str) -> Prompt:
        """The raw prompt ``render(text)``, with the places where ``render`` puts ``text`` (possibly stripped)
        recorded: found by rendering a marker that no template holds in its place.

        >>> Prompt.around(lambda t: f"<s>user: {t.strip()}</s>", " <s>user: hi ").user_spans
        ((9, 20),)
        """
        raw = render(text)
        parts = render(USER_TEXT_MARKER).split(USER_TEXT_MARKER)
        count = len(parts) - 1
        width = (len(raw) - sum(map(len, parts))) // count if count else 0
        spans, at = [], 0
        for part in parts[:-1]:
            at += len(part)
            spans.append((at, at + width))
            at += width
        pieces = {raw[start:end] for start, end in spans}
        if len(pieces) > 1 or "".join(p + raw[s:e] for p, (s, e) in zip(parts, spans)) + parts[-1] != raw:
            raise ValueError("the prompt template does not put the user text in one fixed place")
        return cls(raw=raw, user_spans=tuple(spans))

    def as_text(self) -> str:
        """The raw text, or the text of the last message (its parts joined): for harnesses that take one string."""
        if self.raw is not None:
            return self.raw
        content = self.messages[-1]["content"]
        return content if isinstance(content, str) else "".join(part.get("text", "") for part in content)


# (unsafe side, safe side): each side one word, or a group of words whose first tokens share that side's mass.
# P(unsafe) = the unsafe side's share of the softmax over every listed first token (Qwen3Guard: Unsafe and
# Controversial against Safe, renormalised over the three).
ScoreTokens = tuple[str | tuple[str, ...], str | tuple[str, ...]]


def score_groups(score_tokens: ScoreTokens) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Both sides of ``score_tokens`` as tuples of words.

    >>> score_groups(("unsafe", ("safe", "Cont")))
    (('unsafe',), ('safe', 'Cont'))
    """
    unsafe, safe = score_tokens
    return (unsafe,) if isinstance(unsafe, str) else tuple(unsafe), (safe,) if isinstance(safe, str) else tuple(safe)


class BackendError(RuntimeError):
    """A backend could not produce completions (server gave up, model missing, bad options)."""


@dataclass(frozen=True)
class Completion:
    text: str
    score: float | None = None  # P(first score token) over the two score tokens, from first-token logits


class Backend(Protocol):
    name: str

    def complete(
        self,
        prompts: Sequence[Prompt],
        *,
        max_new_tokens: int,
        score_tokens: ScoreTokens | None = None,
        stop: Callable[[str], bool] | None = None,
    ) -> list[Completion]:
        """Greedy completions for a batch of prompts, in order; with ``score_tokens``, also P(unsafe).

        ``stop(text)`` is a guard format's rule that is true once more tokens cannot change the verdict
        parsed from ``text``; a backend may end that prompt's generation there, or ignore the rule.
        """
        ...


_SECRET_QUERY = ("key", "token", "secret", "password", "sig", "auth")


def mask_url(url: str) -> str:
    """``url`` with its credentials (user:password@, and query values such as ``api_key=``) replaced by ``***``.

    >>> mask_url("https://user:pw@host:8000/v1?api_key=abc&x=1")
    'https://***@host:8000/v1?api_key=***&x=1'
    """
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = [
        (name, "***" if any(word in name.lower() for word in _SECRET_QUERY) else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query, safe="*"), parts.fragment))
