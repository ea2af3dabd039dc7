"""README.md is a short entry point whose two commands are the ones CI and users run; the pages under docs/ hold
the rest. Every command shown in README.md, CONTRIBUTING.md and docs/*.md parses (as shell, and a ``cgbench``
command against the real CLI), and every relative link and anchor resolves."""

from __future__ import annotations

import ast
import importlib.util
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest
import typer
from conftest import REPO
from typer.core import TyperGroup

PAGES = [REPO / "README.md", REPO / "CONTRIBUTING.md", *sorted((REPO / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", flags=re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", flags=re.M)
SHELL_OPERATORS = {"&&", "||", ";", "|", "&"}


def _bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def _blocks(language: str) -> list[tuple[str, str]]:
    """(page name, block) for every fenced block of ``language`` on every page."""
    return [
        (page.relative_to(REPO).as_posix(), block)
        for page in PAGES
        for lang, block in FENCE.findall(page.read_text(encoding="utf-8"))
        if lang == language
    ]


def _prose(text: str) -> str:
    """The text without fenced blocks and inline code, where links and headings live."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    main_job, test_command = (block.strip() for block in _bash_blocks(readme)[:2])
    assert main_job.startswith("pip install") and "cgbench" in main_job
    assert test_command.startswith("pip install") and test_command.endswith("pytest")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci


def test_readme_is_a_short_entry_point_with_a_small_screenshot():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200, "README.md is the entry point: move reference text to a docs/ page"
    images = [target for target in LINK.findall(_prose(readme)) if target.endswith(".png")]
    assert images, "README.md shows a screenshot of the leaderboard"
    for image in images:
        data = (REPO / image).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) < 150_000, image


@pytest.mark.parametrize("page", sorted((REPO / "docs").glob("*.md")), ids=lambda p: p.name)
def test_each_docs_page_says_what_it_is_for_and_ends_with_its_footguns(page):
    text = page.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0].startswith("# ") and lines[1] == "" and lines[2].strip(), f"{page.name}: a title, then its purpose"
    headings = [title for level, title in HEADING.findall(_prose(text)) if level == "##"]
    assert headings and headings[-1] == "Footguns", f"{page.name}: the last section is ## Footguns"


# -- commands ----------------------------------------------------------------------------------------------------


def _logical_lines(block: str) -> list[str]:
    return [line for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def _simple_commands(line: str, variables: dict[str, str]) -> list[list[str]]:
    """The argument lists of a shell line's simple commands, ``$NAME`` of earlier assignments expanded."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    commands, current = [], []
    for token in lexer:
        if token in SHELL_OPERATORS:
            commands.append(current)
            current = []
        else:
            current.append(re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m[1], m[0]), token))
    commands.append(current)
    return [command for command in commands if command]


def _cgbench_arguments(argv: list[str]) -> list[str] | None:
    """The arguments given to the cgbench CLI (``cgbench ...`` or ``... -m cgbench.cli ...``), else None."""
    if argv[0] == "cgbench":
        return argv[1:]
    if "-m" in argv and argv[argv.index("-m") + 1 :][:1] == ["cgbench.cli"]:
        return argv[argv.index("-m") + 2 :]
    return None


def parse_cgbench(arguments: list[str]) -> None:
    """Parse ``arguments`` as the cgbench CLI does, down to the sub-command, without running anything; raises
    typer's usage errors (a ``typer.TyperException``). The command groups take no options of their own."""
    from cgbench.cli import app

    command, name, parent = typer.main.get_command(app), "cgbench", None
    while isinstance(command, TyperGroup):
        context = typer.Context(command, info_name=name, parent=parent)
        if not arguments:
            raise typer.BadParameter(f"{name} needs a sub-command")
        name, arguments, parent = arguments[0], arguments[1:], context
        command = command.get_command(context, name)
        if command is None:
            raise typer.BadParameter(f"No such command {name!r}")
    command.make_context(name, list(arguments), parent=parent)


def _extras() -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return set(project["optional-dependencies"])


def command_problems(argv: list[str]) -> list[str]:
    """What is wrong with one shown command: a cgbench command the CLI refuses, a pip extra that does not exist,
    a ``python -m`` module or a ``python`` script that is not there."""
    shown = shlex.join(argv)
    arguments = _cgbench_arguments(argv)
    if arguments is not None:
        try:
            parse_cgbench(arguments)
        except typer.TyperException as exc:
            return [f"{shown}: {exc}"]
        return []
    problems = []
    if argv[:2] == ["pip", "install"]:
        for extras in re.findall(r"^\.\[([^\]]+)\]$", " ".join(a for a in argv if a.startswith(".["))):
            problems += [f"{shown}: no extra {e!r} in pyproject.toml" for e in extras.split(",") if e not in _extras()]
    if argv[0] == "python" and argv[1:2] == ["-m"] and argv[2].startswith("cgbench"):
        if importlib.util.find_spec(argv[2]) is None:
            problems.append(f"{shown}: no module {argv[2]}")
    elif argv[0] == "python" and len(argv) > 1 and argv[1].endswith(".py") and not (REPO / argv[1]).is_file():
        problems.append(f"{shown}: no file {argv[1]}")
    return problems


def block_problems(block: str) -> list[str]:
    syntax = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True)
    if syntax.returncode:
        return [f"not valid shell: {syntax.stderr.strip()}"]
    variables, problems = {}, []
    for line in _logical_lines(block):
        for argv in _simple_commands(line, variables):
            assignment = re.fullmatch(r"(\w+)=(.*)", argv[0])
            if assignment and len(argv) == 1:
                variables[assignment[1]] = assignment[2]
                continue
            problems += command_problems(argv)
    return problems


def test_every_shown_shell_command_parses():
    problems = [f"{page}: {problem}" for page, block in _blocks("bash") for problem in block_problems(block)]
    assert not problems, "\n".join(problems)


def test_every_shown_python_block_parses():
    for page, block in _blocks("python"):
        ast.parse(block, filename=page)


@pytest.mark.no_data
def test_the_command_check_catches_what_a_reader_would_trip_on():
    assert block_problems("cgbench run --guard x --limit 5\n") == []
    assert block_problems("C=configs/x.yaml\ncgbench train sft -c $C && cgbench leaderboard\n") == []
    assert block_problems("cgbench score results/<guard>/<run-id>\n")[0].startswith("not valid shell")
    assert "No such option" in block_problems("cgbench run --gaurd x\n")[0]
    assert "No such command" in block_problems("cgbench data lsit\n")[0]
    assert "integer" in block_problems("cgbench run --limit N\n")[0]
    assert block_problems("cgbench data\n") == ["cgbench data: data needs a sub-command"]
    assert block_problems('pip install -e ".[nosuch]"\n') == [
        "pip install -e '.[nosuch]': no extra 'nosuch' in pyproject.toml"
    ]
    assert "no module" in block_problems("python -m cgbench.tasks.nosuch\n")[0]


# -- links -------------------------------------------------------------------------------------------------------


def github_anchor(title: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", INLINE_CODE.sub(lambda m: m[0].strip("`"), title).lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    for _, title in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        anchor = github_anchor(title)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        if count:
            seen[f"{anchor}-{count}"] = 1
    return set(seen)


def link_problems(page: Path) -> list[str]:
    problems = []
    for target in LINK.findall(_prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            problems.append(f"{target}: no such file")
        elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
            problems.append(f"{target}: no heading with anchor #{anchor}")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_and_anchor_resolves(page):
    problems = link_problems(page)
    assert not problems, f"{page.relative_to(REPO)}:\n" + "\n".join(problems)


@pytest.mark.no_data
def test_the_link_check_catches_a_missing_file_and_anchor(tmp_path):
    (tmp_path / "a.md").write_text("# A page\n\n## Add a guard (`x`)\n\n```bash\n# not a heading\n```\n")
    page = tmp_path / "b.md"
    page.write_text("[ok](a.md#add-a-guard-x) [gone](c.md) [bad](a.md#not-a-heading) `[code](nowhere.md)`\n")
    assert link_problems(page) == ["c.md: no such file", "a.md#not-a-heading: no heading with anchor #not-a-heading"]
