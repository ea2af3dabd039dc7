"""The control-token spellings of the guard families' tokenizers, as they may appear in benchmark text.

A dataset prompt that spells ``<|eot_id|>`` is ordinary text to cgbench (the backends keep it literal), but it is
worth knowing how many items do: ``cgbench data validate`` counts them per split.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Llama 3 / Qwen / Phi ``<|...|>``, Gemma ``<start_of_turn>``, ``<bos>``..., Llama 2 / Mistral ``<s>``, ``</s>``,
# ``[INST]``, ``[/INST]``
CONTROL_TOKEN = re.compile(
    r"<\|[^<>|\s]{1,64}\|>|</?s>|<(?:bos|eos|pad|unk|mask|start_of_turn|end_of_turn)>|\[/?INST\]"
)


def count_control_spellings(texts: Iterable[str]) -> int:
    """How many of ``texts`` spell at least one control token.

    >>> count_control_spellings(["hi <|eot_id|>", "plain", "[INST] x"])
    2
    """
    return sum(CONTROL_TOKEN.search(text) is not None for text in texts)
