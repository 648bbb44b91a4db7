"""The plugin's command-line options, in one place: the plugin registers them,
the capture session reads them, and child pytest runs leave them out."""

from __future__ import annotations

from typing import Final

import pytest

from perfgate.capture._plan import MODES

__all__ = [
    "CONFIRMATION_RUN_ENV",
    "IMPLYING",
    "INSTRUCTIONS_DIR_ENV",
    "LOCKSTEP_ENV",
    "VALUE_OPTIONS",
    "add_options",
]

# Every option but --perfgate itself implies --perfgate (pytest's dest names).
IMPLYING: Final = (
    "perfgate_baseline",
    "perfgate_update_baseline",
    "perfgate_output",
    "perfgate_report",
    "perfgate_counters",
    "perfgate_shard",
)
# Options of ours that take a value (left out when perfgate re-runs pytest).
VALUE_OPTIONS: Final = (
    "--perfgate-baseline",
    "--perfgate-output",
    "--perfgate-report",
    "--perfgate-confirm-budget",
    "--perfgate-mode",
    "--perfgate-jobs",
    "--perfgate-shard",
)
INSTRUCTIONS_DIR_ENV: Final = "PERFGATE_INSTRUCTIONS_DIR"
"""Set in the process that counts instructions under valgrind (see _instructions.py)."""
CONFIRMATION_RUN_ENV: Final = "PERFGATE_CONFIRMATION_RUN"
LOCKSTEP_ENV: Final = "PERFGATE_LOCKSTEP"
"""host:port of a lock-step A/B coordinator; set, the process is its worker
(capture/_lockstep.py)."""


def add_options(parser: pytest.Parser) -> None:
    """Register perfgate's options and marker help."""
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
        help="compare against this baseline at the end; a regression fails the session "
        "(needs perfgate's judge: pydantic, scipy, jinja2)",
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
        "--perfgate-report",
        metavar="PATH",
        default=None,
        help="also write the markdown report (with --perfgate-baseline)",
    )
    group.addoption(
        "--perfgate-mode",
        choices=MODES,
        default="time",
        help="time: wall time (default); instructions: count each benchmark's instructions "
        "per call under valgrind instead of timing it; time+instructions: both; auto: "
        "instructions where valgrind is installed, else time",
    )
    group.addoption(
        "--perfgate-jobs",
        metavar="N",
        type=int,
        default=None,
        help="counting processes run at once (default: the number of CPUs)",
    )
    group.addoption(
        "--perfgate-shard",
        metavar="I/N",
        default=None,
        help="run only shard I of N of the collected tests (a stable split by node id, "
        "the same on every run: one job of a CI matrix)",
    )
    group.addoption(
        "--perfgate-counters",
        action="store_true",
        default=False,
        help="also count file-system calls, bytes read and written and peak allocation "
        "per call of every benchmark (or mark tests with @pytest.mark.perfgate_counters)",
    )
    group.addoption(
        "--perfgate-skip-counting",
        action="store_true",
        default=False,
        help="in a counting mode, time the benchmarks kept on wall time and count "
        "nothing (perfgate ab's later rounds)",
    )
    group.addoption(
        "--perfgate-confirm-budget",
        metavar="SECONDS",
        type=float,
        default=None,
        help="time for extra runs of undecided benchmarks after comparing "
        "(default: confirm_budget_s in [tool.perfgate], 120; 0 turns it off)",
    )
