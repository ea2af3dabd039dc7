"""Translators behind one small interface, named by a spec: ``googletrans``, ``hf:<model>``, ``openai:<model>``.

The interface, its error and the translation cache belong to the data layer
(:mod:`cgbench.benchmarks.translation`); ``cgbench data add-language`` builds a translator here and hands it
to :func:`cgbench.benchmarks.add_language.add_language`.
"""

from __future__ import annotations

import difflib
from typing import Any

from cgbench.benchmarks.translation import TranslationError, Translator

KINDS = ("googletrans", "hf", "openai")


def get_translator(spec: str, **options: Any) -> Translator:
    """The translator named by ``spec``; ``options`` (None values ignored) go to its constructor.

    Options: ``base_url`` (openai), ``target_code`` and ``device`` (hf), ``service_url`` (googletrans).
    """
    kind, _, model = spec.partition(":")
    options = {k: v for k, v in options.items() if v is not None}
    if kind == "googletrans" and not model:
        from cgbench.models.translators.googletrans import GoogleTranslator

        return GoogleTranslator(**_only(options, "service_url"))
    if kind == "hf" and model:
        from cgbench.models.translators.hf import HFTranslator

        return HFTranslator(model, **_only(options, "target_code", "device"))
    if kind == "openai" and model:
        from cgbench.models.translators.openai import OpenAITranslator

        return OpenAITranslator(model, **_only(options, "base_url"))
    close = difflib.get_close_matches(kind, KINDS, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close and close[0] != kind else ""
    raise TranslationError(
        f"unknown translator {spec!r}; choose googletrans, hf:<model id or path> or openai:<model>.{hint}"
    )


def _only(options: dict[str, Any], *names: str) -> dict[str, Any]:
    unused = sorted(set(options) - set(names))
    if unused:
        raise TranslationError(f"option(s) {', '.join(unused)} do not apply to this translator")
    return {k: options[k] for k in names if k in options}


__all__ = ["TranslationError", "Translator", "get_translator"]
