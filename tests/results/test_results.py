"""The results model: validation, packing, and the committed v1 golden file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pydantic import ValidationError

from perfgate import Benchmark, Kind, ResultsFile, load_results
from perfgate.capture._records import PACK_MIN_SAMPLES

GOLDEN = Path(__file__).parents[1] / "golden"


def test_round_trip_keeps_every_sample_exactly(results):
    original = results({"a": [1e-3, 2e-3], "b": [5e-6, 6e-6]}, samples=500)
    again = ResultsFile.model_validate_json(original.to_json())
    assert again == original
    assert len(again.runs[0].benchmarks[0].samples) == 500


def test_long_sample_lists_are_packed_and_short_ones_are_not(results):
    data = json.loads(results({"long": [1.0]}, samples=PACK_MIN_SAMPLES + 1).to_json())
    bench = data["runs"][0]["benchmarks"][0]
    assert "samples" not in bench
    assert bench["samples_packed"]["count"] == PACK_MIN_SAMPLES + 1
    data = json.loads(results({"short": [1.0]}, samples=3).to_json())
    assert len(data["runs"][0]["benchmarks"][0]["samples"]) == 3


def test_packing_is_lossless_for_awkward_floats():
    # Awkward, within the accepted range (1e-100 to 1e100: no ratio can overflow).
    values = (1e-9, 0.1 + 0.2, math.pi, 9.999999999999999e99, 1.0000000000000002e-100) * 20
    bench = Benchmark(name="a", samples=values)
    again = Benchmark.model_validate(bench.model_dump())
    assert "samples_packed" in bench.model_dump()
    assert again.samples == values


def test_packed_samples_with_a_wrong_count_are_rejected(results):
    data = json.loads(results({"a": [1.0]}, samples=100).to_json())
    data["runs"][0]["benchmarks"][0]["samples_packed"]["count"] = 99
    with pytest.raises(ValidationError, match="expected 99"):
        ResultsFile.model_validate(data)


@pytest.mark.parametrize(
    ("samples", "kind", "message"),
    [
        ((1.0, math.nan), Kind.TIME, "finite"),
        ((1.0, math.inf), Kind.TIME, "finite"),
        ((-1.0,), Kind.TIME, "> 0"),
        ((0.0,), Kind.TIME, "> 0"),
        ((-1.0,), Kind.COUNTER, ">= 0"),
    ],
)
def test_bad_samples_are_rejected(samples, kind, message):
    with pytest.raises(ValidationError, match=message):
        Benchmark(name="x", kind=kind, samples=samples)


def test_a_counter_may_be_zero():
    assert Benchmark(name="x", kind=Kind.COUNTER, unit="syscalls", samples=(0.0,)).samples == (0.0,)


def test_counters_are_written_as_integers():
    bench = Benchmark(name="x", kind=Kind.COUNTER, unit="instructions", samples=(155320066.0,))
    assert bench.model_dump(mode="json")["samples"] == [155320066]


def test_a_benchmark_needs_data():
    with pytest.raises(ValidationError, match="neither samples nor a summary"):
        Benchmark(name="x")


def test_duplicate_names_in_one_run_are_rejected(results):
    data = json.loads(results({"a": [1.0]}).to_json())
    data["runs"][0]["benchmarks"].append(data["runs"][0]["benchmarks"][0])
    with pytest.raises(ValidationError, match="appears twice"):
        ResultsFile.model_validate(data)


def test_the_committed_v1_golden_file_still_loads():
    loaded = load_results(GOLDEN / "results-v1.json")
    assert loaded.version == 1
    assert [len(run.benchmarks) for run in loaded.runs] == [3, 3]
    counter = loaded.runs[0].benchmarks[2]
    assert counter.kind is Kind.COUNTER
    assert counter.samples == (155320066.0,)
    assert loaded.runs[1].environment == {"git_commit": "bbbbbbb"}


@pytest.mark.parametrize("value", [1e300, 5e-324, 1e-101])
def test_values_that_could_overflow_a_ratio_are_refused(value):
    with pytest.raises(ValidationError, match="within 1e-100 to 1e"):
        Benchmark(name="a", samples=(value, 1e-3))
