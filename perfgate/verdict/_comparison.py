"""The comparison report model: what ``perfgate compare`` decides, as data.

This is also the ``--format json`` output and the input of later stages
(publishing), so it is versioned like the results file.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from perfgate.results._model import Kind
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
]

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
    ratio: float | None = None
    """current / baseline."""
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    """Two-sided p-value of "no change", before multiple-testing adjustment."""
    q_value: float | None = None
    """p-value after Benjamini–Hochberg adjustment across the suite (equal to
    ``p_value`` when false-discovery control is off)."""
    mde_pct: float | None = None
    baseline_value: float | None = None
    current_value: float | None = None
    baseline_runs: int = 0
    current_runs: int = 0
    threshold_pct: float
    noise: NoiseSource | None = None
    spread: PairSpread | None = None
    """Lock-step A/B only: how much its paired rounds disagreed."""
    reason: str
    accepted: bool = False
    """A regression matched by an active ``[[tool.perfgate.accepted]]`` entry: reported,
    but it does not fail the gate."""

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
    mode: Literal["stored", "ab"] = "stored"
    threshold_pct: float
    alpha: float
    fdr: bool
    baseline: SideInfo
    current: SideInfo
    counts: dict[Status, int]
    benchmarks: list[BenchmarkComparison]
    targets: list[TargetResult] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    """Caveats about the comparison as a whole, e.g. baselines from another machine."""

    @property
    def blocking(self) -> list[BenchmarkComparison]:
        """The regressions that fail the gate (not accepted)."""
        return [b for b in self.benchmarks if b.blocking]

    @property
    def undecided_slowdowns(self) -> list[BenchmarkComparison]:
        """Likely regressions: the verdict may pass, but not as a plain pass."""
        return self.with_status(Status.LIKELY_REGRESSION)

    def with_status(self, status: Status | str) -> list[BenchmarkComparison]:
        return [b for b in self.benchmarks if b.status == status]

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2) + "\n"
