"""The accuracy harness's scoring (accuracy/score.py) on small, made-up pools.

The real pools come from ``make accuracy``; here the data are synthetic so the
rules and the report can be checked quickly and exactly.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import ModuleType

import pytest

from perfgate import Benchmark, save_results
from tests.conftest import load_script, make_results

SCORE_PY = Path(__file__).parent.parent / "accuracy" / "score.py"


@pytest.fixture(scope="module")
def score() -> ModuleType:
    return load_script(SCORE_PY, "accuracy_score")


def _side(values_s: list[list[float]]) -> dict[str, list[Benchmark]]:
    return {
        "w": [Benchmark(name="w", samples=tuple(run)) for run in values_s],
    }


def _no_more():
    return None


def test_pytest_benchmark_rule_compares_one_run_each(score):
    rule = score.pytest_benchmark_rule("mean")
    base = _side([[1.0, 1.0], [9.0, 9.0]])
    assert rule(base, _side([[1.06, 1.06]]), _no_more) == ({"w": "regression"}, 1)
    assert rule(base, _side([[1.04, 1.04]]), _no_more) == ({"w": "unchanged"}, 1)


def test_asv_rule_needs_ratio_and_rank_test(score):
    rule = score.asv_rule()
    rng = random.Random(1)
    base = _side([[1.0 + rng.random() * 0.01 for _ in range(30)]])
    slower = _side([[1.1 + rng.random() * 0.01 for _ in range(30)]])
    barely = _side([[1.02 + rng.random() * 0.01 for _ in range(30)]])
    assert rule(base, slower, _no_more)[0] == {"w": "regression"}
    assert rule(base, barely, _no_more)[0] == {"w": "unchanged"}


def test_perfgate_rule_with_confirmation_takes_more_runs(score):
    from perfgate import Config

    rule = score.perfgate_rule(Config(), confirmation=True)
    base = _side([[1.0e-3] * 5, [1.01e-3] * 5, [0.99e-3] * 5])
    cur = _side([[1.5e-3] * 5])
    extra = iter([{"w": Benchmark(name="w", samples=(1.5e-3 * f,) * 5)} for f in (1.0, 1.01, 0.99)])
    verdicts, runs = rule(base, cur, lambda: next(extra, None))
    assert verdicts == {"w": "regression"}
    assert runs == 3  # confirmed on three current runs


def _write_pool(data: Path, condition: str, processes: int, noise: float) -> None:
    rng = random.Random(condition)
    for index in range(processes):
        medians = {
            f"test_workload[{w}-x{f}]": [base * float(f) * rng.lognormvariate(0, noise)]
            for w, base in (("json", 1e-3), ("sort", 2e-3))
            for f in ("1.00", "1.02", "1.05", "1.10", "1.20")
        }
        save_results(data / f"{condition}-{index:03d}.json", make_results(medians, seed=index))


def test_score_and_render_on_a_small_pool(score, tmp_path):
    _write_pool(tmp_path, "quiet", 12, 0.01)
    (tmp_path / "timings.json").write_text(json.dumps({"quiet": [3.0] * 12}))
    result = score.score(tmp_path, draws=4, rules=score.default_rules())
    rules = {c.rule for c in result.cells}
    assert "perfgate" in rules
    assert "pytest-benchmark mean:5%" in rules
    cell = next(
        c
        for c in result.cells
        if c.rule == "perfgate" and c.baseline_runs == 5 and c.current_runs == 5
    )
    # 1% noise, 5 runs a side: a 20% slowdown is always caught, A/A never fails.
    assert cell.power["1.20"] == 1.0
    assert cell.false_alarm_suite == 0.0
    text = score.render(result, command="make accuracy")
    assert text.startswith("# Accuracy")
    assert "| perfgate | 5 vs 5 | 0.0% | 0.0% |" in text
