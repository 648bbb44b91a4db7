"""The lock-step coordinator's pieces that need no processes (the whole flow runs
in tests/ab/test_ab.py against real pytest workers)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from perfgate.ab._lockstep import (
    Lockstep,
    LockstepOptions,
    PairRecord,
    pair_runs,
    unmeasured_notes,
)
from perfgate.capture._records import LOCKSTEP_RUN_KEY


def test_a_pair_record_becomes_one_run_per_side_marked_for_pairing():
    record = PairRecord(2, times={"base": {"a": [1e-3, 1.1e-3]}, "head": {"a": [2e-3, 2.1e-3]}})
    record.groups["a"] = "g"
    runs = pair_runs([record], "duet")
    (base,), (head,) = runs["base"], runs["head"]
    assert base is not None
    assert head is not None
    assert base.environment[LOCKSTEP_RUN_KEY] == {"pair": 2, "schedule": "duet"}
    assert list(head.benchmarks[0].samples) == [2e-3, 2.1e-3]
    assert head.benchmarks[0].group == "g"
    assert record.measured == {"a"}


def test_a_side_with_nothing_measured_has_no_run():
    record = PairRecord(0, times={"base": {"a": []}})
    assert pair_runs([record], "alternate") == {"base": [None], "head": [None]}
    assert record.measured == set()


def test_what_was_not_measured_is_said_once():
    first = PairRecord(0)
    first.unmeasured = {
        ("s1", "base"): "skipped",
        ("s1", "head"): "skipped",
        ("s2", "base"): "skipped",
        ("broken", "head"): "failed",
    }
    second = PairRecord(1)
    second.unmeasured = {("s1", "base"): "skipped", ("broken", "head"): "passed"}
    notes = unmeasured_notes([first, second])
    assert notes[0] == "2 benchmark(s) skipped by pytest"
    assert notes[1:] == ["broken: failed on the head side (see worker-head-*.log)"]


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux only")
def test_cpus_rotate_over_the_pairs(tmp_path: Path):
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        pytest.skip("needs two CPUs")

    def stepper(**options: object) -> Lockstep:
        return Lockstep(
            LockstepOptions(**options),  # type: ignore[arg-type]
            "python", {}, {}, {}, tmp_path, clock=lambda: 0.0, deadline=1.0,
        )  # fmt: skip

    alternate = stepper(schedule="alternate")
    # one CPU shared by both workers of a pair, another for the next pair
    assert alternate._cpu("base", 0) == alternate._cpu("head", 0) == cpus[0]
    assert alternate._cpu("base", 1) == cpus[1]
    duet = stepper(schedule="duet")
    assert duet._cpu("base", 0) != duet._cpu("head", 0)  # each side its own CPU
    assert duet._cpu("base", 1) == duet._cpu("head", 0)  # and they swap every pair
    assert stepper(pin=False)._cpu("base", 0) is None
