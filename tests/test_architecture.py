"""The capture side's import boundary is a folder boundary, and this test holds it.

Everything under ``perfgate/capture/`` (and the plugin module pytest loads) runs
inside the project's own environment, so it may import only the standard
library, pytest, pytest-benchmark, and perfgate's own stdlib-only modules.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "perfgate"
CAPTURE_FILES = [*sorted((PACKAGE / "capture").rglob("*.py")), PACKAGE / "plugin.py"]
ALLOWED_THIRD_PARTY = {"pytest", "_pytest", "pytest_benchmark"}
# perfgate modules outside capture/ that capture may use: stdlib-only themselves.
ALLOWED_PERFGATE = {"perfgate", "perfgate._errors", "perfgate._version"}
# The plugin is the edge: it may reach the judge, lazily, when asked to compare.
PLUGIN_LAZY_JUDGE = "perfgate._pytest_judge"
JUDGE_LIBRARIES = {"pydantic", "pydantic_core", "scipy", "numpy", "jinja2", "github", "requests"}


def _imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, module, exempt) for every import in ``path``; exempt: only under
    TYPE_CHECKING, or the plugin's lazy import of the judge inside a function."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only.update(id(inner) for inner in ast.walk(node))
        if path.name == "plugin.py" and isinstance(node, ast.FunctionDef):
            typing_only.update(
                id(inner)
                for inner in ast.walk(node)
                if isinstance(inner, ast.ImportFrom) and inner.module == PLUGIN_LAZY_JUDGE
            )
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name, id(node) in typing_only) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module, id(node) in typing_only))
    return found


def _allowed(module: str) -> bool:
    top = module.partition(".")[0]
    if module.startswith("perfgate.capture") or module in ALLOWED_PERFGATE:
        return True
    if top == "perfgate":
        return False
    return top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY


@pytest.mark.parametrize("path", CAPTURE_FILES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_capture_imports_only_stdlib_pytest_and_pytest_benchmark(path):
    bad = [
        f"{path.name}:{line}: {module}"
        for line, module, typing_only in _imports(path)
        if not typing_only and not _allowed(module)
    ]
    assert not bad, f"capture must not import the judge or its libraries: {bad}"


def test_the_stdlib_only_helpers_stay_stdlib_only():
    for name in ("_errors.py", "_version.py", "__init__.py"):
        for _line, module, typing_only in _imports(PACKAGE / name):
            top = module.partition(".")[0]
            assert typing_only or top in sys.stdlib_module_names or module == "__future__", (
                name,
                module,
            )


def test_the_boundary_check_sees_a_violation(tmp_path):
    """The checker itself: a judge import under capture is reported."""
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import json\nfrom pydantic import BaseModel\nfrom perfgate.verdict._stats import x\n"
    )
    modules = [m for _, m, _ in _imports(sample) if not _allowed(m)]
    assert modules == ["pydantic", "perfgate.verdict._stats"]
    assert JUDGE_LIBRARIES.isdisjoint(ALLOWED_THIRD_PARTY)
