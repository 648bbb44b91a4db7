"""``perfgate init``: set a project up in one command.

It finds the benchmark tests (pytest-benchmark's ``benchmark`` fixture or the
``benchmark`` marker), writes ``.github/workflows/perfgate.yml`` from the
``workflow.yml.j2`` template (overridable like the reports' templates) and adds
``[tool.perfgate]`` with the benchmark paths to ``pyproject.toml``. Nothing is
overwritten without ``force``; a second run changes nothing.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Final

from perfgate._errors import InputError
from perfgate.capture._atomic import write_atomic
from perfgate.capture._git import git_or_none
from perfgate.report._render import render_template

__all__ = ["InitResult", "find_benchmarks", "init_project"]

WORKFLOW: Final = Path(".github/workflows/perfgate.yml")
ACTION: Final = "perfgate/perfgate"
_SKIP_DIRS: Final = frozenset(
    {".git", ".venv", "venv", ".tox", ".nox", "node_modules", "build", "dist", ".perfgate",
     "site-packages", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
)  # fmt: skip
_TEST_FILE: Final = re.compile(r"^(test_.*|.*_test)\.py$")
_USES_BENCHMARK: Final = re.compile(
    r"^\s*(?:async\s+)?def\s+test\w*\s*\([^)]*\bbenchmark\b|pytest\.mark\.benchmark\b",
    re.MULTILINE,
)
MAX_FILE_BYTES: Final = 2 * 1024 * 1024


def _python_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.iterdir()):
        if path.is_symlink():
            continue
        if path.is_dir():
            if path.name not in _SKIP_DIRS and not path.name.startswith("."):
                yield from _python_files(path)
        elif _TEST_FILE.match(path.name):
            yield path


def find_benchmarks(root: Path) -> list[str]:
    """The folders (relative to ``root``, POSIX) holding benchmark tests, the
    outermost ones only."""
    found: set[Path] = set()
    for path in _python_files(root):
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _USES_BENCHMARK.search(text):
            found.add(path.parent.relative_to(root))
    outer = [p for p in found if not any(q != p and q in p.parents for q in found)]
    return sorted(p.as_posix() if p.parts else "." for p in outer)


def _action_ref() -> tuple[str, str]:
    """The commit of the installed perfgate (a git install records it; a source
    checkout has it in git) and its version, to pin the action to."""
    version = metadata.version("perfgate")
    try:
        direct = metadata.distribution("perfgate").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct = None
    if direct:
        with_vcs = json.loads(direct).get("vcs_info") or {}
        commit = with_vcs.get("commit_id")
        if isinstance(commit, str) and re.fullmatch(r"[0-9a-f]{40}", commit):
            return commit, version
    source = Path(__file__).resolve().parents[2]
    commit = git_or_none(["rev-parse", "HEAD"], source) if (source / ".git").exists() else None
    if commit and re.fullmatch(r"[0-9a-f]{40}", commit):
        return commit, version
    raise InputError(
        "cannot tell which perfgate commit to pin the action to: pass --action-ref "
        "(a commit of github.com/perfgate/perfgate)"
    )


def _install_command(root: Path) -> str:
    if (root / "pyproject.toml").is_file() or (root / "setup.py").is_file():
        return "pip install -e . pytest pytest-benchmark"
    if (root / "requirements.txt").is_file():
        return "pip install -r requirements.txt pytest pytest-benchmark"
    return "pip install pytest pytest-benchmark"


def _default_branch(root: Path) -> str:
    head = git_or_none(["symbolic-ref", "--quiet", "--short", "refs/remotes/origin/HEAD"], root)
    if head and head.startswith("origin/"):
        return head.removeprefix("origin/")
    current = git_or_none(["symbolic-ref", "--quiet", "--short", "HEAD"], root)
    return current if current in ("main", "master", "trunk", "develop") else "main"


@dataclass
class InitResult:
    benchmarks: list[str]
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    """Files that differ from what init would write, left as they are (no force)."""
    workflow_text: str = ""
    notes: list[str] = field(default_factory=list)


def _table(benchmarks: list[str]) -> str:
    paths = ", ".join(json.dumps(b) for b in benchmarks)
    return (
        "\n[tool.perfgate]\n"
        "# Written by `perfgate init`: the benchmarks the gate runs.\n"
        f"benchmarks = [{paths}]\n"
    )


def init_project(
    root: Path,
    *,
    force: bool = False,
    action_ref: str | None = None,
    python_version: str = "3.12",
    template_dir: Path | None = None,
) -> InitResult:
    """Set ``root`` up (see the module's docstring); what was written and kept."""
    benchmarks = find_benchmarks(root)
    if not benchmarks:
        raise InputError(
            f"no benchmark tests under {root}: perfgate gates pytest-benchmark tests "
            "(a test taking the `benchmark` fixture) or tests marked @pytest.mark.benchmark"
        )
    if action_ref is not None:
        if not re.fullmatch(r"[0-9a-f]{40}|v\d+(\.\d+)*", action_ref):
            raise InputError(f"--action-ref {action_ref!r}: a full commit sha or a tag like v1.2")
        ref, version = action_ref, metadata.version("perfgate")
    else:
        ref, version = _action_ref()
    result = InitResult(benchmarks)
    text = render_template(
        "workflow.yml.j2", template_dir, benchmarks=benchmarks, action=ACTION, action_ref=ref,
        action_version=version, python_version=python_version,
        install=_install_command(root), default_branch=_default_branch(root),
    )  # fmt: skip
    result.workflow_text = text
    _write(root / WORKFLOW, text, force, result)
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        result.notes.append(
            "no pyproject.toml: the benchmark paths are in the workflow only "
            "(add [tool.perfgate] benchmarks = [...] to keep them in one place)"
        )
        return result
    current = pyproject.read_text(encoding="utf-8")
    try:
        table = tomllib.loads(current).get("tool", {}).get("perfgate")
    except tomllib.TOMLDecodeError as err:
        raise InputError(f"{pyproject}: not valid TOML ({err})") from None
    if table is None:
        write_atomic(pyproject, current.rstrip("\n") + "\n" + _table(benchmarks))
        result.written.append(pyproject)
    elif table.get("benchmarks") == benchmarks:
        result.unchanged.append(pyproject)
    else:
        result.kept.append(pyproject)
        result.notes.append(
            f"{pyproject.name} already has [tool.perfgate]: left as it is; the benchmarks "
            f"found are {', '.join(benchmarks)}"
        )
    return result


def _write(path: Path, text: str, force: bool, result: InitResult) -> None:
    if path.is_file():
        if path.read_text(encoding="utf-8") == text:
            result.unchanged.append(path)
            return
        if not force:
            result.kept.append(path)
            result.notes.append(f"{path} exists and differs: left as it is (--force replaces it)")
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    result.written.append(path)
