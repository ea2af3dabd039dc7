"""The import rules of DESIGN.md ("dependencies point downward only"), checked on every module of the package,
imports inside functions included: no upward import, no import from ``models`` into ``harness``, and no circle
between two modules, even inside one part."""

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
    # the trainer sits beside the harness, not above it: CAO generates with models.backends.generate, as the runner does
    "models.consistentguard": {"benchmarks", "models.guards", "models.backends", "models.translators"},
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


def import_graph(sources: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """module -> the cgbench modules it imports, from ``{module: (source, is_package)}``.

    A module's import of a package that contains it is left out: Python runs that package's ``__init__`` before
    the module in any case, so the edge adds no order of its own (``cgbench.tasks.generate`` reads ``TASKS_DIR``).
    """
    graph = {}
    for module, (source, is_package) in sources.items():
        targets = {target for _, target in imports(module, source, is_package)}
        graph[module] = {t for t in targets if t in sources and t != module and not module.startswith(f"{t}.")}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every group of modules that import one another round a circle (the strongly connected components of
    more than one module), each sorted."""
    order, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph[module]):
            if target not in order:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], order[target])
        if low[module] == order[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in order:
            visit(module)
    return found


def _package_sources() -> dict[str, tuple[str, bool]]:
    return {module: (path.read_text(), path.stem == "__init__") for module, path in MODULES.items()}


def test_no_two_modules_import_each_other_round_a_circle():
    found = cycles(import_graph(_package_sources()))
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(group) for group in found)


def test_nothing_under_models_imports_the_harness():
    graph = import_graph(_package_sources())
    upward = [
        f"{m} imports {t}"
        for m, targets in graph.items()
        if m.startswith("cgbench.models.")
        for t in targets
        if t == "cgbench.harness" or t.startswith("cgbench.harness.")
    ]
    assert not upward, "\n".join(upward)


def test_the_circle_check_finds_a_circle_through_a_function_level_import():
    sources = {
        "cgbench.harness.a": ("from cgbench.harness.b import f\n", False),
        "cgbench.harness.b": ("def f():\n    import cgbench.harness.c\n", False),
        "cgbench.harness.c": ("import cgbench.harness.a\n", False),
        "cgbench.harness.d": ("from cgbench.harness.a import x\n", False),
        "cgbench.harness": ("", True),
    }
    assert cycles(import_graph(sources)) == [["cgbench.harness.a", "cgbench.harness.b", "cgbench.harness.c"]]
    del sources["cgbench.harness.c"]
    assert cycles(import_graph(sources)) == []
