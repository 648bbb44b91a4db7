"""history/_changepoints.py: steps found, placed and sized; noise left alone."""

from __future__ import annotations

import math
import random

import pytest

from perfgate.history._changepoints import find_steps


def _series(n: int, steps: dict[int, float], sigma: float, seed: int = 0) -> list[float]:
    rng = random.Random(seed)
    level = 1.0
    out = []
    for i in range(n):
        level *= steps.get(i, 1.0)
        out.append(1e6 * level * math.exp(rng.gauss(0, sigma)))
    return out


def test_a_step_in_counts_is_placed_exactly_with_its_size():
    values = _series(60, {37: 1.03}, sigma=0.00005)
    (step,) = find_steps(values, min_step_pct=1, noise_floor_pct=0.1, noise="deterministic")
    assert (step.index, step.first, step.last) == (37, 37, 37)
    assert step.ratio == pytest.approx(1.03, rel=1e-3)
    assert step.ratio_low < 1.03 < step.ratio_high
    assert (step.points_before, step.points_after) == (37, 23)
    assert step.change_pct == pytest.approx(3, abs=0.1)


def test_the_newest_commit_but_one_can_hold_a_step_in_counts():
    values = _series(40, {38: 1.05}, sigma=0)
    (step,) = find_steps(values, min_step_pct=1, noise_floor_pct=0.1, noise="deterministic")
    assert step.index == 38


def test_steps_below_the_smallest_that_matters_are_not_steps():
    values = _series(60, {20: 1.004, 40: 0.997}, sigma=0)
    assert find_steps(values, min_step_pct=1, noise_floor_pct=0.1, noise="deterministic") == []


def test_several_steps_both_ways_in_order():
    values = _series(90, {30: 1.04, 60: 0.9}, sigma=0.0001)
    steps = find_steps(values, min_step_pct=1, noise_floor_pct=0.1, noise="deterministic")
    assert [(s.index, round(s.ratio, 2)) for s in steps] == [(30, 1.04), (60, 0.9)]


def test_noisy_wall_time_a_a_has_no_step_and_a_large_step_is_found():
    for seed in range(20):
        assert find_steps(_series(60, {}, 0.03, seed), min_step_pct=5, noise_floor_pct=1,
                          min_size=4) == []  # fmt: skip
    (step,) = find_steps(_series(60, {30: 1.2}, 0.03, 1), min_step_pct=5, noise_floor_pct=1,
                         min_size=4)  # fmt: skip
    assert abs(step.index - 30) <= 2
    assert step.first <= step.index <= step.last
    assert step.ratio == pytest.approx(1.2, rel=0.05)


def test_a_burst_of_slow_runners_is_not_a_step():
    """Real CI noise is bimodal: a neighbour slows a few commits in a row by 15%.
    The rank test over every split (not only the chosen one) leaves it alone."""
    values = _series(60, {}, 0.01, 3)
    for i in (20, 21, 23, 24):
        values[i] *= 1.15
    assert find_steps(values, min_step_pct=5, noise_floor_pct=1, min_size=4) == []


def test_the_same_history_gives_the_same_steps():
    values = _series(80, {50: 1.12}, 0.04, 9)
    first = find_steps(values, min_step_pct=5, noise_floor_pct=1, min_size=4)
    assert first == find_steps(values, min_step_pct=5, noise_floor_pct=1, min_size=4)


@pytest.mark.parametrize("values", [[], [1.0], [1.0, 2.0, 3.0], [1.0, math.nan, 1.0, 1.0, 1.0]])
def test_short_or_broken_histories_have_no_steps(values):
    assert find_steps(values, min_step_pct=1, noise_floor_pct=0.1) == []


def test_a_new_level_of_one_commit_waits_for_the_next_and_is_then_placed_exactly():
    """Found at the push after the step's, where the step is (not one commit early,
    as a search that needs two points on each side would place it)."""
    values = [*_series(39, {}, sigma=0), 1.07e6]
    assert find_steps(values, min_step_pct=1, noise_floor_pct=0.1, noise="deterministic") == []
    (step,) = find_steps(
        [*values, 1.07e6], min_step_pct=1, noise_floor_pct=0.1, noise="deterministic"
    )
    assert (step.index, step.first, step.last) == (39, 39, 39)


def test_one_odd_count_is_not_a_step():
    values = _series(40, {}, sigma=0)
    values[17] *= 1.05
    assert find_steps(values, min_step_pct=1, noise_floor_pct=0.1, noise="deterministic") == []
