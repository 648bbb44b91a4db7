"""Save (atomically, see :mod:`perfgate.capture._atomic`) and merge results files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from perfgate._errors import InputError
from perfgate.capture._atomic import write_atomic
from perfgate.results._model import Environment, ResultsFile, Run

__all__ = ["merge_results", "save_results", "summarised"]


def save_results(path: Path, results: ResultsFile) -> None:
    """Write a results file atomically."""
    write_atomic(path, results.to_json())


def _delta(file_env: Environment, run_env: Environment) -> dict[str, object]:
    ours, theirs = file_env.model_dump(), run_env.model_dump()
    return {k: v for k, v in theirs.items() if v is not None and ours.get(k) != v}


def merge_results(inputs: Sequence[ResultsFile]) -> ResultsFile:
    """Combine results files; every input run stays a separate run.

    The merged file's environment is the first input's. Each run keeps, in its
    own ``environment``, the fields where its file differed (e.g. another
    commit), so nothing is lost.
    """
    if not inputs:
        raise InputError("merge needs at least one input")
    base_env = inputs[0].environment
    runs: list[Run] = []
    for results in inputs:
        delta = _delta(base_env, results.environment)
        for run in results.runs:
            merged_env = {**delta, **run.environment}
            runs.append(run.model_copy(update={"environment": merged_env}) if merged_env else run)
    return ResultsFile(environment=base_env, runs=tuple(runs))


def summarised(results: ResultsFile) -> ResultsFile:
    """The same results with each benchmark's samples replaced by their summary
    (rounds, median, mean, standard deviation, minimum, maximum): what the data
    branch keeps of commits older than its newest full results. Every run stays,
    so a run-level comparison against it still works; sample-level detail goes."""
    import statistics

    from perfgate.results._model import Summary

    runs = []
    for run in results.runs:
        benchmarks = []
        for bench in run.benchmarks:
            values = bench.samples.tolist()
            if not values or bench.summary is not None or min(values) <= 0:
                benchmarks.append(bench)
                continue
            summary = Summary(
                rounds=len(values), median=statistics.median(values),
                mean=statistics.fmean(values),
                stddev=statistics.stdev(values) if len(values) > 1 else 0.0,
                min=min(values), max=max(values),
            )  # fmt: skip
            empty = type(bench.samples)()
            benchmarks.append(bench.model_copy(update={"samples": empty, "summary": summary}))
        runs.append(run.model_copy(update={"benchmarks": tuple(benchmarks)}))
    return results.model_copy(update={"runs": tuple(runs)})
