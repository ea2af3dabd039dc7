"""The two registries of guards: prompt formats by name, and named guards (a model plus its format)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from cgbench.models.guards.base import GuardFormat, unknown_name
from cgbench.models.guards.consistentguard import ConsistentGuardFormat
from cgbench.models.guards.guardreasoner import GuardReasonerFormat
from cgbench.models.guards.instruct import InstructFormat
from cgbench.models.guards.llama_guard import LlamaGuardFormat
from cgbench.models.guards.llama_guard_4 import LlamaGuard4Format
from cgbench.models.guards.polyguard import PolyGuardFormat
from cgbench.models.guards.qwen3guard import Qwen3GuardFormat
from cgbench.models.guards.shieldgemma import ShieldGemmaFormat
from cgbench.models.guards.wildguard import WildGuardFormat

FORMATS: dict[str, type[GuardFormat]] = {
    "instruct": InstructFormat,
    "llama_guard": LlamaGuardFormat,
    "llama_guard_4": LlamaGuard4Format,
    "shieldgemma": ShieldGemmaFormat,
    "guardreasoner": GuardReasonerFormat,
    "wildguard": WildGuardFormat,
    "consistentguard": ConsistentGuardFormat,
    "qwen3guard": Qwen3GuardFormat,
    "polyguard": PolyGuardFormat,
}


def get_format(name: str, **options: str) -> GuardFormat:
    """A prompt format by name, with its options (unknown names, options or values raise ValueError)."""
    if name not in FORMATS:
        raise unknown_name("prompt format", name, FORMATS)
    return FORMATS[name](options=dict(options))


@dataclass(frozen=True)
class GuardSpec:
    """A named guard: which model, asked in which format."""

    name: str
    format: str | None  # None for guards that do not generate (probes)
    format_options: dict[str, str] = field(default_factory=dict)  # a probe's: options of its backend (align)
    hub_id: str | None = None  # None: the user passes --model
    params_b: float | None = None  # billions of parameters, for the leaderboard; None when it depends on --model
    kind: Literal["generative", "probe"] = "generative"
    description: str = ""

    def guard_format(self) -> GuardFormat:
        if self.format is None:
            raise ValueError(f"guard {self.name!r} is a {self.kind}; it has no prompt format")
        return get_format(self.format, **self.format_options)


GUARDS: dict[str, GuardSpec] = {
    g.name: g
    for g in (
        GuardSpec("llama-guard-3-1b", "llama_guard", {"variant": "1b", "render": "raw"}, "meta-llama/Llama-Guard-3-1B",
                  1.5, description="Llama Guard 3 1B, categories S1-S13 (raw prompt: see llama_guard.py)"),
        GuardSpec("llama-guard-3-8b", "llama_guard", {"variant": "8b", "render": "raw"}, "meta-llama/Llama-Guard-3-8B",
                  8.03, description="Llama Guard 3 8B, categories S1-S14 (raw prompt: see llama_guard.py)"),
        GuardSpec("llama-guard-4-12b", "llama_guard_4", {"render": "raw"}, "meta-llama/Llama-Guard-4-12B", 12.0,
                  description="Llama Guard 4 12B, text only, categories S1-S14 (raw prompt: see llama_guard_4.py)"),
        GuardSpec("shieldgemma-2b", "shieldgemma", {}, "google/shieldgemma-2b", 2.61,
                  description="ShieldGemma 2B, max P(Yes) over four policies"),
        GuardSpec("shieldgemma-9b", "shieldgemma", {}, "google/shieldgemma-9b", 9.24,
                  description="ShieldGemma 9B, max P(Yes) over four policies"),
        GuardSpec("guardreasoner-1b", "guardreasoner", {}, "yueliu1999/GuardReasoner-1B", 1.24,
                  description="GuardReasoner 1B (Llama 3.2 1B), reasoning guard"),
        GuardSpec("guardreasoner-3b", "guardreasoner", {}, "yueliu1999/GuardReasoner-3B", 3.21,
                  description="GuardReasoner 3B (Llama 3.2 3B), reasoning guard"),
        GuardSpec("guardreasoner-8b", "guardreasoner", {}, "yueliu1999/GuardReasoner-8B", 8.03,
                  description="GuardReasoner 8B (Llama 3.1 8B), reasoning guard"),
        GuardSpec("wildguard", "wildguard", {}, "allenai/wildguard", 7.25,
                  description="WildGuard (Mistral 7B v0.3)"),
        GuardSpec("qwen3guard-gen-0.6b", "qwen3guard", {"render": "raw"}, "Qwen/Qwen3Guard-Gen-0.6B", 0.6,
                  description="Qwen3Guard-Gen 0.6B, Controversial counted unsafe (raw prompt: see qwen3guard.py)"),
        GuardSpec("qwen3guard-gen-4b", "qwen3guard", {"render": "raw"}, "Qwen/Qwen3Guard-Gen-4B", 4.0,
                  description="Qwen3Guard-Gen 4B, Controversial counted unsafe (raw prompt: see qwen3guard.py)"),
        GuardSpec("qwen3guard-gen-8b", "qwen3guard", {"render": "raw"}, "Qwen/Qwen3Guard-Gen-8B", 8.2,
                  description="Qwen3Guard-Gen 8B, Controversial counted unsafe (raw prompt: see qwen3guard.py)"),
        GuardSpec("polyguard-qwen-smol", "polyguard", {"render": "raw"}, "ToxicityPrompts/PolyGuard-Qwen-Smol", 0.49,
                  description="PolyGuard on Qwen2.5 0.5B Instruct, 17 languages (raw prompt: see polyguard.py)"),
        GuardSpec("polyguard-qwen", "polyguard", {"render": "raw"}, "ToxicityPrompts/PolyGuard-Qwen", 7.62,
                  description="PolyGuard on Qwen2.5 7B Instruct, 17 languages (raw prompt: see polyguard.py)"),
        GuardSpec("polyguard-ministral", "polyguard", {}, "ToxicityPrompts/PolyGuard-Ministral", 8.02,
                  description="PolyGuard on Ministral 8B Instruct, 17 languages (the model's chat template)"),
        GuardSpec("consistentguard", "consistentguard", {}, None, None,
                  description="ConsistentGuard trained with `cgbench train`; pass --model PATH"),
        GuardSpec("instruct", "instruct", {}, None, None,
                  description="any chat model asked with a plain instruction; pass --model"),
        GuardSpec("e5-probe", None, {}, "intfloat/multilingual-e5-small", 0.118, kind="probe",
                  description="multilingual-e5-small embeddings + logistic regression, the CPU default"),
        GuardSpec("e5-probe-unaligned", None, {"align": "none"}, "intfloat/multilingual-e5-small", 0.118,
                  kind="probe", description="e5-probe without cross-lingual alignment (an ablation)"),
    )
}  # fmt: skip


def get_guard(name: str) -> GuardSpec:
    """A named guard (unknown names raise ValueError with the choices and the nearest match)."""
    if name not in GUARDS:
        raise unknown_name("guard", name, GUARDS)
    return GUARDS[name]
