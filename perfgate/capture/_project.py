"""Find the project's ``pyproject.toml`` and read its ``[tool.perfgate]`` table.

Only reading happens here (with :mod:`tomllib`); the judge validates the table
(:func:`perfgate._config.load_config`). The capture side takes from it only
what capture itself needs: the baseline path that ``--perfgate-update-baseline``
writes to, and the ``measure_time`` globs.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Final

from perfgate._errors import ConfigError

__all__ = [
    "DEFAULT_BASELINE",
    "baseline_path",
    "find_pyproject",
    "read_tool_table",
    "time_globs",
]

DEFAULT_BASELINE: Final = Path("baselines/perfgate.json")


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` at or above ``start``."""
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def read_tool_table(pyproject: Path) -> dict[str, Any]:
    """The raw ``[tool.perfgate]`` table of ``pyproject`` (empty when absent)."""
    try:
        with pyproject.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{pyproject}: no such file") from None
    except OSError as err:
        raise ConfigError(f"{pyproject}: cannot read ({err.strerror})") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{pyproject}: not valid TOML ({err})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{pyproject}: not valid TOML (not UTF-8)") from None
    except RecursionError:
        raise ConfigError(f"{pyproject}: not valid TOML (nested too deeply)") from None
    tool = document.get("tool", {})
    table = tool.get("perfgate", {}) if isinstance(tool, dict) else None
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject} [tool.perfgate]: must be a table")
    return table


def baseline_path(pyproject: Path | None, root: Path) -> Path:
    """The configured baseline, resolved against the ``pyproject.toml``'s directory
    (or ``root`` when there is none)."""
    if pyproject is None:
        return root / DEFAULT_BASELINE
    value = read_tool_table(pyproject).get("baseline", str(DEFAULT_BASELINE))
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{pyproject} [tool.perfgate]: baseline must be a path string")
    return pyproject.parent / value


def time_globs(pyproject: Path | None) -> tuple[str, ...]:
    """``measure_time`` of ``[tool.perfgate]``: node-id globs timed in counting modes."""
    if pyproject is None:
        return ()
    value = read_tool_table(pyproject).get("measure_time", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{pyproject} [tool.perfgate]: measure_time must be a list of globs")
    return tuple(value)
