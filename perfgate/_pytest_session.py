"""The work behind the pytest plugin: capture, then write, compare or update.

pytest objects stop here: :meth:`PluginSettings.from_pytest_config` turns the
command line and ``[tool.perfgate]`` into a frozen model, and everything below
(compare, render, storage) sees only perfgate's own models.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from perfgate._compare import compare
from perfgate._comparison import Comparison, Verdict
from perfgate._config import Config, find_pyproject, load_config
from perfgate._environment import collect_environment
from perfgate._errors import PerfgateError
from perfgate._readers import benchmark_from_pytest_benchmark, load_results
from perfgate._render import ReportFormat, render
from perfgate._results import Benchmark, ResultsFile, Run
from perfgate._storage import save_results, write_atomic

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
        return cls(
            root=root,
            config=config,
            baseline=None if update else baseline,
            update_baseline=(baseline or config.baseline) if update else None,
            output=path("perfgate_output"),
            report=path("perfgate_report"),
        )


class PerfgateSession:
    """Run-wide state of the plugin, registered as a pytest plugin object."""

    def __init__(self, settings: PluginSettings) -> None:
        self.settings = settings
        self.started_at = datetime.now(UTC)
        self.captured: list[Benchmark] = []
        self.messages: list[str] = []
        self.comparison: Comparison | None = None
        self.failed = False
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
        if call.when == "call" and report.passed:
            self._capture(item)
        return report

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
            self.captured.append(
                benchmark_from_pytest_benchmark(entry, self.messages.append, item.nodeid)
            )
        except PerfgateError as err:
            self.messages.append(f"not captured: {err}")

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
        results = self.results()
        if results is None:
            self.messages.append(
                "no benchmark results were captured (no test used the `benchmark` fixture, "
                "or pytest-benchmark is disabled: --benchmark-disable, xdist)"
            )
            return
        if settings.output:
            save_results(settings.output, results)
            self.messages.append(f"wrote results to {settings.output}")
        if settings.update_baseline:
            save_results(settings.update_baseline, results)
            self.messages.append(f"wrote baseline {settings.update_baseline} (1 run)")
        if self.baseline is not None:
            self.comparison = compare(self.baseline, results, settings.config)
            if settings.report:
                markdown = render(
                    self.comparison,
                    ReportFormat.MARKDOWN,
                    template_dir=settings.config.template_dir,
                )
                write_atomic(settings.report, markdown)
                self.messages.append(f"wrote report to {settings.report}")
        elif settings.report:
            self.messages.append("--perfgate-report needs --perfgate-baseline to compare against")

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
