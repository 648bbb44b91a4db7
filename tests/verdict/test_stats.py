"""Statistics: seeded simulations check calibration, power and the fallbacks."""

from __future__ import annotations

import math
import random

import pytest

from perfgate.verdict._stats import (
    NoiseSource,
    adjust_p_values,
    estimate_counter_ratio,
    estimate_time_ratio,
    run_value,
)

ALPHA = 0.05
ASSUMED = math.log1p(0.20)


def _runs(rng: random.Random, n: int, sd_log: float, factor: float = 1.0) -> list[float]:
    return [factor * 1e-3 * rng.lognormvariate(0, sd_log) for _ in range(n)]


@pytest.mark.parametrize(("n_base", "n_cur"), [(2, 2), (3, 3), (5, 1), (3, 1), (5, 5)])
def test_false_alarm_rate_on_identical_distributions_is_at_most_alpha(n_base, n_cur):
    rng = random.Random(1000 * n_base + n_cur)
    trials = 2000
    alarms = sum(
        estimate_time_ratio(
            _runs(rng, n_base, 0.15),
            _runs(rng, n_cur, 0.15),
            alpha=ALPHA,
            assumed_run_sd_log=ASSUMED,
        ).p_value
        < ALPHA
        for _ in range(trials)
    )
    # Binomial(2000, 0.05) has sd 0.0049: 0.065 is 3 sd above alpha.
    assert alarms / trials <= ALPHA + 0.015


def test_one_run_per_side_uses_the_assumed_noise_and_stays_calibrated():
    rng = random.Random(7)
    trials = 2000
    alarms = 0
    for _ in range(trials):
        est = estimate_time_ratio(
            _runs(rng, 1, ASSUMED), _runs(rng, 1, ASSUMED), alpha=ALPHA, assumed_run_sd_log=ASSUMED
        )
        assert est.noise is NoiseSource.ASSUMED
        alarms += est.p_value is not None and est.p_value < ALPHA
    assert alarms / trials <= ALPHA + 0.015


def test_one_run_per_side_cannot_be_confident_about_a_small_change():
    est = estimate_time_ratio([1.0e-3], [1.1e-3], alpha=ALPHA, assumed_run_sd_log=ASSUMED)
    assert est.p_value is not None
    assert est.p_value > 0.5
    assert est.ci_low is not None
    assert est.ci_low < 0.8
    assert est.mde_pct is not None
    assert est.mde_pct > 50


def test_within_run_tightness_does_not_create_confidence():
    # Run medians that are 30% apart say nothing when runs vary that much.
    est = estimate_time_ratio(
        [1.0e-3, 1.3e-3, 0.8e-3], [1.3e-3], alpha=ALPHA, assumed_run_sd_log=ASSUMED
    )
    assert est.noise is NoiseSource.BASELINE_RUNS
    assert est.df == 2
    assert est.p_value is not None
    assert est.p_value > ALPHA


def test_power_for_a_large_slowdown_with_several_runs():
    rng = random.Random(3)
    detected = sum(
        (
            est := estimate_time_ratio(
                _runs(rng, 5, 0.05),
                _runs(rng, 5, 0.05, 1.5),
                alpha=ALPHA,
                assumed_run_sd_log=ASSUMED,
            )
        ).p_value
        is not None
        and est.p_value < ALPHA
        for _ in range(500)
    )
    assert detected / 500 > 0.99


def test_mde_matches_simulated_power():
    rng = random.Random(11)
    sd = 0.05
    base_est = estimate_time_ratio(
        [1e-3 * math.exp(sd * z) for z in (-1.2, 0, 1.2, -0.4, 0.4)],
        [1e-3 * math.exp(sd * z) for z in (-1.2, 0, 1.2, -0.4, 0.4)],
        alpha=ALPHA,
        assumed_run_sd_log=ASSUMED,
    )
    assert base_est.mde_pct is not None
    factor = 1 + base_est.mde_pct / 100
    trials = 2000
    hits = 0
    for _ in range(trials):
        est = estimate_time_ratio(
            _runs(rng, 5, base_est.run_sd_log or sd),
            _runs(rng, 5, base_est.run_sd_log or sd, factor),
            alpha=ALPHA,
            assumed_run_sd_log=ASSUMED,
        )
        hits += est.p_value is not None and est.p_value < ALPHA
    # The MDE is defined at 80% power (t approximation): the simulation agrees.
    assert 0.72 < hits / trials < 0.9


def test_ratio_and_values_agree():
    est = estimate_time_ratio(
        [1e-3, 1.2e-3], [2e-3, 2.4e-3], alpha=ALPHA, assumed_run_sd_log=ASSUMED
    )
    assert est.ratio == pytest.approx(2.0)
    assert est.current_value / est.baseline_value == pytest.approx(est.ratio)
    assert est.ci_low is not None
    assert est.ci_high is not None
    assert est.ci_low < est.ratio < est.ci_high


def test_identical_runs_mean_no_noise():
    est = estimate_time_ratio([1e-3, 1e-3], [1e-3, 1e-3], alpha=ALPHA, assumed_run_sd_log=ASSUMED)
    assert est.p_value == 1.0
    assert est.ratio == 1.0


def test_counters_are_exact():
    est = estimate_counter_ratio([120, 120, 120], [480])
    assert est.ratio == 4.0
    assert est.p_value is None
    assert est.noise is NoiseSource.EXACT
    assert estimate_counter_ratio([0], [0]).ratio == 1.0
    assert estimate_counter_ratio([0], [3]).ratio is None


def test_run_value_is_the_median():
    assert run_value([5.0, 1.0, 100.0]) == 5.0
    with pytest.raises(ValueError, match="at least one sample"):
        run_value([])


def test_benjamini_hochberg_controls_the_suite_not_each_benchmark():
    p = [0.01, 0.02, 0.03, 0.5]
    assert adjust_p_values(p, fdr=False) == p
    q = adjust_p_values(p, fdr=True)
    assert q == pytest.approx([0.04, 0.04, 0.04, 0.5])
    # A suite of 200 null benchmarks with BH raises an alarm about as often as one.
    rng = random.Random(5)
    suites = 300
    alarms = sum(
        min(adjust_p_values([rng.random() for _ in range(200)], fdr=True)) < ALPHA
        for _ in range(suites)
    )
    assert alarms / suites <= ALPHA + 0.04


def test_suite_level_false_alarm_rate_is_at_most_alpha():
    """Whole suites of identical benchmarks: the gate fails at most about α of them,
    whatever the suite size (false-discovery control), with runs as the unit."""
    from perfgate import Config, Verdict, compare
    from tests.conftest import make_results

    rng = random.Random(99)
    config = Config(min_run_noise_pct=0)  # the bare test, no safety floor
    for size in (2, 20):
        suites = 300 if size == 2 else 100
        failures = 0
        for index in range(suites):
            base, cur = (
                {
                    f"b{i}": [1e-3 * rng.lognormvariate(0, 0.1) for _ in range(3)]
                    for i in range(size)
                }
                for _ in range(2)
            )
            result = compare(make_results(base, seed=index), make_results(cur, seed=-index), config)
            failures += result.verdict is Verdict.FAIL
        assert failures / suites <= ALPHA + 0.03, (size, failures)


def test_paired_rounds_cancel_what_the_machine_did():
    from perfgate.verdict._stats import estimate_paired_ratio

    rng = random.Random(8)
    # Each round's machine state moves both sides alike, by up to ±40%.
    machine = [rng.lognormvariate(0, 0.2) for _ in range(8)]
    base = [1e-3 * m * rng.lognormvariate(0, 0.01) for m in machine]
    head = [1.05e-3 * m * rng.lognormvariate(0, 0.01) for m in machine]
    paired = estimate_paired_ratio(base, head, alpha=ALPHA)
    assert paired.noise is NoiseSource.PAIRED
    assert paired.ci_low is not None
    assert paired.ci_high is not None
    assert 1.02 < paired.ci_low < 1.05 < paired.ci_high < 1.08
    unpaired = estimate_time_ratio(base, head, alpha=ALPHA, assumed_run_sd_log=ASSUMED)
    assert unpaired.p_value is not None
    assert unpaired.p_value > 0.3  # the same runs, unpaired, cannot see it


def test_paired_false_alarm_rate_is_at_most_alpha():
    from perfgate.verdict._stats import estimate_paired_ratio

    rng = random.Random(9)
    trials = 2000
    alarms = 0
    for _ in range(trials):
        machine = [rng.lognormvariate(0, 0.3) for _ in range(6)]
        base = [m * rng.lognormvariate(0, 0.03) for m in machine]
        head = [m * rng.lognormvariate(0, 0.03) for m in machine]
        alarms += estimate_paired_ratio(base, head, alpha=ALPHA).p_value < ALPHA  # type: ignore[operator]
    assert alarms / trials <= ALPHA + 0.015


def test_run_values_are_the_medians_of_each_run():
    import statistics

    import numpy as np

    from perfgate.verdict._stats import run_values

    rng = np.random.default_rng(3)
    runs = [rng.lognormal(0, 0.1, n) for n in (1, 2, 5, 200, 200, 7, 2)]
    expected = [statistics.median(r.tolist()) for r in runs]
    assert run_values(runs).tolist() == pytest.approx(expected, rel=1e-15)


def test_the_vectorised_estimates_equal_one_by_one_estimates():
    """Mixed run counts (1, 2, 3, 5 per side) go through different groups."""
    from perfgate.verdict._stats import estimate_time_ratios

    rng = random.Random(11)
    shapes = [(1, 1), (3, 3), (1, 3), (3, 1), (5, 2), (3, 3), (2, 5)]
    base = [[rng.lognormvariate(0, 0.05) for _ in range(b)] for b, _ in shapes]
    cur = [[1.1 * rng.lognormvariate(0, 0.05) for _ in range(c)] for _, c in shapes]
    options = {"alpha": 0.05, "assumed_run_sd_log": 0.2, "min_run_sd_log": 0.03}
    together = estimate_time_ratios(base, cur, **options)
    for one, b, c in zip(together, base, cur, strict=True):
        assert one == estimate_time_ratios([b], [c], **options)[0]  # grouping keeps order
        assert one.baseline_runs == len(b)
        assert one.current_runs == len(c)


def test_the_estimate_is_students_pooled_t_test_on_log_run_values():
    """Against scipy's own two-sample t test (no noise floor)."""
    from scipy import stats

    rng = random.Random(5)
    base = [rng.lognormvariate(0, 0.05) for _ in range(4)]
    cur = [1.08 * rng.lognormvariate(0, 0.05) for _ in range(3)]
    ours = estimate_time_ratio(base, cur, alpha=0.05, assumed_run_sd_log=0.2)
    reference = stats.ttest_ind([math.log(v) for v in cur], [math.log(v) for v in base])
    assert ours.p_value == pytest.approx(float(reference.pvalue), rel=1e-9)
    assert ours.df == 5


def _lockstep_pairs(rng, pairs, rounds, factor=1.0, process_sd=0.02, machine_sd=0.2):
    """Worker pairs of rounds: the machine's swings are shared by both sides of a
    round, each process has its own offset (layout, hash seed), as measured here."""
    import numpy as np

    out = []
    for _ in range(pairs):
        swings = np.exp(rng.normal(0, machine_sd, rounds))
        base = (
            1e-3 * np.exp(rng.normal(0, process_sd)) * swings * np.exp(rng.normal(0, 0.01, rounds))
        )
        head = (
            factor
            * 1e-3
            * np.exp(rng.normal(0, process_sd))
            * swings
            * np.exp(rng.normal(0, 0.01, rounds))
        )
        out.append((base.tolist(), head.tolist()))
    return out


def test_hodges_lehmann_is_the_median_of_the_walsh_averages():
    import numpy as np

    from perfgate.verdict._stats import hodges_lehmann

    # Walsh averages of (0, 1, 10): 0, 0.5, 5, 1, 5.5, 10 -> median 3.0
    assert hodges_lehmann(np.array([0.0, 1.0, 10.0])) == pytest.approx(3.0)
    wild = np.array([0.0] * 20 + [5.0] * 3)  # a few wild rounds barely move it
    assert abs(hodges_lehmann(wild)) < 0.01


def test_interleaved_false_alarms_on_identical_code_stay_below_alpha():
    import numpy as np

    from perfgate.verdict._stats import estimate_interleaved_ratio

    rng = np.random.default_rng(7)
    trials = 600
    alarms = sum(
        estimate_interleaved_ratio(_lockstep_pairs(rng, 8, 40), alpha=ALPHA)[0].p_value < ALPHA
        for _ in range(trials)
    )
    # Binomial(600, 0.05) has sd 0.0089: 0.077 is 3 sd above alpha.
    assert alarms / trials < 0.077


def test_interleaved_sees_five_percent_through_large_shared_swings():
    import numpy as np

    from perfgate.verdict._stats import estimate_interleaved_ratio

    rng = np.random.default_rng(8)
    estimate, spread = estimate_interleaved_ratio(
        _lockstep_pairs(rng, 12, 50, factor=1.05), alpha=ALPHA
    )
    assert estimate.noise is NoiseSource.INTERLEAVED
    assert 1.03 < estimate.ratio < 1.07
    assert estimate.ci_low > 1.0
    assert estimate.mde_pct < 5
    assert spread.worker_pairs == 12
    assert spread.rounds == 600
    assert spread.round_sd_log < 0.03  # the shared 0.2 swings cancel within a pair
    assert estimate.df == 11  # worker pairs are the replicates


def test_one_worker_pair_gives_no_interval():
    import numpy as np

    from perfgate.verdict._stats import estimate_interleaved_ratio

    rng = np.random.default_rng(9)
    estimate, spread = estimate_interleaved_ratio(_lockstep_pairs(rng, 1, 60), alpha=ALPHA)
    # One pair cannot measure what is fixed for a process: no interval, no claim.
    assert estimate.ci_low is None
    assert estimate.mde_pct is None
    assert estimate.p_value == 1.0
    assert spread.pair_sd_log is None
    assert spread.rounds == 60
    with pytest.raises(ValueError, match="at least one pair of rounds"):
        estimate_interleaved_ratio([([], [])], alpha=ALPHA)
