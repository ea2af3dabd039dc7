"""Google Translate through the unofficial ``googletrans`` client: online only, an optional extra."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from cgbench.benchmarks.translation import TranslationError

DEFAULT_SERVICE = "translate.googleapis.com"
INSTALL_HINT = "pip install 'cgbench[translate]'"


class GoogleTranslator:
    spec = "googletrans"
    batch_size = 32

    def __init__(self, service_url: str = DEFAULT_SERVICE, timeout: float = 30.0) -> None:
        self.service_url = service_url
        self.timeout = timeout
        self.model = f"googletrans ({service_url})"

    def translate(self, texts: Sequence[str], target: str) -> list[str | None]:
        try:
            from googletrans import Translator
        except ImportError as exc:
            raise TranslationError(
                f"the googletrans translator needs the googletrans package ({INSTALL_HINT}) and internet access; "
                "offline, use --translator hf:<model path> or --from-dir DIR"
            ) from exc

        async def run() -> list:
            async with Translator(service_urls=(self.service_url,), raise_exception=True, timeout=self.timeout) as gt:
                return await gt.translate(list(texts), dest=target, src="en")

        try:
            results = asyncio.run(run())
        except ValueError as exc:  # googletrans' answer to a language code it does not know
            raise TranslationError(f"googletrans does not know the target language {target!r} ({exc})") from exc
        except Exception as exc:  # noqa: BLE001 - httpx errors and googletrans' bare Exception on a bad status
            raise TranslationError(
                f"googletrans could not translate through {self.service_url} ({type(exc).__name__}: {exc}). "
                "It works online only: check the connection, or use --translator hf:<model path> or --from-dir DIR"
            ) from exc
        return [result.text or None for result in results]
