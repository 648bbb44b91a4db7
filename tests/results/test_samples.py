"""Samples: a read-only float vector that reads like a tuple, strict about its input."""

from __future__ import annotations

import gc
import json

import numpy as np
import pytest
from pydantic import ValidationError

from perfgate import Benchmark, InputError, parse_results
from perfgate._gc import collector_paused
from perfgate.capture._records import pack_samples
from perfgate.results._samples import Samples


def test_samples_compare_like_the_tuple_they_came_from():
    samples = Samples((1.0, 2.5, 3))
    assert samples == (1.0, 2.5, 3.0)
    assert samples == [1.0, 2.5, 3.0]
    assert samples != (1.0, 2.5)
    assert len(samples) == 3
    assert samples[1] == 2.5
    assert list(samples) == [1.0, 2.5, 3.0]
    assert samples[1:] == (2.5, 3.0)
    assert hash(samples) == hash(Samples([1.0, 2.5, 3.0]))
    with pytest.raises(ValueError, match="read-only"):
        samples.array[0] = 9.0


@pytest.mark.parametrize("bad", [["0.1"], [True], [None], "1.0", [[1.0]]])
def test_strings_booleans_and_other_things_are_not_samples(bad):
    with pytest.raises(ValidationError, match="samples"):
        Benchmark(name="x", samples=bad)


def test_a_bad_sample_in_a_file_is_named_with_its_benchmark():
    good = {"name": "ok", "samples": [1.0, 2.0]}
    bad = {"name": "slow[2]", "samples": [1.0, 2.0, -3.0]}
    document = {
        "schema": "perfgate/results",
        "version": 1,
        "runs": [{"started_at": "2026-11-24T00:00:00Z", "benchmarks": [good, bad]}],
    }
    with pytest.raises(InputError, match=r"benchmarks\[1\] 'slow\[2\]': sample 2 is -3.0"):
        parse_results(json.dumps(document), "f.json")


def test_incompressible_samples_are_stored_and_read_back_exactly():
    rng = np.random.default_rng(7)
    values = tuple(rng.lognormal(-9, 0.3, 500).tolist())
    packed = pack_samples(values)
    assert len(packed) > 500 * 8  # stored blocks: no wasted compression
    bench = Benchmark.model_validate(
        {
            "name": "x",
            "samples_packed": {"encoding": "zlib+base64:f64le", "count": 500, "data": packed},
        }
    )
    assert bench.samples == values


def test_the_collector_is_paused_and_restored():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # a caller's choice is kept
    finally:
        gc.enable()
