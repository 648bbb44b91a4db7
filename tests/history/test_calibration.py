"""Issue 20's calibration goals, on histories made from this machine's real runs
(accuracy/history.py over the accuracy pools): no false step on A/A histories of
60 commits, and at least 90% of 3% steps in instruction counts found within two
commits of the truth. The full table (500 histories a case) is docs/history.md."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from perfgate import Config
from tests.conftest import load_script

HISTORY_PY = Path(__file__).parents[2] / "accuracy" / "history.py"
DATA = Path(__file__).parents[2] / "accuracy" / "data"


@pytest.fixture(scope="module")
def harness() -> ModuleType:
    return load_script(HISTORY_PY, "accuracy_history")


@pytest.mark.parametrize("pool", ["counts", "quiet", "busy"])
def test_no_false_step_on_a_a_histories(harness, pool):
    kind = "counter" if pool == "counts" else "time"
    values = harness.count_pool(DATA) if pool == "counts" else harness.time_pool(DATA, pool)
    score = harness.score_case(
        harness.Case(kind, pool, 0, "inject"), values, histories=150, commits=60, seed=1,
        config=Config(),
    )  # fmt: skip
    assert score.histories == 150
    assert score.false_steps == 0


@pytest.mark.parametrize(("step_pct", "source"), [(3, "inject"), (2, "real")])
def test_steps_in_instruction_counts_are_found_where_they_are(harness, step_pct, source):
    score = harness.score_case(
        harness.Case("counter", "counts", step_pct, source), harness.count_pool(DATA),
        histories=200, commits=60, seed=2, config=Config(),
    )  # fmt: skip
    assert score.found >= 0.9 * score.histories
    assert score.false_steps == 0


def test_the_table_states_every_case(harness):
    text = harness.table(DATA, histories=4, commits=60, seed=0, config=Config())
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + len(harness.CASES)
    assert "| instructions | counts | +3% (inject) | 4 | 0 | 4 (100%) | 0 |" in text
