"""Pure statistics for comparing a baseline with a current measurement.

No I/O, no printing, no configuration objects: plain numbers in, frozen models
out. ``docs/statistics.md`` states the rules these functions implement.

Wall times (``estimate_time_ratio``)
    The unit of replication is the *run* (one process). Each run is reduced to
    one value, the log of its median sample; samples inside a run are not
    independent draws (on shared machines a whole process runs fast or slow),
    so treating them as such gives p ≈ 0 on identical code.

    The log ratio is the difference of the mean log run-medians. Its standard
    error comes from the between-run standard deviation, pooled over the sides
    that have at least two runs (Student's t with the pooled degrees of
    freedom), floored at a minimum run noise, because a few runs can agree by
    luck (measured: docs/accuracy.md). When neither side has two runs, a stated,
    conservative assumed run noise is used with a normal quantile, so one run
    against one run can only ever show very large changes. The p-value is the
    two-sided t (or z) test of "no change"; the interval is the matching 1 − α
    interval; the MDE is the smallest slowdown detected with probability
    ``power`` at level α.

Counters (``estimate_counter_ratio``)
    Counts are deterministic: the ratio of the median counts, exact, with no
    interval and no p-value.

Multiple testing (``adjust_p_values``)
    Benjamini–Hochberg across the suite, via ``scipy.stats.false_discovery_control``.
"""

from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Sequence
from enum import StrEnum
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

__all__ = [
    "DEFAULT_POWER",
    "NoiseSource",
    "PairSpread",
    "RatioEstimate",
    "adjust_p_values",
    "estimate_counter_ratio",
    "estimate_interleaved_ratio",
    "estimate_paired_ratio",
    "estimate_time_ratio",
    "estimate_time_ratios",
    "hodges_lehmann",
    "run_value",
    "run_values",
]

DEFAULT_POWER: Final = 0.8
"""Detection probability that defines the minimum detectable effect."""


class NoiseSource(StrEnum):
    """Where the between-run noise behind an estimate came from."""

    RUNS = "runs"
    """Measured from the runs on both sides (pooled)."""
    BASELINE_RUNS = "baseline-runs"
    """Measured from the baseline's runs only (the current side has one run)."""
    CURRENT_RUNS = "current-runs"
    """Measured from the current side's runs only (the baseline has one run)."""
    ASSUMED = "assumed"
    """Neither side had two runs; the configured assumed run noise was used."""
    EXACT = "exact"
    """Deterministic counters: no noise model."""
    PAIRED = "paired"
    """A/B rounds in one job: the spread of the paired log ratios."""
    INTERLEAVED = "interleaved"
    """Lock-step A/B: rounds paired milliseconds apart, worker pairs as replicates."""


class RatioEstimate(BaseModel):
    """current / baseline, with its uncertainty."""

    model_config = ConfigDict(frozen=True)

    ratio: float | None
    """Point estimate of current / baseline; ``None`` when the baseline is zero."""
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    """Two-sided p-value of "no change"; ``None`` for exact counters."""
    mde_pct: float | None
    """Smallest slowdown (percent) detectable with probability ``DEFAULT_POWER``."""
    confidence: float
    noise: NoiseSource
    run_sd_log: float | None
    """Between-run standard deviation of log run-medians used for the estimate."""
    df: float | None
    """Degrees of freedom of the t distribution (``None``: normal / exact)."""
    baseline_value: float
    """Typical baseline value: for times the geometric mean of the run values (so that
    ``current_value / baseline_value == ratio``), for counters their median."""
    current_value: float
    baseline_runs: int
    current_runs: int


def run_value(samples: Sequence[float]) -> float:
    """One run's value: the median of its samples (robust to warm-up and outliers)."""
    if not samples:
        raise ValueError("a run needs at least one sample")
    return float(run_values([np.asarray(samples, dtype=np.float64)])[0])


def run_values(sample_arrays: Sequence[npt.NDArray[np.float64]]) -> npt.NDArray[np.float64]:
    """:func:`run_value` of many runs at once: runs with equally many samples are
    stacked and cut at their middle ranks by one ``numpy.partition`` (a suite's
    runs mostly share a length), so the cost does not grow with the number of
    Python calls."""
    out = np.empty(len(sample_arrays), dtype=np.float64)
    by_length: dict[int, list[int]] = {}
    for index, values in enumerate(sample_arrays):
        if not len(values):
            raise ValueError("a run needs at least one sample")
        by_length.setdefault(len(values), []).append(index)
    for length, indices in by_length.items():
        # np.array of equal-length arrays is one copy (np.stack costs 10x more),
        # and a partition at the middle ranks is all a median needs.
        stacked = np.array([sample_arrays[i] for i in indices], dtype=np.float64)
        low, high = (length - 1) // 2, length // 2
        middle = np.partition(stacked, (low, high), axis=1)
        out[indices] = (middle[:, low] + middle[:, high]) / 2
    return out


@functools.lru_cache(maxsize=256)
def _quantile(probability: float, df: float | None) -> float:
    """Student's t quantile (normal when ``df`` is None); cached, since a suite
    asks for the same few quantiles once per benchmark. Through scipy.special
    (``stdtrit``, ``ndtri``), the functions ``scipy.stats.t.ppf`` itself uses."""
    from scipy import special

    if df is None:
        return float(special.ndtri(probability))
    return float(special.stdtrit(df, probability))


def _stdev(values: Sequence[float]) -> float:
    """Sample standard deviation in floating point (``statistics.stdev`` computes
    it exactly with fractions, which costs 50 µs for three values)."""
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _p_value(mean: float, se: float, df: float | None) -> float:
    """Two-sided p-value of "no change" for a mean log ratio and its standard
    error; with no noise at all, 1 for no change and 0 for any."""
    if se > 0:
        return float(_two_sided_p(mean / se, df))
    return 1.0 if mean == 0 else 0.0


def _two_sided_p(statistic: Any, df: float | None) -> Any:
    """Two-sided p-value of a t (or, without ``df``, normal) statistic, a number or
    a numpy array of them, through scipy's special functions (``scipy.stats.t.sf``
    costs 20 µs a call here, ``scipy.special.stdtr`` 0.6 µs)."""
    from scipy import special

    lower = -np.abs(statistic)
    tail = special.stdtr(df, lower) if df is not None else special.ndtr(lower)
    return np.minimum(1.0, 2 * tail)


def estimate_time_ratio(
    baseline_runs: Sequence[float],
    current_runs: Sequence[float],
    *,
    alpha: float,
    assumed_run_sd_log: float,
    min_run_sd_log: float = 0.0,
    power: float = DEFAULT_POWER,
) -> RatioEstimate:
    """Estimate current/baseline from per-run values (each run's median time, > 0).

    See the module docstring for the method. ``assumed_run_sd_log`` is the
    between-run standard deviation on the natural-log scale used when neither
    side has two runs; ``min_run_sd_log`` is a floor under the measured one.
    One benchmark's :func:`estimate_time_ratios`.
    """
    (estimate,) = estimate_time_ratios(
        [baseline_runs],
        [current_runs],
        alpha=alpha,
        assumed_run_sd_log=assumed_run_sd_log,
        min_run_sd_log=min_run_sd_log,
        power=power,
    )
    return estimate


def estimate_time_ratios(
    baseline_runs: Sequence[Sequence[float]],
    current_runs: Sequence[Sequence[float]],
    *,
    alpha: float,
    assumed_run_sd_log: float,
    min_run_sd_log: float = 0.0,
    power: float = DEFAULT_POWER,
) -> list[RatioEstimate]:
    """:func:`estimate_time_ratio` for a whole suite, vectorised.

    Benchmarks with the same numbers of runs on each side share their degrees of
    freedom and quantiles, so each such group is one pass of numpy over a
    (benchmarks × runs) array of log run values, with the t tails from
    ``scipy.special.stdtr``; the method is the module docstring's, unchanged.
    """
    if len(baseline_runs) != len(current_runs):
        raise ValueError("one list of runs per benchmark on each side")
    groups: dict[tuple[int, int], list[int]] = {}
    for index, (base, cur) in enumerate(zip(baseline_runs, current_runs, strict=True)):
        if not len(base) or not len(cur):
            raise ValueError("each side needs at least one run")
        groups.setdefault((len(base), len(cur)), []).append(index)
    out: list[RatioEstimate | None] = [None] * len(baseline_runs)
    for indices in groups.values():
        base_log = np.log(np.array([baseline_runs[i] for i in indices], dtype=np.float64))
        cur_log = np.log(np.array([current_runs[i] for i in indices], dtype=np.float64))
        estimates = _time_group(
            base_log, cur_log, alpha=alpha, assumed_run_sd_log=assumed_run_sd_log,
            min_run_sd_log=min_run_sd_log, power=power,
        )  # fmt: skip
        for index, estimate in zip(indices, estimates, strict=True):
            out[index] = estimate
    return [estimate for estimate in out if estimate is not None]


def _time_group(
    base_log: npt.NDArray[np.float64],
    cur_log: npt.NDArray[np.float64],
    *,
    alpha: float,
    assumed_run_sd_log: float,
    min_run_sd_log: float,
    power: float,
) -> list[RatioEstimate]:
    """Benchmarks (rows) with equally many runs (columns) on each side."""

    n_base, n_cur = base_log.shape[1], cur_log.shape[1]
    base_mean, cur_mean = base_log.mean(axis=1), cur_log.mean(axis=1)
    diff = cur_mean - base_mean
    dof = (n_base - 1 if n_base >= 2 else 0) + (n_cur - 1 if n_cur >= 2 else 0)
    df: float | None
    if dof:
        squares = np.zeros(len(diff))
        for side, n in ((base_log, n_base), (cur_log, n_cur)):
            if n >= 2:
                squares += (n - 1) * side.var(axis=1, ddof=1)
        sd = np.sqrt(squares / dof)
        df = float(dof)
        if n_base >= 2 and n_cur >= 2:
            noise = NoiseSource.RUNS
        elif n_base >= 2:
            noise = NoiseSource.BASELINE_RUNS
        else:
            noise = NoiseSource.CURRENT_RUNS
    else:
        sd, df, noise = np.full(len(diff), assumed_run_sd_log), None, NoiseSource.ASSUMED
    # Three to five runs can agree by luck: a floor keeps a lucky, tight set of
    # runs from turning a process-level offset into a confident verdict.
    sd = np.maximum(sd, min_run_sd_log)
    quantile = _quantile(1 - alpha / 2, df)
    power_quantile = _quantile(power, df)
    se = sd * math.sqrt(1 / n_base + 1 / n_cur)
    with np.errstate(divide="ignore", invalid="ignore"):
        tested = _two_sided_p(diff / se, df)
    # se == 0: identical runs on both sides, the data show no noise at all.
    p_value = np.where(se > 0, tested, np.where(diff == 0, 1.0, 0.0))
    ratio, low, high = np.exp(diff), np.exp(diff - quantile * se), np.exp(diff + quantile * se)
    mde = 100 * np.expm1((quantile + power_quantile) * se)
    base_value, cur_value = np.exp(base_mean), np.exp(cur_mean)
    return [
        RatioEstimate(
            ratio=float(ratio[i]),
            ci_low=float(low[i]),
            ci_high=float(high[i]),
            p_value=float(p_value[i]),
            mde_pct=float(mde[i]),
            confidence=1 - alpha,
            noise=noise,
            run_sd_log=float(sd[i]),
            df=df,
            baseline_value=float(base_value[i]),
            current_value=float(cur_value[i]),
            baseline_runs=n_base,
            current_runs=n_cur,
        )
        for i in range(len(diff))
    ]


def estimate_counter_ratio(
    baseline_runs: Sequence[float], current_runs: Sequence[float]
) -> RatioEstimate:
    """Exact ratio of deterministic counts (median over runs, which should agree)."""
    if not baseline_runs or not current_runs:
        raise ValueError("each side needs at least one run")
    base, cur = statistics.median(baseline_runs), statistics.median(current_runs)
    ratio = cur / base if base else (1.0 if cur == 0 else None)
    return RatioEstimate(
        ratio=ratio,
        ci_low=ratio,
        ci_high=ratio,
        p_value=None,
        mde_pct=None,
        confidence=1.0,
        noise=NoiseSource.EXACT,
        run_sd_log=None,
        df=None,
        baseline_value=base,
        current_value=cur,
        baseline_runs=len(baseline_runs),
        current_runs=len(current_runs),
    )


def adjust_p_values(p_values: Sequence[float], *, fdr: bool) -> list[float]:
    """Benjamini–Hochberg adjusted p-values (unchanged when ``fdr`` is off)."""
    if not fdr or len(p_values) < 2:
        return list(p_values)
    from scipy import stats

    return [float(q) for q in stats.false_discovery_control(list(p_values), method="bh")]


def estimate_paired_ratio(
    baseline_runs: Sequence[float],
    current_runs: Sequence[float],
    *,
    alpha: float,
    power: float = DEFAULT_POWER,
) -> RatioEstimate:
    """current/baseline from *paired* runs (A/B rounds in one job).

    Run *i* of each side was measured in round *i*, so each pair's log ratio
    cancels what the machine did during that round. The estimate is the mean
    paired log ratio; the p-value and interval come from the paired t test
    with n − 1 degrees of freedom, and the MDE from the same standard error.
    Chosen by measuring: on the accuracy harness's pools, Wilcoxon's signed-rank
    test (with a Hodges–Lehmann estimate) cannot reach p < 0.05 below 6 rounds
    and detected nothing at 3 and 5 rounds, while the paired t test raised no
    A/A alarm on either pool (docs/statistics.md).
    """
    if len(baseline_runs) != len(current_runs) or not baseline_runs:
        raise ValueError("paired estimation needs equally many runs on both sides")
    diffs = [math.log(c) - math.log(b) for b, c in zip(baseline_runs, current_runs, strict=True)]
    n = len(diffs)
    mean = statistics.fmean(diffs)
    if n < 2:  # one round: no estimate of its noise
        sd, df, quantile, power_quantile = math.inf, None, math.inf, math.inf
    else:
        sd = _stdev(diffs)
        df = float(n - 1)
        quantile, power_quantile = _quantile(1 - alpha / 2, df), _quantile(power, df)
    se = sd / math.sqrt(n)
    low: float | None
    high: float | None
    mde: float | None
    if math.isinf(se):  # no interval, p-value or MDE from a single round
        p_value, low, high, mde = 1.0, None, None, None
    else:
        p_value = _p_value(mean, se, df)
        low, high = math.exp(mean - quantile * se), math.exp(mean + quantile * se)
        mde = 100 * math.expm1((quantile + power_quantile) * se)
    return RatioEstimate(
        ratio=math.exp(mean),
        ci_low=low,
        ci_high=high,
        p_value=p_value,
        mde_pct=mde,
        confidence=1 - alpha,
        noise=NoiseSource.PAIRED,
        run_sd_log=sd if math.isfinite(sd) else None,
        df=df,
        baseline_value=math.exp(statistics.fmean(math.log(v) for v in baseline_runs)),
        current_value=math.exp(statistics.fmean(math.log(v) for v in current_runs)),
        baseline_runs=n,
        current_runs=n,
    )


HL_MAX_ROUNDS: Final = 3000
"""Above this many pairs of rounds, the Hodges–Lehmann estimate is taken over an
evenly spaced subset (its Walsh averages grow as n², 36 MB at 3,000)."""


def hodges_lehmann(values: npt.NDArray[np.float64]) -> float:
    """The Hodges–Lehmann one-sample estimate: the median of the Walsh averages
    (x_i + x_j) / 2, i ≤ j (Hodges and Lehmann, Ann. Math. Statist. 1963). Robust
    to a quarter of wild values yet 95% as efficient as the mean on normal data."""
    if len(values) > HL_MAX_ROUNDS:
        values = values[np.linspace(0, len(values) - 1, HL_MAX_ROUNDS).astype(np.int64)]
    upper = np.triu_indices(len(values))
    walsh = (values[upper[0]] + values[upper[1]]) / 2
    return float(np.median(walsh))


def _robust_sd(values: npt.NDArray[np.float64]) -> float:
    """1.4826 × the median absolute deviation: the standard deviation on normal
    data, unmoved by the occasional wild round."""
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


# Asymptotic variance of Hodges–Lehmann relative to the mean on normal data: π/3.
_HL_VARIANCE_FACTOR: Final = math.pi / 3


class PairSpread(BaseModel):
    """How much the paired rounds of one benchmark disagree (for the report)."""

    model_config = ConfigDict(frozen=True)

    rounds: int
    """Pairs of rounds, over every worker pair."""
    worker_pairs: int
    round_sd_log: float
    """Robust (MAD-based) standard deviation of one pair of rounds' log ratio."""
    pair_sd_log: float | None
    """Standard deviation of the worker pairs' estimates (None with one pair)."""


Rounds = Sequence[float] | npt.NDArray[np.float64]
"""One side's round times of one worker pair, in round order."""


def estimate_interleaved_ratio(
    pairs: Sequence[tuple[Rounds, Rounds]],
    *,
    alpha: float,
    power: float = DEFAULT_POWER,
) -> tuple[RatioEstimate, PairSpread]:
    """current/baseline from lock-step A/B: per worker pair, the two sides' round
    times in round order (round *i* of each side milliseconds apart).

    Each worker pair's estimate is the Hodges–Lehmann estimate of its paired
    log ratios, robust to the wild rounds a shared machine throws in. Rounds of
    one pair share that pair's processes (layout, hash seeds), so they are not
    independent replicates of the comparison; the worker pair is. The estimate
    is the mean of the pairs' estimates, with a Student t interval on them
    (k − 1 degrees of freedom): the analysis of cluster summaries. Its standard
    error is floored at what the rounds alone allow (the robust round spread,
    with Hodges–Lehmann's π/3 variance factor, over all rounds), so that a few
    worker pairs that agree by luck cannot claim more than their rounds hold.
    One worker pair gives no interval: what is fixed for a process moves a
    benchmark by 2–5% here (docs/accuracy.md), and one pair cannot measure it.
    """
    estimates: list[float] = []
    diffs: list[npt.NDArray[np.float64]] = []
    base_logs: list[float] = []
    head_logs: list[float] = []
    for base, head in pairs:
        n = min(len(base), len(head))
        if n == 0:
            continue
        b = np.log(np.asarray(base[:n], dtype=np.float64))
        h = np.log(np.asarray(head[:n], dtype=np.float64))
        d = h - b
        diffs.append(d)
        estimates.append(hodges_lehmann(d))
        base_logs.append(float(np.median(b)))
        head_logs.append(float(np.median(h)))
    if not estimates:
        raise ValueError("interleaved estimation needs at least one pair of rounds")
    every = np.concatenate(diffs)
    k, rounds = len(estimates), len(every)
    round_sd = _robust_sd(every)
    floor_se = math.sqrt(_HL_VARIANCE_FACTOR) * round_sd / math.sqrt(rounds)
    mean = math.fsum(estimates) / k
    spread = PairSpread(rounds=rounds, worker_pairs=k, round_sd_log=round_sd, pair_sd_log=None)
    common: dict[str, Any] = {
        "ratio": math.exp(mean),
        "confidence": 1 - alpha,
        "noise": NoiseSource.INTERLEAVED,
        "baseline_value": math.exp(math.fsum(base_logs) / k),
        "current_value": math.exp(math.fsum(head_logs) / k),
        "baseline_runs": k,
        "current_runs": k,
    }
    if k < 2:
        no_interval = {"ci_low": None, "ci_high": None, "mde_pct": None, "df": None}
        return RatioEstimate(**common, **no_interval, p_value=1.0, run_sd_log=None), spread
    pair_sd = _stdev(estimates)
    se, df = max(pair_sd / math.sqrt(k), floor_se), float(k - 1)
    quantile, power_quantile = _quantile(1 - alpha / 2, df), _quantile(power, df)
    estimate = RatioEstimate(
        **common,
        ci_low=math.exp(mean - quantile * se),
        ci_high=math.exp(mean + quantile * se),
        p_value=_p_value(mean, se, df),
        mde_pct=100 * math.expm1((quantile + power_quantile) * se),
        run_sd_log=pair_sd,
        df=df,
    )
    return estimate, spread.model_copy(update={"pair_sd_log": pair_sd})
