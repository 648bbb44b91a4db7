"""perfgate run and the command runner, with real commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from perfgate import Kind, load_results
from perfgate.capture._commands import run_command, time_callable

SLEEP = [sys.executable, "-c", "import time; time.sleep(0.02)"]
BUSY = [sys.executable, "-c", "sum(i * i for i in range(200000))"]
FAIL = [
    sys.executable,
    "-c",
    "import sys; print('first'); print('it broke', file=sys.stderr); sys.exit(3)",
]


def test_rounds_measure_wall_cpu_memory_and_io(tmp_path):
    write = [sys.executable, "-c", f"open({str(tmp_path / 'f')!r}, 'w').write('x' * 200000)"]
    result = run_command("job", write, rounds=3, warmup=1)
    assert [r.warmup for r in result.rounds] == [True, False, False, False]
    assert all(r.ok for r in result.rounds)
    names = {b.name: b for b in result.benchmarks()}
    assert len(names["job"].samples) == 3
    assert all(s > 0 for s in names["job"].samples)
    assert names["job:peak_rss"].kind == Kind.COUNTER
    assert names["job:peak_rss"].unit == "bytes"
    assert min(names["job:peak_rss"].samples) > 1_000_000  # a Python process
    assert set(names) >= {"job", "job:peak_rss", "job:read_bytes", "job:write_bytes"}


def test_a_busy_loop_shows_user_cpu():
    result = run_command("busy", BUSY, rounds=2)
    cpu = next(b for b in result.benchmarks() if b.name == "busy:cpu_user")
    assert all(s > 0 for s in cpu.samples)


def test_failing_rounds_are_reported_and_never_timed():
    result = run_command("bad", FAIL, rounds=2)
    assert [r.exit_code for r in result.failed] == [3, 3]
    assert result.failed[0].stderr_tail == ["it broke"]
    assert result.benchmarks() == []


def test_callables_are_timed():
    calls = []
    samples = time_callable(lambda: calls.append(1), rounds=4, warmup=2)
    assert len(samples) == 4
    assert len(calls) == 6


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfgate", *args], capture_output=True, text=True, cwd=cwd
    )


def test_cli_run_writes_one_run_and_runs_merge_into_several(tmp_path):
    for index in (1, 2):
        done = _cli(
            "run",
            "--name",
            "pipe",
            "--rounds",
            "2",
            "-o",
            f"r{index}.json",
            "--",
            *SLEEP,
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert "pipe: 2 round(s), median" in done.stderr
    assert _cli("merge", "-o", "all.json", "r1.json", "r2.json", cwd=tmp_path).returncode == 0
    merged = load_results(tmp_path / "all.json")
    assert len(merged.runs) == 2
    assert [len(run.benchmarks[0].samples) for run in merged.runs] == [2, 2]


def test_cli_run_failure_exit_code_and_stderr_tail(tmp_path):
    done = _cli("run", "--name", "bad", "--rounds", "2", "-o", "r.json", "--", *FAIL, cwd=tmp_path)
    assert done.returncode == 1
    assert "round 1 failed with exit code 3: it broke" in done.stderr
    assert not (tmp_path / "r.json").exists()


def test_cli_run_partial_failure_keeps_the_good_rounds(tmp_path):
    flaky = [
        sys.executable,
        "-c",
        "import os, sys; p='flag'; e=os.path.exists(p); open(p, 'w'); sys.exit(0 if e else 4)",
    ]
    done = _cli(
        "run", "--name", "flaky", "--rounds", "3", "-o", "r.json", "--", *flaky, cwd=tmp_path
    )
    assert done.returncode == 1
    bench = load_results(tmp_path / "r.json").runs[0].benchmarks[0]
    assert len(bench.samples) == 2
    assert bench.extra["failed_rounds"][0]["exit_code"] == 4


def test_cli_run_env_cwd_and_shell(tmp_path):
    (tmp_path / "sub").mkdir()
    check = [
        sys.executable,
        "-c",
        "import os, sys; sys.exit(0 if os.environ['X'] == '1' and os.path.basename(os.getcwd()) == 'sub' else 9)",
    ]
    done = _cli(
        "run",
        "--name",
        "e",
        "--rounds",
        "1",
        "--env",
        "X=1",
        "--cwd",
        "sub",
        "-o",
        "r.json",
        "--",
        *check,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    shell = _cli(
        "run",
        "--name",
        "s",
        "--rounds",
        "1",
        "--shell",
        "-o",
        "s.json",
        "--",
        "true",
        "&&",
        "true",
        cwd=tmp_path,
    )
    assert shell.returncode == 0, shell.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "x", "--", "no-such-command-here"], "command not found: no-such-command-here"),
        (["--name", "x"], "no command given"),
        (["--name", "x", "--rounds", "0", "--", "true"], "--rounds must be at least 1"),
        (["--name", "x", "--env", "NOEQUALS", "--", "true"], "expected KEY=VALUE"),
    ],
)
def test_cli_run_bad_usage_is_exit_2(tmp_path, args, message):
    done = _cli("run", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr
    assert done.stderr.count("\n") == 1


def test_progress_is_only_shown_on_a_terminal(tmp_path):
    done = _cli("run", "--name", "q", "--rounds", "1", "-o", "r.json", "--", *SLEEP, cwd=tmp_path)
    assert "round 1 of 1" not in done.stderr


def test_progress_messages():
    seen: list[str] = []
    run_command("p", SLEEP, rounds=2, warmup=1, progress=seen.append)
    assert [m.split(" (")[0] for m in seen] == [
        "p: warm-up 1 of 1",
        "p: round 1 of 2",
        "p: round 2 of 2",
    ]


def test_run_python_puts_the_projects_interpreter_first(tmp_path):
    from perfgate.capture._commands import with_python

    argv, env = with_python(
        ["python", "-m", "tool"], "/proj/.venv/bin/python", {"PATH": "/usr/bin"}
    )
    assert argv == ["/proj/.venv/bin/python", "-m", "tool"]
    assert env["PATH"].split(os.pathsep) == ["/proj/.venv/bin", "/usr/bin"]
    # End to end: the command's `python` is the one given.
    marker = tmp_path / "which.txt"
    done = _cli(
        "run", "--name", "which", "--rounds", "1", "--python", sys.executable,
        "-o", str(tmp_path / "r.json"), "--", "python", "-c",
        f"import sys; open({str(marker)!r}, 'w').write(sys.executable)",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert marker.read_text() == sys.executable
