"""The package metadata a registry would accept, and every import declared."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Import name → distribution name, where they differ.
DISTRIBUTION_OF = {"github": "pygithub", "yaml": "pyyaml"}


def _project() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _imported_top_level(package: Path) -> set[str]:
    names: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_every_third_party_import_is_a_declared_dependency():
    declared = {
        re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0].lower()
        for spec in _project()["dependencies"]  # type: ignore[union-attr]
    }
    third_party = (
        _imported_top_level(ROOT / "perfgate") - set(sys.stdlib_module_names) - {"perfgate"}
    )
    undeclared = {
        name
        for name in third_party
        if DISTRIBUTION_OF.get(name, name).lower().replace("_", "-") not in declared
    }
    assert not undeclared


def test_metadata_has_an_spdx_license_a_license_file_classifiers_and_urls():
    project = _project()
    assert project["license"] == "MIT"  # an SPDX expression, not the deprecated table
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")
    classifiers = project["classifiers"]
    assert "Framework :: Pytest" in classifiers
    assert "Programming Language :: Python :: 3.11" in classifiers
    assert not any(c.startswith("License ::") for c in classifiers)  # SPDX replaces them
    assert {"Homepage", "Source", "Issues"} <= set(project["urls"])  # type: ignore[arg-type]
    assert project["requires-python"] == ">=3.11"


def test_the_release_workflow_uses_trusted_publishing_without_a_stored_token():
    text = (ROOT / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    assert "id-token: write" in text
    assert "secrets." not in text  # no API token: the registry trusts the workflow


def test_the_test_matrix_covers_every_python_the_classifiers_name():
    """``make test`` runs the suite on the interpreter it was given (3.11 in CI)
    and ``make test-matrix`` on the others: together, every classifier."""
    named = {
        c.rsplit(" ", 1)[1]
        for c in _project()["classifiers"]  # type: ignore[union-attr]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    matrix = re.search(r"^MATRIX \?= (.+)$", makefile, re.MULTILINE)
    assert matrix is not None
    assert set(matrix.group(1).split()) | {"3.11"} == named
    assert (
        "$(MAKE) --no-print-directory test-matrix" in makefile.split("\ntest:")[1].split("\n\n")[0]
    )
