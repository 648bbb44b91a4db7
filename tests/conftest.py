"""Shared test helpers: deterministic results files."""

from __future__ import annotations

import math
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

# pytester's in-process runs drop the modules they imported afterwards, and
# numpy cannot be imported twice in one process: load it here, once, first.
import scipy.stats  # noqa: F401

from perfgate import Benchmark, Kind, ResultsFile, Run
from perfgate.report._history import HistoryEntry
from tests.github_server import FakeGitHub

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

MakeResults = Callable[..., ResultsFile]


def make_results(
    medians_s: dict[str, Sequence[float]],
    *,
    samples: int = 20,
    spread: float = 0.02,
    seed: int = 0,
    counters: dict[str, Sequence[float]] | None = None,
    commit: str | None = None,
) -> ResultsFile:
    """A results file with one run per entry of each benchmark's run medians.

    ``medians_s`` maps a benchmark name to its per-run typical time; each run
    gets ``samples`` samples spread log-normally around it.
    """
    rng = random.Random(seed)
    lengths = {len(v) for v in medians_s.values()} | {len(v) for v in (counters or {}).values()}
    assert len(lengths) == 1, "every benchmark needs the same number of runs"
    runs = []
    for index in range(lengths.pop()):
        benches = [
            Benchmark(
                name=name,
                group="g",
                samples=tuple(
                    per_run[index] * rng.lognormvariate(0, spread) for _ in range(samples)
                ),
            )
            for name, per_run in medians_s.items()
        ]
        benches += [
            Benchmark(
                name=name, kind=Kind.COUNTER, unit="instructions", samples=(per_run[index],) * 3
            )
            for name, per_run in (counters or {}).items()
        ]
        runs.append(Run(started_at=START + timedelta(minutes=index), benchmarks=tuple(benches)))
    env = {"git_commit": commit} if commit else {}
    return ResultsFile.model_validate({"environment": env, "runs": runs})


@pytest.fixture
def results() -> MakeResults:
    return make_results


# The stored case of issue 12: 13 benchmarks, 3 runs a side, one 4x slower in
# every run (pooled log-sd 0.343: ratio 4.0, 95% CI 1.8x to 8.7x, p = 0.008,
# which Benjamini-Hochberg over 13 benchmarks leaves at q = 0.10).
_SPREAD = 0.343
_NOISY = (([1.0, 1.3, 0.8], [1.1, 0.9, 1.25]), ([1.2, 0.85, 1.0], [0.95, 1.15, 1.3]))


@pytest.fixture
def four_times() -> tuple[ResultsFile, ResultsFile]:
    logs = [-_SPREAD, 0.0, _SPREAD]
    base = {"slow": [1e-3 * math.exp(v) for v in logs]}
    cur = {"slow": [4e-3 * math.exp(v) for v in logs]}
    for i in range(12):
        before, after = _NOISY[i % 2]
        base[f"noisy{i}"] = [1e-3 * v for v in before]
        cur[f"noisy{i}"] = [1e-3 * v for v in after]
    return make_results(base, spread=0.001), make_results(cur, spread=0.001, seed=1)


def git_as_dev(cwd: Path, *args: str) -> str:
    """Run git in ``cwd`` as a throwaway identity; its stripped output."""
    done = subprocess.run(
        ["git", "-c", "user.name=dev", "-c", "user.email=dev@example.invalid", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    """A GitHub-compatible server on 127.0.0.1 for the test (tests/github_server.py)."""
    fake = FakeGitHub()
    server = fake.start()
    yield fake
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Built:
    """perfgate's release artifacts, built from a copy of the committed tree."""

    wheel: Path
    sdist: Path


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """``python -m build`` on a copy of the files git tracks (so nothing that
    only lives in this work tree slips in): the sdist first, the wheel from it."""
    root = Path(__file__).resolve().parent.parent
    source = tmp_path_factory.mktemp("source")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root, capture_output=True, check=True,
    ).stdout.decode()  # fmt: skip
    for name in filter(None, listed.split("\0")):
        if (root / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = out.glob("perfgate-*.whl")
    (sdist,) = out.glob("perfgate-*.tar.gz")
    return Built(wheel=wheel, sdist=sdist)


@pytest.fixture(scope="session")
def installed(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the built wheel installed as users install it (with its
    dependencies); returns its ``bin`` folder."""
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", str(built.wheel)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin"


CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
"""Headless Chromium as this machine runs it: no background traffic (the network is closed)."""


def chromium(profile: Path, *args: str) -> str:
    """Run headless Chromium with a fresh profile; returns what it printed (``--dump-dom``)."""
    import subprocess

    done = subprocess.run(
        ["chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def load_script(path: Path, name: str) -> ModuleType:
    """A script that is not a package module (the accuracy harness), imported by path."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def history_entries(
    values: dict[str, list[float]], unit: str, start: datetime | None = None
) -> list[HistoryEntry]:
    """One history line per index of ``values`` (benchmark -> value per commit);
    commit ``i`` is ``f"{i:040x}"``, a day apart from ``start``."""
    from perfgate.report._history import Point

    first = start or datetime(2026, 1, 1, tzinfo=UTC)
    count = len(next(iter(values.values())))
    return [
        HistoryEntry(
            commit=f"{i:040x}",
            date=first + timedelta(days=i),
            benchmarks={k: Point(value=v[i], spread_pct=0.0, unit=unit) for k, v in values.items()},
        )
        for i in range(count)
    ]


def clone_with_commits(tmp_path: Path, count: int) -> tuple[Path, list[str]]:
    """A clone of a bare "origin" with ``count`` commits on main, pushed; returns
    the clone and its commits, oldest first."""
    origin = tmp_path / "origin.git"
    git_as_dev(tmp_path, "init", "-q", "--bare", "-b", "main", str(origin))
    work = tmp_path / "work"
    git_as_dev(tmp_path, "clone", "-q", str(origin), str(work))
    commits = []
    for i in range(count):
        (work / "f.txt").write_text(str(i))
        git_as_dev(work, "add", "-A")
        git_as_dev(work, "commit", "-qm", f"c{i}")
        commits.append(git_as_dev(work, "rev-parse", "HEAD"))
    git_as_dev(work, "push", "-q", "origin", "HEAD:main")
    return work, commits


def model_runner(
    measured: Callable[[str], ResultsFile], asked: list[tuple[str, str]] | None = None
) -> Callable[..., Any]:
    """A stand-in for ``history._bisect.ab_runner``: each A/B compares what
    ``measured(commit)`` says that commit's code measures, and writes the report;
    each (base, head) asked for is appended to ``asked``."""
    from perfgate import compare
    from perfgate.capture._atomic import write_atomic

    def runner(repo, python, names, pytest_args, config, mode, max_time_s):
        def run(base: str, head: str, report: Path):
            if asked is not None:
                asked.append((base, head))
            comparison = compare(measured(base), measured(head), config)
            write_atomic(report, comparison.to_json())
            return comparison

        return run

    return runner


GOLDEN_DIR = Path(__file__).parent / "golden"


def assert_matches_golden(text: str, name: str) -> None:
    """``text`` is exactly ``tests/golden/<name>``; with ``PERFGATE_UPDATE_GOLDEN=1``
    the golden file is rewritten first (review the diff)."""
    path = GOLDEN_DIR / name
    if os.environ.get("PERFGATE_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")
