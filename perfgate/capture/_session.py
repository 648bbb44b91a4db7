"""The work behind the pytest plugin: capture, then write, compare or update.

pytest objects stop here: :meth:`PluginSettings.from_pytest_config` turns the
command line and ``[tool.perfgate]`` into a frozen model, and everything below
(compare, render, storage) sees only perfgate's own models.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Generator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from perfgate._config import Config, find_pyproject, load_config
from perfgate._errors import PerfgateError
from perfgate.capture._environment import collect_environment
from perfgate.report._render import ReportFormat, render
from perfgate.results._model import Benchmark, ResultsFile, Run
from perfgate.results._readers import benchmark_from_pytest_benchmark, load_results
from perfgate.results._storage import save_results, write_atomic
from perfgate.verdict._comparison import Comparison, Verdict
from perfgate.verdict._confirm import confirm

__all__ = ["PerfgateSession", "PluginSettings"]


class PluginSettings(BaseModel):
    """What the plugin was asked to do, with every path made absolute."""

    model_config = ConfigDict(frozen=True)

    root: Path
    config: Config
    baseline: Path | None
    """Compare against this file (``None``: no comparison)."""
    update_baseline: Path | None
    """Write the results here instead of comparing."""
    output: Path | None
    report: Path | None
    invocation_dir: Path
    mode: str = "time"
    """``time``, or ``instructions`` (also count instructions under valgrind)."""
    counters: bool = False
    """Count file-system calls, bytes and allocations for every benchmark."""
    rerun_args: tuple[str, ...]
    """The session's own command-line arguments minus test paths and perfgate's
    options: what a confirmation run passes on to pytest."""

    @classmethod
    def from_pytest_config(cls, pytest_config: pytest.Config) -> PluginSettings:
        root = pytest_config.rootpath
        inipath = pytest_config.inipath
        pyproject = (
            inipath if inipath and inipath.name == "pyproject.toml" else find_pyproject(root)
        )
        config = load_config(pyproject)
        if pyproject is None:
            config = config.resolved_against(root)
        cwd = pytest_config.invocation_params.dir

        def path(option: str) -> Path | None:
            value = pytest_config.getoption(option)
            return cwd / value if value else None

        baseline = path("perfgate_baseline")
        update = bool(pytest_config.getoption("perfgate_update_baseline"))
        budget = pytest_config.getoption("perfgate_confirm_budget")
        if budget is not None:
            config = config.updated(confirm_budget_s=budget)
        return cls(
            root=root,
            config=config,
            baseline=None if update else baseline,
            update_baseline=(baseline or config.baseline) if update else None,
            output=path("perfgate_output"),
            report=path("perfgate_report"),
            invocation_dir=cwd,
            mode=pytest_config.getoption("perfgate_mode"),
            counters=bool(pytest_config.getoption("perfgate_counters")),
            rerun_args=_rerun_args(pytest_config.invocation_params.args, pytest_config.args),
        )


def _rerun_args(args: Sequence[str], positional: Sequence[str]) -> tuple[str, ...]:
    from perfgate.plugin import VALUE_OPTIONS

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


class PerfgateSession:
    """Run-wide state of the plugin, registered as a pytest plugin object."""

    def __init__(self, settings: PluginSettings) -> None:
        self.settings = settings
        self.started_at = datetime.now(UTC)
        self.captured: list[Benchmark] = []
        # perf_run results wait here until their test passes.
        self.pending: dict[str, list[Benchmark]] = {}
        # Benchmark name -> the pytest node id that measures it (for confirmation runs).
        self.node_ids: dict[str, str] = {}
        self.messages: list[str] = []
        self.comparison: Comparison | None = None
        self.failed = False
        if settings.mode == "instructions":
            from perfgate.capture._instructions import require_valgrind

            require_valgrind()  # say so before minutes of benchmarking
        # Load the baseline up front: a bad baseline should stop the run before
        # minutes of benchmarking, not after.
        self.baseline: ResultsFile | None = (
            load_results(settings.baseline, self.messages.append) if settings.baseline else None
        )

    @classmethod
    def from_pytest_config(cls, config: pytest.Config) -> PerfgateSession:
        return cls(PluginSettings.from_pytest_config(config))

    # --- capture ----------------------------------------------------------------------------

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
        return report

    def add_pending(self, node_id: str, benchmarks: Sequence[Benchmark]) -> None:
        """Record ``perf_run`` results, kept if the test passes."""
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
        entry = stats.as_dict(include_data=True)
        try:
            bench = benchmark_from_pytest_benchmark(entry, self.messages.append, item.nodeid)
            self.captured.append(bench)
            self.node_ids[bench.name] = item.nodeid
        except PerfgateError as err:
            self.messages.append(f"not captured: {err}")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        if self.settings.counters or item.get_closest_marker("perfgate_counters"):
            node_id = item.nodeid

            def count(function: Callable[[], object]) -> None:
                from perfgate.capture._counters import measure_counters

                self.add_pending(node_id, measure_counters(node_id, function))

            _measure_after_benchmark(item, count)
        return (yield)

    def _count_instructions(self) -> None:
        """Count the captured benchmarks' instructions in one process under valgrind."""
        from perfgate.capture._instructions import read_counts, valgrind_prefix
        from perfgate.plugin import INSTRUCTIONS_DIR_ENV

        names = [b.name for b in self.captured if b.name in self.node_ids and b.samples]
        wanted = list(dict.fromkeys(self.node_ids[name] for name in names))
        if not wanted:
            return
        root = self.settings.root
        with tempfile.TemporaryDirectory(prefix="perfgate-callgrind-") as scratch:
            out_dir = Path(scratch)
            command = [
                *valgrind_prefix(out_dir), "-m", "pytest", *self.settings.rerun_args,
                *[str(root / node_id) for node_id in wanted],
                "-p", "no:cacheprovider", "--benchmark-disable", "-q",
            ]  # fmt: skip
            env = {**os.environ, INSTRUCTIONS_DIR_ENV: scratch, "PYTHONHASHSEED": "0"}
            done = subprocess.run(
                command, cwd=self.settings.invocation_dir, env=env,
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            counted = read_counts(out_dir, self.messages.append)
            if done.returncode != 0 and not counted:
                tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
                raise PerfgateError(
                    f"counting instructions failed (exit {done.returncode}): {' | '.join(tail)}"
                )
        self.captured.extend(counted)
        self.messages.append(f"counted instructions of {len(counted)} benchmark(s) under valgrind")

    # --- finish -----------------------------------------------------------------------------

    def results(self) -> ResultsFile | None:
        """This session's results, or ``None`` when nothing was captured."""
        if not self.captured:
            return None
        run = Run(started_at=self.started_at, benchmarks=tuple(self.captured))
        return ResultsFile(environment=collect_environment(self.settings.root), runs=(run,))

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        try:
            self._finish()
        except PerfgateError as err:
            self.messages.append(f"error: {err}")
            self.failed = True
        if self.failed and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
        elif (
            self.comparison is not None
            and self.comparison.verdict is Verdict.FAIL
            and session.exitstatus == pytest.ExitCode.OK
        ):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _finish(self) -> None:
        settings = self.settings
        if settings.mode == "instructions" and self.captured:
            self._count_instructions()
        results = self.results()
        if results is None:
            self.messages.append(
                "no benchmark results were captured (no test used the `benchmark` fixture, "
                "or pytest-benchmark is disabled: --benchmark-disable, xdist)"
            )
            return
        if self.baseline is not None:
            config = settings.config
            outcome = confirm(
                self.baseline,
                results,
                config,
                self._measure,
                budget_s=config.confirm_budget_s,
                max_runs=config.confirm_max_runs,
            )
            self.messages.extend(outcome.log)
            results, self.comparison = outcome.current, outcome.comparison
            if settings.report:
                markdown = render(
                    self.comparison, ReportFormat.MARKDOWN, template_dir=config.template_dir
                )
                write_atomic(settings.report, markdown)
                self.messages.append(f"wrote report to {settings.report}")
        elif settings.report:
            self.messages.append("--perfgate-report needs --perfgate-baseline to compare against")
        if settings.output:
            save_results(settings.output, results)
            self.messages.append(f"wrote results to {settings.output} ({len(results.runs)} runs)")
        if settings.update_baseline:
            save_results(settings.update_baseline, results)
            self.messages.append(f"wrote baseline {settings.update_baseline} (1 run)")

    def _measure(self, names: Sequence[str]) -> ResultsFile | None:
        """One confirmation run: a new pytest process running only ``names``."""
        root = self.settings.root
        # Node ids are relative to the rootdir; one test may measure several benchmarks.
        wanted = dict.fromkeys(self.node_ids.get(name, name) for name in names)
        node_ids = [str(root / node_id) for node_id in wanted]
        with tempfile.TemporaryDirectory(prefix="perfgate-confirm-") as scratch:
            out = Path(scratch) / "run.json"
            command = [
                sys.executable, "-m", "pytest", *self.settings.rerun_args, *node_ids,
                "-p", "no:cacheprovider", "--perfgate-output", str(out),
            ]  # fmt: skip
            done = subprocess.run(
                command,
                cwd=self.settings.invocation_dir,
                env={**os.environ, "PERFGATE_CONFIRMATION_RUN": "1"},
                capture_output=True,
                text=True,
                check=False,
            )
            if not out.is_file():
                tail = (done.stdout + done.stderr).strip().splitlines()[-3:]
                self.messages.append(
                    f"confirmation run failed (exit {done.returncode}): {' | '.join(tail)}"
                )
                return None
            return load_results(out, self.messages.append)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.section("perfgate")
        if self.comparison is not None:
            try:
                text = render(
                    self.comparison,
                    ReportFormat.TEXT,
                    template_dir=self.settings.config.template_dir,
                )
            except PerfgateError as err:
                text = f"error: {err}\n"
            failed = self.comparison.verdict is Verdict.FAIL
            for line in text.rstrip("\n").splitlines():
                terminalreporter.write_line(line, red=failed and line.startswith("perfgate:"))
        else:
            terminalreporter.write_line(f"captured {len(self.captured)} benchmarks")
        for message in self.messages:
            terminalreporter.write_line(f"perfgate: {message}")


class PerfRun:
    """The ``perf_run`` fixture's callable (see :func:`perfgate.plugin.perf_run`)."""

    def __init__(self, node_id: str, session: PerfgateSession | None) -> None:
        self.node_id = node_id
        self.session = session

    def __call__(
        self,
        target: Sequence[str] | Callable[[], object],
        *,
        rounds: int = 5,
        warmup: int = 0,
        name: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        shell: bool = False,
    ) -> list[float]:
        from perfgate.capture._commands import run_command, time_callable

        bench_name = f"{self.node_id}:{name}" if name else self.node_id
        if self.session is None:  # perfgate is off: exercise the target once
            rounds, warmup = 1, 0
        if callable(target):
            samples = time_callable(target, rounds=rounds, warmup=warmup)
            benchmarks = [Benchmark(name=bench_name, samples=tuple(samples))]
        else:
            result = run_command(
                bench_name, list(target), rounds=rounds, warmup=warmup, shell=shell, cwd=cwd,
                env={**os.environ, **(env or {})},
            )  # fmt: skip
            if result.failed:
                bad = result.failed[0]
                pytest.fail(
                    f"perf_run: {' '.join(target)!r} exited {bad.exit_code} in round "
                    f"{bad.round + 1}: {' | '.join(bad.stderr_tail) or '(no stderr)'}",
                    pytrace=False,
                )
            benchmarks = result.benchmarks()
            samples = [r.wall_s for r in result.measured]
        if self.session is not None:
            self.session.add_pending(self.node_id, benchmarks)
        return samples


def _measure_after_benchmark(
    item: pytest.Item, after: Callable[[Callable[[], object]], None]
) -> None:
    """Make the test's ``benchmark`` fixture call ``after`` with the benchmarked call,
    once pytest-benchmark has timed it. The fixture object stays a
    ``BenchmarkFixture`` (a subclass), so pytest-benchmark's own checks hold."""
    fixture: Any = getattr(item, "funcargs", {}).get("benchmark")
    if fixture is None:
        return
    fixture.__class__ = _measuring_fixture_class(type(fixture))
    fixture.perfgate_after = after


_MEASURING_CLASSES: dict[type, type] = {}


def _measuring_fixture_class(base: type) -> type:
    if base in _MEASURING_CLASSES.values():
        return base
    if base not in _MEASURING_CLASSES:

        class MeasuringFixture(base):  # type: ignore[misc]
            perfgate_after: Callable[[Callable[[], object]], None]

            def __call__(self, function_to_benchmark: Any, *args: Any, **kwargs: Any) -> Any:
                result = super().__call__(function_to_benchmark, *args, **kwargs)
                self.perfgate_after(lambda: function_to_benchmark(*args, **kwargs))
                return result

            def pedantic(
                self,
                target: Any,
                args: Any = (),
                kwargs: Any = None,
                setup: Any = None,
                **options: Any,
            ) -> Any:
                result = super().pedantic(target, args=args, kwargs=kwargs, setup=setup, **options)

                def again() -> object:
                    call_args, call_kwargs = (args, kwargs or {})
                    if setup is not None:
                        made = setup()
                        if made is not None:
                            call_args, call_kwargs = made
                    return target(*call_args, **call_kwargs)

                self.perfgate_after(again)
                return result

        _MEASURING_CLASSES[base] = MeasuringFixture
    return _MEASURING_CLASSES[base]


class InstructionCounter:
    """The plugin of the process that counts instructions under valgrind."""

    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        from perfgate.capture._instructions import count_in_child

        node_id = item.nodeid
        _measure_after_benchmark(
            item, lambda function: count_in_child(node_id, function, self.out_dir)
        )
        return (yield)
