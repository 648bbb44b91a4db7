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
    4. Each candidate is then tested against its neighbouring segments (the
       pruning step of Matteson & James's E-Divisive as used by MongoDB, Daly et
       al., ICPE 2020): the difference of the two segments' medians, over the
       standard error of medians (1.2533 σ/√n per side, σ the larger of the
       segment's own robust spread and the series' noise), two-sided normal
       p-value. A candidate stays when p < α and the step is at least the
       smallest step that matters (the gate's threshold for that kind of
       benchmark). The weakest failing candidate is removed and the rest are
       tested again against their new neighbours, until all pass.
    5. Where the step lies: every split position inside the two segments whose
       least-squares cost is within 4 σ² of the best one (a likelihood-ratio
       interval at about 95%) is a candidate first slower commit, so a noisy
       series names a range of commits, not one, and bisection searches it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

__all__ = ["DEFAULT_ALPHA", "Step", "find_steps", "median_se", "robust_noise"]

DEFAULT_ALPHA: Final = 0.001
"""Per-step significance: a history is tested at every commit of every benchmark,
so the level is strict (0 false steps over the A/A histories, docs/history.md)."""
_PENALTY_PER_LOG_N: Final = 3.0
"""The segmentation's penalty, in units of σ² per log(n): above BIC's 2, for fewer candidates."""
_LOCATION_COST: Final = 4.0
"""Split positions within this cost (σ² units) of the best one are candidates."""
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
) -> list[Step]:
    """The steps of a history (oldest value first), oldest step first.

    ``min_step_pct``: the smallest step that counts (either direction).
    ``noise_floor_pct``: the smallest noise assumed (one standard deviation).
    ``min_size``: the fewest points a level needs (so the newest step is found
    once that many commits are measured after it)."""
    import ruptures
    from scipy import stats

    logs = np.log(np.asarray(list(values), dtype=np.float64))
    n = logs.size
    if n < 2 * min_size or not np.all(np.isfinite(logs)):
        return []
    sigma = max(robust_noise(logs), math.log1p(noise_floor_pct / 100))
    standard = ((logs - np.median(logs)) / sigma).reshape(-1, 1)
    algo = ruptures.Binseg(model="l2", min_size=min_size, jump=1).fit(standard)
    cuts = [c for c in algo.predict(pen=_PENALTY_PER_LOG_N * math.log(n)) if c < n]
    threshold = math.log1p(min_step_pct / 100)
    while True:
        tested = [_test(logs, cuts, i, sigma) for i in range(len(cuts))]
        failing = [
            (p, i)
            for i, (p, size) in enumerate(tested)
            if p >= alpha or abs(size) < threshold - 1e-12
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
        p, _ = _test(logs, cuts, i, sigma)
        first, last = _location(logs[start:end], cut - start, min_size, sigma)
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


def _test(
    logs: npt.NDArray[np.float64], cuts: list[int], i: int, sigma: float
) -> tuple[float, float]:
    """(two-sided p, log step size) of cut ``i`` against its neighbouring segments."""
    from scipy import stats

    start = cuts[i - 1] if i else 0
    end = cuts[i + 1] if i + 1 < len(cuts) else logs.size
    left, right = logs[start : cuts[i]], logs[cuts[i] : end]
    size = float(np.median(right) - np.median(left))
    se = math.sqrt(median_se(left, sigma) ** 2 + median_se(right, sigma) ** 2)
    return float(2 * stats.norm.sf(abs(size) / se)), size


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
