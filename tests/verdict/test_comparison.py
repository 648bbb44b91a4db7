"""The report model as JSON readers see it."""

from __future__ import annotations

import json

from perfgate import Config, compare
from perfgate.verdict._comparison import Comparison


def test_the_json_report_carries_the_conclusion_and_a_neutral_outcome_is_not_success(
    four_times,
):
    baseline, current = four_times
    comparison = compare(baseline, current, Config())
    document = json.loads(comparison.to_json())
    assert document["verdict"] == "pass"  # the exit code's word: exit 0
    assert document["conclusion"] == "neutral"  # what the check says: could not tell


def test_a_claimed_conclusion_is_recomputed_not_believed(four_times):
    baseline, current = four_times
    document = json.loads(compare(baseline, current, Config()).to_json())
    document["conclusion"] = "success"  # a fork's report claiming a green check
    loaded = Comparison.model_validate(document)
    assert loaded.conclusion == "neutral"
    assert json.loads(loaded.to_json())["conclusion"] == "neutral"
