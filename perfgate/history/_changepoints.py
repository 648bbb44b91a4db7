"""Steps in one benchmark's history: change points, then a test of each.

Pure statistics: a sequence of per-commit values in, frozen models out.

Method
    1. Work on log values, so a step is a ratio whatever the benchmark's scale.
    2. The noise ``σ`` is estimated robustly from the first differences (MAD of
       the differences / √2; a few steps touch only a few differences), floored
       at a stated minimum (instruction counts repeat to about 0.01%, so their
       measured noise can be 0).
    3. Candidate change points come from binary segmentation (Scott & Knott
       1974; Vostrikova 1981) with a least-squares cost on the standardised
       series and a BIC-like penalty, as implemented by ``ruptures`` (Truong,
       Oudre & Vayatis, Signal Processing 2020). Its PELT search is exact but
       took 5.3 s on 1,000 commits here, against 0.02 s; the pruning below
       removes what a greedy search adds by mistake.
    4. Each candidate is then tested within the span of its neighbouring
       candidates (the significance step of Matteson & James's E-Divisive, as
       MongoDB runs it, Daly et al., ICPE 2020), by one of two tests:

       - ``sampled`` noise (wall time): a permutation test of the largest
         standardised rank-sum (Mann–Whitney) split anywhere in the span
         (Pettitt 1979's statistic, with the permutation null of E-Divisive).
         Ranks make it immune to the heavy, bimodal tails of CI timings, and
         the maximum over all splits accounts for the search that chose the
         candidate (a test of the chosen split alone calls noise a step: it
         did on this machine's busy pool, docs/history.md). The permutations
         are seeded from the data: the same history gives the same answer.
       - ``deterministic`` noise (instruction counts): the difference of the two
         segments' medians over the standard error of medians (1.2533 σ/√n per
         side, σ the larger of the segment's robust spread and the noise floor),
         two-sided normal p-value. Ranks cannot see a step two commits old.

       A candidate stays when p < α and the step (the difference of the two
       segments' medians) is at least the smallest step that matters (the
       gate's threshold for that kind of benchmark). The weakest failing
       candidate is removed and the rest are tested again against their new
       neighbours, until all pass.
    5. Where the step lies: every split position inside the two segments whose
       least-squares cost is within 4 σ² of the best one (a likelihood-ratio
       interval at about 95%) is a candidate first slower commit, so a noisy
       series names a range of commits, not one, and bisection searches it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

__all__ = ["DEFAULT_ALPHA", "Noise", "Step", "find_steps", "median_se", "robust_noise"]

Noise = Literal["sampled", "deterministic"]

DEFAULT_ALPHA: Final = 0.0005
"""Per-step significance: a history is tested at every commit of every benchmark,
so the level is strict (0 false steps over the A/A histories, docs/history.md)."""
_PENALTY_PER_LOG_N: Final = 3.0
"""The segmentation's penalty, in units of σ² per log(n): above BIC's 2, for fewer candidates."""
_LOCATION_COST: Final = 4.0
"""Split positions within this cost (σ² units) of the best one are candidates."""
_PERMUTATIONS: Final = 3999
"""Permutations of the rank test: p can reach 1/4000, well under α = 0.001."""
_MEDIAN_SE: Final = math.sqrt(math.pi / 2)
"""Standard error of a normal sample's median, per σ/√n."""


class Step(BaseModel):
    """A sustained change in one benchmark's history."""

    model_config = ConfigDict(frozen=True)

    index: int
    """The first point at the new level (the most likely first slower commit)."""
    first: int
    """The earliest point that may be the first at the new level."""
    last: int
    """The latest point that may be the first at the new level (≥ ``index``)."""
    before: float
    """The level before the step (median of the segment), in the benchmark's unit."""
    after: float
    """The level after the step (median of the segment)."""
    ratio: float
    """``after / before``: above 1 is slower."""
    ratio_low: float
    ratio_high: float
    """95% interval of the ratio."""
    p_value: float
    points_before: int
    points_after: int

    @property
    def change_pct(self) -> float:
        return 100 * (self.ratio - 1)


def robust_noise(log_values: npt.NDArray[np.float64]) -> float:
    """One standard deviation of the noise, from the MAD of first differences / √2."""
    if log_values.size < 3:
        return 0.0
    diffs = np.diff(log_values)
    mad = float(np.median(np.abs(diffs - np.median(diffs))))
    return 1.4826 * mad / math.sqrt(2)


def _spread(segment: npt.NDArray[np.float64]) -> float:
    if segment.size < 3:
        return 0.0
    return 1.4826 * float(np.median(np.abs(segment - np.median(segment))))


def find_steps(
    values: Sequence[float],
    *,
    min_step_pct: float,
    noise_floor_pct: float,
    alpha: float = DEFAULT_ALPHA,
    min_size: int = 2,
    noise: Noise = "sampled",
) -> list[Step]:
    """The steps of a history (oldest value first), oldest step first.

    ``min_step_pct``: the smallest step that counts (either direction).
    ``noise_floor_pct``: the smallest noise assumed (one standard deviation).
    ``min_size``: the fewest points a level needs (so the newest step is found
    once that many commits are measured after it).
    ``noise``: which test judges a candidate (see the module's docstring)."""
    import ruptures
    from scipy import stats

    logs = np.log(np.asarray(list(values), dtype=np.float64))
    n = logs.size
    if n < 2 * min_size or not np.all(np.isfinite(logs)):
        return []
    sigma = max(robust_noise(logs), math.log1p(noise_floor_pct / 100))
    standard = ((logs - np.median(logs)) / sigma).reshape(-1, 1)
    # Counts may split anywhere (a level of one commit at the end is where a new
    # step first shows); the levels are held to ``min_size`` when tested.
    search = 1 if noise == "deterministic" else min_size
    algo = ruptures.Binseg(model="l2", min_size=search, jump=1).fit(standard)
    cuts = [c for c in algo.predict(pen=_PENALTY_PER_LOG_N * math.log(n)) if c < n]
    threshold = math.log1p(min_step_pct / 100)
    test = _rank_test if noise == "sampled" else _median_test
    cache: dict[tuple[int, int, int], tuple[float, float]] = {}

    def tested_at(i: int) -> tuple[float, float]:
        start = cuts[i - 1] if i else 0
        end = cuts[i + 1] if i + 1 < len(cuts) else n
        key = (start, cuts[i], end)
        if key not in cache:
            cache[key] = test(logs[start:end], cuts[i] - start, sigma, min_size)
        return cache[key]

    while True:
        tested = [tested_at(i) for i in range(len(cuts))]
        bounds = [0, *cuts, n]
        failing = [
            (p, i)
            for i, (p, size) in enumerate(tested)
            if p >= alpha
            or abs(size) < threshold - 1e-12
            or min(bounds[i + 1] - bounds[i], bounds[i + 2] - bounds[i + 1]) < min_size
        ]
        if not failing:
            break
        cuts.pop(max(failing)[1])
    z = float(stats.norm.ppf(0.975))
    steps = []
    for i, cut in enumerate(cuts):
        start = cuts[i - 1] if i else 0
        end = cuts[i + 1] if i + 1 < len(cuts) else n
        left, right = logs[start:cut], logs[cut:end]
        size = float(np.median(right) - np.median(left))
        se = median_se(left, sigma) ** 2 + median_se(right, sigma) ** 2
        p, _ = tested_at(i)
        first, last = _location(logs[start:end], cut - start, search, sigma)
        steps.append(
            Step(
                index=cut, first=start + first, last=start + last,
                before=math.exp(float(np.median(left))), after=math.exp(float(np.median(right))),
                ratio=math.exp(size), ratio_low=math.exp(size - z * math.sqrt(se)),
                ratio_high=math.exp(size + z * math.sqrt(se)), p_value=p,
                points_before=left.size, points_after=right.size,
            )
        )  # fmt: skip
    return steps


def median_se(segment: npt.NDArray[np.float64], sigma: float) -> float:
    """Standard error of a segment's median (log units), its spread floored at ``sigma``."""
    return _MEDIAN_SE * max(_spread(segment), sigma) / math.sqrt(segment.size)


def _median_test(
    span: npt.NDArray[np.float64], cut: int, sigma: float, min_size: int
) -> tuple[float, float]:
    """(two-sided p, log step size) of the split at ``cut``: difference of medians."""
    from scipy import stats

    left, right = span[:cut], span[cut:]
    size = float(np.median(right) - np.median(left))
    se = math.sqrt(median_se(left, sigma) ** 2 + median_se(right, sigma) ** 2)
    return float(2 * stats.norm.sf(abs(size) / se)), size


def _rank_test(
    span: npt.NDArray[np.float64], cut: int, sigma: float, min_size: int
) -> tuple[float, float]:
    """(permutation p, log step size): the largest standardised rank-sum split of
    ``span`` against the same maximum over random orders of its values."""
    from scipy import stats

    size = float(np.median(span[cut:]) - np.median(span[:cut]))
    m = span.size
    positions = np.arange(min_size, m - min_size + 1)
    if positions.size == 0:
        return 1.0, size
    centred = stats.rankdata(span) - (m + 1) / 2
    scale = np.sqrt(positions * (m - positions) * (m + 1) / 12)

    def largest(rows: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        sums = np.cumsum(rows, axis=-1)[..., positions - 1]
        return np.asarray(np.max(np.abs(sums) / scale, axis=-1), dtype=np.float64)

    observed = float(largest(centred))
    seed = int.from_bytes(np.ascontiguousarray(span).tobytes()[-8:].ljust(8, b"\0"), "little")
    rng = np.random.default_rng([seed, m, cut])
    shuffled = rng.permuted(np.broadcast_to(centred, (_PERMUTATIONS, m)), axis=1)
    beaten = int(np.count_nonzero(largest(shuffled) >= observed - 1e-9))
    return (1 + beaten) / (1 + _PERMUTATIONS), size


def _location(
    segment: npt.NDArray[np.float64], cut: int, min_size: int, sigma: float
) -> tuple[int, int]:
    """The split positions (relative to ``segment``) whose two-mean least-squares
    cost is within :data:`_LOCATION_COST` σ² of the best, around ``cut``."""
    n = segment.size
    positions = np.arange(min_size, n - min_size + 1)
    if positions.size == 0:
        return cut, cut
    sums = np.concatenate(([0.0], np.cumsum(segment)))
    squares = np.concatenate(([0.0], np.cumsum(segment**2)))
    left_n, right_n = positions, n - positions
    left_cost = squares[positions] - sums[positions] ** 2 / left_n
    right_cost = (squares[n] - squares[positions]) - (sums[n] - sums[positions]) ** 2 / right_n
    cost = (left_cost + right_cost) / sigma**2
    near = positions[cost <= cost.min() + _LOCATION_COST]
    # Only the contiguous run of candidates that holds the chosen cut.
    lo = hi = cut
    members = {int(p) for p in near}
    while lo - 1 in members:
        lo -= 1
    while hi + 1 in members:
        hi += 1
    return lo, hi
