"""One prompt of one benchmark in one language: what every loader yields."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Item:
    """One prompt of one benchmark in one language; ``idx`` lines it up across languages."""

    benchmark: str
    lang: str
    idx: int
    text: str
    label: int  # 1 = unsafe/harmful, 0 = safe
    source_id: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
