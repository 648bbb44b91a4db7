"""perfgate's pytest plugin, registered through the ``pytest11`` entry point.

pytest imports every installed plugin on every run, so this module stays thin:
it imports nothing heavy (no scipy, jinja2, pydantic or PyGithub) and does
nothing unless one of its options is given. The work lives in
:mod:`perfgate.capture._session`, imported only then.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from perfgate.capture._session import PerfgateSession

__all__ = [
    "INSTRUCTIONS_DIR_ENV",
    "SESSION_KEY",
    "VALUE_OPTIONS",
    "perf_run",
    "pytest_addoption",
    "pytest_configure",
    "session_of",
]

SESSION_KEY: pytest.StashKey[PerfgateSession] = pytest.StashKey()

# Every option but --perfgate itself implies --perfgate.
_IMPLYING = ("perfgate_baseline", "perfgate_update_baseline", "perfgate_output", "perfgate_report")
# Options of ours that take a value (left out when the plugin re-runs pytest).
VALUE_OPTIONS = (
    "--perfgate-baseline",
    "--perfgate-output",
    "--perfgate-report",
    "--perfgate-confirm-budget",
    "--perfgate-mode",
)
# Set in the process that counts instructions under valgrind (see _instructions.py).
INSTRUCTIONS_DIR_ENV = "PERFGATE_INSTRUCTIONS_DIR"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("perfgate", "perfgate: performance regression gate")
    group.addoption(
        "--perfgate",
        action="store_true",
        default=False,
        help="capture every pytest-benchmark result with raw samples",
    )
    group.addoption(
        "--perfgate-baseline",
        metavar="PATH",
        default=None,
        help="compare against this baseline at the end; a regression fails the session",
    )
    group.addoption(
        "--perfgate-update-baseline",
        action="store_true",
        default=False,
        help="write the captured results to the baseline (--perfgate-baseline or the "
        "configured one) instead of comparing",
    )
    group.addoption(
        "--perfgate-output", metavar="PATH", default=None, help="also write this run's results file"
    )
    group.addoption(
        "--perfgate-report", metavar="PATH", default=None, help="also write the markdown report"
    )
    group.addoption(
        "--perfgate-mode",
        choices=("time", "instructions"),
        default="time",
        help="time: wall time (default); instructions: also count each benchmark's "
        "instructions per call under valgrind (callgrind)",
    )
    group.addoption(
        "--perfgate-counters",
        action="store_true",
        default=False,
        help="also count file-system calls, bytes read and written and peak allocation "
        "per call of every benchmark (or mark tests with @pytest.mark.perfgate_counters)",
    )
    group.addoption(
        "--perfgate-confirm-budget",
        metavar="SECONDS",
        type=float,
        default=None,
        help="time for extra runs of undecided benchmarks after comparing "
        "(default: confirm_budget_s in [tool.perfgate], 120; 0 turns it off)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "perfgate_counters: count file-system calls, bytes and allocations per call"
    )
    counting_dir = os.environ.get(INSTRUCTIONS_DIR_ENV)
    if counting_dir:
        from perfgate.capture._session import InstructionCounter

        config.pluginmanager.register(InstructionCounter(counting_dir), "perfgate-instructions")
        return
    enabled = config.getoption("perfgate") or any(config.getoption(o) for o in _IMPLYING)
    enabled = enabled or config.getoption("perfgate_mode") != "time"
    enabled = enabled or config.getoption("perfgate_counters")
    if not enabled:
        return
    from perfgate._errors import PerfgateError
    from perfgate.capture._session import PerfgateSession

    try:
        session = PerfgateSession.from_pytest_config(config)
    except PerfgateError as err:
        raise pytest.UsageError(f"perfgate: {err}") from None
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "perfgate-session")


@pytest.fixture
def perf_run(request: pytest.FixtureRequest) -> Any:
    """Time a command or a callable as a pipeline benchmark inside a test::

        def test_diagnostics(perf_run):
            perf_run(["python", "-m", "mytool", "diagnostics"], rounds=5)

    With perfgate on, the rounds are recorded like ``benchmark`` results (named
    after the test, or ``name``); with it off, the target runs once. A command
    that exits non-zero fails the test. Returns the wall times in seconds.
    """
    from perfgate.capture._session import PerfRun

    return PerfRun(request.node.nodeid, session_of(request.config))


def session_of(config: pytest.Config) -> PerfgateSession | None:
    """The active perfgate session of a pytest run, if perfgate is on."""
    return config.stash.get(SESSION_KEY, None)
