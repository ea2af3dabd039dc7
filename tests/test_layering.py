"""The import rules of DESIGN.md ("dependencies point downward only"), checked on every module of the package,
imports inside functions included."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cgbench

PACKAGE = Path(cgbench.__file__).resolve().parent

# part -> the parts it may import, besides itself and the root package (which holds only __version__)
ALLOWED: dict[str, set[str]] = {
    "cli": {"*"},
    "leaderboard": {"harness", "benchmarks"},
    "tasks": {"benchmarks", "harness", "models.guards"},
    # the trainer sits above the harness: CAO runs the model over the seed set with the runner
    "models.consistentguard": {"harness", "benchmarks", "models.guards", "models.backends", "models.translators"},
    "harness": {"benchmarks", "models.guards", "models.backends"},
    "models.translators": {"benchmarks", "models.backends"},
    "models.guards": {"benchmarks", "models.backends"},
    "models.backends": {"benchmarks"},
    "models": set(),  # the bare package
    "benchmarks": set(),
    "": set(),  # the root package
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def part_of(module: str) -> str | None:
    """``cgbench.models.guards.base`` -> ``models.guards``, ``cgbench`` -> ``""``; None outside every part."""
    name = module.removeprefix("cgbench").removeprefix(".")
    containers = ("", "models")  # packages that hold no code of their own: only the package itself is theirs
    parts = [p for p in ALLOWED if name == p or (p not in containers and name.startswith(f"{p}."))]
    return max(parts, key=len, default=None)


def imports(module: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, imported cgbench module) for every import in ``source``, relative ones resolved."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                package = module.split(".")[: None if is_package else -1]
                base = ".".join(package[: len(package) - node.level + 1])
                target = f"{base}.{target}" if target else base
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.append((node.lineno, submodule if submodule in MODULES else target))
    return [(line, name) for line, name in found if name == "cgbench" or name.startswith("cgbench.")]


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    part = part_of(module)
    if part is None:
        return [f"{module}: in no part of the rules table; add its part to ALLOWED"]
    allowed = ALLOWED[part]
    out = []
    for line, target in imports(module, source, is_package):
        other = part_of(target)
        if other in (part, "") or "*" in allowed or other in allowed:
            continue
        out.append(f"{module}:{line} imports {target} ({part or 'cgbench'} -> {other})")
    return out


def test_every_module_imports_only_downwards():
    found = [
        v for module, path in MODULES.items() for v in violations(module, path.read_text(), path.stem == "__init__")
    ]
    assert not found, "imports against the layering of DESIGN.md:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        (
            "cgbench.benchmarks.x",
            "def f():\n    from cgbench.models.backends import get_backend\n",
            "benchmarks -> models.backends",
        ),
        ("cgbench.benchmarks.x", "import cgbench.tasks.generate\n", "benchmarks -> tasks"),
        ("cgbench.harness.x", "from ..leaderboard import table\n", "harness -> leaderboard"),
        (
            "cgbench.models.backends.x",
            "from cgbench.models.guards import registry\n",
            "models.backends -> models.guards",
        ),
        ("cgbench.models.guards.x", "from cgbench.cli import app\n", "models.guards -> cli"),
    ],
)
def test_the_check_catches_upward_imports(module, source, expected):
    found = violations(module, source)
    assert len(found) == 1 and found[0].endswith(f"({expected})")


def test_the_check_lets_allowed_imports_pass():
    assert violations("cgbench.benchmarks.x", "from cgbench import __version__\nfrom . import sources\n") == []
    assert violations("cgbench.cli", "from cgbench.leaderboard import build\nimport cgbench.models.guards\n") == []
    assert (
        violations("cgbench.models.translators.x", "from cgbench.models.backends.openai import OpenAIBackend\n") == []
    )
