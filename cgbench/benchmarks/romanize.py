"""Romanized splits: a language's texts in Latin script, typed the informal way (no diacritics, no tone marks).

Hindi, Bengali, Japanese and Chinese users often type in Latin script. ``cgbench data add-variant LANG --script
latin`` writes ``LANG-Latn``, a split parallel to LANG's, by transliteration, and registers it like an added
language (``add_language``'s storage, checks and manifest). The romanizer of each language was chosen by trying
the registry's candidates on the same sentences (docs/diagnostics.md):

- Chinese: ``pypinyin`` (``lazy_pinyin``, tones dropped), one syllable per word;
- Japanese: ``pykakasi`` (Hepburn), which reads kanji as Japanese (``uroman`` reads them as Chinese);
- every other script, Hindi and Bengali included: ``uroman``, which drops the inherent vowel at the end of a
  Hindi word as people type it (``indic-transliteration``'s schemes keep it and mark long vowels).

Whatever the romanizer, the result goes through :func:`informal`: full-width punctuation to ASCII, diacritics
dropped, spaces tidied.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec

from cgbench.benchmarks.add_language import Added, ValidationFailed, check_code, validate_new, write_final
from cgbench.benchmarks.errors import DataError
from cgbench.benchmarks.loading import available_languages, load_split
from cgbench.benchmarks.registry import BENCHMARKS

SCRIPTS = {"latin": "Latn"}  # --script -> the ISO 15924 subtag of the variant's code
# full-width punctuation, which carries no space after it, to ASCII with one (tidied away before a line end)
PUNCTUATION = str.maketrans(
    {"。": ". ", "、": ", ", "，": ", ", "！": "! ", "？": "? ", "：": ": ", "；": "; "}
    | {"「": '"', "」": '"', "『": '"', "』": '"', "・": " ", "〜": "~"}
)
_HAN = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")
_SPACE_BEFORE = re.compile(r"[ \t]+([,.!?;:%)\]}])")
_SPACE_AFTER = re.compile(r"([(\[{])[ \t]+")


@dataclass(frozen=True)
class Romanizer:
    package: str
    scheme: str
    convert: Callable[[str], str]

    @property
    def version(self) -> str:
        try:
            return version(self.package)
        except PackageNotFoundError:
            return "?"

    def __call__(self, texts: Sequence[str]) -> list[str]:
        return [informal(self.convert(text)) for text in texts]


def variant_code(lang: str, script: str) -> str:
    if script not in SCRIPTS:
        raise DataError(f"--script {script!r}: only {', '.join(SCRIPTS)} is supported")
    return f"{lang}-{SCRIPTS[script]}"


def informal(text: str) -> str:
    """Latin text as people type it: ASCII punctuation, no diacritics, single spaces, no space before a comma."""
    text = unicodedata.normalize("NFKC", text.translate(PUNCTUATION))
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    return "\n".join(_SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", line)) for line in lines)


def romanizer(lang: str) -> Romanizer:
    """The romanizer of ``lang`` (its package must be installed: ``pip install 'cgbench[romanize]'``)."""
    base = lang.split("-")[0]
    if base == "zh":
        found = Romanizer("pypinyin", "lazy_pinyin, Style.NORMAL (no tones)", _pinyin)
    elif base == "ja":
        found = Romanizer("pykakasi", "Hepburn", _hepburn)
    else:
        found = Romanizer("uroman", f"lcode={_ISO3.get(base, base)}", functools.partial(_uroman, base))
    if find_spec(found.package) is None:
        raise DataError(f"romanizing {lang!r} needs the {found.package} package: pip install 'cgbench[romanize]'")
    return found


def _pinyin(text: str) -> str:
    from pypinyin import Style, lazy_pinyin

    parts = []
    for run in _HAN.split(text):
        if not run:
            continue
        if _HAN.fullmatch(run):
            run = " ".join(lazy_pinyin(run, style=Style.NORMAL))
            if parts and parts[-1][-1:].isalnum():
                parts.append(" ")
        elif parts and run[:1].isalnum():
            parts.append(" ")
        parts.append(run)
    return "".join(parts)


@functools.cache
def _kakasi():
    import pykakasi

    return pykakasi.kakasi()


def _hepburn(text: str) -> str:
    return "\n".join(" ".join(part["hepburn"] for part in _kakasi().convert(line)) for line in text.split("\n"))


_ISO3 = {"hi": "hin", "bn": "ben", "ur": "urd", "ar": "ara", "ru": "rus", "ko": "kor", "th": "tha", "ne": "nep"}


@functools.cache
def _uroman_engine():
    import uroman

    return uroman.Uroman()


def _uroman(lang: str, text: str) -> str:
    return _uroman_engine().romanize_string(text, lcode=_ISO3.get(lang, lang))


def add_variant(
    lang: str, script: str = "latin", data_dir: str | os.PathLike | None = None, force: bool = False
) -> Added:
    """Romanize every set of ``lang`` into ``LANG-Latn``, validate it against English, and make it final in
    the user dir, as ``add_language`` does; the manifest names the romanizer's package, version and scheme."""
    code = variant_code(lang, script)
    if lang not in available_languages(data_dir) or lang == "en":
        raise DataError(f"{lang!r}: no such split to romanize (choose from {', '.join(available_languages(data_dir))})")
    check_code(code, data_dir, force)
    convert = romanizer(lang)
    english = {benchmark: load_split(benchmark, "en", data_dir) for benchmark in BENCHMARKS}
    native = {benchmark: load_split(benchmark, lang, data_dir) for benchmark in BENCHMARKS}
    texts = {benchmark: convert([item.text for item in items]) for benchmark, items in native.items()}
    labels = {benchmark: [item.label for item in items] for benchmark, items in native.items()}
    provenance = {
        "method": "transliterate",
        "translator": None,
        "model": None,
        "variant_of": lang,
        "romanizer": {"package": convert.package, "version": convert.version, "scheme": convert.scheme},
    }
    report = validate_new(code, texts, labels, english)
    if report.errors:
        raise ValidationFailed(code, report, "the romanizer's output failed the checks")
    folder, manifest = write_final(code, texts, labels, provenance, report, data_dir)
    return Added(code, folder, manifest, report)
