"""The ``[tool.perfgate]`` configuration table, validated by pydantic.

The field docstrings below are the configuration reference; ``docs/configuration.md``
repeats them with examples, and a test keeps the two in step.
"""

from __future__ import annotations

import fnmatch
from datetime import date
from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perfgate._errors import ConfigError
from perfgate._validation import describe_validation_error
from perfgate.capture._project import DEFAULT_BASELINE, find_pyproject, read_tool_table
from perfgate.capture._records import INSTRUCTIONS_SUFFIX

__all__ = [
    "AcceptedRegression",
    "Config",
    "Override",
    "ResolvedSettings",
    "Target",
    "find_pyproject",
    "load_config",
]

# Counters recorded by ``perfgate run`` and ``perf_run`` that vary a little
# from run to run (memory, storage I/O), unlike instruction or call counts.
RESOURCE_SUFFIXES: Final = (":peak_rss", ":read_bytes", ":write_bytes", ":alloc_peak")


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Override(_Table):
    """Settings for the benchmarks whose name matches a glob."""

    match: Annotated[str, Field(min_length=1)]
    """Glob (``fnmatch``) on the benchmark name, e.g. ``"tests/bench_io.py::*"``."""
    threshold_pct: Annotated[float, Field(gt=0, le=1000)] | None = None
    """Practical threshold for time benchmarks, in percent."""
    counter_threshold_pct: Annotated[float, Field(ge=0, le=1000)] | None = None
    """Threshold for counter benchmarks, in percent."""
    min_runs: Annotated[int, Field(ge=1)] | None = None
    """Runs each side needs before a verdict other than ``inconclusive``."""
    ignore: bool = False
    """Leave matching benchmarks out of the comparison entirely."""


class AcceptedRegression(_Table):
    """A known, agreed slowdown: it is reported as accepted and does not fail the gate."""

    match: Annotated[str, Field(min_length=1)]
    """Glob on the benchmark name."""
    reason: Annotated[str, Field(min_length=1)]
    """Why it is accepted (shown in the report), e.g. a link to the discussion."""
    expires: date | None = None
    """Last day the acceptance holds (a TOML date, ``2026-12-31``); after it, the
    regression fails the gate again. None: never expires."""

    def active_on(self, today: date) -> bool:
        return self.expires is None or today <= self.expires


class Target(_Table):
    """An expected improvement, reported as met or not met."""

    match: Annotated[str, Field(min_length=1)]
    """Glob on the benchmark name(s) the target is about."""
    faster_pct: Annotated[float, Field(gt=0, lt=100)]
    """Required improvement in percent: 10 means current ≤ 0.9 × baseline."""
    fail: bool = False
    """Whether a missed target fails the gate (default: report only)."""

    @property
    def max_ratio(self) -> float:
        return 1 - self.faster_pct / 100


class ResolvedSettings(_Table):
    """The settings that apply to one benchmark, after overrides."""

    threshold_pct: float
    counter_threshold_pct: float
    min_runs: int
    ignore: bool


class Config(_Table):
    """perfgate's configuration (``[tool.perfgate]`` in ``pyproject.toml``)."""

    baseline: Path = DEFAULT_BASELINE
    """Baseline results file, relative to the directory of ``pyproject.toml``."""
    threshold_pct: Annotated[float, Field(gt=0, le=1000)] = 5.0
    """Smallest slowdown, in percent, that counts as a regression (practical significance)."""
    counter_threshold_pct: Annotated[float, Field(ge=0, le=1000)] = 0.0
    """Threshold for deterministic counters (``kind: counter``); 0 means any increase fails."""
    resource_threshold_pct: Annotated[float, Field(ge=0, le=1000)] = 10.0
    """Threshold for the resource counters of command runs (``NAME:peak_rss``,
    ``NAME:read_bytes``, ``NAME:write_bytes``), which vary a little between runs."""
    instructions_threshold_pct: Annotated[float, Field(ge=0, le=1000)] = 1.0
    """Threshold for instruction counts (``NAME:instructions``, from instruction mode)."""
    alpha: Annotated[float, Field(gt=0, lt=0.5)] = 0.05
    """Significance level; with ``fdr`` on, the false-discovery rate across the suite."""
    fdr: bool = True
    """Control the false-discovery rate across all benchmarks (Benjamini–Hochberg)."""
    min_runs: Annotated[int, Field(ge=1)] = 1
    """Runs each side needs before a verdict other than ``inconclusive``."""
    assumed_run_noise_pct: Annotated[float, Field(gt=0, le=500)] = 20.0
    """Between-run noise (one standard deviation, percent) assumed when neither side has
    two runs to measure it from. Deliberately conservative for shared CI machines."""
    min_run_noise_pct: Annotated[float, Field(ge=0, le=100)] = 3.0
    """Floor under the measured between-run noise (one standard deviation, percent).
    Three to five runs sometimes agree by luck; on the accuracy harness's tuning pool a
    3% floor removed every A/A gate failure without losing detection of 10% slowdowns
    (docs/statistics.md; on the later validation pool some remained, docs/accuracy.md)."""
    confirm_budget_s: Annotated[float, Field(ge=0)] = 120.0
    """Time budget (seconds) of the pytest plugin's adaptive confirmation: extra runs of
    only the undecided benchmarks after the first comparison. 0 turns it off."""
    confirm_max_runs: Annotated[int, Field(ge=0, le=100)] = 4
    """Most extra runs the adaptive confirmation makes."""
    check_name: Annotated[str, Field(min_length=1, max_length=100)] = "perfgate"
    """Name of the GitHub check run that ``perfgate publish`` creates."""
    accept_label: Annotated[str, Field(min_length=1)] = "perf-regression-accepted"
    """A pull-request label that accepts the pull request's regressions (recorded in the
    report with who added it, when known)."""
    comment_author: str | None = None
    """Login whose comments ``perfgate publish`` may edit. Default: the token's own
    identity (``github-actions[bot]`` for the workflow token)."""
    history: Path = Path("baselines/history.jsonl")
    """Where ``perfgate history add`` appends one summary line per baseline (for the
    trend charts), relative to the directory of ``pyproject.toml``."""
    history_max_entries: Annotated[int, Field(ge=1, le=10000)] = 30
    """Most lines kept in the history file (the oldest are dropped)."""
    rollback: Literal["issue", "pull-request", "off"] = "issue"
    """On a push to the default branch, for each confirmed slowdown step in the
    history: open (or update) one issue naming the commit and the ``git revert``
    command, or open a revert pull request (falling back to the issue when the
    revert does not apply cleanly); ``off`` finds steps but bisects nothing."""
    rollback_label: Annotated[str, Field(min_length=1, max_length=50)] = "perf-regression"
    """Label of the rollback issues (and how perfgate finds its own)."""
    benchmarks: Annotated[list[Annotated[str, Field(min_length=1)]], Field(max_length=100)] = Field(
        default_factory=list
    )
    """Benchmark paths as given to pytest, for ``perfgate ci`` and the action when
    their ``benchmarks`` input is empty (``perfgate init`` writes them)."""
    bisect_mode: Literal["auto", "instructions", "time"] = "auto"
    """How a step's commit range is bisected: ``auto`` counts instructions where
    valgrind is, else times."""
    template_dir: Path | None = None
    """Directory with report templates (``report.md.j2``, ``report.txt.j2``) that
    replace the built-in ones; relative to the directory of ``pyproject.toml``."""
    measure_time: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    """Node-id globs of benchmarks that are timed even when perfgate counts instructions
    (``--perfgate-mode=instructions``/``auto``): I/O, sleeps, threads, memory-bound code,
    which counts do not see. ``@pytest.mark.perfgate(measure="time")`` does the same."""
    overrides: list[Override] = Field(default_factory=list)
    """Per-benchmark settings by name glob; the last matching entry wins, field by field."""
    accepted: list[AcceptedRegression] = Field(default_factory=list)
    """Accepted regressions (``[[tool.perfgate.accepted]]``)."""
    targets: list[Target] = Field(default_factory=list)
    """Expected improvements (``[[tool.perfgate.targets]]``)."""

    def acceptance_for(self, name: str) -> list[AcceptedRegression]:
        """The accepted-regression entries matching ``name``, in order."""
        return [a for a in self.accepted if fnmatch.fnmatchcase(name, a.match)]

    def settings_for(self, name: str) -> ResolvedSettings:
        """The settings for benchmark ``name``: the defaults, then each matching override."""
        if name.endswith(RESOURCE_SUFFIXES):
            counter_threshold = self.resource_threshold_pct
        elif name.endswith(INSTRUCTIONS_SUFFIX):
            counter_threshold = self.instructions_threshold_pct
        else:
            counter_threshold = self.counter_threshold_pct
        values = {
            "threshold_pct": self.threshold_pct,
            "counter_threshold_pct": counter_threshold,
            "min_runs": self.min_runs,
            "ignore": False,
        }
        for override in self.overrides:
            if fnmatch.fnmatchcase(name, override.match):
                for key in values:
                    value = getattr(override, key)
                    if value is not None and (key != "ignore" or value):
                        values[key] = value
        return ResolvedSettings.model_validate(values)

    def updated(self, **changes: object) -> Config:
        """A validated copy with ``changes`` applied (e.g. from command-line flags)."""
        try:
            return Config.model_validate({**self.model_dump(), **changes})
        except ValidationError as err:
            raise ConfigError(f"option: {describe_validation_error(err, Config)}") from None

    def resolved_against(self, root: Path) -> Config:
        """The same config with relative paths made relative to ``root``."""
        update: dict[str, Path] = {"baseline": root / self.baseline, "history": root / self.history}
        if self.template_dir is not None:
            update["template_dir"] = root / self.template_dir
        return self.model_copy(update=update)


def load_config(pyproject: Path | None) -> Config:
    """Load ``[tool.perfgate]`` from ``pyproject`` (defaults when absent).

    Relative paths in the result are resolved against the file's directory.
    """
    if pyproject is None:
        return Config()
    table = read_tool_table(pyproject)
    try:
        config = Config.model_validate(table)
    except ValidationError as err:
        where = f"{pyproject} [tool.perfgate]"
        raise ConfigError(f"{where}: {describe_validation_error(err, Config)}") from None
    return config.resolved_against(pyproject.parent)
