"""Match the benchmarks of two results files and decide a status for each.

The statistics live in :mod:`perfgate.verdict._stats`; this module applies the
configuration (threshold, α, overrides) and words the reasons.
"""

from __future__ import annotations

import fnmatch
import math
import statistics
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from perfgate._config import Config, ResolvedSettings, Target
from perfgate._gc import collector_paused
from perfgate.capture._dependencies import DEPENDENCIES_KEY
from perfgate.capture._records import INSTRUCTIONS_SUFFIX, LOCKSTEP_RUN_KEY
from perfgate.results._model import Benchmark, Kind, ResultsFile
from perfgate.verdict._comparison import (
    STATUS_ORDER,
    BenchmarkComparison,
    Comparison,
    SideInfo,
    Status,
    TargetResult,
    Verdict,
    Why,
)
from perfgate.verdict._functions import Explanation, explain
from perfgate.verdict._stats import (
    NoiseSource,
    PairSpread,
    RatioEstimate,
    adjust_p_values,
    estimate_counter_ratio,
    estimate_interleaved_ratio,
    estimate_paired_ratio,
    estimate_time_ratios,
    run_values,
)

__all__ = ["accept_regressions", "compare"]


def _by_name(results: ResultsFile) -> dict[str, dict[int, Benchmark]]:
    """Each benchmark's entries by the position of the run that measured it."""
    index: dict[str, dict[int, Benchmark]] = {}
    for position, run in enumerate(results.runs):
        for bench in run.benchmarks:
            index.setdefault(bench.name, {})[position] = bench
    return index


class _Values:
    """Every benchmark's run value, computed for both files at once (vectorised)."""

    def __init__(self, *files: ResultsFile) -> None:
        with_samples = [b for f in files for run in f.runs for b in run.benchmarks if b.samples]
        medians = run_values([b.samples.array for b in with_samples])
        self._by_id = {id(b): float(m) for b, m in zip(with_samples, medians, strict=True)}

    def __call__(self, bench: Benchmark) -> float:
        if bench.samples:
            return self._by_id[id(bench)]
        assert bench.summary is not None  # guaranteed by the model
        return bench.summary.median


def _pct(ratio: float) -> str:
    return f"{(ratio - 1) * 100:+.1f}%"


def _runs_phrase(estimate: RatioEstimate) -> str:
    b, c = estimate.baseline_runs, estimate.current_runs
    return f"{b} vs {c} run{'s' if c != 1 else ''}"


def _more_data_hint(estimate: RatioEstimate, paired: bool = False) -> str:
    """What would decide it, without advising what is already done: an A/B
    (paired rounds) is told to run longer or count, never to use A/B."""
    if paired:
        return "give the A/B more time (--max-time) for more rounds, or count instructions"
    if estimate.noise is NoiseSource.ASSUMED:
        return (
            "neither side has 2 runs, so the between-run noise is an assumption; "
            "record several runs per side, or use A/B mode"
        )
    return "add runs on both sides, use A/B mode, or count instructions"


@dataclass(frozen=True)
class _Pending:
    """A time benchmark waiting for its multiple-testing adjustment."""

    name: str
    group: str | None
    unit: str
    settings: ResolvedSettings
    estimate: RatioEstimate
    spread: PairSpread | None = None
    paired: bool = False
    """Measured as an A/B (paired rounds): the advice differs."""


def _decide_time(item: _Pending, q_value: float, alpha: float) -> BenchmarkComparison:
    est = item.estimate
    hint = _more_data_hint(est, item.paired)
    threshold = item.settings.threshold_pct
    assert est.ratio is not None
    if est.ci_low is None or est.ci_high is None or est.mde_pct is None:
        return BenchmarkComparison(
            name=item.name, group=item.group, status=Status.INCONCLUSIVE, kind=Kind.TIME,
            unit=item.unit, ratio=est.ratio, p_value=est.p_value, q_value=q_value,
            baseline_value=est.baseline_value, current_value=est.current_value,
            baseline_runs=est.baseline_runs, current_runs=est.current_runs,
            threshold_pct=threshold, noise=est.noise,
            reason=(
                "one worker pair only: what is fixed for a process (2-5% here) is not "
                "measured; give A/B time for at least 2 worker pairs"
                if est.noise is NoiseSource.INTERLEAVED
                else "one paired round only: no estimate of its noise; run at least 2 rounds"
            ),
            why=Why.TOO_FEW,
        )  # fmt: skip
    upper = 1 + threshold / 100
    lower = 1 / upper
    level = f"{est.confidence:.0%} CI {_pct(est.ci_low)} to {_pct(est.ci_high)}"
    runs = _runs_phrase(est)
    significant = q_value < alpha

    # A regression is slower for sure and possibly by more than the threshold:
    # significant after false-discovery control with its interval reaching past
    # the threshold, or its whole interval past the threshold (a test against the
    # threshold, which a clear slowdown passes even when the suite's other
    # benchmarks leave its q-value above α). Improvements mirror it.
    slower = est.ratio > 1 and ((significant and est.ci_high > upper) or est.ci_low > upper)
    # An improvement must be significant across the suite: a speed-up claimed on
    # its own interval alone (q >= alpha) showed up on unchanged code of a real
    # suite (cattrs, 3 runs a side), and a false "faster" misleads as much as a
    # false alarm. It stays inconclusive, with its reason.
    faster = est.ratio < 1 and significant and est.ci_low < lower
    faster_alone = est.ratio < 1 and not significant and est.ci_high < lower
    # One run on either side holds no between-run noise of that side: its process
    # may have been fast or slow as a whole (runs close in time share their noise,
    # so the other side's runs do not stand in for it). A one-run baseline read
    # unchanged code as 40% "faster" or 60% "slower", 2 times in 8 each.
    one_run = est.noise is NoiseSource.ASSUMED or min(est.current_runs, est.baseline_runs) < 2
    slower_by = f"{(est.ratio - 1) * 100:.1f}% slower"
    if slower and one_run:
        # One run holds no between-run noise of its side: a whole process runs
        # slow now and then (an I/O benchmark was once 2.6x slower by chance, 1 vs
        # 1 run), so a change seen on it is only a lead to confirm with more runs.
        status, why_kind = Status.LIKELY_REGRESSION, Why.ONE_RUN
        reason = (
            f"{slower_by} ({level}) with {runs}: one run cannot tell a slowdown from a "
            f"slow process; confirm it: {hint}"
        )
    elif slower and significant:
        status, why_kind = Status.REGRESSION, Why.SIGNIFICANT
        reason = f"{slower_by} ({level}, q={q_value:.2g}; {runs})"
    elif slower:
        # Its own interval says slower beyond the threshold; across the suite
        # (false-discovery control) it is not yet established.
        status, why_kind = Status.LIKELY_REGRESSION, Why.BEYOND_THRESHOLD
        reason = (
            f"{slower_by}: its whole {level} lies beyond +{threshold:g}%, but q={q_value:.2g} "
            f"across the suite's benchmarks ({runs}); confirm it: {hint}"
        )
    elif faster and one_run:
        status, why_kind = Status.INCONCLUSIVE, Why.ONE_RUN
        reason = (
            f"{abs((est.ratio - 1) * 100):.1f}% faster ({level}) with {runs}: one run cannot "
            f"tell a speed-up from a slow process; {hint}"
        )
    elif faster:
        status, why_kind = Status.IMPROVEMENT, Why.SIGNIFICANT
        reason = f"{abs((est.ratio - 1) * 100):.1f}% faster ({level}, q={q_value:.2g}; {runs})"
    elif faster_alone:
        status, why_kind = Status.INCONCLUSIVE, Why.BEYOND_THRESHOLD
        reason = (
            f"{abs((est.ratio - 1) * 100):.1f}% faster on its own {level}, but q={q_value:.2g} "
            f"across the suite's benchmarks ({runs}): not established; {hint}"
        )
    elif lower <= est.ci_low and est.ci_high <= upper and est.mde_pct <= threshold:
        status, why_kind = Status.UNCHANGED, Why.WITHIN
        reason = f"within ±{threshold:g}% ({level}; {runs})"
    else:
        status = Status.INCONCLUSIVE
        why_kind = Why.TOO_NOISY if est.mde_pct > threshold else Why.CROSSES
        if est.mde_pct > threshold:
            why = (
                f"too noisy to judge ±{threshold:g}%: with {runs} only changes of "
                f"{est.mde_pct:.0f}% or more are reliably detected (MDE)"
            )
        elif significant:
            why = (
                f"a {_pct(est.ratio)} change is likely real, "
                f"but its {level} crosses ±{threshold:g}%"
            )
        else:
            why = (
                f"{_pct(est.ratio)} is not significant (q={q_value:.2g}) "
                f"and its {level} crosses ±{threshold:g}%"
            )
        reason = f"{why}; {hint}"
    return BenchmarkComparison(
        name=item.name,
        group=item.group,
        status=status,
        kind=Kind.TIME,
        unit=item.unit,
        ratio=est.ratio,
        ci_low=est.ci_low,
        ci_high=est.ci_high,
        p_value=est.p_value,
        q_value=q_value,
        mde_pct=est.mde_pct,
        baseline_value=est.baseline_value,
        current_value=est.current_value,
        baseline_runs=est.baseline_runs,
        current_runs=est.current_runs,
        threshold_pct=threshold,
        noise=est.noise,
        spread=item.spread,
        reason=reason,
        why=why_kind,
    )


def _beside_time(items: list[BenchmarkComparison]) -> list[BenchmarkComparison]:
    """An instruction count is not a time: each count's reason says so, with the
    wall-time change of the same benchmark beside it where it was measured."""
    times = {item.name: item for item in items if item.kind is Kind.TIME}
    out = []
    for item in items:
        if item.kind is Kind.COUNTER and item.name.endswith(INSTRUCTIONS_SUFFIX):
            timed = times.get(item.name.removesuffix(INSTRUCTIONS_SUFFIX))
            if timed is not None and timed.ratio is not None:
                beside = f"wall time {_pct(timed.ratio)} ({timed.status})"
            else:
                beside = "a count, not a time: wall time was not measured"
            item = item.model_copy(update={"reason": f"{item.reason}; {beside}"})
        out.append(item)
    return out


def _format_count(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.3g}"


COUNT_JITTER_FACTOR: Final = 2.0
"""An instruction-count change must exceed this multiple of the counts' own
call-to-call spread (below) as well as the threshold."""


def count_jitter_pct(benchmarks: list[Benchmark]) -> float:
    """The largest spread, in percent, between the counted calls of one run.

    Large calls are counted once (their counts repeat within 0.03% between
    processes, docs/accuracy.md); a call of a few thousand instructions moves by
    a few percent from one counting window to the next (the allocator's state,
    measured on cattrs' benchmarks). A change within twice that spread is not
    called a regression."""
    spread = 0.0
    for bench in benchmarks:
        if len(bench.samples) > 1:
            low, high = min(bench.samples), max(bench.samples)
            if low > 0:
                spread = max(spread, 100 * (high / low - 1))
    return spread


def _decide_counter(
    name: str,
    group: str | None,
    unit: str,
    settings: ResolvedSettings,
    est: RatioEstimate,
    jitter_pct: float = 0.0,
) -> BenchmarkComparison:
    threshold = settings.counter_threshold_pct
    floor = COUNT_JITTER_FACTOR * jitter_pct
    if floor > threshold:
        threshold = floor
    upper = 1 + threshold / 100
    change = f"{unit} {_format_count(est.baseline_value)} → {_format_count(est.current_value)}"
    if est.ratio is None and threshold > 0:
        # A relative tolerance cannot judge a change from zero (e.g. bytes read
        # that the page cache served last time).
        status = Status.INCONCLUSIVE
        reason = f"{change} (from zero; a relative threshold cannot judge it)"
    elif est.ratio is None:
        status, reason = Status.REGRESSION, f"{change} (from zero)"
    else:
        change += f" ({_pct(est.ratio)})"
        allow = f"{threshold:.3g}%"
        if floor == threshold and floor > 0:
            allow += f" (twice the counts' own spread between calls, {jitter_pct:.2g}%)"
        if est.ratio > upper:
            status, reason = Status.REGRESSION, f"{change}; counters allow +{allow}"
        elif est.ratio < 1 / upper:
            status, reason = Status.IMPROVEMENT, change
        else:
            status, reason = Status.UNCHANGED, f"{change}; within ±{allow}"
    return BenchmarkComparison(
        name=name,
        group=group,
        status=status,
        kind=Kind.COUNTER,
        unit=unit,
        ratio=est.ratio,
        ci_low=est.ci_low,
        ci_high=est.ci_high,
        baseline_value=est.baseline_value,
        current_value=est.current_value,
        baseline_runs=est.baseline_runs,
        current_runs=est.current_runs,
        threshold_pct=threshold,
        noise=est.noise,
        reason=reason,
        why=Why.FROM_ZERO if est.ratio is None else Why.COUNTED,
    )


PROFILE_AGREEMENT: Final = 0.5
"""A changed count stands when the profiled call moved at least this fraction
of its change, in the same direction."""


def _explained(
    item: BenchmarkComparison, base_runs: list[Benchmark], cur_runs: list[Benchmark]
) -> BenchmarkComparison:
    """``item`` with its per-function explanation, when both sides profiled it
    (the newest run of each: the profiles are deterministic)."""
    before = next((b.functions for b in reversed(base_runs) if b.functions), None)
    after = next((b.functions for b in reversed(cur_runs) if b.functions), None)
    if not before or not after or item.baseline_value is None or item.current_value is None:
        return item
    why = explain(before, after)
    # The profiled call is a second, independent measurement of the same code:
    # a real change of the code moves it too, by about as many instructions
    # per call (the profile's own few thousand instructions of overhead are
    # the same on both sides, so absolute changes compare, not ratios). When
    # it moved less than half as far as the counted calls, the counts moved
    # with the state the process was in (what ran before the benchmark).
    profiled = why.change_instructions if why else 0
    counted = item.current_value - item.baseline_value
    if counted == 0:
        return item.model_copy(update={"explanation": why})
    if profiled / counted < PROFILE_AGREEMENT:
        share = 100 * profiled / item.baseline_value if item.baseline_value else 0.0
        heap_only = why is not None and why.heap_only
        return _overruled(
            item, Status.INCONCLUSIVE, Why.PROFILE_DISAGREES, why,
            f"one call profiled per function moved {share:+.1f}%"
            f"{' (nearly all of it allocator bookkeeping)' if heap_only else ''}: the count moved "
            "with what ran before it in the process; counting it alone (its node id "
            "after `--`) decides",
        )  # fmt: skip
    if why is not None and why.heap_only and item.baseline_value:
        # The change is the allocators' bookkeeping (docs/why.md, "Allocator
        # bookkeeping"), the heap the process had built; what is left is the
        # code's. Scaled to the counted change: the two agree.
        heap = counted * why.allocator_change_instructions / why.change_instructions
        code_pct = 100 * (counted - heap) / item.baseline_value
        if abs(code_pct) <= item.threshold_pct:
            heap_pct = 100 * heap / item.baseline_value
            return _overruled(
                item, Status.UNCHANGED, Why.ALLOCATOR_STATE, why,
                f"{heap_pct:+.1f}% of it is the memory allocator's bookkeeping (its cost "
                "depends on what the process allocated before), and the code's own "
                f"instructions moved {code_pct:+.2f}%, within ±{item.threshold_pct:g}%",
            )  # fmt: skip
    return item.model_copy(update={"explanation": why})


def _overruled(
    item: BenchmarkComparison,
    status: Status,
    why: Why,
    explanation: Explanation | None,
    but: str,
) -> BenchmarkComparison:
    """``item`` with the status the profile gives it, its reason kept and ``but`` added."""
    return item.model_copy(
        update={
            "status": status, "why": why, "explanation": explanation,
            "reason": f"{item.reason}; but {but}",
        }
    )  # fmt: skip


def _apply_acceptance(
    item: BenchmarkComparison, config: Config, today: date
) -> BenchmarkComparison:
    if item.status is not Status.REGRESSION:
        return item
    entries = config.acceptance_for(item.name)
    active = [a for a in entries if a.active_on(today)]
    if active:
        until = f" until {active[0].expires.isoformat()}" if active[0].expires else ""
        reason = f"{item.reason}; accepted{until}: {active[0].reason}"
        return item.model_copy(
            update={"accepted": True, "reason": reason, "accepted_reason": active[0].reason}
        )
    if entries:
        expired = max(a.expires for a in entries if a.expires is not None)
        reason = f"{item.reason}; its acceptance expired on {expired.isoformat()}"
        return item.model_copy(update={"reason": reason})
    return item


def _target_result(target: Target, benchmarks: list[BenchmarkComparison]) -> TargetResult:
    matched = [b for b in benchmarks if fnmatch.fnmatchcase(b.name, target.match)]
    if not matched:
        met, detail = False, "no benchmark matches"
    else:
        misses = []
        for bench in matched:
            reached = bench.ratio is not None and bench.ratio <= target.max_ratio
            confident = bench.kind is Kind.COUNTER or bench.status is Status.IMPROVEMENT
            if not (reached and confident):
                change = _pct(bench.ratio) if bench.ratio is not None else "not measured"
                why = "" if reached else f", needs <= {_pct(target.max_ratio)}"
                if reached and not confident:
                    why = ", not yet a significant improvement"
                misses.append(f"{bench.name}: {change}{why}")
        met = not misses
        detail = (
            f"{len(matched)} benchmark{'s' if len(matched) != 1 else ''} at least "
            f"{target.faster_pct:g}% faster"
            if met
            else "; ".join(misses)
        )
    return TargetResult(
        match=target.match,
        faster_pct=target.faster_pct,
        met=met,
        fails_gate=target.fail and not met,
        benchmarks=[b.name for b in matched],
        detail=detail,
    )


def _sort_key(item: BenchmarkComparison) -> tuple[int, float, str]:
    size = abs(math.log(item.ratio)) if item.ratio and item.ratio > 0 else 0.0
    return (STATUS_ORDER.index(item.status), -size, item.name)


# Environment fields that change wall times by themselves when they differ.
_MACHINE_FIELDS = (
    ("cpu_model", "CPU"),
    ("cpu_count", "core count"),
    ("python_version", "Python"),
    ("python_implementation", "Python implementation"),
)


def _environment_warnings(baseline: ResultsFile, current: ResultsFile) -> list[str]:
    """Say when the sides ran on different machines or interpreters."""
    warnings = []
    for field, label in _MACHINE_FIELDS:
        before = getattr(baseline.environment, field)
        after = getattr(current.environment, field)
        if before is not None and after is not None and before != after:
            warnings.append(
                f"{label} differs between baseline ({before}) and current ({after}): wall times "
                "measured on different machines or interpreters are not comparable; "
                "refresh the baseline on this machine, or use A/B mode"
            )
    return warnings + _dependency_warnings(baseline, current)


# What instruction counts depend on (capture/_dependencies.py), as shown in warnings.
_DEPENDENCY_FIELDS = (
    ("python", "Python"),
    ("python_implementation", "Python implementation"),
    ("python_build", "Python build"),
    ("python_compiler", "Python compiler"),
    ("valgrind", "valgrind"),
    ("cpu_flags", "CPU code-path flags"),
)
_MAX_PACKAGE_WARNINGS = 8


def _dependencies(results: ResultsFile) -> dict[str, Any] | None:
    for run in results.runs:
        found = run.environment.get(DEPENDENCIES_KEY)
        if isinstance(found, dict):
            return found
    return None


def _dependency_warnings(baseline: ResultsFile, current: ResultsFile) -> list[str]:
    """Name each thing instruction counts depend on that differs between the sides."""
    before, after = _dependencies(baseline), _dependencies(current)
    if before is None or after is None:
        return []
    changes = []
    for field, label in _DEPENDENCY_FIELDS:
        old, new = before.get(field), after.get(field)
        if old is not None and new is not None and old != new:
            changes.append(f"{label} {_shown(old)} → {_shown(new)}")
    old_packages, new_packages = before.get("packages") or {}, after.get("packages") or {}
    if isinstance(old_packages, dict) and isinstance(new_packages, dict):
        moved = [
            f"{name} {old_packages.get(name, 'absent')} → {new_packages.get(name, 'absent')}"
            for name in sorted(set(old_packages) | set(new_packages))
            if old_packages.get(name) != new_packages.get(name)
        ]
        if len(moved) > _MAX_PACKAGE_WARNINGS:
            extra = len(moved) - _MAX_PACKAGE_WARNINGS
            moved = [*moved[:_MAX_PACKAGE_WARNINGS], f"{extra} more packages"]
        changes.extend(moved)
    return [
        f"instruction counts depend on {change} between baseline and current: a count "
        "change may come from it, not from the code"
        for change in changes
    ]


def _shown(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


def _lockstep_positions(results: ResultsFile) -> set[int]:
    """The positions of the runs made by lock-step A/B (ab/_lockstep.py)."""
    return {
        position
        for position, run in enumerate(results.runs)
        if isinstance(run.environment.get(LOCKSTEP_RUN_KEY), dict)
    }


def _side(label: str, results: ResultsFile) -> SideInfo:
    return SideInfo(label=label, commit=results.environment.git_commit, runs=len(results.runs))


def compare(
    baseline: ResultsFile | None,
    current: ResultsFile,
    config: Config,
    *,
    baseline_label: str = "baseline",
    current_label: str = "current",
    today: date | None = None,
    paired: bool = False,
) -> Comparison:
    """Compare ``current`` against ``baseline`` and return the gate's verdict.

    ``baseline`` ``None``: there is no baseline yet (a first pull request):
    every benchmark is new, and the comparison concludes nothing (neutral).

    ``today`` decides which accepted regressions have expired (default: the
    local date). ``paired``: the runs were made in A/B rounds in one job, run
    *i* of each side in round *i*; time benchmarks are then judged on the
    paired ratios (see :func:`perfgate.verdict._stats.estimate_paired_ratio`).
    """
    with collector_paused():
        return _compare(
            baseline, current, config, baseline_label=baseline_label,
            current_label=current_label, today=today or date.today(), paired=paired,
        )  # fmt: skip


def _compare(
    baseline: ResultsFile | None,
    current: ResultsFile,
    config: Config,
    *,
    baseline_label: str,
    current_label: str,
    today: date,
    paired: bool,
) -> Comparison:
    _value = _Values(current) if baseline is None else _Values(baseline, current)
    base_index = {} if baseline is None else _by_name(baseline)
    cur_index = _by_name(current)
    # Lock-step A/B runs pair by themselves (also read back from --save-dir files).
    lockstep = set() if baseline is None else _lockstep_positions(baseline)
    lockstep &= _lockstep_positions(current)
    paired = paired or bool(lockstep)
    names = list(dict.fromkeys([*base_index, *cur_index]))
    decided: list[BenchmarkComparison] = []
    pending: list[_Pending] = []
    unpaired: list[tuple[str, str | None, str, ResolvedSettings, list[float], list[float]]] = []
    for name in names:
        settings = config.settings_for(name)
        if settings.ignore:
            continue
        base_at, cur_at = base_index.get(name, {}), cur_index.get(name, {})
        if paired:
            # A/B: keep only the rounds in which both sides measured it.
            both = sorted(set(base_at) & set(cur_at))
            if base_at and cur_at:
                base_at = {i: base_at[i] for i in both}
                cur_at = {i: cur_at[i] for i in both}
        base_runs, cur_runs = list(base_at.values()), list(cur_at.values())
        sample = (cur_runs or base_runs)[0]
        common = {
            "name": name,
            "group": sample.group,
            "kind": sample.kind,
            "unit": sample.unit,
            "baseline_runs": len(base_runs),
            "current_runs": len(cur_runs),
        }
        if paired and not base_runs and not cur_runs:
            continue
        if not base_runs:
            decided.append(
                BenchmarkComparison(
                    **common,
                    status=Status.NEW,
                    threshold_pct=settings.threshold_pct,
                    current_value=statistics.median(_value(b) for b in cur_runs),
                    reason="not in the baseline; it will be gated once the baseline is refreshed",
                    why=Why.NO_BASELINE,
                )
            )
            continue
        if not cur_runs:
            decided.append(
                BenchmarkComparison(
                    **common,
                    status=Status.MISSING,
                    threshold_pct=settings.threshold_pct,
                    baseline_value=statistics.median(_value(b) for b in base_runs),
                    reason="in the baseline but not measured in this run",
                    why=Why.NOT_MEASURED,
                )
            )
            continue
        before = base_runs[0]
        if (before.kind, before.unit) != (sample.kind, sample.unit):
            decided.append(
                BenchmarkComparison(
                    **common,
                    status=Status.INCONCLUSIVE,
                    threshold_pct=settings.threshold_pct,
                    reason=(
                        f"measured as {before.kind} in {before.unit} in the baseline but as "
                        f"{sample.kind} in {sample.unit} now; refresh the baseline"
                    ),
                    why=Why.KIND_CHANGED,
                )
            )
            continue
        base_values = [_value(b) for b in base_runs]
        cur_values = [_value(b) for b in cur_runs]
        if sample.kind is Kind.COUNTER:
            est = estimate_counter_ratio(base_values, cur_values)
            jitter = (
                count_jitter_pct([*base_runs, *cur_runs])
                if name.endswith(INSTRUCTIONS_SUFFIX)
                else 0.0
            )
            item = _decide_counter(name, sample.group, sample.unit, settings, est, jitter)
            if item.status in (Status.REGRESSION, Status.IMPROVEMENT):
                item = _explained(item, base_runs, cur_runs)
            decided.append(item)
            continue
        if min(len(base_runs), len(cur_runs)) < settings.min_runs:
            decided.append(
                BenchmarkComparison(
                    **common,
                    status=Status.INCONCLUSIVE,
                    threshold_pct=settings.threshold_pct,
                    baseline_value=statistics.median(base_values),
                    current_value=statistics.median(cur_values),
                    reason=(
                        f"needs {settings.min_runs} runs per side (min_runs), has "
                        f"{len(base_runs)} vs {len(cur_runs)}"
                    ),
                    why=Why.TOO_FEW,
                )
            )
            continue
        if paired and set(base_at) <= lockstep:
            # Lock-step rounds: pair the rounds themselves, worker pair by worker pair.
            rounds = [(base_at[i].samples.array, cur_at[i].samples.array) for i in base_at]
            est, spread = estimate_interleaved_ratio(rounds, alpha=config.alpha)
            pending.append(
                _Pending(name, sample.group, sample.unit, settings, est, spread, paired=True)
            )
        elif paired:
            est = estimate_paired_ratio(base_values, cur_values, alpha=config.alpha)
            pending.append(_Pending(name, sample.group, sample.unit, settings, est, paired=True))
        else:
            unpaired.append((name, sample.group, sample.unit, settings, base_values, cur_values))

    # The whole suite's unpaired time estimates at once (vectorised).
    estimates = estimate_time_ratios(
        [item[4] for item in unpaired],
        [item[5] for item in unpaired],
        alpha=config.alpha,
        assumed_run_sd_log=math.log1p(config.assumed_run_noise_pct / 100),
        min_run_sd_log=math.log1p(config.min_run_noise_pct / 100),
    )
    pending.extend(
        _Pending(name, group, unit, settings, est)
        for (name, group, unit, settings, _b, _c), est in zip(unpaired, estimates, strict=True)
    )
    q_values = adjust_p_values([_p_value(p) for p in pending], fdr=config.fdr)
    decided.extend(
        _decide_time(item, q, config.alpha) for item, q in zip(pending, q_values, strict=True)
    )
    decided = _beside_time(decided)
    decided = sorted((_apply_acceptance(item, config, today) for item in decided), key=_sort_key)
    counts = dict.fromkeys(Status, 0)
    for item in decided:
        counts[item.status] += 1
    targets = [_target_result(t, decided) for t in config.targets]
    failed = any(item.blocking for item in decided) or any(t.fails_gate for t in targets)
    return Comparison(
        verdict=Verdict.FAIL if failed else Verdict.PASS,
        threshold_pct=config.threshold_pct,
        alpha=config.alpha,
        fdr=config.fdr,
        baseline=(
            SideInfo(label="no baseline yet", runs=0)
            if baseline is None
            else _side(baseline_label, baseline)
        ),
        current=_side(current_label, current),
        counts=counts,
        mode="ab" if paired else "stored",
        benchmarks=decided,
        targets=targets,
        warnings=[] if baseline is None else _environment_warnings(baseline, current),
    )


def _p_value(item: _Pending) -> float:
    assert item.estimate.p_value is not None  # time estimates always carry one
    return item.estimate.p_value


def accept_regressions(comparison: Comparison, reason: str) -> Comparison:
    """Accept every regression that would fail the gate (for example because the
    pull request carries the acceptance label); the verdict is recomputed."""
    benchmarks = [
        b.model_copy(
            update={
                "accepted": True,
                "reason": f"{b.reason}; accepted: {reason}",
                "accepted_reason": reason,
            }
        )
        if b.blocking
        else b
        for b in comparison.benchmarks
    ]
    failed = any(t.fails_gate for t in comparison.targets)
    return comparison.model_copy(
        update={
            "benchmarks": benchmarks,
            "verdict": Verdict.FAIL if failed else Verdict.PASS,
        }
    )
