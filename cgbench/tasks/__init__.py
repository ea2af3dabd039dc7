"""lm-eval tasks: ``cg_<set>_<lang>`` leaf tasks, ``cg_<set>`` groups, ``cg_multilingual``, ``cg_lang_<lang>`` tags.

Use them with ``lm_eval --include_path "$(cgbench tasks-path)" --tasks cg_multilingual ...``, or
``cgbench lm-eval ...``, which fills in the include path.
"""

from __future__ import annotations

from pathlib import Path

TASKS_DIR = Path(__file__).resolve().parent


def extra_tasks_dir() -> Path:
    """Where the leaf tasks of languages added after the paper's six are written (beside their data)."""
    from cgbench.benchmarks.sources import user_dir

    return user_dir() / "lm_eval_tasks"


def tasks_path() -> Path:
    """The one folder to pass to ``--include_path``: the package's tasks, or, once a language has been added,
    the folder that holds its tasks beside links to the package's (refreshed here)."""
    from cgbench.tasks.generate import link_package_tasks

    extra = extra_tasks_dir()
    if extra.is_dir() and any(not path.is_symlink() for path in extra.glob("cg_*.yaml")):
        link_package_tasks(extra)
        return extra
    return TASKS_DIR


LM_EVAL_SUBCOMMANDS = ("run", "ls", "validate")


def lm_eval_argv(args: list[str]) -> list[str]:
    """The ``python -m lm_eval`` command line for ``cgbench lm-eval ARGS``: ARGS with the include path added."""
    import sys

    if any(arg == "--include_path" or arg.startswith("--include_path=") for arg in args):
        raise ValueError(
            "cgbench lm-eval fills in --include_path itself; to add your own tasks, run "
            'lm_eval --include_path DIR directly (and copy or link the YAMLs of "cgbench tasks-path" into DIR)'
        )
    command, rest = (args[0], args[1:]) if args and args[0] in LM_EVAL_SUBCOMMANDS else ("run", args)
    return [sys.executable, "-m", "lm_eval", command, "--include_path", str(tasks_path()), *rest]


def _option(args: list[str], *names: str) -> tuple[bool, list[str]]:
    """Whether an option of ``names`` is given, and its values: ``--name A B`` (up to the next option) or
    ``--name=A``, as lm-eval's parser reads them (several occurrences add up)."""
    given, values = False, []
    for i, arg in enumerate(args):
        name, sep, value = arg.partition("=")
        if name not in names:
            continue
        given = True
        if sep:
            values.append(value)
            continue
        for following in args[i + 1 :]:
            if following.startswith("-"):
                break
            values.append(following)
    return given, values


def _metadata(values: list[str]) -> dict:
    """``--metadata`` as lm-eval reads it: a JSON object, or ``key=value`` pairs (values read as Python literals)."""
    import ast
    import json

    if not values:
        return {}
    try:
        parsed = json.loads(values[0])
    except json.JSONDecodeError:
        parsed = None
    if isinstance(parsed, dict):
        return parsed
    metadata = {}
    for value in values:
        for pair in value.split(","):
            key, sep, text = pair.partition("=")
            if not sep:
                raise ValueError(f"--metadata wants a JSON object or key=value pairs, got {value!r}")
            try:
                metadata[key.strip()] = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                metadata[key.strip()] = text
    return metadata


def check_format_arguments(args: list[str]) -> None:
    """Refuse, before lm-eval loads a model, a cgbench task run whose prompt format and ``--apply_chat_template``
    setting do not fit (the check the task itself makes once lm-eval has loaded the model). ValueError in one line."""
    from cgbench.tasks.guard_task import check_chat_template, format_choice, guard_format

    _, tasks = _option(args, "--tasks", "-t")
    names = [task.strip() for value in tasks for task in value.split(",")]
    if not any(name.startswith("cg_") for name in names):
        return
    _, metadata = _option(args, "--metadata")
    apply_chat_template, template = _option(args, "--apply_chat_template")
    off = template[:1] in (["False"], ["false"])
    check_chat_template(guard_format(*format_choice(_metadata(metadata))), apply_chat_template and not off)


__all__ = ["TASKS_DIR", "check_format_arguments", "extra_tasks_dir", "lm_eval_argv", "tasks_path"]
