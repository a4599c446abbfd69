"""The code stays readable and its architecture holds: lint, types, import contracts, module size.

The tools run as subprocesses of this interpreter's environment, configured by pyproject.toml,
so a failure here is exactly what a developer sees running the same command in the repository.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "assistant"
MAX_MODULE_LINES = 400


def run_tool(*command: str) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH makes the checked-out package win over any installed copy, so import-linter
    # analyses the code in this repository (a git worktree included).
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        command,
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": pythonpath},
        timeout=600,
    )


def fail_with_output(what: str, result: subprocess.CompletedProcess[str]) -> None:
    # pytest.fail, not assert: an assertion message would be cut to a few lines.
    pytest.fail(f"{what} (exit status {result.returncode}):\n{result.stdout}{result.stderr}", pytrace=False)


def test_ruff_finds_nothing() -> None:
    result = run_tool(sys.executable, "-m", "ruff", "check", "assistant", "tests", "benchmarks")
    if result.returncode != 0:
        fail_with_output("ruff check found problems", result)


def test_mypy_finds_no_type_errors() -> None:
    result = run_tool(sys.executable, "-m", "mypy")
    if result.returncode != 0:
        fail_with_output("mypy found type errors", result)


def test_the_import_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), f"{lint_imports} is missing: install the test extras (pip install -e .[test])"
    result = run_tool(str(lint_imports))
    if result.returncode != 0:
        fail_with_output("lint-imports found broken contracts", result)


def physical_lines(path: Path) -> int:
    return len(path.read_bytes().splitlines())


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {path.relative_to(REPO): physical_lines(path) for path in sorted(PACKAGE.rglob("*.py"))}
    offenders = {path: lines for path, lines in sizes.items() if lines > MAX_MODULE_LINES}
    if offenders:
        listing = "\n".join(
            f"  {lines:5d}  {path}" for path, lines in sorted(offenders.items(), key=lambda item: -item[1])
        )
        pytest.fail(
            f"{len(offenders)} modules are over {MAX_MODULE_LINES} lines; split them along their seams:\n{listing}",
            pytrace=False,
        )


# -- import cycles between assistant's top-level packages and modules -----------------------------


def top_level_unit(module: str) -> str | None:
    """`memory` for `assistant.memory.store`; None for the root package and for other packages."""
    parts = module.split(".")
    if parts[0] != "assistant" or len(parts) < 2:
        return None
    return parts[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> Iterator[tuple[str, int]]:
    """Every module `path` imports (at any depth, lazily or not), with the line it does so."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            yield source, node.lineno
            # `from assistant import locations` imports the module assistant.locations.
            for alias in node.names:
                yield f"{source}.{alias.name}", node.lineno


def unit_dependencies() -> dict[str, dict[str, str]]:
    """For each top-level unit, the units it imports and one place where it does."""
    units = {path.stem if path.is_file() else path.name for path in PACKAGE.iterdir()}
    units = {unit for unit in units if unit.isidentifier() and not unit.startswith("__")}
    graph: dict[str, dict[str, str]] = {unit: {} for unit in units}
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = top_level_unit(module_name(path))
        if importer not in graph:
            continue
        for module, line in imported_modules(path):
            imported = top_level_unit(module)
            if imported in units and imported != importer:
                graph[importer].setdefault(imported, f"{path.relative_to(REPO)}:{line}")
    return graph


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """The groups of units that import each other (strongly connected components of two or more)."""
    reaches = {unit: set(graph[unit]) for unit in graph}
    changed = True
    while changed:
        changed = False
        for unit in graph:
            extended = reaches[unit].union(*(reaches[other] for other in reaches[unit]))
            if extended != reaches[unit]:
                reaches[unit], changed = extended, True
    groups = {frozenset({unit} | {other for other in reaches[unit] if unit in reaches[other]}) for unit in graph}
    return sorted(sorted(group) for group in groups if len(group) > 1)


def test_no_import_cycles_between_the_packages() -> None:
    graph = unit_dependencies()
    found = cycles(graph)
    if found:
        lines = []
        for group in found:
            lines.append("  " + " <-> ".join(group) + ":")
            lines.extend(
                f"    {importer} -> {imported}  ({graph[importer][imported]})"
                for importer in group
                for imported in sorted(graph[importer])
                if imported in group
            )
        pytest.fail("assistant's packages import each other in a cycle:\n" + "\n".join(lines), pytrace=False)
