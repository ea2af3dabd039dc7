"""The lm-eval task class of the cgbench tasks: the YAML config, plus generation settings from the prompt format.

Kept apart from :mod:`cgbench.tasks.guard_task` so that only lm-eval runs import lm_eval.
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.task import ConfigurableTask

from cgbench.tasks.guard_task import format_choice, generation_kwargs, guard_format


class GuardTask(ConfigurableTask):
    """A ConfigurableTask whose ``generation_kwargs`` follow the chosen format (``--gen_kwargs`` still wins)."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        config = {key: value for key, value in (config or {}).items() if key != "class"}
        name, options = format_choice(config.get("metadata"))
        config["generation_kwargs"] = generation_kwargs(guard_format(name, options))
        super().__init__(config=config, **kwargs)
