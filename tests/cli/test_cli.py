"""The perfgate command: exit codes, formats, and one-line errors on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from perfgate import save_results
from perfgate.cli._main import main


@pytest.fixture
def files(results, tmp_path) -> dict[str, Path]:
    base = results({"a": [1.0e-3, 1.01e-3, 0.99e-3], "b": [2e-3, 2.01e-3, 1.99e-3]})
    same = results({"a": [1.0e-3, 1.01e-3, 0.99e-3], "b": [2e-3, 2.01e-3, 1.99e-3]}, seed=5)
    slow = results({"a": [2.0e-3, 2.01e-3, 1.99e-3], "b": [2e-3, 2.01e-3, 1.99e-3]}, seed=6)
    paths = {}
    for name, value in {"base": base, "same": same, "slow": slow}.items():
        paths[name] = tmp_path / f"{name}.json"
        save_results(paths[name], value)
    return paths


def test_compare_pass_and_fail_exit_codes(files, capsys):
    assert main(["compare", str(files["base"]), str(files["same"])]) == 0
    # 3 runs a side cannot judge ±5% here: exit 0, but no pass is claimed.
    assert capsys.readouterr().out.startswith("perfgate: no verdict, 2 of 2 inconclusive")
    assert main(["compare", str(files["base"]), str(files["slow"])]) == 1
    assert capsys.readouterr().out.startswith("perfgate: FAIL, 1 regression")


def test_compare_json_and_output_file(files, tmp_path, capsys):
    out = tmp_path / "report" / "r.json"
    code = main(
        ["compare", str(files["base"]), str(files["slow"]), "--format", "json", "-o", str(out)]
    )
    assert code == 1
    data = json.loads(out.read_text())
    assert data["verdict"] == "fail"
    assert capsys.readouterr().err.startswith("perfgate: FAIL")


def test_threshold_flag(files):
    assert main(["compare", str(files["base"]), str(files["slow"]), "--threshold-pct", "150"]) == 0


def test_merge(files, tmp_path, capsys):
    out = tmp_path / "merged.json"
    assert main(["merge", "-o", str(out), str(files["base"]), str(files["same"])]) == 0
    assert "6 runs" in capsys.readouterr().err
    assert len(json.loads(out.read_text())["runs"]) == 6


_RUN = (
    '{"schema": "perfgate/results", "version": 1, "runs": [{"started_at": "2026-01-01T00:00:00Z", '
)


def _one_benchmark(samples: str) -> str:
    return _RUN + f'"benchmarks": [{{"name": "x", "samples": {samples}}}]}}]}}'


BAD_INPUTS = {
    "missing": None,
    "not-json": "{{{",
    "foreign": '{"name": "something else"}',
    "future-version": '{"schema": "perfgate/results", "version": 7, "runs": []}',
    "nan": _one_benchmark("[NaN]"),
    "infinite": _one_benchmark("[1e999]"),
    "negative": _one_benchmark("[-0.5]"),
    "zero-time": _one_benchmark("[0]"),
    "empty-benchmarks": _RUN + '"benchmarks": []}]}',
    "empty-pytest-benchmark": '{"machine_info": {}, "commit_info": {}, "benchmarks": []}',
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
@pytest.mark.parametrize("command", ["compare", "merge"])
def test_bad_input_is_one_line_exit_2_and_changes_nothing(files, tmp_path, case, command):
    bad = tmp_path / f"{case}.json"
    if BAD_INPUTS[case] is not None:
        bad.write_text(BAD_INPUTS[case])
    out = tmp_path / "out.json"
    out.write_text("previous")
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    args = (
        ["compare", str(files["base"]), str(bad), "-o", str(out)]
        if command == "compare"
        else ["merge", "-o", str(out), str(files["base"]), str(bad)]
    )
    done = subprocess.run(
        [sys.executable, "-m", "perfgate", *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"perfgate: error: {bad}")
    assert "Traceback" not in done.stderr
    after = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before


def test_unknown_config_key_is_exit_2(files, tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.perfgate]\nthreshhold_pct = 3\n")
    done = subprocess.run(
        [sys.executable, "-m", "perfgate", "compare", str(files["base"]), str(files["same"])],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "unknown key 'threshhold_pct'" in done.stderr
    assert done.stderr.count("\n") == 1


def test_usage_errors_are_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["compare", "only-one"])
    assert info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(SystemExit) as info:
        main(["compare", "a", "b", "--alpha", "x"])
    assert info.value.code == 2


def test_bad_flag_values_are_exit_2(files, capsys):
    assert main(["compare", str(files["base"]), str(files["same"]), "--alpha", "3"]) == 2
    assert "alpha" in capsys.readouterr().err


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "perfgate"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.startswith("perfgate ")


def test_an_internal_error_is_exit_3_in_one_line_never_a_verdict(monkeypatch, capsys):
    """A bug must not look like "the gate failed" (1) or like bad input (2)."""
    from perfgate.cli import _main

    def boom(_args):
        raise RuntimeError("unexpected\nstate \u202eevil")

    monkeypatch.setattr(_main, "_dispatch", boom)
    monkeypatch.delenv("PERFGATE_DEBUG", raising=False)
    assert _main.main(["merge", "-o", "x.json", "y.json"]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "internal error (RuntimeError)" in err
    assert "Traceback" not in err
    assert "\u202e" not in err
    monkeypatch.setenv("PERFGATE_DEBUG", "1")
    assert _main.main(["merge", "-o", "x.json", "y.json"]) == 3
    assert "Traceback" in capsys.readouterr().err
