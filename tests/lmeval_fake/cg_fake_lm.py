"""A scripted lm-eval model for exact end-to-end tests: its answer depends only on a hash of the prompt.

Registered as ``cg-fake``. The test computes the same answers from the items' texts and derives the
expected metrics on its own.
"""

from __future__ import annotations

import hashlib

import lm_eval.models  # noqa: F401  (fill the built-in model registry before adding to it)
from lm_eval.api.model import LM
from lm_eval.api.registry import register_model

# (answer, the verdict a reader of Llama Guard's output format gives it)
ANSWERS: tuple[tuple[str, int | None], ...] = (
    ("unsafe\nS1,S10", 1),
    ("safe", 0),
    ("unsafe", 1),
    ("safe", 0),
    ("safe", 0),
    ("I cannot classify this.", None),
    ("unsafe\nS9", 1),
)


def answer_for(prompt: str) -> str:
    """The fake model's output for one prompt."""
    digest = hashlib.sha256(prompt.encode("utf-8")).digest()
    return ANSWERS[int.from_bytes(digest[:4], "big") % len(ANSWERS)][0]


@register_model("cg-fake")
class FakeGuardLM(LM):
    def __init__(self, pretrained: str = "fake-guard", **kwargs) -> None:
        super().__init__()
        self.pretrained = pretrained

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        return [answer_for(request.args[0]) for request in requests]

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("cg-fake only generates")

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("cg-fake only generates")
