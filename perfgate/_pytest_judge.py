"""The judge's part of a pytest session: compare, confirm and report at its end.

The plugin (:mod:`perfgate.plugin`) creates a :class:`PytestJudge` only when
``--perfgate-baseline`` asks for a comparison; the capture session hands it the
captured results document, validated here like any results file.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from perfgate._config import Config, load_config
from perfgate.capture._atomic import write_atomic
from perfgate.capture._session import CaptureSettings, Rerun, Verdict
from perfgate.report._render import ReportFormat, render
from perfgate.results._model import ResultsFile
from perfgate.results._readers import load_results, results_from_document
from perfgate.verdict._comparison import Verdict as GateVerdict
from perfgate.verdict._confirm import confirm

__all__ = ["PytestJudge"]


class PytestJudge:
    """Implements :class:`perfgate.capture._session.SessionJudge`."""

    def __init__(self, settings: CaptureSettings) -> None:
        config = load_config(settings.pyproject)
        if settings.pyproject is None:
            config = config.resolved_against(settings.root)
        if settings.confirm_budget_s is not None:
            config = config.updated(confirm_budget_s=settings.confirm_budget_s)
        self.config: Config = config
        self.settings = settings
        self.warnings: list[str] = []
        # Load the baseline up front: a bad baseline should stop the run before
        # minutes of benchmarking, not after.
        assert settings.baseline is not None
        self.baseline = load_results(settings.baseline, self.warnings.append)

    def judge(self, document: dict[str, Any], rerun: Rerun, say: Callable[[str], None]) -> Verdict:
        for warning in self.warnings:
            say(warning)
        config = self.config
        current = results_from_document(document, "this session's results", say)

        def measure(names: Sequence[str]) -> ResultsFile | None:
            again = rerun(names)
            if again is None:
                return None
            return results_from_document(again, "a confirmation run", say)

        outcome = confirm(
            self.baseline, current, config, measure,
            budget_s=config.confirm_budget_s, max_runs=config.confirm_max_runs,
        )  # fmt: skip
        for line in outcome.log:
            say(line)
        comparison = outcome.comparison
        if self.settings.report:
            markdown = render(comparison, ReportFormat.MARKDOWN, template_dir=config.template_dir)
            write_atomic(self.settings.report, markdown)
            say(f"wrote report to {self.settings.report}")
        text = render(comparison, ReportFormat.TEXT, template_dir=config.template_dir)
        return Verdict(
            results_text=outcome.current.to_json(),
            report_lines=text.rstrip("\n").splitlines(),
            failed=comparison.verdict is GateVerdict.FAIL,
        )
