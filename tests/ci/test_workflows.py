"""perfgate's own workflows use its action, and the fork recipe never runs fork code."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    return data


def test_the_repository_gates_itself_with_its_own_action():
    gate = _load("perfgate.yml")["jobs"]["gate"]
    (step,) = [s for s in gate["steps"] if s.get("uses") == "./"]
    assert step["with"]["benchmarks"] == "tests/benchmarks"
    assert gate["permissions"]["contents"] == "write"  # pushes store the baseline
    checkout = gate["steps"][0]
    assert checkout["with"]["fetch-depth"] == 0


def test_every_action_input_is_documented_and_used():
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    script = "\n".join(str(s) for s in action["runs"]["steps"])
    for name, spec in action["inputs"].items():
        assert spec.get("description"), name
        assert f"inputs.{name}" in script, f"input {name} is never used"
    assert {"verdict", "conclusion", "report", "html"} <= set(action["outputs"])


def test_the_fork_recipe_checks_out_only_trusted_code():
    workflow = _load("perfgate-publish.yml")
    assert set(workflow[True]) == {"workflow_run"}  # YAML reads the key `on` as True
    steps = workflow["jobs"]["publish"]["steps"]
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout")]
    assert len(checkouts) == 1
    assert checkouts[0]["with"] == {"persist-credentials": False}  # the default branch, no ref
    assert "concurrency" in workflow


def _every_step() -> list[tuple[str, dict[str, Any]]]:
    steps: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        for job in _load(path.name)["jobs"].values():
            steps += [(path.name, step) for step in job["steps"]]
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    steps += [("action.yml", step) for step in action["runs"]["steps"]]
    return steps


def test_every_third_party_action_is_pinned_by_commit():
    uses = [(name, str(step["uses"])) for name, step in _every_step() if "uses" in step]
    assert uses
    for name, ref in uses:
        if ref.startswith("./"):
            continue
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", ref), f"{name}: {ref}"


def test_no_checkout_leaves_the_token_in_git_config():
    checkouts = [
        s for _, s in _every_step() if str(s.get("uses", "")).startswith("actions/checkout")
    ]
    assert checkouts
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)


def _zizmor() -> list[str]:
    found = shutil.which("zizmor", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("zizmor is not installed (make install brings it)")
    return [found]


def test_zizmor_finds_nothing_even_pedantic_and_every_ignore_is_explained():
    """zizmor (offline: no GitHub API) on the action and every workflow, with its
    most demanding persona: no finding; each ``zizmor: ignore`` says why."""
    done = subprocess.run(
        [*_zizmor(), "--offline", "--persona", "pedantic", "--format", "plain",
         str(ROOT / "action.yml"), str(WORKFLOWS)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "No findings to report" in done.stdout + done.stderr
    for path in [ROOT / "action.yml", *WORKFLOWS.glob("*.yml")]:
        lines = path.read_text(encoding="utf-8").splitlines()
        for index, line in enumerate(lines):
            if "zizmor: ignore[" in line:
                before = "\n".join(lines[max(0, index - 6) : index])
                assert "explained" in before, f"{path.name}:{index + 1}: no reason given"
