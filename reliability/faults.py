"""Fault trials for docs/reliability.md (`make reliability`).

Each class of fault is tried many times against the real code, and the table
counts what went wrong: data lost, duplicate comments or check runs,
tracebacks or wrong exit codes, temporary files left, and the time to recover.

    .venv/bin/python reliability/faults.py --out docs/reliability.md
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from perfgate import Config, compare, save_results  # noqa: E402
from perfgate.cli._main import main  # noqa: E402
from perfgate.publish._github_context import GitHubContext  # noqa: E402
from perfgate.publish._publishers import publish  # noqa: E402
from tests.conftest import make_results  # noqa: E402
from tests.github_server import FakeGitHub  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fuzz import mutate as fuzz_mutate  # noqa: E402

PERFGATE = [sys.executable, "-m", "perfgate"]


@dataclass
class Row:
    fault: str
    trials: int
    lost: int = 0
    duplicates: int = 0
    bad_exits: int = 0
    temp_left: int = 0
    recover_s: float = 0.0
    note: str = ""


def _temp_files(directory: Path) -> int:
    return len(list(directory.glob(".*.tmp")))


def sigkill_writes(trials: int, scratch: Path) -> list[Row]:
    """SIGKILL a `merge -o` and a `history add` at a random moment; the target
    must stay a valid file (old or new), never torn."""
    inputs = []
    for i in range(4):
        path = scratch / f"in-{i}.json"
        save_results(path, make_results({f"b{j}": [1e-3] * 5 for j in range(300)}, seed=i))
        inputs.append(path)
    rows = []
    for what, command in (
        (
            "SIGKILL during merge -o",
            lambda target: [*PERFGATE, "merge", "-o", str(target), *map(str, inputs)],
        ),
        (
            "SIGKILL during history add",
            lambda target: [*PERFGATE, "history", "add", str(inputs[0]), "--history", str(target)],
        ),
    ):
        row = Row(what, trials)
        left_after_kill = 0
        for trial in range(trials):
            directory = scratch / f"{what[-5:].strip()}-{trial}"
            directory.mkdir()
            target = directory / ("out.json" if "merge" in what else "history.jsonl")
            subprocess.run(
                command(target), capture_output=True, check=True, cwd=ROOT
            )  # a good file first
            child = subprocess.Popen(
                command(target), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            time.sleep(random.uniform(0.2, 1.2))
            child.send_signal(signal.SIGKILL)
            child.wait()
            after = target.read_bytes()
            try:
                if "merge" in what:
                    json.loads(after)
                else:
                    for line in after.decode().splitlines():
                        json.loads(line)
            except ValueError:
                row.lost += 1
            if not after:
                row.lost += 1
            left_after_kill += _temp_files(directory)
            # Recovery: the next write of the same target, with the kill's temp files aged
            # past the stale limit (as a later CI run would meet them).
            old = time.time() - 3600
            for tmp in directory.glob(".*.tmp"):
                os.utime(tmp, (old, old))
            started = time.monotonic()
            done = subprocess.run(command(target), capture_output=True, cwd=ROOT)
            row.recover_s = max(row.recover_s, time.monotonic() - started)
            if done.returncode != 0:
                row.bad_exits += 1
            row.temp_left += _temp_files(directory)
        row.note = f"{left_after_kill} temp files right after the kills, removed by the next write"
        rows.append(row)
    return rows


def concurrent_history(scratch: Path) -> list[Row]:
    base = scratch / "base.json"
    save_results(base, make_results({"a": [1e-3, 1.1e-3]}))
    script = (
        "import sys\nfrom pathlib import Path\nfrom perfgate import load_results\n"
        "from perfgate.report._history import append_history, summarise\n"
        "r = load_results(Path(sys.argv[1]))\n"
        "for i in range(int(sys.argv[4])):\n"
        "    e = summarise(r).model_copy(update={'commit': f'{sys.argv[3]}-{i}'})\n"
        "    append_history(Path(sys.argv[2]), e, 100000, print)\n"
    )
    rows = []
    for writers, each in ((2, 25), (4, 10)):
        history = scratch / f"history-{writers}.jsonl"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, str(base), str(history), f"w{w}", str(each)],
                cwd=ROOT,
            )
            for w in range(writers)
        ]
        codes = [p.wait() for p in procs]
        lines = history.read_text().splitlines()
        rows.append(
            Row(f"concurrent history add, {writers} writers", writers * each,
                lost=writers * each - len(lines), bad_exits=sum(c != 0 for c in codes),
                temp_left=_temp_files(scratch))
        )  # fmt: skip
    return rows


def concurrent_merges(trials: int, scratch: Path) -> Row:
    a, b = scratch / "ma.json", scratch / "mb.json"
    save_results(a, make_results({f"x{i}": [1e-3] * 3 for i in range(200)}))
    save_results(b, make_results({f"y{i}": [2e-3] * 3 for i in range(200)}, seed=2))
    row = Row("two merges into one target at once", trials)
    for trial in range(trials):
        target = scratch / f"merged-{trial}.json"
        procs = [
            subprocess.Popen([*PERFGATE, "merge", "-o", str(target), str(src)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for src in (a, b)
        ]  # fmt: skip
        row.bad_exits += sum(p.wait() != 0 for p in procs)
        data = json.loads(target.read_text())
        names = {bench["name"][0] for run in data["runs"] for bench in run["benchmarks"]}
        row.lost += names not in ({"x"}, {"y"})  # a mixed file
    row.temp_left = _temp_files(scratch)
    return row


def _comparison():
    base = make_results({"t": [1e-3, 1.01e-3, 0.99e-3]}, commit="c" * 40)
    cur = make_results({"t": [1.6e-3, 1.61e-3, 1.59e-3]}, seed=3)
    return compare(base, cur, Config())


def _client(ctx):
    from github import Auth, Github

    return Github(auth=Auth.Token("ghs_x"), base_url=ctx.api_url, retry=None, lazy=True,
                  seconds_between_requests=None, seconds_between_writes=None)  # fmt: skip


def github_faults(trials: int, scratch: Path) -> list[Row]:
    comparison = _comparison()
    rows = []
    counts: dict[str, tuple[int, int]] = {}
    race = Row("two publishes at once (one pull request)", trials)
    lost_response = Row("503 after the check run and the comment were created", trials)
    down = Row("GitHub down (503 on every write)", trials)
    for _trial in range(trials):
        for row in (race, lost_response, down):
            fake = FakeGitHub()
            server = fake.start()
            ctx = GitHubContext(repository="o/r", api_url=fake.url, token="ghs_x", pr_number=7,
                                head_sha="a" * 40, step_summary=scratch / "summary.md")  # fmt: skip
            try:
                started = time.monotonic()
                if row is race:
                    threads = [threading.Thread(target=publish, args=(comparison, ctx, Config(), []),
                                                kwargs={"client_factory": _client, "sleep": lambda _s: None})
                               for _ in range(2)]  # fmt: skip
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()
                else:
                    if row is lost_response:
                        fake.fail("POST", r"/check-runs$", 503, after_effect=True)
                        fake.fail("POST", r"/comments$", 503, after_effect=True)
                    else:
                        fake.fail("POST", ".", 503, times=100)
                        fake.fail("PATCH", ".", 503, times=100)
                    result = publish(comparison, ctx, Config(), [], client_factory=_client,
                                     sleep=lambda _s: None)  # fmt: skip
                    if result.summary_written is False:
                        row.lost += 1
                row.recover_s = max(row.recover_s, time.monotonic() - started)
                extra_comments = max(0, len(fake.comments_on(7)) - 1)
                extra_runs = max(0, len(fake.check_runs) - 1)
                row.duplicates += extra_comments + extra_runs
                counts[row.fault] = (counts.get(row.fault, (0, 0))[0] + extra_comments,
                                     counts.get(row.fault, (0, 0))[1] + extra_runs)  # fmt: skip
            except Exception:  # noqa: BLE001 - a crash is what is counted
                row.bad_exits += 1
            finally:
                server.shutdown()
                server.server_close()
    comments, runs = counts.get(race.fault, (0, 0))
    race.note = (
        f"{comments} duplicate comments (each publish re-checks after creating and deletes a "
        f"duplicate); {runs} duplicate check runs: GitHub's API cannot delete a check run, so "
        "the workflows' concurrency group is what keeps publishes for one pull request apart"
    )
    down.note = (
        "the check and the comment fail in one line each; the summary is written; exit = verdict"
    )
    rows += [race, lost_response, down]
    return rows


def fuzz_cli(trials: int, scratch: Path) -> list[Row]:
    """Random corruptions of a results file, a pyproject and an event file: every
    run must end 0, 1 or 2, never a traceback (3 is counted as a bad exit)."""
    good = scratch / "good.json"
    save_results(good, make_results({"x": [1e-3, 1.01e-3], "y": [2e-3, 2.02e-3]}))
    clean = good.read_bytes()
    rng = random.Random(14)
    rows = []

    def mutate(data: bytes) -> bytes:
        return fuzz_mutate(rng, data)

    import contextlib
    import io

    def run(args: list[str]) -> int:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            try:
                return main(args)
            except SystemExit as exit_:
                return int(exit_.code or 0)

    results_row = Row("fuzzed results files (perfgate compare)", trials)
    config_row = Row("fuzzed [tool.perfgate] tables", trials)
    event_row = Row("fuzzed GitHub event files (publish --dry-run)", trials)
    report = scratch / "report.json"
    run(["compare", str(good), str(good), "--format", "json", "-o", str(report)])
    pyproject = b'[tool.perfgate]\nthreshold_pct = 5.0\nalpha = 0.05\nbaseline = "b.json"\n[[tool.perfgate.accepted]]\nmatch = "x"\nreason = "r"\n'
    event = json.dumps(
        {
            "number": 7,
            "pull_request": {
                "number": 7,
                "head": {"sha": "a" * 40, "ref": "t", "repo": {"full_name": "o/r"}},
                "labels": [{"name": "x"}],
            },
            "repository": {"full_name": "o/r"},
        }
    ).encode()
    bad = scratch / "bad"
    for _ in range(trials):
        bad.write_bytes(mutate(clean))
        results_row.bad_exits += run(["compare", str(good), str(bad)]) not in (0, 1, 2)
        bad.write_bytes(mutate(pyproject))
        config_row.bad_exits += run(
            ["--config", str(bad), "compare", str(good), str(good)]
        ) not in (0, 1, 2)
        bad.write_bytes(mutate(event))
        os.environ["GITHUB_EVENT_PATH"] = str(bad)
        event_row.bad_exits += run(["publish", "--dry-run", str(report)]) not in (0, 1, 2)
    os.environ.pop("GITHUB_EVENT_PATH", None)
    rows += [results_row, config_row, event_row]
    return rows


def full_disk(trials: int) -> Row:
    """Appends on a tiny tmpfs: a failed append leaves no torn line behind."""
    row = Row("evidence append on a full disk (tmpfs)", trials)
    mount = Path(tempfile.mkdtemp(prefix="perfgate-full-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        row.note = "not run: cannot mount a tmpfs here"
        row.trials = 0
        return row
    try:
        from perfgate import WriteError
        from perfgate.report._evidence import METRICS_FILE, append_metrics_line

        comparison = _comparison()
        for _ in range(trials):
            try:
                append_metrics_line(mount, comparison)
            except WriteError:
                pass
            except Exception:  # noqa: BLE001
                row.bad_exits += 1
            data = (mount / METRICS_FILE).read_bytes() if (mount / METRICS_FILE).exists() else b""
            if data and not data.endswith(b"\n"):
                row.lost += 1  # a torn line
        row.note = f"{len((mount / 'perfgate-metrics.jsonl').read_bytes().splitlines())} whole lines fitted; every later append failed cleanly"
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
    return row


def render(rows: list[Row]) -> str:
    lines = [
        "# Reliability: faults tried, and what they left",
        "",
        "Generated by `make reliability` (`reliability/faults.py`); do not edit by hand.",
        "Every cell but trials should be 0; the last column says what recovery took.",
        "",
        "| fault or input | trials | data lost | duplicate comments or check runs | tracebacks or wrong exit codes | temp files left | time to recover | note |",
        "|:--|--:|--:|--:|--:|--:|--:|:--|",
    ]
    for r in rows:
        lines.append(
            f"| {r.fault} | {r.trials} | {r.lost} | {r.duplicates} | {r.bad_exits} | {r.temp_left} | "
            f"{r.recover_s:.2f} s | {r.note} |"
        )
    lines += [
        "",
        "- *data lost*: a target that is not a valid file after the fault (old or new content is fine),",
        "  a history line missing, a mixed file, a torn appended line, or a job summary not written.",
        "- *temp files left*: after the next write of the same target (temporary files that a",
        "  killed process leaves are removed by the next write once older than 10 minutes;",
        "  the harness ages them as a later CI run would meet them).",
        "- *time to recover*: the longest next write (kills) or publish (GitHub faults), with",
        "  perfgate's retry waits skipped by the harness (they are capped at 30 s per publish).",
    ]
    return "\n".join(lines) + "\n"


def run_all(scale: float) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="perfgate-faults-") as name:
        scratch = Path(name)
        rows += sigkill_writes(max(1, int(130 * scale)), scratch)
        rows += concurrent_history(scratch)
        rows.append(concurrent_merges(max(1, int(10 * scale)), scratch))
        rows += github_faults(max(1, int(22 * scale)), scratch)
        rows += fuzz_cli(max(1, int(2000 * scale)), scratch)
        rows.append(full_disk(max(1, int(50 * scale))))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "reliability.md")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every trial count")
    args = parser.parse_args()
    table = render(run_all(args.scale))
    args.out.write_text(table, encoding="utf-8")
    print(table)
