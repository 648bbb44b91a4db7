"""Which measure each benchmark gets: wall time, instruction counts, or both.

Modes (``--perfgate-mode``):

- ``time``: wall time through pytest-benchmark (the default of the plugin).
- ``instructions``: instruction counts only. pytest-benchmark's timing pass is
  switched off for the counted tests (their benchmarked call runs once, as with
  ``--benchmark-disable``), and the counting runs afterwards under valgrind.
- ``time+instructions``: both, in one job.
- ``auto``: ``instructions`` where valgrind is installed, else ``time`` (said
  once).

In the counting modes, a test marked ``@pytest.mark.perfgate(measure="time")``,
or whose node id matches a glob of ``measure_time`` in ``[tool.perfgate]``, is
timed instead: counts do not see I/O, sleeps, threads or memory effects.

A test marked ``@pytest.mark.benchmark`` that takes no ``benchmark`` fixture
(pytest-codspeed's style) is measured whole: its call is timed in rounds or
counted, like a benchmarked function.
"""

from __future__ import annotations

import fnmatch
import inspect
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "MEASURES",
    "MODES",
    "MeasurePlan",
    "resolve_mode",
    "whole_test_call",
]

MODES: Final = ("time", "instructions", "time+instructions", "auto")
MEASURES: Final = ("time", "instructions")
MARKER: Final = "perfgate"
NO_VALGRIND: Final = (
    "valgrind is not installed: measuring wall time instead of instruction counts "
    "(apt-get install valgrind to count)"
)


def resolve_mode(mode: str) -> tuple[str, str | None]:
    """``auto`` made concrete, and what to say about it (once)."""
    if mode != "auto":
        return mode, None
    if shutil.which("valgrind") is None:
        return "time", NO_VALGRIND
    return "instructions", None


@dataclass(frozen=True)
class MeasurePlan:
    """The measures of one session, by test."""

    mode: str
    """A concrete mode: ``time``, ``instructions`` or ``time+instructions``."""
    time_globs: tuple[str, ...] = ()

    @property
    def counts(self) -> bool:
        return self.mode != "time"

    def measures(self, node_id: str, marker_kwargs: dict[str, Any] | None) -> frozenset[str]:
        """What this test's benchmark gets."""
        if self.mode == "time" or self.timed_only(node_id, marker_kwargs):
            return frozenset({"time"})
        if self.mode == "instructions":
            return frozenset({"instructions"})
        return frozenset(MEASURES)

    def timed_only(self, node_id: str, marker_kwargs: dict[str, Any] | None) -> bool:
        if marker_kwargs and marker_kwargs.get("measure") == "time":
            return True
        return any(fnmatch.fnmatchcase(node_id, glob) for glob in self.time_globs)


def check_marker(kwargs: dict[str, Any]) -> None:
    """``@pytest.mark.perfgate(measure=...)``: unknown keys and values are named."""
    unknown = sorted(set(kwargs) - {"measure"})
    if unknown:
        raise ValueError(
            f"perfgate mark: unknown key {', '.join(map(repr, unknown))} (known: measure)"
        )
    if "measure" in kwargs and kwargs["measure"] not in MEASURES:
        raise ValueError(f"perfgate mark: measure must be one of {', '.join(MEASURES)}")


def whole_test_call(
    function: Callable[..., object], funcargs: dict[str, Any]
) -> Callable[[], object] | None:
    """A call of the test function with its fixtures, for measuring a test whole;
    ``None`` for what cannot be called again like that (coroutines)."""
    if inspect.iscoroutinefunction(function):
        return None
    parameters = inspect.signature(function).parameters
    arguments = {name: funcargs[name] for name in parameters if name in funcargs}
    return lambda: function(**arguments)


def shards(items: Sequence[str], count: int) -> list[list[str]]:
    """``items`` dealt round-robin into at most ``count`` non-empty shards: the
    same items always split the same way (not by measured durations, which
    differ from run to run)."""
    count = max(1, min(count, len(items)))
    return [list(items[index::count]) for index in range(count)]
