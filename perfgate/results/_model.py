"""The results file: what perfgate captures, commits as a baseline, and compares.

A results file holds an :class:`Environment` and a list of :class:`Run` s. A run
is one process, one capture; runs are the unit of replication, because on
shared machines the variance *between* processes dwarfs the variance between
the samples inside one (see ``docs/statistics.md``). Every benchmark keeps its
raw samples; long sample lists are packed losslessly (zlib + base64 of
little-endian float64) so that baselines stay small enough to commit.
"""

from __future__ import annotations

import math
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

import numpy as np
import numpy.typing as npt
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from perfgate.capture._records import (
    KIND_COUNTER,
    KIND_TIME,
    PACKED_ENCODING,
    RESULTS_SCHEMA,
    RESULTS_VERSION,
    encode_samples,
    unpack_samples,
)
from perfgate.results._samples import Samples

__all__ = [
    "RESULTS_SCHEMA",
    "RESULTS_VERSION",
    "Benchmark",
    "Environment",
    "Kind",
    "ResultsFile",
    "Run",
    "Summary",
]


class Kind(StrEnum):
    """What a benchmark measures: a noisy time, or a deterministic count."""

    TIME = KIND_TIME
    COUNTER = KIND_COUNTER


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(_Strict):
    """Where and from what a capture was made. Every field is optional."""

    python_version: str | None = None
    python_implementation: str | None = None
    platform: str | None = None
    machine: str | None = None
    cpu_model: str | None = None
    cpu_count: int | None = None
    perfgate_version: str | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    git_dirty: bool | None = None
    ci_provider: str | None = None
    ci_run_id: str | None = None


class Summary(_Strict):
    """Summary statistics, kept only when raw samples were not available
    (pytest-benchmark files saved without ``--benchmark-save-data``)."""

    rounds: Annotated[int, Field(ge=1)]
    median: float
    mean: float
    stddev: Annotated[float, Field(ge=0)]
    min: float
    max: float

    @field_validator("median", "mean", "min", "max")
    @classmethod
    def _finite_positive(cls, value: float) -> float:
        if not math.isfinite(value) or not MIN_VALUE <= value <= MAX_VALUE:
            raise ValueError(
                f"summary value {value!r} is not a time within {MIN_VALUE:g} to {MAX_VALUE:g}"
            )
        return value


DEFER_SAMPLE_CHECKS: Final = "perfgate.defer_sample_checks"
"""Validation context key: check the samples of a whole file in one vectorised
pass (:class:`ResultsFile`) instead of benchmark by benchmark."""


MAX_VALUE: Final = 1e100
MIN_VALUE: Final = 1e-100
"""Samples lie within these (or are 0 for counts), so that no ratio of two can
overflow a float: 1e-300 against 1e300 is not a measurement."""


def _good(values: npt.NDArray[np.float64], kind: Kind) -> npt.NDArray[np.bool_]:
    in_range = np.isfinite(values) & (np.abs(values) <= MAX_VALUE)
    positive = values >= MIN_VALUE
    return in_range & (positive if kind is Kind.TIME else (positive | (values == 0)))


def _sample_problem(values: npt.NDArray[np.float64], kind: Kind) -> str | None:
    """What is wrong with these samples (the first bad one), or ``None``."""
    if not values.size:
        return None
    good = _good(values, kind)
    if good.all():
        return None
    index = int(np.flatnonzero(~good)[0])
    value = float(values[index])
    if not math.isfinite(value):
        return f"sample {index} is {value!r}; values must be finite"
    if abs(value) > MAX_VALUE or (0 < abs(value) < MIN_VALUE):
        return f"sample {index} is {value!r}; values must lie within {MIN_VALUE:g} to {MAX_VALUE:g}"
    what = "times must be > 0" if kind is Kind.TIME else "counts must be >= 0"
    return f"sample {index} is {value!r}; {what}"


def _count(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"samples_packed count must be a whole number >= 0, not {value!r}")
    return value


class FunctionCost(_Strict):
    """Where one counted call's instructions went, for one function
    (capture._profile): a Python function (``python``) with its own and its
    inclusive instructions, or a C function with its own."""

    function: Annotated[str, Field(min_length=1, max_length=1000)]
    python: bool = False
    calls: Annotated[int, Field(ge=0)] = 0
    self_instructions: Annotated[int, Field(ge=0, alias="self")]
    inclusive_instructions: Annotated[int | None, Field(ge=0, alias="inclusive")] = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


MAX_FUNCTIONS: Final = 200
"""Function entries accepted per benchmark (capture keeps 100)."""


class Benchmark(_Strict):
    """One benchmark as measured in one run."""

    name: Annotated[str, Field(min_length=1)]
    """Stable id; for pytest benchmarks, pytest-benchmark's ``fullname``."""
    group: str | None = None
    unit: Annotated[str, Field(min_length=1)] = "s"
    """``s`` for times, or a count unit such as ``instructions`` or ``bytes``."""
    kind: Kind = Kind.TIME
    samples: Samples = Field(default_factory=Samples)
    """Every measured value (per iteration), in ``unit`` (a read-only sequence of
    floats backed by a numpy array; see :class:`perfgate.results._samples.Samples`)."""
    summary: Summary | None = None
    """Only when raw samples are absent (imported summary-only data)."""
    params: dict[str, JsonValue] | None = None
    extra: dict[str, JsonValue] = Field(default_factory=dict)
    functions: Annotated[list[FunctionCost], Field(max_length=MAX_FUNCTIONS)] | None = None
    """Per-function instructions of one counted call (instruction mode), if known."""

    @model_validator(mode="before")
    @classmethod
    def _unpack(cls, data: Any) -> Any:
        if isinstance(data, dict) and "samples_packed" in data:
            data = dict(data)
            packed = data.pop("samples_packed")
            if not isinstance(packed, dict) or set(packed) != {"encoding", "count", "data"}:
                raise ValueError("samples_packed must have keys encoding, count and data")
            if packed["encoding"] != PACKED_ENCODING:
                raise ValueError(f"unknown samples encoding {packed['encoding']!r}")
            if "samples" in data:
                raise ValueError("give samples or samples_packed, not both")
            data["samples"] = Samples.from_le_bytes(
                unpack_samples(packed["data"], _count(packed["count"]))
            )
        return data

    @field_validator("samples")
    @classmethod
    def _valid_samples(cls, samples: Samples, info: ValidationInfo) -> Samples:
        if info.context and info.context.get(DEFER_SAMPLE_CHECKS):
            return samples  # the results file checks every benchmark's at once
        problem = _sample_problem(samples.array, info.data.get("kind", Kind.TIME))
        if problem is not None:
            raise ValueError(problem)
        return samples

    @model_validator(mode="after")
    def _has_data(self) -> Benchmark:
        if not self.samples and self.summary is None:
            raise ValueError(f"benchmark {self.name!r} has neither samples nor a summary")
        return self

    @model_serializer(mode="wrap")
    def _serialize(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if self.summary is None:
            data.pop("summary", None)
        del data["samples"]
        data.update(encode_samples(self.samples.tolist(), self.kind.value))
        return data


class Run(_Strict):
    """One process, one capture."""

    started_at: datetime
    environment: dict[str, JsonValue] = Field(default_factory=dict)
    """Fields of this run's environment that differ from the file's."""
    source: str | None = None
    """Where the run came from when imported, e.g. ``pytest-benchmark 5.2.3``."""
    benchmarks: Annotated[tuple[Benchmark, ...], Field(min_length=1)]

    @field_validator("benchmarks")
    @classmethod
    def _unique_names(cls, benchmarks: tuple[Benchmark, ...]) -> tuple[Benchmark, ...]:
        seen: set[str] = set()
        for bench in benchmarks:
            if bench.name in seen:
                raise ValueError(f"benchmark {bench.name!r} appears twice in one run")
            seen.add(bench.name)
        return benchmarks


class ResultsFile(_Strict):
    """A perfgate results file (also the format of ``baselines/*.json``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["perfgate/results"] = Field(default=RESULTS_SCHEMA, alias="schema")
    version: Literal[1] = RESULTS_VERSION
    environment: Environment = Field(default_factory=Environment)
    runs: Annotated[tuple[Run, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _all_samples_valid(self, info: ValidationInfo) -> ResultsFile:
        if not (info.context and info.context.get(DEFER_SAMPLE_CHECKS)):
            return self
        # Benchmarks of one kind and length are checked as one (rows × samples) array.
        groups: dict[tuple[Kind, int], list[tuple[int, int, Benchmark]]] = {}
        for r, run in enumerate(self.runs):
            for b, bench in enumerate(run.benchmarks):
                if bench.samples:
                    groups.setdefault((bench.kind, len(bench.samples)), []).append((r, b, bench))
        for (kind, _length), members in groups.items():
            values = np.array([bench.samples.array for _, _, bench in members])
            good = _good(values, kind)
            bad_rows = np.flatnonzero(~good.all(axis=1))
            if bad_rows.size:
                r, b, bench = members[int(bad_rows[0])]
                problem = _sample_problem(bench.samples.array, kind)
                raise ValueError(f"runs[{r}].benchmarks[{b}] {bench.name!r}: {problem}")
        return self

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=1, exclude_none=True) + "\n"
