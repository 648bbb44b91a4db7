"""The capture side of the pytest plugin: collect, count, write.

pytest objects stop here: :meth:`CaptureSettings.from_pytest_config` turns the
command line into a frozen record, and nothing below sees pytest. Judging
(compare, confirm, report) is not done here: the plugin passes in a
:class:`SessionJudge` when it was asked to compare, and this module never
imports it (capture runs in the project's environment; see ``capture/__init__``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Protocol

import pytest

from perfgate._errors import PerfgateError
from perfgate.capture._atomic import write_atomic
from perfgate.capture._child import ChildRun, run_pytest
from perfgate.capture._dependencies import (
    DEPENDENCIES_KEY,
    instruction_dependencies,
    record_dependencies,
)
from perfgate.capture._environment import collect_environment
from perfgate.capture._instruments import (
    Call,
    Counters,
    Instructions,
    Instrument,
    WallTime,
    measure_after_benchmark,
)
from perfgate.capture._options import CONFIRMATION_RUN_ENV, INSTRUCTIONS_DIR_ENV, VALUE_OPTIONS
from perfgate.capture._plan import (
    MARKER as PERFGATE_MARKER,
)
from perfgate.capture._plan import (
    MeasurePlan,
    check_marker,
    resolve_mode,
    shards,
    whole_test_call,
)
from perfgate.capture._project import baseline_path, find_pyproject, time_globs
from perfgate.capture._records import (
    BenchmarkRecord,
    RunRecord,
    document_text,
    results_document,
)

__all__ = [
    "CaptureSession",
    "CaptureSettings",
    "InstructionCounter",
    "PerfRun",
    "SessionJudge",
    "Verdict",
    "record_from_pytest_benchmark",
]


@dataclass(frozen=True)
class CaptureSettings:
    """What the plugin was asked to do, with every path made absolute."""

    root: Path
    invocation_dir: Path
    pyproject: Path | None
    baseline: Path | None
    """Compare against this file (``None``: no comparison)."""
    update_baseline: Path | None
    """Write the results here instead of comparing."""
    output: Path | None
    report: Path | None
    mode: str = "time"
    """``time``, ``instructions``, ``time+instructions`` or ``auto`` (see ``_plan.py``)."""
    jobs: int = 1
    """Counting processes run at once (shards of the suite)."""
    time_globs: tuple[str, ...] = ()
    """``measure_time`` of ``[tool.perfgate]``: tests timed even in a counting mode."""
    skip_counting: bool = False
    """In a counting mode, count nothing (only the tests kept on wall time are measured)."""
    counters: bool = False
    """Count file-system calls, bytes and allocations for every benchmark."""
    confirm_budget_s: float | None = None
    rerun_args: tuple[str, ...] = ()
    shard: tuple[int, int] | None = None
    """Run only this shard (index, count) of the collected tests (capture._shard)."""
    """The session's own command-line arguments minus test paths and perfgate's
    options: what a child run passes on to pytest."""

    @classmethod
    def from_pytest_config(cls, pytest_config: pytest.Config) -> CaptureSettings:
        root = pytest_config.rootpath
        inipath = pytest_config.inipath
        pyproject = (
            inipath if inipath and inipath.name == "pyproject.toml" else find_pyproject(root)
        )
        cwd = pytest_config.invocation_params.dir

        def path(option: str) -> Path | None:
            value = pytest_config.getoption(option)
            return cwd / value if value else None

        baseline = path("perfgate_baseline")
        update = bool(pytest_config.getoption("perfgate_update_baseline"))
        return cls(
            root=root,
            invocation_dir=cwd,
            pyproject=pyproject,
            baseline=None if update else baseline,
            update_baseline=(baseline or baseline_path(pyproject, root)) if update else None,
            output=path("perfgate_output"),
            report=path("perfgate_report"),
            mode=pytest_config.getoption("perfgate_mode"),
            jobs=pytest_config.getoption("perfgate_jobs") or os.cpu_count() or 1,
            time_globs=time_globs(pyproject),
            skip_counting=bool(pytest_config.getoption("perfgate_skip_counting")),
            counters=bool(pytest_config.getoption("perfgate_counters")),
            confirm_budget_s=pytest_config.getoption("perfgate_confirm_budget"),
            rerun_args=_rerun_args(pytest_config.invocation_params.args, pytest_config.args),
            shard=_shard_option(pytest_config.getoption("perfgate_shard")),
        )


def _shard_option(value: str | None) -> tuple[int, int] | None:
    from perfgate.capture._shard import parse_shard

    if value is None:
        return None
    try:
        return parse_shard(value)
    except ValueError as err:
        raise PerfgateError(f"--perfgate-shard: {err}") from None


def _rerun_args(args: Sequence[str], positional: Sequence[str]) -> tuple[str, ...]:
    kept: list[str] = []
    skip_value = False
    for token in args:
        if skip_value:
            skip_value = False
            continue
        name = token.split("=", 1)[0]
        if name.startswith("--perfgate"):
            skip_value = name in VALUE_OPTIONS and "=" not in token
            continue
        if token not in positional:
            kept.append(token)
    return tuple(kept)


WHOLE_TEST_BUDGET_S: Final = 0.25
"""About how long a whole test is timed for, in rounds (pytest-codspeed style)."""
WHOLE_TEST_MIN_ROUNDS: Final = 5
WHOLE_TEST_LONG_S: Final = 1.0
"""A whole test that takes this long is timed once, by its own call."""
WHOLE_TEST_MAX_ROUNDS: Final = 1000

Rerun = Callable[[Sequence[str]], "dict[str, Any] | None"]
"""Measure these benchmarks again in a new pytest process: its results document."""


@dataclass
class Verdict:
    """What a judge decided at the end of the session."""

    results_text: str
    """The results file to write (the captured run, plus any confirmation runs)."""
    report_lines: list[str] = field(default_factory=list)
    """The text report, for the terminal."""
    failed: bool = False
    """The gate failed (a regression): the session exits non-zero."""


class SessionJudge(Protocol):
    """Compares a session's results at its end (perfgate's judge, when installed)."""

    def judge(
        self, document: dict[str, Any], rerun: Rerun, say: Callable[[str], None]
    ) -> Verdict: ...


def record_from_pytest_benchmark(entry: Mapping[str, Any]) -> BenchmarkRecord | None:
    """One pytest-benchmark result (its ``as_dict(include_data=True)``) as a record;
    ``None`` when it holds no raw samples."""
    stats = entry.get("stats") or {}
    data = stats.get("data")
    if not data:
        return None
    params = entry.get("params")
    return BenchmarkRecord(
        name=str(entry.get("fullname") or entry["name"]),
        group=entry.get("group"),
        samples=tuple(float(v) for v in data),
        params=dict(params) if isinstance(params, dict) else None,
        extra=dict(entry.get("extra_info") or {}),
    )


class CaptureSession:
    """Run-wide state of the plugin, registered as a pytest plugin object."""

    def __init__(self, settings: CaptureSettings, judge: SessionJudge | None = None) -> None:
        self.settings = settings
        self.judge = judge
        self.started_at = datetime.now(UTC)
        self.captured: list[BenchmarkRecord] = []
        # perf_run results wait here until their test passes.
        self.pending: dict[str, list[BenchmarkRecord]] = {}
        # Benchmark name -> the pytest node id that measures it (for child runs).
        self.node_ids: dict[str, str] = {}
        self.messages: list[str] = []
        self.verdict: Verdict | None = None
        self.failed = False
        mode, note = resolve_mode(settings.mode)
        if note is not None:
            self.messages.append(note)
        self.plan = MeasurePlan(mode=mode, time_globs=settings.time_globs)
        # Node ids of passed benchmarks to count, and each benchmark test's measures.
        self.to_count: list[str] = []
        self.measures: dict[str, frozenset[str]] = {}
        self.dependencies: dict[str, Any] = {}
        if self.plan.counts and not settings.skip_counting:
            from perfgate.capture._instructions import require_valgrind

            require_valgrind()  # say so before minutes of benchmarking

    # --- capture ----------------------------------------------------------------------------

    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """With ``--perfgate-shard I/N``, keep this shard's tests only."""
        if self.settings.shard is None:
            return
        from perfgate.capture._shard import shard_of

        index, count = self.settings.shard
        kept: list[pytest.Item] = []
        dropped: list[pytest.Item] = []
        for item in items:
            (kept if shard_of(item.nodeid, count) == index else dropped).append(item)
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = kept

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "call":
            pending = self.pending.pop(item.nodeid, [])
            if report.passed:
                self._capture(item)
                self.captured.extend(pending)
                if "instructions" in self.measures.get(item.nodeid, ()):
                    self.to_count.append(item.nodeid)
        return report

    def add_pending(self, node_id: str, benchmarks: Sequence[BenchmarkRecord]) -> None:
        """Record ``perf_run`` (and counter) results, kept if the test passes."""
        taken = {b.name for b in self.captured} | {
            b.name for pending in self.pending.values() for b in pending
        }
        clash = [b.name for b in benchmarks if b.name in taken]
        if clash:
            raise PerfgateError(
                f"benchmark {clash[0]!r} was already recorded: give perf_run a distinct name="
            )
        self.pending.setdefault(node_id, []).extend(benchmarks)
        for bench in benchmarks:
            self.node_ids[bench.name] = node_id

    def _capture(self, item: pytest.Item) -> None:
        # pytest-benchmark's JSON hooks (pytest_benchmark_update_json and
        # friends) fire only when it writes JSON itself (--benchmark-json,
        # --benchmark-save). So read the public ``stats`` of the fixture the
        # test received, through its own ``as_dict()`` (the same dict its JSON
        # output holds), and never touch its private session object.
        fixture: Any = getattr(item, "funcargs", {}).get("benchmark")
        stats = getattr(fixture, "stats", None)
        if not stats or getattr(fixture, "has_error", False):
            return  # no benchmark, or pytest-benchmark is disabled for this run
        try:
            record = record_from_pytest_benchmark(stats.as_dict(include_data=True))
        except (KeyError, TypeError, ValueError) as err:
            self.messages.append(f"{item.nodeid}: not captured ({err})")
            return
        if record is None:
            self.messages.append(f"{item.nodeid}: not captured (no raw samples)")
            return
        self.captured.append(record)
        self.node_ids[record.name] = item.nodeid

    def _benchmark_measures(self, item: pytest.Item) -> frozenset[str] | None:
        """The measures of a benchmark test (``None``: not a benchmark test)."""
        fixture = "benchmark" in getattr(item, "fixturenames", ())
        if not fixture and not _is_whole_test_benchmark(item):
            return None
        marker = item.get_closest_marker(PERFGATE_MARKER)
        kwargs = dict(marker.kwargs) if marker else None
        if kwargs is not None:
            check_marker(kwargs)
        return self.plan.measures(item.nodeid, kwargs)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        measures = self._benchmark_measures(item)
        if measures is not None:
            self.measures[item.nodeid] = measures
            fixture: Any = getattr(item, "funcargs", {}).get("benchmark")
            if fixture is not None and "time" not in measures and hasattr(fixture, "disabled"):
                # Counted, not timed: the benchmarked call runs once, as with
                # --benchmark-disable (the public attribute that option sets).
                fixture.disabled = True
        if self.settings.counters or item.get_closest_marker("perfgate_counters"):
            node_id = item.nodeid

            def count(call: Call) -> None:
                self.add_pending(node_id, Counters().measure(node_id, call))

            measure_after_benchmark(item, count)
        return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """Time a pytest-codspeed-style test (``@pytest.mark.benchmark``, no
        fixture) whole, in rounds, after one ordinary call."""
        if not _is_whole_test_benchmark(pyfuncitem):
            return None
        if "time" not in self.measures.get(pyfuncitem.nodeid, frozenset()):
            return None
        call = whole_test_call(pyfuncitem.obj, pyfuncitem.funcargs)
        if call is None:
            self.messages.append(f"{pyfuncitem.nodeid}: a coroutine test is not measured whole")
            return None
        started = time.perf_counter()
        call()  # the test itself: a failure fails it, as usual
        first_s = time.perf_counter() - started
        node_id = pyfuncitem.nodeid
        if first_s >= WHOLE_TEST_LONG_S:
            # A long test is its own measurement: timing it again costs minutes.
            self.add_pending(node_id, [BenchmarkRecord(name=node_id, samples=(first_s,))])
            return True
        fitting = int(WHOLE_TEST_BUDGET_S / max(first_s, 1e-9))
        rounds = max(WHOLE_TEST_MIN_ROUNDS, min(WHOLE_TEST_MAX_ROUNDS, fitting))
        self.add_pending(node_id, WallTime(rounds=rounds).measure(node_id, call))
        return True

    def _count_instructions(self) -> None:
        """Count the passed benchmark tests' instructions under valgrind: shards of
        the suite in parallel processes, each instrumented only around the calls."""
        from perfgate.capture._callgrind import HELPER_ENV, helper_library
        from perfgate.capture._instructions import (
            counting_env,
            padded_env,
            read_counts,
            valgrind_prefix,
        )

        wanted = list(dict.fromkeys(self.to_count))
        if not wanted:
            return
        helper, why = helper_library()
        if helper is None:
            self.messages.append(f"{why}: instrumenting whole processes instead (slower)")
        root = self.settings.root
        # Deterministic shards (round-robin in run order): what ran before a
        # benchmark in its process moves its count, so the same suite must split
        # the same way every time and on both sides of an A/B.
        parts = shards(wanted, self.settings.jobs)
        with tempfile.TemporaryDirectory(prefix="perfgate-callgrind-") as scratch:
            out_dirs = [Path(scratch) / f"shard-{index}" for index in range(len(parts))]

            def count(index: int) -> ChildRun:
                out_dir = out_dirs[index]
                out_dir.mkdir()
                env = counting_env({**os.environ, INSTRUCTIONS_DIR_ENV: str(out_dir)})
                if helper is not None:
                    env[HELPER_ENV] = str(helper)
                return run_pytest(
                    valgrind_prefix(out_dir, helper),
                    [*self.settings.rerun_args, *[str(root / node) for node in parts[index]],
                     "--benchmark-disable", "-q"],
                    cwd=self.settings.invocation_dir,
                    env=env,
                    prepare_env=padded_env,
                )  # fmt: skip

            with ThreadPoolExecutor(max_workers=len(parts)) as pool:
                done = list(pool.map(count, range(len(parts))))
            counted = [
                b
                for out_dir in out_dirs
                for b in read_counts(out_dir, self.messages.append, (str(root),))
            ]
            self.dependencies = instruction_dependencies(out_dirs)
            failed = [child for child in done if child.returncode != 0]
            if failed and not counted:
                raise PerfgateError(f"counting instructions failed ({failed[0].describe()})")
        self.captured.extend(counted)
        self.messages.append(
            f"counted instructions of {len(counted)} benchmark(s) under valgrind "
            f"({len(parts)} process{'es' if len(parts) > 1 else ''})"
        )

    # --- finish -----------------------------------------------------------------------------

    def document(self) -> dict[str, Any] | None:
        """This session's results document, or ``None`` when nothing was captured."""
        if not self.captured:
            return None
        environment = {DEPENDENCIES_KEY: self.dependencies} if self.dependencies else {}
        run = RunRecord(
            started_at=self.started_at, benchmarks=tuple(self.captured), environment=environment
        )
        return results_document(collect_environment(self.settings.root), [run])

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        try:
            self._finish()
        except PerfgateError as err:
            self.messages.append(f"error: {err}")
            self.failed = True
        if session.exitstatus == pytest.ExitCode.OK:
            if self.failed:
                session.exitstatus = pytest.ExitCode.USAGE_ERROR
            elif self.verdict is not None and self.verdict.failed:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _finish(self) -> None:
        settings = self.settings
        if self.plan.counts and not settings.skip_counting:
            self._count_instructions()
        document = self.document()
        if document is None:
            self.messages.append(
                "no benchmark results were captured (no test used the `benchmark` fixture, "
                "or pytest-benchmark is disabled: --benchmark-disable, xdist)"
            )
            return
        text = document_text(document)
        if self.judge is not None:
            self.verdict = self.judge.judge(document, self._measure, self.messages.append)
            text = self.verdict.results_text
        elif settings.report:
            self.messages.append("--perfgate-report needs --perfgate-baseline to compare against")
        for path, what in ((settings.output, "results"), (settings.update_baseline, "baseline")):
            if path is not None:
                write_atomic(path, text)
                self.messages.append(f"wrote {what} to {path}")

    def _measure(self, names: Sequence[str]) -> dict[str, Any] | None:
        """One confirmation run: a new pytest process running only ``names``."""
        import json

        root = self.settings.root
        # Node ids are relative to the rootdir; one test may measure several benchmarks.
        wanted = dict.fromkeys(self.node_ids.get(name, name) for name in names)
        with tempfile.TemporaryDirectory(prefix="perfgate-confirm-") as scratch:
            out = Path(scratch) / "run.json"
            done = run_pytest(
                [sys.executable],
                [*self.settings.rerun_args, *[str(root / node_id) for node_id in wanted],
                 "--perfgate-output", str(out)],
                cwd=self.settings.invocation_dir,
                env={**os.environ, CONFIRMATION_RUN_ENV: "1"},
            )  # fmt: skip
            if not out.is_file():
                self.messages.append(f"confirmation run failed ({done.describe()})")
                return None
            loaded: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
            return loaded

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.section("perfgate")
        if self.verdict is not None:
            for line in self.verdict.report_lines:
                red = self.verdict.failed and line.startswith("perfgate:")
                terminalreporter.write_line(line, red=red)
        else:
            terminalreporter.write_line(f"captured {len(self.captured)} benchmarks")
        for message in self.messages:
            terminalreporter.write_line(f"perfgate: {message}")


class PerfRun:
    """The ``perf_run`` fixture's callable (see :func:`perfgate.plugin.perf_run`)."""

    def __init__(self, node_id: str, session: CaptureSession | None) -> None:
        self.node_id = node_id
        self.session = session

    def __call__(
        self,
        target: Sequence[str] | Call,
        *,
        rounds: int = 5,
        warmup: int = 0,
        name: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        shell: bool = False,
    ) -> list[float]:
        from perfgate.capture._commands import run_command
        from perfgate.capture._instruments import WallTime

        bench_name = f"{self.node_id}:{name}" if name else self.node_id
        if self.session is None:  # perfgate is off: exercise the target once
            rounds, warmup = 1, 0
        benchmarks: Sequence[BenchmarkRecord]
        if callable(target):
            benchmarks = WallTime(rounds=rounds, warmup=warmup).measure(bench_name, target)
            samples = list(benchmarks[0].samples)
        else:
            result = run_command(
                bench_name, list(target), rounds=rounds, warmup=warmup, shell=shell, cwd=cwd,
                env={**os.environ, **(env or {})},
            )  # fmt: skip
            if result.failed:
                bad = result.failed[0]
                pytest.fail(
                    f"perf_run: {' '.join(target)!r} exited {bad.exit_code} in round "
                    f"{bad.round + 1}: {bad.stderr_text}",
                    pytrace=False,
                )
            benchmarks = result.benchmarks()
            samples = [r.wall_s for r in result.measured]
        if self.session is not None:
            self.session.add_pending(self.node_id, benchmarks)
        return samples


class InstructionCounter:
    """The plugin of the process that counts instructions under valgrind."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)
        self.instrument: Instrument = Instructions(self.out_dir)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        node_id = item.nodeid

        def count(call: Call) -> None:
            self.instrument.measure(node_id, call)

        measure_after_benchmark(item, count)
        return (yield)

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> bool | None:
        """Count a pytest-codspeed-style test (``@pytest.mark.benchmark``, no
        fixture) whole, after one ordinary call."""
        if not _is_whole_test_benchmark(pyfuncitem):
            return None
        call = whole_test_call(pyfuncitem.obj, pyfuncitem.funcargs)
        if call is None:
            return None
        call()
        self.instrument.measure(pyfuncitem.nodeid, call)
        return True

    def pytest_sessionfinish(self) -> None:
        record_dependencies(self.out_dir)


def _is_whole_test_benchmark(item: pytest.Item) -> bool:
    return (
        isinstance(item, pytest.Function)
        and item.get_closest_marker("benchmark") is not None
        and "benchmark" not in item.fixturenames
    )
