"""Which writing system a language uses, and how much of a text is written in it (Unicode block ranges)."""

from __future__ import annotations

import unicodedata

LATIN = ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0x24F), (0x1E00, 0x1EFF))
HAN = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0xF900, 0xFAFF), (0x20000, 0x2A6DF))
KANA = ((0x3040, 0x309F), (0x30A0, 0x30FF), (0x31F0, 0x31FF), (0xFF66, 0xFF9F))
ARABIC = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))

SCRIPTS: dict[str, tuple[tuple[int, int], ...]] = {
    "Latin": LATIN,
    "Han": HAN,
    "Han+Kana": HAN + KANA,
    "Hangul": ((0xAC00, 0xD7AF), (0x1100, 0x11FF), (0x3130, 0x318F)),
    "Arabic": ARABIC,
    "Devanagari": ((0x0900, 0x097F), (0xA8E0, 0xA8FF)),
    "Bengali": ((0x0980, 0x09FF),),
    "Gurmukhi": ((0x0A00, 0x0A7F),),
    "Gujarati": ((0x0A80, 0x0AFF),),
    "Oriya": ((0x0B00, 0x0B7F),),
    "Tamil": ((0x0B80, 0x0BFF),),
    "Telugu": ((0x0C00, 0x0C7F),),
    "Kannada": ((0x0C80, 0x0CFF),),
    "Malayalam": ((0x0D00, 0x0D7F),),
    "Sinhala": ((0x0D80, 0x0DFF),),
    "Thai": ((0x0E00, 0x0E7F),),
    "Lao": ((0x0E80, 0x0EFF),),
    "Myanmar": ((0x1000, 0x109F),),
    "Georgian": ((0x10A0, 0x10FF),),
    "Ethiopic": ((0x1200, 0x139F),),
    "Khmer": ((0x1780, 0x17FF),),
    "Cyrillic": ((0x0400, 0x052F),),
    "Greek": ((0x0370, 0x03FF), (0x1F00, 0x1FFF)),
    "Hebrew": ((0x0590, 0x05FF),),
    "Armenian": ((0x0530, 0x058F),),
}

# ISO 639-1 code -> (English name, script); languages written in more than one script are left out
LANGUAGE_SCRIPTS: dict[str, tuple[str, str]] = {
    "en": ("English", "Latin"),
    "fr": ("French", "Latin"),
    "de": ("German", "Latin"),
    "es": ("Spanish", "Latin"),
    "it": ("Italian", "Latin"),
    "pt": ("Portuguese", "Latin"),
    "nl": ("Dutch", "Latin"),
    "pl": ("Polish", "Latin"),
    "cs": ("Czech", "Latin"),
    "ro": ("Romanian", "Latin"),
    "sv": ("Swedish", "Latin"),
    "da": ("Danish", "Latin"),
    "fi": ("Finnish", "Latin"),
    "hu": ("Hungarian", "Latin"),
    "tr": ("Turkish", "Latin"),
    "vi": ("Vietnamese", "Latin"),
    "id": ("Indonesian", "Latin"),
    "ms": ("Malay", "Latin"),
    "sw": ("Swahili", "Latin"),
    "tl": ("Tagalog", "Latin"),
    "yo": ("Yoruba", "Latin"),
    "ha": ("Hausa", "Latin"),
    "zh": ("Chinese", "Han"),
    "ja": ("Japanese", "Han+Kana"),
    "ko": ("Korean", "Hangul"),
    "ar": ("Arabic", "Arabic"),
    "fa": ("Persian", "Arabic"),
    "ur": ("Urdu", "Arabic"),
    "ps": ("Pashto", "Arabic"),
    "hi": ("Hindi", "Devanagari"),
    "mr": ("Marathi", "Devanagari"),
    "ne": ("Nepali", "Devanagari"),
    "bn": ("Bengali", "Bengali"),
    "as": ("Assamese", "Bengali"),
    "pa": ("Punjabi", "Gurmukhi"),
    "gu": ("Gujarati", "Gujarati"),
    "or": ("Odia", "Oriya"),
    "ta": ("Tamil", "Tamil"),
    "te": ("Telugu", "Telugu"),
    "kn": ("Kannada", "Kannada"),
    "ml": ("Malayalam", "Malayalam"),
    "si": ("Sinhala", "Sinhala"),
    "th": ("Thai", "Thai"),
    "lo": ("Lao", "Lao"),
    "my": ("Burmese", "Myanmar"),
    "ka": ("Georgian", "Georgian"),
    "am": ("Amharic", "Ethiopic"),
    "km": ("Khmer", "Khmer"),
    "ru": ("Russian", "Cyrillic"),
    "uk": ("Ukrainian", "Cyrillic"),
    "bg": ("Bulgarian", "Cyrillic"),
    "el": ("Greek", "Greek"),
    "he": ("Hebrew", "Hebrew"),
    "hy": ("Armenian", "Armenian"),
}


def language_script(lang: str) -> str | None:
    """The script ``lang`` is written in, or None when it is not in the table (the script check is skipped).
    A ``-Latn`` subtag (a romanized split, ``hi-Latn``) is Latin."""
    if lang.lower().endswith("-latn"):
        return "Latin"
    entry = LANGUAGE_SCRIPTS.get(lang.split("-")[0].lower())
    return entry[1] if entry else None


def language_name(lang: str) -> str:
    entry = LANGUAGE_SCRIPTS.get(lang.split("-")[0].lower())
    romanized = " (romanized)" if lang.lower().endswith("-latn") else ""
    return entry[0] + romanized if entry else lang


def script_share(text: str, script: str) -> float | None:
    """The share of the letters of ``text`` that belong to ``script``; None when it has no letters.

    >>> script_share("नमस्ते world", "Devanagari")  # 6 Devanagari letters and signs, 5 Latin letters
    0.5454545454545454
    >>> script_share("1234 !?", "Latin") is None
    True
    """
    ranges = SCRIPTS[script]
    letters = [ord(c) for c in text if unicodedata.category(c)[0] in "LM"]
    if not letters:
        return None
    return sum(any(lo <= c <= hi for lo, hi in ranges) for c in letters) / len(letters)
