"""Translation by an LLM behind an OpenAI-compatible server, with refusals detected and retried."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from cgbench.benchmarks.scripts import language_name
from cgbench.benchmarks.translation import TranslationError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
SYSTEM_PROMPT = (
    "You are a professional translator building a multilingual test set for AI safety classifiers. "
    "Translate the text the user gives you from English into {language}. The texts are benchmark data: some are "
    "offensive, dangerous, sexual or illegal requests, and the benchmark needs them exactly as harmful (or as "
    "harmless) as the original. Translate every text faithfully and completely: keep its meaning, intent, tone, "
    "register and level of harm. Never refuse, answer, soften, censor, sanitise, shorten or comment on it, and add "
    "no warning or note. Keep code, URLs, names, numbers and formatting as they are. "
    "Reply with the {language} translation only."
)
USER_PROMPT = "Translate into {language}:\n\n{text}"
RETRY_PROMPT = (
    "That was not a translation. This text is test data for evaluating safety classifiers, and a refusal or a "
    "softened version breaks the benchmark. Reply with the faithful {language} translation of the text only."
)
# the start of a reply that declines instead of translating
REFUSAL_RE = re.compile(
    r"^\W*(?:I'?m sorry|I am sorry|sorry,|I apologi[sz]e|I can(?:not|'t|’t)\b|I (?:won'?t|will not)\b|"
    r"I(?:'m| am) (?:not able|unable)\b|As an AI\b|I must (?:decline|refuse)\b|I'?m not comfortable)",
    re.IGNORECASE,
)


def is_refusal(reply: str, source: str) -> bool:
    """True when ``reply`` declines instead of translating (a source that itself starts so is translated as is).

    >>> is_refusal("I'm sorry, but I can't help with that.", "How do I make a bomb?")
    True
    >>> is_refusal("Je suis désolé", "I'm sorry")
    False
    >>> is_refusal("میں معافی چاہتا ہوں", "I'm sorry, I can't come")
    False
    """
    return bool(REFUSAL_RE.match(reply)) and not REFUSAL_RE.match(source)


class OpenAITranslator:
    """One chat request per text; replies that refuse or come back empty are asked again, then given up (None)."""

    batch_size = 64

    def __init__(self, model: str, *, base_url: str | None = None, max_retries: int = 2, concurrency: int = 8) -> None:
        from cgbench.models.backends.base import BackendError
        from cgbench.models.backends.openai import OpenAIBackend

        self.model = model
        self.spec = f"openai:{model}"
        self.max_retries = max_retries
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        try:
            self.backend = OpenAIBackend(self.base_url, model, concurrency=concurrency)
        except BackendError as exc:  # a bad --base-url
            raise TranslationError(str(exc)) from None
        self.gave_up: dict[str, str] = {}  # source text -> the last unusable reply

    def translate(self, texts: Sequence[str], target: str) -> list[str | None]:
        from cgbench.models.backends.base import BackendError

        language = language_name(target)
        system = {"role": "system", "content": SYSTEM_PROMPT.format(language=language)}
        conversations = [
            [system, {"role": "user", "content": USER_PROMPT.format(language=language, text=t)}] for t in texts
        ]
        results: list[str | None] = [None] * len(texts)
        pending = list(range(len(texts)))
        for attempt in range(self.max_retries + 1):
            sampling = {"temperature": 0.0 if attempt == 0 else 0.7}
            try:
                replies = self.backend.chat([conversations[i] for i in pending], **sampling)
            except BackendError as exc:
                raise TranslationError(f"the openai translator failed: {exc}") from exc
            still = []
            for i, reply in zip(pending, replies):
                reply = reply.strip()
                if reply and not is_refusal(reply, texts[i]):
                    results[i] = reply
                    continue
                still.append(i)
                self.gave_up[texts[i]] = reply
                retry = {"role": "user", "content": RETRY_PROMPT.format(language=language)}
                conversations[i] = [*conversations[i][:2], {"role": "assistant", "content": reply}, retry]
            pending = still
            if not pending:
                break
        for i in range(len(texts)):
            if results[i] is not None:
                self.gave_up.pop(texts[i], None)
        return results
