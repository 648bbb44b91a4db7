"""[tool.perfgate]: defaults, validation with named keys, path resolution, overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from perfgate import Config, ConfigError, load_config
from perfgate.capture._project import find_pyproject

DOCS = Path(__file__).parent.parent / "docs" / "configuration.md"


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(body)
    return path


def test_defaults_without_a_table(tmp_path):
    config = load_config(_write(tmp_path, "[project]\nname = 'x'\n"))
    assert config.threshold_pct == 5.0
    assert config.alpha == 0.05
    assert config.baseline == tmp_path / "baselines" / "perfgate.json"


def test_values_and_overrides(tmp_path):
    config = load_config(
        _write(
            tmp_path,
            """
[tool.perfgate]
baseline = "perf/base.json"
threshold_pct = 10
fdr = false
[[tool.perfgate.overrides]]
match = "tests/io/*"
threshold_pct = 25
[[tool.perfgate.overrides]]
match = "tests/io/flaky*"
ignore = true
""",
        )
    )
    assert config.baseline == tmp_path / "perf" / "base.json"
    assert config.settings_for("tests/cpu/x").threshold_pct == 10
    assert config.settings_for("tests/io/x").threshold_pct == 25
    flaky = config.settings_for("tests/io/flaky_one")
    assert flaky.ignore
    assert flaky.threshold_pct == 25


def test_unknown_keys_are_named(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key 'thresold_pct'.*known keys: baseline"):
        load_config(_write(tmp_path, "[tool.perfgate]\nthresold_pct = 3\n"))
    with pytest.raises(
        ConfigError, match=r"unknown key 'overrides\[0\].treshold'.*known keys: match"
    ):
        load_config(_write(tmp_path, "[[tool.perfgate.overrides]]\nmatch='x'\ntreshold=1\n"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("threshold_pct = -1", "threshold_pct: Input should be greater than 0"),
        ("alpha = 'high'", "alpha: Input should be a valid number"),
        ("min_runs = 0", "min_runs: Input should be greater than or equal to 1"),
    ],
)
def test_invalid_values(tmp_path, body, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(_write(tmp_path, f"[tool.perfgate]\n{body}\n"))


def test_invalid_toml(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "[tool.perfgate\n"))


def test_updated_validates(tmp_path):
    with pytest.raises(ConfigError, match="alpha"):
        Config().updated(alpha=3)
    assert Config().updated(threshold_pct=7).threshold_pct == 7


def test_find_pyproject_walks_up(tmp_path):
    _write(tmp_path, "")
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_pyproject(deep) == tmp_path / "pyproject.toml"


def test_every_key_is_documented():
    text = DOCS.read_text()
    from perfgate._config import Override

    for name in [*Config.model_fields, *Override.model_fields]:
        assert f"`{name}`" in text, f"docs/configuration.md does not document {name}"
