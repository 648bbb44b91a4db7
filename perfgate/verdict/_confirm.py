"""Adaptive confirmation: spend extra runs only where they can change the answer.

After the first comparison, the benchmarks that are ``inconclusive``, and the
``regression`` s seen on fewer than :data:`CONFIRM_REGRESSION_RUNS` current runs,
are measured again, in extra runs (new processes) of just those benchmarks,
until every one is decided, the run cap is reached, or the time budget would
be exceeded. Like Chromium Pinpoint's "need more data", it samples where it
pays, instead of running the whole suite more times.

How a run is made is passed in (``measure``), so this loop is testable without
starting processes; the pytest plugin passes one that starts pytest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from perfgate._config import Config
from perfgate.results._model import Kind, ResultsFile
from perfgate.results._storage import merge_results
from perfgate.verdict._compare import compare
from perfgate.verdict._comparison import BenchmarkComparison, Comparison, Status

__all__ = ["CONFIRM_REGRESSION_RUNS", "Confirmation", "confirm", "needs_more_data"]

CONFIRM_REGRESSION_RUNS: Final = 3
"""A regression seen on fewer current runs than this is re-measured before it fails the gate."""

Measure = Callable[[Sequence[str]], ResultsFile | None]


@dataclass
class Confirmation:
    """What the confirmation loop did."""

    current: ResultsFile
    comparison: Comparison
    extra_runs: int = 0
    seconds: float = 0.0
    log: list[str] = field(default_factory=list)


def needs_more_data(bench: BenchmarkComparison, config: Config) -> bool:
    """Whether another current run could change this benchmark's answer."""
    if bench.kind is not Kind.TIME or bench.current_runs == 0 or bench.baseline_runs == 0:
        return False
    if bench.status is Status.INCONCLUSIVE:
        # Inconclusive for a unit change has no estimate and cannot be helped.
        return bench.noise is not None or (
            bench.current_runs < config.settings_for(bench.name).min_runs
        )
    if bench.status is Status.LIKELY_REGRESSION:
        return True
    if bench.status is Status.REGRESSION and not bench.accepted:
        return bench.current_runs < CONFIRM_REGRESSION_RUNS
    return False


def confirm(
    baseline: ResultsFile,
    current: ResultsFile,
    config: Config,
    measure: Measure,
    *,
    budget_s: float,
    max_runs: int,
    today: date | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Confirmation:
    """Re-measure undecided benchmarks until decided or out of budget (see module doc).

    Every comparison is a look at the data, and stopping at the first look that
    shows a regression inflates false alarms (optional stopping). So when extra
    runs may be made, each look tests at α / (1 + max_runs): Bonferroni over the
    planned looks, which bounds the chance of any false alarm over all of them
    by α (measured: docs/accuracy.md)."""
    if max_runs > 0 and budget_s > 0:
        config = config.model_copy(update={"alpha": config.alpha / (1 + max_runs)})
    comparison = compare(baseline, current, config, today=today)
    result = Confirmation(current=current, comparison=comparison)
    started = clock()
    last_run_s = 0.0
    while result.extra_runs < max_runs:
        pending = [b.name for b in result.comparison.benchmarks if needs_more_data(b, config)]
        if not pending:
            break
        elapsed = clock() - started
        if elapsed + last_run_s > budget_s:
            result.log.append(
                f"confirmation budget of {budget_s:g} s spent; {len(pending)} benchmark(s) "
                "still undecided"
            )
            break
        before = clock()
        extra = measure(pending)
        last_run_s = clock() - before
        if extra is None:
            result.log.append("confirmation run produced no results; stopping")
            break
        result.extra_runs += 1
        result.current = merge_results([result.current, extra])
        result.comparison = compare(baseline, result.current, config, today=today)
        result.log.append(
            f"confirmation run {result.extra_runs}: re-measured {len(pending)} benchmark(s) "
            f"in {last_run_s:.1f} s"
        )
    result.seconds = clock() - started
    return result
