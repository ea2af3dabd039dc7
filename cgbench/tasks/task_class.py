"""The lm-eval task class of the cgbench tasks: the YAML config, plus generation settings from the prompt format.

Kept apart from :mod:`cgbench.tasks.guard_task` so that only lm-eval runs import lm_eval.
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.task import ConfigurableTask

from cgbench.tasks.guard_task import check_chat_template, format_choice, generation_kwargs, guard_format


class GuardTask(ConfigurableTask):
    """A ConfigurableTask whose ``generation_kwargs`` follow the chosen format (``--gen_kwargs`` still wins), and
    which refuses to run a format with the wrong ``--apply_chat_template`` setting."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        config = {key: value for key, value in (config or {}).items() if key != "class"}
        name, options = format_choice(config.get("metadata"))
        self._guard_format = guard_format(name, options)
        config["generation_kwargs"] = generation_kwargs(self._guard_format)
        super().__init__(config=config, **kwargs)

    def build_all_requests(self, *, apply_chat_template: bool = False, **kwargs: Any) -> None:
        """Refuse a format and ``--apply_chat_template`` combination that would not send the exact prompt."""
        check_chat_template(self._guard_format, apply_chat_template)
        super().build_all_requests(apply_chat_template=apply_chat_template, **kwargs)
