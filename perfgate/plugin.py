"""perfgate's pytest plugin, registered through the ``pytest11`` entry point.

pytest imports every installed plugin on every run, so this module stays thin:
it imports nothing heavy and does nothing unless one of its options is given.
Capturing needs only the standard library, pytest and pytest-benchmark
(:mod:`perfgate.capture`), so the plugin can live in a project's environment
whose pins must not move. Comparing at the end of the session
(``--perfgate-baseline``) needs perfgate's judge (pydantic, scipy, jinja2),
imported only then; without it the plugin says so in one line.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

import pytest

from perfgate.capture._options import IMPLYING, INSTRUCTIONS_DIR_ENV, LOCKSTEP_ENV, add_options

if TYPE_CHECKING:
    from perfgate.capture._session import CaptureSession, CaptureSettings, SessionJudge

__all__ = ["SESSION_KEY", "perf_run", "pytest_addoption", "pytest_configure", "session_of"]

SESSION_KEY: pytest.StashKey[CaptureSession] = pytest.StashKey()

# What the judge imports that a project's environment may not have.
_JUDGE_LIBRARIES: Final = frozenset(
    {"pydantic", "pydantic_core", "scipy", "numpy", "jinja2", "markupsafe", "github", "requests"}
)
NO_JUDGE: Final = (
    "--perfgate-baseline needs perfgate's judge, and {missing} is not installed here: "
    "install perfgate's full set (pip install \"perfgate @ git+https://github.com/perfgate/"
    'perfgate"), or write results with --perfgate-output and run `perfgate compare` from '
    "perfgate's own environment"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "perfgate_counters: count file-system calls, bytes and allocations per call"
    )
    config.addinivalue_line(
        "markers",
        'perfgate(measure="time"): time this benchmark even when perfgate counts instructions',
    )
    lockstep = os.environ.get(LOCKSTEP_ENV)
    if lockstep:
        from perfgate.capture._lockstep import start_worker

        start_worker(config, lockstep)
        return
    counting_dir = os.environ.get(INSTRUCTIONS_DIR_ENV)
    if counting_dir:
        from perfgate.capture._session import InstructionCounter

        config.pluginmanager.register(InstructionCounter(counting_dir), "perfgate-instructions")
        return
    enabled = config.getoption("perfgate") or any(config.getoption(o) for o in IMPLYING)
    if not (enabled or config.getoption("perfgate_mode") != "time"):
        return
    from perfgate._errors import PerfgateError
    from perfgate.capture._session import CaptureSession, CaptureSettings

    try:
        settings = CaptureSettings.from_pytest_config(config)
        judge = _judge(settings) if settings.baseline is not None else None
        session = CaptureSession(settings, judge)
    except PerfgateError as err:
        raise pytest.UsageError(f"perfgate: {err}") from None
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "perfgate-session")


def _judge(settings: CaptureSettings) -> SessionJudge:
    """perfgate's judge for this session (validates the config, loads the baseline)."""
    try:
        from perfgate._pytest_judge import PytestJudge
    except ImportError as err:
        top = (err.name or "").partition(".")[0]
        if top not in _JUDGE_LIBRARIES:
            raise
        raise pytest.UsageError(f"perfgate: {NO_JUDGE.format(missing=top)}") from None
    return PytestJudge(settings)


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


def session_of(config: pytest.Config) -> CaptureSession | None:
    """The active perfgate session of a pytest run, if perfgate is on."""
    return config.stash.get(SESSION_KEY, None)
