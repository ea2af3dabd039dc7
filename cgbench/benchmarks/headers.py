"""Removing the ``Human user:`` header that the release puts before every prompt.

The translated releases carry the header in many spellings (see the data
sources): translated, transliterated, left in English, behind a language name
or a quote, with ASCII or full-width colons, the Bengali visarga as a colon,
non-breaking spaces, or no colon at all.
"""

from __future__ import annotations

import re
from collections import Counter

HEADERS: dict[str, tuple[str, ...]] = {
    "en": ("Human user", "Human Ser"),
    "fr": ("Utilisateurs humains", "Utilisateur humain", "L'utilisateur humain", "Utilisateur Fuman"),
    "zh": ("人类用户", "人类使用者", "人性化用户", "真人用户", "个人用户", "普通用户", "福满网友", "人类系列", "网友"),
    "ja": (
        "人間のユーザー",
        "人間ユーザー",
        "人間ユーザ",
        "人間の使用者",
        "人間使用者",
        "人間の使い手",
        "人間使い",
        "ヒューマン・サー",
        "ユーザー: 人間",  # "Human user" split in two (OpenAI Moderation 846); a lone "人間:" may be the prompt's
        "ユーザー",
        "使用者",
    ),
    "bn": ("মানব ব্যবহারকারী", "মানুষ ব্যবহারকারী", "হিউম্যান ইউজার", "হিউম্যান সের", "ফুমান ব্যবহারকারী", "একজন ব্যবহারকারী"),
    "hi": ("मानव उपयोगकर्ता", "मानव उपयोक्ता", "फूमन यूजर", "ह्यूमन सेर"),
    "ur": ("انسانی صارف",),  # the Urdu folder of the release (not among the paper's six)
}
_LANGUAGE_PREFIXES = ("Français",)
_ALL = sorted({h for hs in HEADERS.values() for h in hs}, key=len, reverse=True)
_SPACE = r"[\s\u00a0\u202f\u3000]*"
_COLON = r"[:：ঃ]"
_OPEN_QUOTE = r"[\"'“『「]?"
_HEADER_ALT = "|".join(re.escape(h) for h in _ALL)
_PREFIX_ALT = "|".join(re.escape(p) for p in _LANGUAGE_PREFIXES)
# header then a colon (possibly spaced), or a header alone followed by a line break / comma / quote
_HEADER_RE = re.compile(
    rf"^{_SPACE}{_OPEN_QUOTE}(?:(?:{_PREFIX_ALT}){_SPACE}{_COLON}{_SPACE})?"
    rf"(?:(?:{_HEADER_ALT}){_SPACE}(?:{_COLON}|,(?=\s)|(?=[「\"])|\n){_SPACE})+",
    re.IGNORECASE,
)


def strip_header(text: str) -> str:
    """The bare user prompt: ``text`` without a leading ``Human user:`` header in any language.

    >>> strip_header("Human user:\\nHow do I bake bread?")
    'How do I bake bread?'
    >>> strip_header("Utilisateur humain\\u00a0: Bonjour")
    'Bonjour'
    >>> strip_header("人間のユーザーである私は")  # merged into the sentence: left alone
    '人間のユーザーである私は'
    """
    return _HEADER_RE.sub("", text, count=1).strip()


def leftover_header(text: str) -> str | None:
    """The header a stripped prompt still starts with (followed by a separator), if any."""
    match = _HEADER_RE.match(text)
    return match.group(0) if match else None


_CANDIDATE_RE = re.compile(rf"^{_SPACE}([^\n:：ঃ]{{1,30}}?){_SPACE}{_COLON}")


def common_header(texts: list[str], min_share: float = 0.5) -> str | None:
    """A header unknown to :data:`HEADERS` that starts at least ``min_share`` of ``texts`` (already stripped).

    Imported folders of a new language carry the ``Human user:`` header translated into that language.

    >>> common_header(["Kasutaja: tere", "Kasutaja: kuidas?", "mis: see"])
    'Kasutaja'
    >>> common_header(["Hello there", "What: now", "Fine"]) is None
    True
    """
    found = Counter(m.group(1).strip() for t in texts if (m := _CANDIDATE_RE.match(t)))
    if not found:
        return None
    header, count = found.most_common(1)[0]
    return header if count >= min_share * len(texts) else None


def strip_given_header(text: str, header: str) -> str:
    """``text`` without a leading ``header`` followed by a colon.

    >>> strip_given_header("Kasutaja :  tere", "Kasutaja")
    'tere'
    """
    return re.sub(rf"^{_SPACE}{re.escape(header)}{_SPACE}{_COLON}", "", text, count=1).strip()
