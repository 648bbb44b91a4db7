"""The adaptive confirmation loop, with a measuring function that makes real results."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from perfgate import Config, ResultsFile, Status
from perfgate.verdict._confirm import confirm, needs_more_data
from tests.conftest import make_results


def _measurer(medians_s: dict[str, float], calls: list[list[str]]):
    seeds = itertools.count(100)

    def measure(names: Sequence[str]) -> ResultsFile:
        calls.append(list(names))
        return make_results({n: [medians_s[n]] for n in names}, seed=next(seeds))

    return measure


def test_undecided_benchmarks_are_remeasured_until_decided():
    base = make_results({"same": [1.0e-3, 1.01e-3, 0.99e-3, 1.0e-3, 1.005e-3]})
    current = make_results({"same": [1.0e-3]})
    calls: list[list[str]] = []
    clock = itertools.count(0.0, 1.0)  # one "second" per clock reading
    outcome = confirm(
        base, current, Config(), _measurer({"same": 1.0e-3}, calls),
        budget_s=1000, max_runs=6, clock=lambda: float(next(clock)),
    )  # fmt: skip
    assert outcome.extra_runs >= 1
    assert all(call == ["same"] for call in calls)
    assert len(outcome.current.runs) == 1 + outcome.extra_runs


def test_a_regression_on_one_run_is_confirmed_on_more_runs():
    base = make_results({"slow": [1.0e-3, 1.01e-3, 0.99e-3], "same": [1e-3, 1.01e-3, 0.99e-3]})
    current = make_results({"slow": [2.0e-3], "same": [1.0e-3]})
    calls: list[list[str]] = []
    measure = _measurer({"slow": 2.0e-3, "same": 1e-3}, calls)
    quiet = Config(min_run_noise_pct=0.5)
    outcome = confirm(base, current, quiet, measure, budget_s=1000, max_runs=2)
    assert "slow" in calls[0]
    slow = next(b for b in outcome.comparison.benchmarks if b.name == "slow")
    assert slow.status is Status.REGRESSION
    assert slow.current_runs == 3


def test_the_budget_stops_the_loop():
    base = make_results({"x": [1.0e-3, 1.5e-3, 0.7e-3]})
    current = make_results({"x": [1.0e-3]})
    calls: list[list[str]] = []
    # started, first check, before the run: 0 s; from then on, 50 s.
    ticks = itertools.chain([0.0, 0.0, 0.0], itertools.repeat(50.0))
    outcome = confirm(
        base, current, Config(), _measurer({"x": 1e-3}, calls),
        budget_s=60, max_runs=10, clock=lambda: next(ticks),
    )  # fmt: skip
    # The first run took 50 s; another would pass the 60 s budget.
    assert outcome.extra_runs == 1
    assert "budget of 60 s spent" in outcome.log[-1]


def test_zero_budget_or_runs_means_no_extra_runs():
    base = make_results({"x": [1.0e-3, 1.5e-3, 0.7e-3]})
    current = make_results({"x": [1.0e-3]})
    calls: list[list[str]] = []
    outcome = confirm(
        base, current, Config(), _measurer({"x": 1e-3}, calls), budget_s=100, max_runs=0
    )
    assert calls == []
    assert outcome.comparison.benchmarks[0].status is Status.INCONCLUSIVE


def test_what_needs_more_data():
    base = make_results({"a": [1e-3, 1.01e-3]}, counters={"c": [5, 5]})
    cur = make_results({"a": [1e-3, 1.01e-3]}, counters={"c": [9, 9]})
    comparison = confirm(base, cur, Config(), lambda names: None, budget_s=0, max_runs=0).comparison
    counter = next(b for b in comparison.benchmarks if b.name == "c")
    assert counter.status is Status.REGRESSION
    assert not needs_more_data(counter, Config())  # counters are exact


def test_each_look_of_the_confirmation_tests_at_a_split_alpha():
    base = make_results({"x": [1.0e-3, 1.01e-3, 0.99e-3]})
    current = make_results({"x": [1.0e-3, 1.0e-3, 1.0e-3]})
    outcome = confirm(
        base, current, Config(), _measurer({"x": 1e-3}, []), budget_s=1000, max_runs=4
    )
    assert outcome.comparison.alpha == 0.05 / 5  # Bonferroni over 5 planned looks
    alone = confirm(base, current, Config(), _measurer({"x": 1e-3}, []), budget_s=0, max_runs=0)
    assert alone.comparison.alpha == 0.05  # one look: the configured alpha


def test_a_likely_regression_is_remeasured_and_then_decided():
    # 4x slower on one current run: a lead; the confirmation runs settle it.
    base = make_results({"slow": [1.0e-3, 1.01e-3, 0.99e-3]})
    current = make_results({"slow": [4.0e-3]})
    calls: list[list[str]] = []
    outcome = confirm(
        base, current, Config(), _measurer({"slow": 4.0e-3}, calls), budget_s=1000, max_runs=3
    )
    assert calls
    assert calls[0] == ["slow"]
    slow = next(b for b in outcome.comparison.benchmarks if b.name == "slow")
    assert slow.status is Status.REGRESSION
