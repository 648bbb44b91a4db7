"""The accuracy harness's workload suite.

Five CPU-bound workloads, each a fixed unit of work repeated ``UNITS x factor``
times, so the work scales exactly linearly with the injected factor. Every
process measures every workload at every factor; a "version" of the code is
one factor, and the harness pairs the runs of different processes.
"""

from __future__ import annotations

import json
import os
import random
import re

import pytest

# The instruction harness (instructions.py) asks for finer factors through these.
FACTORS = tuple(
    float(f)
    for f in os.environ.get("PERFGATE_WORKLOAD_FACTORS", "1.00,1.02,1.05,1.10,1.20").split(",")
)
UNITS = int(os.environ.get("PERFGATE_WORKLOAD_UNITS", "50"))

_rng = random.Random(0)
_DOC = {
    "items": [{"id": i, "name": f"item-{i}", "tags": ["a", "b"], "w": i / 7} for i in range(40)]
}
_NUMBERS = [_rng.random() for _ in range(400)]
_TEXT = " ".join(f"key{_rng.randint(0, 99)}=value{_rng.randint(0, 999)}" for _ in range(120))
_PATTERN = re.compile(r"key(\d+)=value(\d+)")


def _json_roundtrip() -> None:
    json.loads(json.dumps(_DOC))


def _sort() -> None:
    sorted(_NUMBERS)


def _regex() -> None:
    _PATTERN.findall(_TEXT)


def _py_loop() -> None:
    total = 0
    for i in range(300):
        total += i * i


def _dict_build() -> None:
    {i: str(i) for i in range(150)}


WORKLOADS = {
    "json": _json_roundtrip,
    "sort": _sort,
    "regex": _regex,
    "loop": _py_loop,
    "dict": _dict_build,
}


def _repeat(unit, times: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(times):
        unit()


@pytest.mark.parametrize("factor", FACTORS, ids=[f"x{f:.2f}" for f in FACTORS])
@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_workload(benchmark, workload, factor):
    benchmark(_repeat, WORKLOADS[workload], round(UNITS * factor))
