"""No split keeps a leading header after stripping: every split of the mirror is searched for header words
followed by a separator, except where the English prompt itself starts with one (``Human: thanks ...``)."""

from __future__ import annotations

import re

import pytest

from cgbench.benchmarks import BENCHMARKS, LANGUAGES, load_split
from cgbench.benchmarks.headers import HEADERS, strip_header

# every header of the table, and the single words they are made of, in any language
WORDS = sorted(
    {h for hs in HEADERS.values() for h in hs}
    | {"Human", "Humain", "Humains", "User", "Utilisateur", "人間", "人类", "用户", "ユーザー", "মানব", "मानव"},
    key=len,
    reverse=True,
)
LEADING = re.compile(
    r"^[\s\u00a0\u202f\u3000\"'“『「#]*(?:" + "|".join(map(re.escape, WORDS)) + r")[\s\u00a0\u202f\u3000]*[:：ঃ]",
    re.IGNORECASE,
)


@pytest.mark.parametrize("benchmark", list(BENCHMARKS))
def test_no_split_keeps_a_leading_header_variant(benchmark):
    english = load_split(benchmark, "en")
    leftovers = [
        (item.lang, item.idx, item.text[:30])
        for lang in LANGUAGES
        for item in load_split(benchmark, lang)
        if LEADING.match(item.text) and not LEADING.match(english[item.idx].text)
    ]
    assert leftovers == []


def test_a_header_split_in_two_is_stripped_but_a_prompt_of_its_own_is_kept():
    assert load_split("openai_moderation", "ja")[846].text.startswith("来週、北にバスで")
    assert strip_header("ユーザー: 人間: 来週") == "来週"
    # the English prompt starts with "Human:", so its translation keeps "人間:"
    assert load_split("toxicchat", "en")[58].text.startswith("Human:")
    assert load_split("toxicchat", "ja")[58].text.startswith("人間:ありがとう")
