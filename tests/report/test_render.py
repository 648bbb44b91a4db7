"""Reports: golden text and markdown files show exactly what users will see.

Regenerate the goldens after an intended change with
``PERFGATE_UPDATE_GOLDEN=1 make test`` and review the diff.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from perfgate import Comparison, Config, ConfigError, ReportFormat, compare, render
from perfgate._config import AcceptedRegression, Target
from tests.conftest import assert_matches_golden

EVIL = "tests/x.py::test_evil[a|b `c` @octocat #12 <b>\nnext]"


@pytest.fixture
def comparison(results) -> Comparison:
    base = results(
        {
            "tests/bench.py::test_parse": [1.00e-3, 1.01e-3, 0.99e-3],
            "tests/bench.py::test_render": [2.00e-3, 2.01e-3, 1.99e-3],
            "tests/bench.py::test_stable": [5.00e-6, 5.01e-6, 4.99e-6],
            "tests/bench.py::test_noisy": [1.0e-3, 1.6e-3, 0.7e-3],
            "tests/bench.py::test_removed": [1e-3, 1e-3, 1e-3],
            EVIL: [3.0e-3, 3.01e-3, 2.99e-3],
        },
        counters={"tests/bench.py::test_parse:fs_calls": [120, 120, 120]},
        commit="0123456789abcdef",
        seed=1,
    )
    cur = results(
        {
            "tests/bench.py::test_parse": [1.50e-3, 1.52e-3, 1.49e-3],
            "tests/bench.py::test_render": [1.00e-3, 1.01e-3, 0.99e-3],
            "tests/bench.py::test_stable": [5.00e-6, 5.02e-6, 4.99e-6],
            "tests/bench.py::test_noisy": [1.2e-3, 0.8e-3, 1.5e-3],
            "tests/bench.py::test_added": [1e-3, 1e-3, 1e-3],
            EVIL: [6.0e-3, 6.01e-3, 5.99e-3],
        },
        counters={"tests/bench.py::test_parse:fs_calls": [480, 480, 480]},
        commit="fedcba9876543210",
        seed=2,
    )
    cur = cur.model_copy(
        update={"environment": cur.environment.model_copy(update={"python_version": "3.12.1"})}
    )
    base = base.model_copy(
        update={"environment": base.environment.model_copy(update={"python_version": "3.11.7"})}
    )
    config = Config(
        accepted=[
            AcceptedRegression(match="tests/bench.py::test_parse", reason="new validation, see #42")
        ],
        targets=[
            Target(match="tests/bench.py::test_render", faster_pct=10),
            Target(match="tests/bench.py::test_stable", faster_pct=5, fail=False),
        ],
    )
    return compare(base, cur, config, today=date(2026, 11, 23))


@pytest.mark.parametrize(
    ("fmt", "golden"), [(ReportFormat.MARKDOWN, "report.md"), (ReportFormat.TEXT, "report.txt")]
)
def test_reports_match_goldens(comparison, fmt, golden):
    assert_matches_golden(render(comparison, fmt), golden)


def test_a_likely_regression_is_no_plain_pass(four_times):
    base, cur = four_times
    rendered = render(compare(base, cur, Config()), ReportFormat.MARKDOWN)
    assert_matches_golden(rendered, "report-likely.md")
    assert rendered.startswith("### ⚠️ perfgate: no verdict, 1 likely regression to confirm")


def test_markdown_shape(comparison):
    text = render(comparison, ReportFormat.MARKDOWN)
    first = text.splitlines()[0]
    assert first.startswith("### ❌ perfgate: FAIL, 2 regressions")
    assert text.index("| ❌ | tests/bench.py::test\\_parse ") < text.index("<details>")
    assert "@octocat" not in text
    assert "#12" not in text
    assert "<b>" not in text
    # Every table row keeps its column count, even for the hostile name.
    for line in text.splitlines():
        if line.startswith("| ") and "benchmark" not in line:
            assert line.replace("\\|", "").count("|") in (4, 6, 7), line


def test_json_has_the_documented_keys(comparison):
    data = json.loads(render(comparison, ReportFormat.JSON))
    assert data["verdict"] == "fail"
    for bench in data["benchmarks"]:
        assert {"name", "status", "ratio", "ci_low", "ci_high", "p_value", "reason"} <= set(bench)
    assert Comparison.model_validate(data) == comparison


def test_user_templates_override_the_builtin_ones(comparison, tmp_path):
    (tmp_path / "report.md.j2").write_text(
        "{{ c.verdict }}: {% for b in c.with_status('regression') %}{{ b.name | md }};{% endfor %}"
    )
    out = render(comparison, ReportFormat.MARKDOWN, template_dir=tmp_path)
    assert out.startswith("fail: ")
    assert "@octocat" not in out
    # The text report still comes from the built-in template.
    assert render(comparison, ReportFormat.TEXT, template_dir=tmp_path).startswith("perfgate: FAIL")


def test_broken_user_templates_are_config_errors(comparison, tmp_path):
    (tmp_path / "report.md.j2").write_text("{% if %}")
    with pytest.raises(ConfigError, match=r"report\.md\.j2"):
        render(comparison, ReportFormat.MARKDOWN, template_dir=tmp_path)
    with pytest.raises(ConfigError, match="no such directory"):
        render(comparison, ReportFormat.MARKDOWN, template_dir=tmp_path / "absent")


def test_a_template_from_configuration_cannot_run_code(comparison, tmp_path):
    """template_dir may come from a pull request: templates are sandboxed."""
    marker = tmp_path / "pwned"
    (tmp_path / "report.md.j2").write_text(
        "{{ c.__class__.__init__.__globals__['__builtins__']['__import__']('os')"
        f".system('touch {marker}') }}}}"
    )
    with pytest.raises(ConfigError, match="report template"):
        render(comparison, ReportFormat.MARKDOWN, template_dir=tmp_path)
    assert not marker.exists()


def test_the_header_gives_each_bar_in_use(results):
    """Issue 25: an instruction-mode report said "threshold ±5%" while counts
    were judged at ±1%; each kind present now has its bar, in every format."""
    import json as _json

    base = results(
        {"bench::t": [1e-3, 1e-3, 1e-3]},
        counters={"bench::t:instructions": [1000, 1000, 1000], "run:peak_rss": [5e6] * 3},
    )
    comparison = compare(base, base, Config())
    assert comparison.thresholds_pct == {
        "time": (5.0, 5.0), "instructions": (1.0, 1.0), "resources": (10.0, 10.0),
    }  # fmt: skip
    for fmt in (ReportFormat.TEXT, ReportFormat.MARKDOWN, ReportFormat.HTML):
        assert "thresholds time ±5%, instructions ±1%, resources ±10%" in render(comparison, fmt)
    assert _json.loads(comparison.to_json())["thresholds_pct"]["instructions"] == [1.0, 1.0]
    only_counts = results({}, counters={"bench::t:instructions": [1000]})
    text = render(compare(only_counts, only_counts, Config()), ReportFormat.TEXT)
    assert "threshold instructions ±1%," in text
    assert "±5%" not in text
