"""perfgate's own workflows use its action, and the fork recipe never runs fork code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    assert checkouts == [{"uses": "actions/checkout@v4"}]  # the default branch, no ref
    assert "concurrency" in workflow
