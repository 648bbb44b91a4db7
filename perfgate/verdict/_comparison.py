"""The comparison report model: what ``perfgate compare`` decides, as data.

This is also the ``--format json`` output and the input of later stages
(publishing), so it is versioned like the results file.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    field_validator,
    model_validator,
)

from perfgate._config import RESOURCE_SUFFIXES
from perfgate.capture._records import INSTRUCTIONS_SUFFIX
from perfgate.results._model import Kind
from perfgate.verdict._functions import Explanation
from perfgate.verdict._stats import NoiseSource, PairSpread

__all__ = [
    "REPORT_SCHEMA",
    "REPORT_VERSION",
    "STATUS_ORDER",
    "BenchmarkComparison",
    "Comparison",
    "SideInfo",
    "Status",
    "TargetResult",
    "Verdict",
    "Why",
]

MAX_REPORT_BENCHMARKS: Final = 50_000
"""The most benchmarks one report may hold (a report file is untrusted input)."""
# What a report's numbers can be: compare() never writes anything outside these,
# so a value outside them (a negative time, a 1e308 ratio) is not a real report.
# Ratios of samples within 1e-100 to 1e100 lie within 1e-200 to 1e200.
Ratio = Annotated[float, Field(ge=0, le=1e200, allow_inf_nan=False)]
WIDEST: Final = 1e200
"""Interval ends and MDEs beyond this (a t interval on 1 degree of freedom can
reach 1e15 and more) are stored as this: "wider than anything", not an error."""
Value = Annotated[float, Field(ge=0, le=1e100, allow_inf_nan=False)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Percent = Annotated[float, Field(ge=0, le=WIDEST, allow_inf_nan=False)]
Threshold = Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]
Runs = Annotated[int, Field(ge=0, le=10_000_000)]

REPORT_SCHEMA: Final = "perfgate/report"
# Version history of the report format:
#   1 — 2026-11: first version.
REPORT_VERSION: Final = 1


class Status(StrEnum):
    """The outcome for one benchmark."""

    REGRESSION = "regression"
    LIKELY_REGRESSION = "likely-regression"
    """Slower beyond the threshold on this benchmark's own interval, but not yet
    established: not significant across the suite, or seen on one run. It does
    not fail the gate, it keeps the verdict from being a plain pass (a neutral
    check), and the plugin's confirmation re-measures it."""
    IMPROVEMENT = "improvement"
    UNCHANGED = "unchanged"
    INCONCLUSIVE = "inconclusive"
    NEW = "new"
    MISSING = "missing"


# The order in which reports list benchmarks: what needs attention first.
STATUS_ORDER: Final = (
    Status.REGRESSION,
    Status.LIKELY_REGRESSION,
    Status.IMPROVEMENT,
    Status.INCONCLUSIVE,
    Status.UNCHANGED,
    Status.NEW,
    Status.MISSING,
)


class Why(StrEnum):
    """The kind of reason behind a benchmark's status: reports state each kind's
    explanation once, not on every row (the row's ``reason`` keeps its numbers)."""

    SIGNIFICANT = "significant"
    """Time: beyond the threshold and significant across the suite (FDR)."""
    BEYOND_THRESHOLD = "beyond-threshold"
    """Time: the whole interval lies beyond the threshold, not yet significant across the suite."""
    ONE_RUN = "one-run"
    """Time: a slowdown seen on one run, which cannot tell it from a slow process."""
    WITHIN = "within"
    """Time: the whole interval lies within the threshold."""
    TOO_NOISY = "too-noisy"
    """Time: the smallest detectable change (MDE) is above the threshold."""
    CROSSES = "crosses"
    """Time: the interval reaches both inside and beyond the threshold."""
    TOO_FEW = "too-few"
    """Too few runs, rounds or worker pairs to estimate the noise."""
    COUNTED = "counted"
    """Counters (instructions, calls): exact, judged against their own tolerance."""
    PROFILE_DISAGREES = "profile-disagrees"
    """Instructions: the counted calls moved, one call profiled per function did not."""
    ALLOCATOR_STATE = "allocator-state"
    """Instructions: the change beyond the threshold is all in the memory allocators'
    bookkeeping (the heap the process had built), not more work."""
    FROM_ZERO = "from-zero"
    """A counter that was zero in the baseline."""
    KIND_CHANGED = "kind-changed"
    """Measured differently (kind or unit) in the baseline."""
    NO_BASELINE = "no-baseline"
    """Not in the baseline."""
    NOT_MEASURED = "not-measured"
    """In the baseline, not measured now."""


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"


class BenchmarkComparison(BaseModel):
    """The verdict for one benchmark."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    group: str | None = None
    status: Status
    kind: Kind
    unit: str
    ratio: Ratio | None = None
    """current / baseline."""
    ci_low: Ratio | None = None
    ci_high: Ratio | None = None
    p_value: Probability | None = None
    """Two-sided p-value of "no change", before multiple-testing adjustment."""
    q_value: Probability | None = None
    """p-value after Benjamini–Hochberg adjustment across the suite (equal to
    ``p_value`` when false-discovery control is off)."""
    mde_pct: Percent | None = None
    baseline_value: Value | None = None
    current_value: Value | None = None
    baseline_runs: Runs = 0
    current_runs: Runs = 0
    threshold_pct: Threshold
    noise: NoiseSource | None = None
    spread: PairSpread | None = None
    """Lock-step A/B only: how much its paired rounds disagreed."""
    reason: str
    why: Why | None = None
    """The kind of ``reason`` (reports of version 1 written before it have none)."""
    accepted: bool = False
    """A regression matched by an active ``[[tool.perfgate.accepted]]`` entry: reported,
    but it does not fail the gate."""
    accepted_reason: str | None = None
    """Why it was accepted (the entry's reason or the label), for reports."""
    explanation: Explanation | None = None
    """A changed instruction count only: where the change went, per function."""

    @field_validator("ci_low", "ci_high", "mde_pct", mode="before")
    @classmethod
    def _widest(cls, value: Any) -> Any:
        if type(value) in (int, float) and value > WIDEST:  # inf included, NaN not
            return WIDEST
        return value

    @property
    def blocking(self) -> bool:
        """A regression that fails the gate."""
        return self.status is Status.REGRESSION and not self.accepted


class TargetResult(BaseModel):
    """Whether an expected improvement (``[[tool.perfgate.targets]]``) was reached."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match: str
    faster_pct: float
    met: bool
    fails_gate: bool
    """The target is missed and configured to fail the gate."""
    benchmarks: list[str]
    detail: str


class SideInfo(BaseModel):
    """Provenance of one side of the comparison."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str
    commit: str | None = None
    runs: int


class Comparison(BaseModel):
    """The whole comparison: the gate's verdict and one entry per benchmark."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    schema_: Literal["perfgate/report"] = Field(default=REPORT_SCHEMA, alias="schema")
    version: Literal[1] = REPORT_VERSION
    verdict: Verdict
    """The exit code's word: ``fail`` (exit 1) or ``pass`` (exit 0). ``pass`` is not a
    green check: read :attr:`conclusion` for what the check says."""
    mode: Literal["stored", "ab"] = "stored"
    threshold_pct: Threshold
    alpha: Probability
    fdr: bool
    baseline: SideInfo
    current: SideInfo
    counts: dict[Status, int]
    benchmarks: Annotated[list[BenchmarkComparison], Field(max_length=MAX_REPORT_BENCHMARKS)]
    targets: list[TargetResult] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    """Caveats about the comparison as a whole, e.g. baselines from another machine."""

    @property
    def blocking(self) -> list[BenchmarkComparison]:
        """The regressions that fail the gate (not accepted)."""
        return [b for b in self.benchmarks if b.blocking]

    @property
    def judged(self) -> list[BenchmarkComparison]:
        """The benchmarks with a decision: regression, improvement or unchanged."""
        decided = (Status.REGRESSION, Status.IMPROVEMENT, Status.UNCHANGED)
        return [b for b in self.benchmarks if b.status in decided]

    @property
    def undecided(self) -> list[BenchmarkComparison]:
        """The benchmarks compared but not decided: likely regressions and inconclusive."""
        return [
            b
            for b in self.benchmarks
            if b.status in (Status.LIKELY_REGRESSION, Status.INCONCLUSIVE)
        ]

    @model_validator(mode="before")
    @classmethod
    def _derived_fields_are_recomputed(cls, data: Any) -> Any:
        """``conclusion`` is written for readers of the JSON, never read back: it is
        derived from the benchmarks, so a report cannot claim one it does not earn."""
        if isinstance(data, dict) and ("conclusion" in data or "thresholds_pct" in data):
            data = {k: v for k, v in data.items() if k not in ("conclusion", "thresholds_pct")}
        return data

    @computed_field  # type: ignore[prop-decorator]
    @property
    def thresholds_pct(self) -> dict[str, tuple[float, float]]:
        """The bars applied, per kind of measurement present (``time``,
        ``instructions``, ``resources``, ``counters``): the lowest and highest threshold among the
        judged benchmarks of that kind (a count's bar rises to twice its own
        spread; per-benchmark settings can differ)."""
        bars: dict[str, list[float]] = {}
        for bench in self.benchmarks:
            if bench.status in (Status.NEW, Status.MISSING) or bench.why is Why.KIND_CHANGED:
                continue
            if bench.kind is Kind.TIME:
                kind = "time"
            elif bench.name.endswith(INSTRUCTIONS_SUFFIX):
                kind = "instructions"
            elif bench.name.endswith(RESOURCE_SUFFIXES):
                kind = "resources"
            else:
                kind = "counters"
            bars.setdefault(kind, []).append(bench.threshold_pct)
        order = ("time", "instructions", "resources", "counters")
        return {k: (min(bars[k]), max(bars[k])) for k in order if k in bars}

    @computed_field  # type: ignore[prop-decorator]
    @property
    def conclusion(self) -> Literal["failure", "success", "neutral"]:
        """What the check run says. ``failure``: a regression fails the gate.
        ``success``: every benchmark that both sides measured was judged, unchanged
        or faster. ``neutral``: something could not be told (a likely regression, an
        inconclusive benchmark, or nothing to compare yet); never a green pass."""
        if self.verdict is Verdict.FAIL:
            return "failure"
        if self.undecided or not self.judged:
            return "neutral"
        return "success"

    @property
    def mde_range_pct(self) -> tuple[float, float] | None:
        """The smallest and largest MDE over the timed benchmarks (what this data can see)."""
        values = [b.mde_pct for b in self.benchmarks if b.mde_pct is not None]
        return (min(values), max(values)) if values else None

    @property
    def movers(self) -> list[BenchmarkComparison]:
        """Every benchmark with a ratio, largest change first (either direction)."""
        import math

        moved = [b for b in self.benchmarks if b.ratio is not None and b.ratio > 0]
        return sorted(moved, key=lambda b: (-abs(math.log(b.ratio or 1.0)), b.name))

    def reason_groups(self) -> list[tuple[Status, Why | None, list[BenchmarkComparison]]]:
        """The benchmarks grouped by status and kind of reason, in report order,
        so that a report can state each kind of reason once."""
        groups: dict[tuple[Status, Why | None], list[BenchmarkComparison]] = {}
        for b in self.benchmarks:
            groups.setdefault((b.status, b.why), []).append(b)
        order = {status: i for i, status in enumerate(STATUS_ORDER)}
        whys = {why: i for i, why in enumerate(Why)}
        keys = sorted(groups, key=lambda k: (order[k[0]], -1 if k[1] is None else whys[k[1]]))
        return [(status, why, groups[status, why]) for status, why in keys]

    @property
    def undecided_slowdowns(self) -> list[BenchmarkComparison]:
        """Likely regressions: the verdict may pass, but not as a plain pass."""
        return self.with_status(Status.LIKELY_REGRESSION)

    def with_status(self, status: Status | str) -> list[BenchmarkComparison]:
        return [b for b in self.benchmarks if b.status == status]

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2) + "\n"
