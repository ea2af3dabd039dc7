"""The README's two commands are the ones CI and users run."""

from __future__ import annotations

import re

from conftest import REPO


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    main_job, test_command = (block.strip() for block in _bash_blocks(readme)[:2])
    assert main_job.startswith("pip install") and "cgbench" in main_job
    assert test_command.startswith("pip install") and test_command.endswith("pytest")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci
