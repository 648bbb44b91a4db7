"""perfgate's plugin in a project's own environment: pytest and pytest-benchmark only.

``make test`` builds that environment (``.venv-capture``) and names its
interpreter in ``PERFGATE_CAPTURE_PYTHON``. perfgate is installed into it with
``pip install --no-deps`` of the built wheel, as the docs tell projects whose pins
must not move.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from perfgate import load_results

ROOT = Path(__file__).parents[2]
DEMO = ROOT / "examples" / "demo"
JUDGE_LIBRARIES = ("pydantic", "pydantic_core", "scipy", "numpy", "jinja2", "github")
PYTEST_ARGS = ["-q", "-p", "no:cacheprovider", "--benchmark-max-time=0.02"]

# Runs pytest in-process so that sys.modules can be read after the session.
RUN_AND_LIST_MODULES = """
import json, sys, pytest
code = pytest.main(sys.argv[2:])
judge = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[1])))
print("PERFGATE-MODULES " + json.dumps({"exit": int(code), "judge": judge}))
"""


def _capture_python() -> str:
    python = os.environ.get("PERFGATE_CAPTURE_PYTHON")
    if not python or not Path(python).exists():
        if os.environ.get("CI"):
            pytest.fail("PERFGATE_CAPTURE_PYTHON is not set: run the tests with `make test`")
        pytest.skip("no capture-only environment (make capture-env; run with make test)")
    return python


def _run(command: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, check=False,
        env={**os.environ, **env},
    )  # fmt: skip


def _freeze(python: str) -> set[str]:
    done = _run([python, "-m", "pip", "freeze", "--all"], ROOT)
    return {line for line in done.stdout.splitlines() if not line.lower().startswith("perfgate")}


def _pip(python: str, *args: str) -> None:
    done = _run([python, "-m", "pip", "--disable-pip-version-check", "-q", *args], ROOT)
    assert done.returncode == 0, done.stderr


def _demo_repo(tmp_path: Path) -> Path:
    """The demo project as a git repository: a base commit, then a slower head."""
    repo = tmp_path / "demo"
    shutil.copytree(DEMO, repo)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True
        )
    return repo


@pytest.fixture(scope="module")
def capture_python() -> str:
    return _capture_python()


def test_the_plugin_captures_without_a_single_judge_library(capture_python, built, tmp_path):
    """The released wheel (not this work tree), installed with ``--no-deps``."""
    before = _freeze(capture_python)
    _pip(capture_python, "install", "--no-deps", "--force-reinstall", str(built.wheel))
    try:
        assert _freeze(capture_python) == before  # not one of the project's packages moved
        repo = _demo_repo(tmp_path)
        done = _run(
            [capture_python, "-c", RUN_AND_LIST_MODULES, json.dumps(JUDGE_LIBRARIES),
             *PYTEST_ARGS, "--perfgate", "--perfgate-output", "r.json"],
            repo,
        )  # fmt: skip
        line = next(x for x in done.stdout.splitlines() if x.startswith("PERFGATE-MODULES "))
        outcome = json.loads(line.split(" ", 1)[1])
        assert outcome == {"exit": 0, "judge": []}, done.stdout[-2000:]
        results = load_results(repo / "r.json")  # the judge validates what capture wrote
        assert len(results.runs[0].benchmarks) == 4
        assert all(len(b.samples) >= 1 for b in results.runs[0].benchmarks)

        # Comparing needs the judge: one clear line, a usage error, no traceback.
        judged = _run(
            [capture_python, "-m", "pytest", *PYTEST_ARGS, "--perfgate-baseline", "r.json"], repo
        )
        assert judged.returncode == 4
        assert "install perfgate's full set" in judged.stderr
        assert "Traceback" not in judged.stdout + judged.stderr
    finally:
        _pip(capture_python, "uninstall", "-y", "perfgate")
    assert _freeze(capture_python) == before


def test_ab_runs_both_sides_in_the_projects_interpreter(capture_python, tmp_path):
    """perfgate in its own environment, the project in another that does not even
    have perfgate: ``ab --python`` lends the sides the capture package alone."""
    probe = _run([capture_python, "-c", "import perfgate"], tmp_path)
    assert probe.returncode != 0  # perfgate is not installed in the project's environment
    repo = _demo_repo(tmp_path)
    module = repo / "textkit.py"
    module.write_text(
        module.read_text().replace("def wrap(", "def _unused():\n    pass\n\n\ndef wrap(")
    )
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "head"],
        cwd=repo, check=True,
    )  # fmt: skip
    done = _run(
        [sys.executable, "-m", "perfgate", "ab", "--base", "HEAD~1", "--python", capture_python,
         "--rounds", "2", "--max-time", "60", "--format", "json", "--output", "ab.json",
         "--", "test_textkit_bench.py", "--benchmark-max-time=0.02"],
        repo,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    report = json.loads((repo / "ab.json").read_text())
    assert len(report["benchmarks"]) == 4
    assert report["baseline"]["label"] == "base"
