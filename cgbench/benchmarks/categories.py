"""Harm categories of the benchmark items, read from the upstream metadata that ``Item.meta`` keeps.

OpenAI Moderation flags each prompt with eight binary categories (openai/moderation-api-release README:
S sexual, H hate, V violence, HR harassment, SH self-harm, S3 sexual/minors, H2 hate/threatening,
V2 violence/graphic); a prompt can carry several. SimpleSafetyTests gives each prompt one of five harm
areas. ToxicChat has no category labels. RTP-LX items carry the annotation dimensions their locale's annotators
scored above the lowest score, and a set added with ``cgbench data add-benchmark`` its category column: both per
language.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

OPENAI_CATEGORY_NAMES: dict[str, str] = {
    "S": "sexual",
    "H": "hate",
    "V": "violence",
    "HR": "harassment",
    "SH": "self-harm",
    "S3": "sexual/minors",
    "H2": "hate/threatening",
    "V2": "violence/graphic",
}


def harm_categories(benchmark: str, meta: Mapping[str, Any]) -> list[str]:
    """The harm categories of one item: the flagged OpenAI Moderation codes (in their upstream order), the
    SimpleSafetyTests harm area, or none (ToxicChat, and a safe OpenAI Moderation prompt).

    >>> harm_categories("openai_moderation", {"categories": {"S": 0, "H": 1, "V": 1, "HR": 0}})
    ['H', 'V']
    >>> harm_categories("simple_safety_tests", {"harm_area": "Scams and fraud", "category": "Instructions"})
    ['Scams and fraud']
    >>> harm_categories("rtp_lx", {"categories": ["Toxicity", "Insult"]})
    ['Toxicity', 'Insult']
    """
    if benchmark == "openai_moderation":
        flags = meta.get("categories", {})
        return [code for code in OPENAI_CATEGORY_NAMES if flags.get(code) == 1]
    if benchmark == "simple_safety_tests":
        return [meta["harm_area"]] if meta.get("harm_area") else []
    listed = meta.get("categories")  # RTP-LX's annotation dimensions, a user set's category column
    return list(listed) if isinstance(listed, list) else []


def category_order(categories: Iterable[str]) -> list[str]:
    """OpenAI Moderation's codes in their upstream order, then any other category by name.

    >>> category_order(["V", "Scams and fraud", "H2", "S"])
    ['S', 'V', 'H2', 'Scams and fraud']
    """
    found = set(categories)
    return [c for c in OPENAI_CATEGORY_NAMES if c in found] + sorted(found - set(OPENAI_CATEGORY_NAMES))


def category_label(category: str) -> str:
    """A category as shown in tables: an OpenAI code with its name, a harm area as it is."""
    name = OPENAI_CATEGORY_NAMES.get(category)
    return f"{category} ({name})" if name else category
