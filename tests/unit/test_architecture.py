"""The layering the README promises: a headless core, a TUI that only drives it, a fast start."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "assistant"


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_tui_and_the_cli_import_textual():
    offenders = [
        path.relative_to(PACKAGE)
        for path in PACKAGE.rglob("*.py")
        if "textual" in imported_modules(path) and path.parts[-2] != "tui" and "tui" not in path.parts
    ]
    assert offenders == []


def test_the_tui_never_imports_the_model_or_the_database():
    offenders = [
        (path.relative_to(PACKAGE), sorted(imported_modules(path) & {"llama_cpp", "lancedb", "torch"}))
        for path in (PACKAGE / "tui").rglob("*.py")
        if imported_modules(path) & {"llama_cpp", "lancedb", "torch", "sentence_transformers"}
    ]
    assert offenders == []


def test_importing_the_core_loads_no_ui_and_no_heavy_model_code():
    probe = (
        "import sys, assistant.application.session, assistant.cli;"
        "loaded = set(m.split('.')[0] for m in sys.modules);"
        "heavy = {'textual', 'torch', 'sentence_transformers', 'llama_cpp'} & loaded;"
        "print(sorted(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
