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


def _option(args: list[str], name: str) -> tuple[bool, str | None]:
    """Whether ``--name`` is given, and its value (``--name VALUE`` or ``--name=VALUE``)."""
    for i, arg in enumerate(args):
        if arg == name:
            value = args[i + 1] if i + 1 < len(args) and not args[i + 1].startswith("--") else None
            return True, value
        if arg.startswith(f"{name}="):
            return True, arg.split("=", 1)[1]
    return False, None


def check_format_arguments(args: list[str]) -> None:
    """Refuse, before lm-eval loads a model, a cgbench task run whose prompt format and ``--apply_chat_template``
    setting do not fit (the check the task itself makes once lm-eval has loaded the model). ValueError in one line."""
    import json

    from cgbench.tasks.guard_task import check_chat_template, format_choice, guard_format

    _, tasks = _option(args, "--tasks")
    if not tasks or not any(task.strip().startswith("cg_") for task in tasks.split(",")):
        return
    _, metadata = _option(args, "--metadata")
    try:
        chosen = json.loads(metadata) if metadata else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"--metadata is not valid JSON ({exc.msg}): {metadata}") from exc
    apply_chat_template, _ = _option(args, "--apply_chat_template")
    check_chat_template(guard_format(*format_choice(chosen)), apply_chat_template)


__all__ = ["TASKS_DIR", "check_format_arguments", "extra_tasks_dir", "lm_eval_argv", "tasks_path"]
