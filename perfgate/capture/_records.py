"""The results file as the capture side writes it: plain records and :mod:`json`.

This module owns the format's constants and its sample encoding; the judge's
pydantic model (:mod:`perfgate.results._model`) imports them from here and
validates what was written. A results file holds an environment and runs; a
run holds benchmarks; a benchmark holds every raw sample. Long sample lists
are packed losslessly (zlib + base64 of little-endian float64) so that
baselines stay small enough to commit.
"""

from __future__ import annotations

import base64
import json
import math
import sys
import zlib
from array import array
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from perfgate.capture._atomic import write_atomic

__all__ = [
    "INSTRUCTIONS_SUFFIX",
    "KIND_COUNTER",
    "KIND_TIME",
    "LOCKSTEP_RUN_KEY",
    "MAX_PACKED_SAMPLES",
    "PACKED_ENCODING",
    "PACK_MIN_SAMPLES",
    "RESULTS_SCHEMA",
    "RESULTS_VERSION",
    "BenchmarkRecord",
    "RunRecord",
    "encode_samples",
    "inflate_budget",
    "pack_samples",
    "results_document",
    "unpack_samples",
    "write_results",
]

RESULTS_SCHEMA: Final = "perfgate/results"
# Version history of the results format (bump on any incompatible change and
# keep a reader for every older version):
#   1 — 2026-11: first version: environment, runs → benchmarks → raw samples,
#       optional summary for imports without raw data, packed samples.
RESULTS_VERSION: Final = 1

PACK_MIN_SAMPLES: Final = 64
"""Sample lists longer than this are written packed; shorter ones stay readable."""
PACKED_ENCODING: Final = "zlib+base64:f64le"
INCOMPRESSIBLE_RATIO: Final = 0.9
"""Packed samples that zlib cannot shrink below this fraction are stored uncompressed."""
KIND_TIME: Final = "time"
KIND_COUNTER: Final = "counter"
INSTRUCTIONS_SUFFIX: Final = ":instructions"
LOCKSTEP_RUN_KEY: Final = "lockstep"
"""Run-environment key of a lock-step A/B run (``{"pair": j, "schedule": ...}``):
sample *i* of the same benchmark in the two sides' runs of pair *j* are a pair
of rounds measured milliseconds apart (ab/_lockstep.py)."""
"""Name suffix of a benchmark's instruction count (instruction mode)."""


def pack_samples(samples: Sequence[float]) -> str:
    """Encode samples losslessly and compactly (see :data:`PACKED_ENCODING`)."""
    values = array("d", samples)
    if sys.byteorder == "big":
        values.byteswap()
    raw = values.tobytes()
    packed = zlib.compress(raw, 6)
    if len(packed) > INCOMPRESSIBLE_RATIO * len(raw):
        # Continuous timings barely compress; zlib's stored blocks (level 0) keep
        # the same format and decode about ten times faster.
        packed = zlib.compress(raw, 0)
    return base64.b64encode(packed).decode("ascii")


MAX_PACKED_SAMPLES: Final = 10_000_000
"""The most values one ``samples_packed`` may declare (80 MB as float64)."""
_INFLATE_BUDGET: ContextVar[list[int] | None] = ContextVar("perfgate_inflate_budget", default=None)


@contextmanager
def inflate_budget(limit_bytes: int) -> Iterator[None]:
    """Bound what every :func:`unpack_samples` inside the block may inflate, all
    together (a file's budget: a compressed bomb of many blobs stays small)."""
    token = _INFLATE_BUDGET.set([limit_bytes])
    try:
        yield
    finally:
        _INFLATE_BUDGET.reset(token)


def unpack_samples(packed: str, count: int) -> bytes:
    """Decode :func:`pack_samples` output to little-endian float64 bytes.

    Inflation is bounded by the declared ``count`` (at most
    :data:`MAX_PACKED_SAMPLES`; never more than ``8 * count`` bytes are
    produced) and by the budget of the enclosing :func:`inflate_budget`.
    Raises ``ValueError`` when corrupt, truncated, padded or over a limit."""
    if count > MAX_PACKED_SAMPLES:
        raise ValueError(
            f"samples_packed declares {count:,} values; "
            f"at most {MAX_PACKED_SAMPLES:,} per benchmark"
        )
    want = 8 * count
    budget = _INFLATE_BUDGET.get()
    if budget is not None:
        if want > budget[0]:
            raise ValueError(
                "samples_packed: the file's packed samples inflate past its budget "
                "(64 MiB + 16 times the file's size): not a results file perfgate wrote"
            )
        budget[0] -= want
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(base64.b64decode(packed, validate=True), want + 1)
    except (ValueError, zlib.error) as err:
        raise ValueError(f"samples_packed is corrupt ({err})") from None
    if len(raw) != want or inflater.unconsumed_tail:
        shown = "more than" if len(raw) > want or inflater.unconsumed_tail else len(raw) // 8
        raise ValueError(f"samples_packed holds {shown} values, expected {count}")
    return raw


def encode_samples(samples: Sequence[float], kind: str) -> dict[str, Any]:
    """The samples as stored: ``{"samples": [...]}`` or ``{"samples_packed": {...}}``.
    Counts are written as integers where they are whole."""
    if len(samples) > PACK_MIN_SAMPLES:
        packed = {"encoding": PACKED_ENCODING, "count": len(samples), "data": pack_samples(samples)}
        return {"samples_packed": packed}
    values = [float(v) for v in samples]
    if kind == KIND_COUNTER:
        return {"samples": [int(v) if v.is_integer() else v for v in values]}
    return {"samples": values}


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON data: benchmark parameters and ``extra_info`` may hold
    classes, enums or other objects (pytest parametrizes with anything); those
    are written as their ``repr``, as pytest shows them in test ids."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if depth < 20 and isinstance(value, (list, tuple)):
        return [json_safe(item, depth + 1) for item in value]
    if depth < 20 and isinstance(value, Mapping):
        return {str(key): json_safe(item, depth + 1) for key, item in value.items()}
    return repr(value)


@dataclass(frozen=True)
class BenchmarkRecord:
    """One benchmark as measured in one run, before the judge validates it."""

    name: str
    samples: tuple[float, ...]
    group: str | None = None
    unit: str = "s"
    kind: str = KIND_TIME
    params: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    functions: tuple[Mapping[str, Any], ...] = ()
    """Where a counted call's instructions went (capture._profile), if known."""

    def __post_init__(self) -> None:
        # Refuse here what the judge would refuse later, so a bad measurement
        # is named where it was made.
        if not self.name:
            raise ValueError("a benchmark needs a name")
        for index, value in enumerate(self.samples):
            if not math.isfinite(value) or value < 0 or (value == 0 and self.kind == KIND_TIME):
                raise ValueError(f"{self.name}: sample {index} is {value!r}")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.group is not None:
            data["group"] = self.group
        data["unit"], data["kind"] = self.unit, self.kind
        data.update(encode_samples(self.samples, self.kind))
        if self.params is not None:
            data["params"] = json_safe(self.params)
        data["extra"] = json_safe(self.extra)
        if self.functions:
            data["functions"] = [json_safe(entry) for entry in self.functions]
        return data


@dataclass(frozen=True)
class RunRecord:
    """One process, one capture."""

    started_at: datetime
    benchmarks: tuple[BenchmarkRecord, ...]
    source: str | None = None
    environment: Mapping[str, Any] = field(default_factory=dict)
    """What this run adds to the file's environment (e.g. what counts depend on)."""

    def to_dict(self) -> dict[str, Any]:
        # As pydantic writes it (UTC as "Z"), so both writers give the same file.
        started = self.started_at.isoformat().replace("+00:00", "Z")
        data: dict[str, Any] = {"started_at": started, "environment": json_safe(self.environment)}
        if self.source is not None:
            data["source"] = self.source
        data["benchmarks"] = [bench.to_dict() for bench in self.benchmarks]
        return data


def results_document(environment: Mapping[str, Any], runs: Sequence[RunRecord]) -> dict[str, Any]:
    """A results file as a JSON-ready mapping (``None`` environment fields left out)."""
    return {
        "schema": RESULTS_SCHEMA,
        "version": RESULTS_VERSION,
        "environment": {k: v for k, v in environment.items() if v is not None},
        "runs": [run.to_dict() for run in runs],
    }


def document_text(document: Mapping[str, Any]) -> str:
    """A results document as file text (stdlib :mod:`json`, NaN refused)."""
    return json.dumps(document, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def write_results(path: Path, document: Mapping[str, Any]) -> None:
    """Write a results document atomically."""
    write_atomic(path, document_text(document))
