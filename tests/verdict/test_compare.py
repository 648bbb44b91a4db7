"""compare(): statuses, reasons, overrides, counters, multiple testing."""

from __future__ import annotations

import random

import pytest

from perfgate import Config, Status, Verdict, compare
from perfgate._config import Override


def _status(comparison, name):
    return next(b for b in comparison.benchmarks if b.name == name)


def test_a_large_slowdown_with_several_runs_is_a_regression(results):
    base = results({"slow": [1.00e-3, 1.02e-3, 0.99e-3], "same": [2e-3, 2.02e-3, 1.99e-3]})
    cur = results({"slow": [1.50e-3, 1.52e-3, 1.49e-3], "same": [2e-3, 2.01e-3, 2.0e-3]}, seed=1)
    # A 1% noise floor: the runs here really are that quiet.
    result = compare(base, cur, Config(min_run_noise_pct=1))
    assert result.verdict is Verdict.FAIL
    slow = _status(result, "slow")
    assert slow.status is Status.REGRESSION
    assert slow.ratio is not None
    assert 1.45 < slow.ratio < 1.55
    assert "slower" in slow.reason
    assert "3 vs 3 runs" in slow.reason
    assert _status(result, "same").status is Status.UNCHANGED
    assert result.benchmarks[0].name == "slow"  # regressions come first
    assert result.counts[Status.REGRESSION] == 1


def test_improvements_mirror_regressions(results):
    base = results({"x": [2.0e-3, 2.01e-3, 1.99e-3]})
    cur = results({"x": [1.0e-3, 1.01e-3, 0.99e-3]})
    result = compare(base, cur, Config())
    assert result.verdict is Verdict.PASS
    assert _status(result, "x").status is Status.IMPROVEMENT


def test_one_run_per_side_is_inconclusive_on_a_small_change(results):
    result = compare(results({"x": [1.0e-3]}), results({"x": [1.08e-3]}), Config())
    bench = _status(result, "x")
    assert bench.status is Status.INCONCLUSIVE
    assert "assumption" in bench.reason
    assert "record several runs per side" in bench.reason
    assert result.verdict is Verdict.PASS


def test_a_real_but_tiny_change_is_not_a_regression(results):
    base = results({"x": [1.000e-3, 1.001e-3, 0.999e-3, 1.000e-3]})
    cur = results({"x": [1.020e-3, 1.021e-3, 1.019e-3, 1.020e-3]})
    quiet = Config(min_run_noise_pct=0.5)
    assert _status(compare(base, cur, quiet), "x").status is Status.UNCHANGED


def test_noisy_runs_are_inconclusive_and_say_the_mde(results):
    base = results({"x": [1.0e-3, 1.5e-3, 0.7e-3]})
    cur = results({"x": [1.1e-3, 1.6e-3, 0.8e-3]})
    bench = _status(compare(base, cur, Config()), "x")
    assert bench.status is Status.INCONCLUSIVE
    assert bench.mde_pct is not None
    assert bench.mde_pct > 5
    assert "MDE" in bench.reason


def test_new_and_missing(results):
    result = compare(
        results({"old": [1e-3], "kept": [1e-3]}),
        results({"kept": [1e-3], "fresh": [1e-3]}),
        Config(),
    )
    assert _status(result, "old").status is Status.MISSING
    assert _status(result, "fresh").status is Status.NEW
    assert result.verdict is Verdict.PASS


def test_counters_compare_exactly(results):
    base = results({"t": [1e-3]}, counters={"t:fs_calls": [120]})
    cur = results({"t": [1e-3]}, counters={"t:fs_calls": [480]})
    bench = _status(compare(base, cur, Config()), "t:fs_calls")
    assert bench.status is Status.REGRESSION
    assert bench.reason.startswith("instructions 120 → 480 (+300.0%)")
    same = _status(compare(base, base, Config()), "t:fs_calls")
    assert same.status is Status.UNCHANGED


def test_counter_threshold_allows_small_increases(results):
    base = results({"t": [1e-3]}, counters={"c": [1000]})
    cur = results({"t": [1e-3]}, counters={"c": [1005]})
    assert (
        _status(compare(base, cur, Config(counter_threshold_pct=1)), "c").status is Status.UNCHANGED
    )
    assert _status(compare(base, cur, Config()), "c").status is Status.REGRESSION


def test_overrides_by_glob(results):
    base = results({"io::a": [1.0e-3, 1.01e-3, 0.99e-3], "cpu::b": [1.0e-3, 1.01e-3, 0.99e-3]})
    cur = results({"io::a": [1.5e-3, 1.51e-3, 1.49e-3], "cpu::b": [1.5e-3, 1.51e-3, 1.49e-3]})
    config = Config(
        overrides=[Override(match="io::*", threshold_pct=80), Override(match="cpu::*", ignore=True)]
    )
    result = compare(base, cur, config)
    assert [b.name for b in result.benchmarks] == ["io::a"]
    assert result.benchmarks[0].status is not Status.REGRESSION
    assert result.benchmarks[0].threshold_pct == 80


def test_min_runs(results):
    base = results({"x": [1.0e-3, 1.01e-3]})
    cur = results({"x": [3.0e-3]})
    bench = _status(compare(base, cur, Config(min_runs=2)), "x")
    assert bench.status is Status.INCONCLUSIVE
    assert "needs 2 runs per side" in bench.reason


def test_unit_change_is_inconclusive(results):
    base = results({"x": [1e-3]})
    cur = results({"y": [1e-3]}, counters={"x": [5]})
    bench = _status(compare(base, cur, Config()), "x")
    assert bench.status is Status.INCONCLUSIVE
    assert "refresh the baseline" in bench.reason


def test_summary_only_baselines_compare(tmp_path):
    from pathlib import Path

    from perfgate import load_results

    golden = load_results(Path(__file__).parents[1] / "golden" / "results-v1.json")
    result = compare(golden, golden, Config())
    assert {b.status for b in result.benchmarks} <= {Status.UNCHANGED, Status.INCONCLUSIVE}


def test_a_aa_suite_with_between_run_noise_rarely_fails(results):
    """Runs differ by tens of percent while samples inside a run are tight:
    a sample-level test would fail nearly every time; perfgate must not."""
    rng = random.Random(2026)
    failures = 0
    suites = 60
    for index in range(suites):
        base, cur = (
            {f"b{i}": [1e-3 * rng.lognormvariate(0, 0.25) for _ in range(3)] for i in range(13)}
            for _ in range(2)
        )
        result = compare(results(base, seed=index), results(cur, seed=index + 1000), Config())
        failures += result.verdict is Verdict.FAIL
    assert failures / suites <= 0.1


def test_different_machines_are_flagged(results):
    base = results({"x": [1e-3]})
    cur = results({"x": [1e-3]})
    base = base.model_copy(
        update={"environment": base.environment.model_copy(update={"cpu_model": "A"})}
    )
    cur = cur.model_copy(
        update={"environment": cur.environment.model_copy(update={"cpu_model": "B"})}
    )
    (warning,) = compare(base, cur, Config()).warnings
    assert warning.startswith("CPU differs between baseline (A) and current (B)")
    assert compare(base, base, Config()).warnings == []


def _slow_pair(results):
    base = results({"parse": [1.0e-3, 1.01e-3, 0.99e-3], "render": [2e-3, 2.01e-3, 1.99e-3]})
    cur = results({"parse": [1.5e-3, 1.51e-3, 1.49e-3], "render": [1e-3, 1.01e-3, 0.99e-3]})
    return base, cur


def test_accepted_regressions_do_not_fail_until_they_expire(results):
    from datetime import date

    from perfgate._config import AcceptedRegression

    base, cur = _slow_pair(results)
    accepted = AcceptedRegression(
        match="pars*", reason="new validation, see #42", expires=date(2026, 12, 31)
    )
    config = Config(accepted=[accepted])
    before = compare(base, cur, config, today=date(2026, 12, 31))
    parse = _status(before, "parse")
    assert parse.status is Status.REGRESSION
    assert parse.accepted
    assert "accepted until 2026-12-31: new validation, see #42" in parse.reason
    assert before.verdict is Verdict.PASS
    after = compare(base, cur, config, today=date(2027, 1, 1))
    assert not _status(after, "parse").accepted
    assert "acceptance expired on 2026-12-31" in _status(after, "parse").reason
    assert after.verdict is Verdict.FAIL


def test_targets_are_met_or_not(results):
    from perfgate._config import Target

    base, cur = _slow_pair(results)
    config = Config(
        targets=[
            Target(match="render", faster_pct=10),
            Target(match="parse", faster_pct=10),
            Target(match="absent", faster_pct=10, fail=True),
        ],
        accepted=[],
    )
    result = compare(base, cur, config)
    render_target, parse_target, absent = result.targets
    assert render_target.met
    assert render_target.detail == "1 benchmark at least 10% faster"
    assert not parse_target.met
    assert "needs <= -10.0%" in parse_target.detail
    assert not absent.met
    assert absent.fails_gate
    assert absent.detail == "no benchmark matches"


def test_a_missed_failing_target_fails_the_gate(results):
    from perfgate._config import Target

    base = results({"x": [1.0e-3, 1.01e-3, 0.99e-3]})
    result = compare(base, base, Config(targets=[Target(match="x", faster_pct=10, fail=True)]))
    assert result.verdict is Verdict.FAIL
    assert result.blocking == []


def test_min_run_noise_keeps_lucky_tight_runs_from_deciding(results):
    # Two tight sets of runs 7% apart: without a floor this is a confident regression.
    base = results({"x": [0.8831e-3, 0.8947e-3, 0.8927e-3]})
    cur = results({"x": [0.9614e-3, 0.9340e-3, 0.9528e-3]})
    assert _status(compare(base, cur, Config(min_run_noise_pct=0)), "x").status is Status.REGRESSION
    assert _status(compare(base, cur, Config()), "x").status is Status.INCONCLUSIVE


def test_ab_with_one_round_cannot_judge_wall_time(results):
    base = results({"x": [1.0e-3]}, counters={"x:instructions": [1000]})
    head = results({"x": [1.2e-3]}, counters={"x:instructions": [1030]})
    result = compare(base, head, Config(), paired=True)
    assert result.mode == "ab"
    wall = _status(result, "x")
    assert wall.status is Status.INCONCLUSIVE
    assert "one paired round only" in wall.reason
    assert _status(result, "x:instructions").status is Status.REGRESSION  # +3% > 1%


def test_what_instruction_counts_depend_on_is_named_when_it_differs(results):
    from perfgate import ResultsFile

    def counted(packages: dict[str, str], python: str) -> ResultsFile:
        base = results({"t::a:instructions": [1000.0]})
        deps = {"python": python, "packages": packages, "valgrind": "valgrind-3.19.0"}
        run = base.runs[0].model_copy(update={"environment": {"instruction_dependencies": deps}})
        return base.model_copy(update={"runs": (run,)})

    before = counted({"numpy": "1.26.4", "attrs": "23.1.0"}, "3.11.7")
    after = counted({"numpy": "2.0.1", "attrs": "23.1.0", "rich": "13.0"}, "3.12.1")
    warnings = compare(before, after, Config()).warnings
    assert any("Python 3.11.7 → 3.12.1" in w for w in warnings)
    assert any("numpy 1.26.4 → 2.0.1" in w for w in warnings)
    assert any("rich absent → 13.0" in w for w in warnings)
    assert not any("attrs" in w or "valgrind" in w for w in warnings)
    assert compare(before, before, Config()).warnings == []


def test_an_instruction_count_carries_the_time_change_beside_it(results):
    base = results({"t::a": [1e-3, 1.01e-3, 0.99e-3]}, counters={"t::a:instructions": [1000.0] * 3})
    cur = results({"t::a": [1e-3, 1.01e-3, 0.99e-3]}, counters={"t::a:instructions": [1030.0] * 3})
    counted = {b.name: b for b in compare(base, cur, Config()).benchmarks}["t::a:instructions"]
    assert counted.status == "regression"
    assert "(+3.0%)" in counted.reason
    assert "wall time +" in counted.reason or "wall time -" in counted.reason
    only = results({"x": [1e-3]}, counters={"t::b:instructions": [1000.0]})
    alone = {b.name: b for b in compare(only, only, Config()).benchmarks}["t::b:instructions"]
    assert alone.reason.endswith("a count, not a time: wall time was not measured")


def test_a_tiny_counts_own_spread_widens_its_threshold(results):
    """A few-thousand-instruction call moves by a few percent between counting
    windows; a change within twice that spread is not a regression."""
    from perfgate import Benchmark, Kind, ResultsFile, Run
    from perfgate.verdict._compare import count_jitter_pct

    def counted(samples: tuple[float, ...]) -> ResultsFile:
        bench = Benchmark(
            name="t::tiny:instructions", kind=Kind.COUNTER, unit="instructions", samples=samples
        )
        return ResultsFile(
            runs=(Run(started_at=results({"x": [1.0]}).runs[0].started_at, benchmarks=(bench,)),)
        )

    base, cur = counted((2466.0, 2392.0)), counted((2488.0, 2488.0))
    assert count_jitter_pct(list(base.runs[0].benchmarks)) == pytest.approx(3.09, abs=0.01)
    (item,) = compare(base, cur, Config()).benchmarks
    assert item.status == "unchanged"
    assert "twice the counts' own spread" in item.reason
    (big,) = compare(base, counted((2900.0, 2900.0)), Config()).benchmarks
    assert big.status == "regression"


def test_a_clear_slowdown_is_never_a_plain_pass(four_times):
    base, cur = four_times
    result = compare(base, cur, Config())
    slow = _status(result, "slow")
    assert slow.ratio is not None
    assert 3.9 < slow.ratio < 4.1
    assert slow.ci_low is not None
    assert 1.7 < slow.ci_low < 1.9
    assert slow.q_value is not None
    assert slow.q_value > 0.05
    assert slow.status is Status.LIKELY_REGRESSION
    assert "whole 95% CI" in slow.reason
    assert "confirm it" in slow.reason
    assert result.verdict is Verdict.PASS  # it does not fail the gate on its own ...
    assert result.undecided_slowdowns == [slow]  # ... but it is no plain pass
    assert result.benchmarks[0].name == "slow"


def test_a_significant_slowdown_that_may_exceed_the_threshold_is_a_regression(results):
    # +4.5% with an interval from about +3% to +6%: slower for sure, and it
    # cannot be ruled out that it passes the 5% threshold.
    base = results({"x": [1.000e-3, 1.010e-3, 0.990e-3, 1.005e-3, 0.995e-3]}, spread=0.001)
    cur = results({"x": [1.045e-3, 1.060e-3, 1.030e-3, 1.050e-3, 1.040e-3]}, spread=0.001)
    bench = _status(compare(base, cur, Config(min_run_noise_pct=1)), "x")
    assert bench.ci_low is not None
    assert bench.ci_high is not None
    assert bench.ci_low > 1.0
    assert bench.ci_high > 1.05
    assert bench.ratio < 1.05
    assert bench.status is Status.REGRESSION


def test_one_current_run_can_only_suggest_a_regression(results):
    # 2.6x slower on one run against one run (an I/O benchmark's chance slowdown)
    one = compare(results({"io": [1.0e-3]}), results({"io": [2.6e-3]}), Config())
    assert _status(one, "io").status is Status.LIKELY_REGRESSION
    assert "one run cannot tell" in _status(one, "io").reason
    assert one.verdict is Verdict.PASS
    # five baseline runs against one current run: still only a lead to confirm
    base = results({"io": [1.0e-3, 1.01e-3, 0.99e-3, 1.0e-3, 1.02e-3]})
    five = compare(base, results({"io": [2.6e-3]}), Config())
    assert _status(five, "io").status is Status.LIKELY_REGRESSION


def _lockstep(results_file, pair_ids):
    runs = tuple(
        run.model_copy(
            update={"environment": {"lockstep": {"pair": pair, "schedule": "alternate"}}}
        )
        for run, pair in zip(results_file.runs, pair_ids, strict=True)
    )
    return results_file.model_copy(update={"runs": runs})


def test_lock_step_runs_are_paired_round_by_round_without_being_told(results):
    # Per worker pair, rounds whose noise is shared by both sides (the same
    # round-to-round swings), head 5% slower in every round.
    import numpy as np

    from perfgate import Benchmark, ResultsFile, Run
    from tests.conftest import START

    rng = np.random.default_rng(3)
    base_runs, head_runs = [], []
    for pair in range(6):
        swings = 1e-3 * np.exp(rng.normal(0, 0.2, 80))  # the machine, shared by both
        offset = np.exp(rng.normal(0, 0.005))  # per process pair
        base = swings * np.exp(rng.normal(0, 0.005, 80))
        head = 1.05 * offset * swings * np.exp(rng.normal(0, 0.005, 80))
        for side, values in ((base_runs, base), (head_runs, head)):
            side.append(
                Run(
                    started_at=START,
                    environment={"lockstep": {"pair": pair, "schedule": "alternate"}},
                    benchmarks=(Benchmark(name="x", samples=tuple(values.tolist())),),
                )
            )
    result = compare(
        ResultsFile(runs=tuple(base_runs)), ResultsFile(runs=tuple(head_runs)), Config()
    )
    x = _status(result, "x")
    assert result.mode == "ab"
    assert x.noise == "interleaved"
    assert x.spread is not None
    assert x.spread.worker_pairs == 6
    assert x.spread.rounds == 480
    assert x.spread.round_sd_log < 0.02  # the shared swings of 0.2 cancel in each pair
    assert 1.04 < x.ratio < 1.06
    assert x.status is Status.REGRESSION
    # Unpaired, the same rounds' medians are far too noisy to say as much.
    flat = [r.model_copy(update={"environment": {}}) for r in base_runs]
    flat_head = [r.model_copy(update={"environment": {}}) for r in head_runs]
    unpaired = compare(ResultsFile(runs=tuple(flat)), ResultsFile(runs=tuple(flat_head)), Config())
    assert _status(unpaired, "x").noise != "interleaved"


def test_a_speed_up_not_significant_across_the_suite_is_not_an_improvement(four_times):
    """The 4x case reversed: 4x faster on its own interval, q = 0.10 over 13
    benchmarks. A claimed speed-up must be established like a slowdown."""
    base, current = four_times
    comparison = compare(current, base, Config())
    (fast,) = [b for b in comparison.benchmarks if b.name == "slow"]
    assert fast.status == "inconclusive"
    assert fast.why == "beyond-threshold"
    assert fast.ci_high is not None
    assert fast.ci_high < 0.95
    assert "not established" in fast.reason
    assert comparison.conclusion == "neutral"


def test_an_ab_is_never_told_to_use_ab(results):
    """Issue 25: advice that fits. Paired rounds that cannot decide are told to
    run longer or count, not to do what they already do."""
    from perfgate import Config, compare

    noisy = {"bench::noisy": [1.0e-3, 1.6e-3, 0.7e-3, 1.3e-3]}
    base = results(noisy, spread=0.3, seed=1)
    cur = results({"bench::noisy": [1.2e-3, 0.8e-3, 1.5e-3, 1.1e-3]}, spread=0.3, seed=2)
    stored = compare(base, cur, Config())
    ab = compare(base, cur, Config(), paired=True)
    (item,) = ab.benchmarks
    assert item.status != "unchanged"
    assert "use A/B" not in item.reason
    assert "--max-time" in item.reason
    assert "use A/B mode" in stored.benchmarks[0].reason
