"""Guard families: one file each, with the prompt template, the parser and the score tokens.

``get_format(name, **options)`` gives a prompt format (``FORMATS``); ``get_guard(name)``
gives a named guard (``GUARDS``): its hub id, format, options and size.
"""

from cgbench.models.guards.base import GuardFormat, Label, Prompt, Verdict
from cgbench.models.guards.registry import FORMATS, GUARDS, GuardSpec, get_format, get_guard

__all__ = ["FORMATS", "GUARDS", "GuardFormat", "GuardSpec", "Label", "Prompt", "Verdict", "get_format", "get_guard"]
