"""The capture side's writer and the judge's model agree on the results format."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from perfgate.capture._records import (
    PACK_MIN_SAMPLES,
    BenchmarkRecord,
    RunRecord,
    document_text,
    results_document,
)
from perfgate.results._readers import parse_results


def _document() -> dict:
    started = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    benchmarks = (
        BenchmarkRecord(name="t::short", samples=(1e-3, 1.1e-3), group="g", params={"n": 3}),
        BenchmarkRecord(name="t::long", samples=tuple(1e-3 + i * 1e-9 for i in range(200))),
        BenchmarkRecord(
            name="t::short:instructions",
            samples=(12345.0, 12345.0),
            unit="instructions",
            kind="counter",
        ),
    )
    environment = {"python_version": "3.11.7", "git_commit": None, "cpu_count": 2}
    return results_document(environment, [RunRecord(started_at=started, benchmarks=benchmarks)])


def test_what_capture_writes_the_judge_reads_and_writes_back_the_same():
    document = _document()
    results = parse_results(document_text(document), "capture")
    assert json.loads(results.to_json()) == json.loads(document_text(document))
    long = results.runs[0].benchmarks[1]
    assert len(long.samples) == 200
    assert "samples_packed" in document["runs"][0]["benchmarks"][1]
    assert len(document["runs"][0]["benchmarks"][0]["samples"]) <= PACK_MIN_SAMPLES
    assert document["runs"][0]["benchmarks"][2]["samples"] == [12345, 12345]
    assert "git_commit" not in document["environment"]


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_a_bad_time_is_refused_where_it_is_measured(bad):
    with pytest.raises(ValueError, match="sample 0"):
        BenchmarkRecord(name="x", samples=(bad,))


def test_parameters_that_are_not_json_are_written_as_their_repr():
    """Found on cattrs' benchmarks: tests parametrized with classes."""
    record = BenchmarkRecord(name="x", samples=(1.0,), params={"cls": int, "n": [1, (2, 3)]})
    data = record.to_dict()
    assert data["params"] == {"cls": "<class 'int'>", "n": [1, [2, 3]]}
    document_text(results_document({}, [RunRecord(datetime.now(UTC), (record,))]))
