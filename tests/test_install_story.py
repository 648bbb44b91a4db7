"""One install story (issue 25): every place that tells a user how to install
perfgate (the README, the docs, the action, the plugin's own hint) says the
same thing, and it agrees with pyproject.toml's source URL."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Places that tell a user what to run. The changelog and the departures table
# record history and the design's words; they are not instructions.
INSTRUCTIONS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOT_INSTRUCTIONS = {"changelog.md", "departures.md"}
# An install command that names perfgate: pip/pipx/uv with perfgate as a word.
INSTALL = re.compile(r"\b(?:pip|pipx|uv pip|uvx)\s+install\b[^\n`]*\bperfgate\b[^\n`]*")


def _source_url() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return project["urls"]["Source"]


def _spec() -> str:
    return f"perfgate @ git+{_source_url()}"


def test_every_install_command_in_the_docs_uses_the_one_spec():
    spec = _spec()
    found = []
    for path in INSTRUCTIONS:
        if path.name in NOT_INSTRUCTIONS:
            continue
        for match in INSTALL.finditer(path.read_text(encoding="utf-8")):
            command = match.group(0)
            found.append(path.name)
            assert f'"{spec}"' in command or "git+…" in command, (path.name, command)
    assert {"README.md", "quickstart.md", "ci.md"} <= set(found)


def test_nothing_tells_users_to_install_from_the_registry():
    bare = re.compile(r"\b(?:pip|pipx)\s+install\s+(?:--no-deps\s+)?perfgate\b(?!\s*@)")
    for path in INSTRUCTIONS:
        if path.name in NOT_INSTRUCTIONS:
            continue
        assert not bare.search(path.read_text(encoding="utf-8")), path.name


def test_the_action_installs_from_its_own_checkout():
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    (setup,) = [s for s in action["runs"]["steps"] if s.get("id") == "setup"]
    assert setup["env"]["PERFGATE_SOURCE"] == "${{ github.action_path }}"
    assert 'pip install --quiet --disable-pip-version-check "$PERFGATE_SOURCE"' in setup["run"]


def test_the_plugins_own_hint_names_the_same_spec():
    from perfgate.plugin import NO_JUDGE

    assert _spec() in NO_JUDGE
