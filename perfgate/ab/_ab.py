"""Same-job A/B: measure the base and the head revision alternately.

The base revision (and ``--head`` when given) is checked out into a temporary
``git worktree``; the head defaults to the working tree. Each side runs in its
own Python process, in its own tree, with ``PYTHONPATH`` pointing at that tree
(or what ``--env`` says, ``{tree}`` standing for the side's tree), so each side
imports its own code. Before measuring, perfgate checks that the project's
top-level packages import from the side's own tree and refuses when an
installed copy (a stale editable install, typically) would shadow them.

Rounds alternate A B B A A B B A …, so neither side always runs first. Round
*i* yields run *i* of each side; the analysis pairs them
(``compare(..., paired=True)``). After the minimum rounds, extra rounds are
made while any benchmark is undecided or its MDE is above the target (5% by
default), and the time budget allows.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from perfgate._config import Config
from perfgate._errors import GitError, InputError
from perfgate._workdir import ab_run_dir
from perfgate.ab._blame import blame
from perfgate.ab._lockstep import (
    SIDES,
    Lockstep,
    LockstepOptions,
    PairRecord,
    pair_runs,
    unmeasured_notes,
)
from perfgate.capture._child import run_pytest
from perfgate.capture._commands import run_command
from perfgate.capture._environment import collect_environment
from perfgate.capture._git import git, git_value
from perfgate.capture._plan import resolve_mode
from perfgate.results._model import Environment, Kind, ResultsFile, Run
from perfgate.results._readers import results_from_document
from perfgate.verdict._compare import compare
from perfgate.verdict._comparison import Comparison, Status
from perfgate.verdict._confirm import needs_more_data

__all__ = ["ABPlan", "ABResult", "git_worktree", "round_order", "run_ab"]

MAX_ROUND_FACTOR: Final = 3
"""Adaptive rounds stop at this multiple of the minimum."""


@contextlib.contextmanager
def git_worktree(repo: Path, ref: str, path_length: int | None = None) -> Iterator[Path]:
    """A detached worktree of ``ref``, removed afterwards (also on errors and Ctrl-C).

    ``path_length``: make the tree's path this long where possible. A tree's
    path length moves instruction counts by up to about 1% (paths end up in
    strings, dictionaries and so the heap's layout; measured on cattrs'
    benchmarks), so the base tree's path is made as long as the head's."""
    git(
        [
            "rev-parse",
            "--verify",
            "--end-of-options",
            f"{git_value(ref, '--base/--head')}^{{commit}}",
        ],
        repo,
    )
    scratch = Path(tempfile.mkdtemp(prefix="perfgate-ab-"))
    name = "tree"
    if path_length is not None:
        name += "_" * max(0, path_length - len(str(scratch / name)))
    tree = scratch / name
    try:
        git(
            [
                "worktree",
                "add",
                "--detach",
                "--end-of-options",
                str(tree),
                git_value(ref, "--base/--head"),
            ],
            repo,
        )
        yield tree
    finally:
        with contextlib.suppress(GitError):
            git(["worktree", "remove", "--force", str(tree)], repo)
        shutil.rmtree(scratch, ignore_errors=True)
        with contextlib.suppress(GitError):
            git(["worktree", "prune"], repo)


def round_order(rounds: int) -> list[tuple[int, str]]:
    """(round, side) in the order A B, B A, A B, B A …"""
    order: list[tuple[int, str]] = []
    for index in range(rounds):
        sides = ("base", "head") if index % 2 == 0 else ("head", "base")
        order.extend((index, side) for side in sides)
    return order


def _top_level_packages(tree: Path) -> list[str]:
    found = []
    for root in (tree, tree / "src"):
        if root.is_dir():
            for child in sorted(root.iterdir()):
                if (child / "__init__.py").is_file() and child.name not in ("tests", "test"):
                    found.append(child.name)
    return found


@dataclass
class ABPlan:
    """What to measure."""

    repo: Path
    base_ref: str
    head_ref: str | None
    rounds: int
    max_time_s: float
    pytest_args: list[str]
    env: dict[str, str]
    """Per-side environment; ``{tree}`` in a value stands for the side's tree."""
    mode: str = "time"
    """``time``, ``instructions``, ``time+instructions`` or ``auto`` (capture/_plan.py)."""
    target_mde_pct: float = 5.0
    """Keep adding rounds (within the budget) until every time benchmark's MDE is
    at most this, or it is decided."""
    command: str | None = None
    command_name: str = "command"
    python: str | None = None
    """The project's interpreter for both sides (default: :func:`default_python`)."""
    save_dir: Path | None = None
    """Where both sides' raw results of every round are kept (default: a new
    ``.perfgate/ab-<time>`` directory in the repository)."""
    schedule: str = "alternate"
    """Wall time: ``alternate`` or ``duet`` (lock-step rounds in long-lived
    workers, ab/_lockstep.py), or ``process`` (whole processes per round)."""
    worker_pairs: int = LockstepOptions.pairs
    round_ms: float = LockstepOptions.round_ms
    pin: bool = LockstepOptions.pin


@dataclass
class ABResult:
    base: ResultsFile
    head: ResultsFile
    comparison: Comparison
    rounds: int
    seconds: float
    log: list[str] = field(default_factory=list)
    save_dir: Path | None = None
    """Where the raw results of every round were kept."""
    interrupted: bool = False
    """Stopped by SIGINT or SIGTERM: the comparison holds the rounds finished before."""
    lockstep: bool = False
    """Wall time measured in lock-step worker pairs (``rounds`` counts the pairs)."""


def _side_env(plan: ABPlan, tree: Path) -> dict[str, str]:
    env = dict(os.environ)
    values = {k: v.replace("{tree}", str(tree)) for k, v in plan.env.items()}
    if "PYTHONPATH" not in values:
        values["PYTHONPATH"] = os.pathsep.join(
            [str(tree), *([str(tree / "src")] if (tree / "src").is_dir() else [])]
        )
    env.update(values)
    return env


# The module name is an argument, never part of the code (a directory name is data).
_IMPORT_PROBE: Final = (
    "import importlib, os, sys; "
    "print(os.path.realpath(importlib.import_module(sys.argv[1]).__file__))"
)
_PLUGIN_PROBE: Final = (
    "import importlib.util, sys; sys.exit(0 if importlib.util.find_spec('perfgate.plugin') else 3)"
)


def default_python() -> str:
    """The project's interpreter when none is given: ``python`` on PATH, else ours."""
    return shutil.which("python") or shutil.which("python3") or sys.executable


def check_imports(tree: Path, env: Mapping[str, str], label: str, python: str) -> None:
    """Refuse when a package of the project would not import from ``tree``."""
    for package in _top_level_packages(tree):
        try:
            done = subprocess.run(
                [python, "-c", _IMPORT_PROBE, package], cwd=tree, env=dict(env),
                capture_output=True, text=True, check=False,
            )  # fmt: skip
        except OSError as err:
            raise InputError(f"--python {python}: cannot run it ({err.strerror})") from None
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["?"])[-1]
            raise InputError(f"the {label} revision does not import: {package}: {tail}")
        where = Path(done.stdout.strip())
        if not where.is_relative_to(tree.resolve()):
            raise InputError(
                f"the {label} side imports {package} from {where.parent}, not from its own tree "
                f"({tree}): an installed copy (a stale editable install?) shadows it; uninstall "
                "it, or point --env PYTHONPATH={tree}/... at the package"
            )


def plugin_env(
    python: str, tree: Path, env: Mapping[str, str], scratch: Path
) -> tuple[dict[str, str], list[str]]:
    """Make perfgate's capture plugin available to the project's interpreter.

    When ``python`` cannot import ``perfgate.plugin`` (perfgate lives in its own
    environment, the project in another), a copy of perfgate's package, and only
    that, goes last on the side's ``PYTHONPATH`` and pytest loads it with ``-p``:
    the capture side needs nothing the project does not have (pytest and
    pytest-benchmark), and none of the judge's libraries become importable.
    Returns the environment and the extra pytest arguments."""
    done = subprocess.run(
        [python, "-c", _PLUGIN_PROBE], cwd=tree, env=dict(env), capture_output=True, check=False
    )
    if done.returncode == 0:
        return dict(env), []
    shipped = scratch / "perfgate-capture"
    if not shipped.is_dir():
        package = Path(__file__).resolve().parents[1]
        shutil.copytree(package, shipped / "perfgate", ignore=shutil.ignore_patterns("__pycache__"))
    path = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {**env, "PYTHONPATH": os.pathsep.join([*path, str(shipped)])}, ["-p", "perfgate.plugin"]


def _equal_length_trees(
    stack: contextlib.ExitStack, repo: Path, base_ref: str, head_ref: str | None, log: list[str]
) -> tuple[Path, Path]:
    """The base's and the head's trees, at paths of one length, with no user action.

    ``--head REF``: two worktrees from one kind of scratch folder. The work tree
    as the head: the base's path is padded to the work tree's; when the work tree's
    path is shorter than any scratch path, the head becomes a worktree of the work
    tree's state instead (``git stash create``: tracked changes, committed nowhere,
    plus the untracked files that are not ignored), padded to the base's length."""
    if head_ref is not None:
        base = stack.enter_context(git_worktree(repo, base_ref))
        head = stack.enter_context(git_worktree(repo, head_ref, len(str(base))))
        return base, head
    base = stack.enter_context(git_worktree(repo, base_ref, len(str(repo))))
    if len(str(base)) == len(str(repo)):
        return base, repo
    state = git(["stash", "create"], repo) or "HEAD"
    head = stack.enter_context(git_worktree(repo, state, len(str(base))))
    untracked = git(["ls-files", "-z", "--others", "--exclude-standard"], repo)
    for name in filter(None, untracked.split("\0")):
        source, target = repo / name, head / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        elif source.is_file():
            shutil.copy2(source, target)
    log.append(
        f"the work tree's path ({len(str(repo))} characters) is shorter than a scratch "
        f"folder's: the head is measured in a copy of it at {head}, as long as the base's "
        "(instruction counts depend on path lengths)"
    )
    return base, head


@dataclass(frozen=True)
class _Side:
    label: str
    tree: Path
    env: dict[str, str]
    plugin_args: list[str]


def _measure(
    plan: ABPlan,
    python: str,
    side: _Side,
    out: Path,
    *,
    mode: str = "time",
    jobs: int = 1,
    skip_counting: bool = False,
) -> str | None:
    """One run of one side; returns an error text, or None."""
    if plan.command is not None:
        done = run_command(
            plan.command_name, [plan.command], rounds=1, shell=True, cwd=side.tree, env=side.env
        )
        document = done.to_document(collect_environment(side.tree))
        if document is None:
            bad = done.failed[0]
            return f"exit {bad.exit_code}: {bad.stderr_text}"
        out.write_text(json.dumps(document), encoding="utf-8")
        return None
    args = [*side.plugin_args, *plan.pytest_args, "-q", "--perfgate-confirm-budget", "0",
            "--perfgate-output", str(out)]  # fmt: skip
    if mode != "time":
        args += [f"--perfgate-mode={mode}", f"--perfgate-jobs={jobs}"]
    if skip_counting:
        args.append("--perfgate-skip-counting")
    child = run_pytest([python], args, cwd=side.tree, env=side.env)
    if out.is_file():
        return None
    blame(side.label, child.fault())
    return child.describe()


def run_ab(
    plan: ABPlan,
    config: Config,
    *,
    progress: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ABResult:
    """Measure both sides in alternating rounds and compare them, paired."""
    repo = Path(git(["rev-parse", "--show-toplevel"], plan.repo))
    base_ref = git_value(plan.base_ref, "--base")
    head_ref = git_value(plan.head_ref or "HEAD", "--head")
    base_sha = git(["rev-parse", "--verify", "--end-of-options", f"{base_ref}^{{commit}}"], repo)
    head_sha = git(["rev-parse", "--verify", "--end-of-options", f"{head_ref}^{{commit}}"], repo)
    started = clock()
    log: list[str] = []
    with contextlib.ExitStack() as stack:
        # Both sides' trees get paths of one length (see git_worktree): the base's
        # is padded to the work tree's; where the work tree's path is the shorter,
        # the head is measured in a copy of the work tree at an equal-length path.
        base_tree, head_tree = _equal_length_trees(stack, repo, plan.base_ref, plan.head_ref, log)
        trees = {"base": base_tree, "head": head_tree}
        python = plan.python or default_python()
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="perfgate-ab-out-")))
        sides: dict[str, _Side] = {}
        for label, tree in trees.items():
            env = _side_env(plan, tree)
            extra: list[str] = []
            if plan.command is None:
                check_imports(tree, env, label, python)
                env, extra = plugin_env(python, tree, env, scratch)
            sides[label] = _Side(label, tree, env, extra)
        runs: dict[str, list[Run | None]] = {"base": [], "head": []}
        mode, note = resolve_mode(plan.mode) if plan.command is None else ("time", None)
        if note is not None:
            log.append(note)
        saved = stack.enter_context(ab_run_dir(repo, plan.save_dir))
        start = 0
        comparison: Comparison | None = None
        if mode != "time":
            # Deterministic counts need one round, and counts do not disturb each
            # other: both sides at once, each counting its shards on half the cores.
            comparison = _count_both_sides(
                plan, python, sides, saved, mode, runs, log, base_sha, head_sha, config, progress
            )
            timed = [b for b in comparison.benchmarks if b.kind is Kind.TIME]
            if not timed:
                return ABResult(
                    _results(runs["base"], base_sha), _results(runs["head"], head_sha),
                    comparison, 1, clock() - started, log, saved,
                )  # fmt: skip
            # Benchmarks kept on wall time need rounds: time only them from here on.
            log.append(f"{len(timed)} benchmark(s) kept on wall time: timing them in rounds")
            start = 1
        if plan.command is None and plan.schedule != "process":
            only = None if comparison is None else frozenset(b.name for b in timed)
            driver = _run_lockstep(
                plan, python, sides, saved, only, log, clock, started, progress, config,
                (base_sha, head_sha), runs,
            )  # fmt: skip
            assert driver.comparison is not None
            base, head = _results(runs["base"], base_sha), _results(runs["head"], head_sha)
            return ABResult(
                base, head, driver.comparison, len(driver.records), clock() - started, log,
                saved, driver.interrupted, lockstep=True,
            )  # fmt: skip
        rounds = _TimeRounds(plan, python, sides, saved, mode, runs, log, clock, started, progress)
        interrupted = False
        with _interrupt_on_sigterm():
            try:
                comparison = rounds.run(start, config, base_sha, head_sha) or comparison
            except KeyboardInterrupt:
                interrupted = True
                log.append(
                    f"interrupted after {rounds.done - start} complete round(s): the report "
                    f"covers them; every round's raw results are in {saved}"
                )
                if any(a and b for a, b in zip(runs["base"], runs["head"], strict=False)):
                    comparison = _compare(runs, config, base_sha, head_sha)
        if comparison is None:
            raise InputError(f"interrupted before any round finished (raw results: {saved})")
    base, head = _results(runs["base"], base_sha), _results(runs["head"], head_sha)
    return ABResult(base, head, comparison, rounds.done, clock() - started, log, saved, interrupted)


@contextlib.contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """SIGTERM (a CI runner cancelling the job) stops measuring like Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class _TimeRounds:
    """Wall-time rounds A B, B A … within a hard budget (``--max-time``)."""

    plan: ABPlan
    python: str
    sides: dict[str, _Side]
    saved: Path
    mode: str
    runs: dict[str, list[Run | None]]
    log: list[str]
    clock: Callable[[], float]
    started: float
    progress: Callable[[str], None] | None
    done: int = 0

    def run(self, start: int, config: Config, base_sha: str, head_sha: str) -> Comparison | None:
        plan = self.plan
        self.done = start
        minimum, limit = start + plan.rounds, start + plan.rounds * MAX_ROUND_FACTOR
        comparison: Comparison | None = None
        undecided: list[str] = []
        round_s: float | None = None
        while self.done < limit:
            elapsed = self.clock() - self.started
            # A hard cap: a round starts only if one more fits (estimated from the
            # rounds so far), minimum rounds included.
            if round_s is not None and elapsed + round_s > plan.max_time_s:
                left = f" with {len(undecided)} benchmark(s) undecided" if undecided else ""
                self.log.append(
                    f"time budget of {plan.max_time_s:g} s reached after "
                    f"{self.done - start} round(s){left}"
                )
                break
            planned = minimum if self.done < minimum else self.done + 1
            self._progress(self.done, planned, elapsed, round_s, undecided)
            round_started = self.clock()
            index = self.done
            order = ("base", "head") if index % 2 == 0 else ("head", "base")
            for side in order:
                out = self.saved / f"{side}-{index}.json"
                error = _measure(
                    plan, self.python, self.sides[side], out,
                    mode=self.mode, skip_counting=self.mode != "time",
                )  # fmt: skip
                _record(self.runs, side, index, out, error, self.log)
            self.done += 1
            took = self.clock() - round_started
            if round_s is None:
                fit = int(max(0.0, plan.max_time_s - (self.clock() - self.started)) // took) + 1
                _announce(
                    self.log,
                    self.progress,
                    f"a round takes about {took:.0f} s: about {min(fit, limit - start)} "
                    f"round(s) fit in the --max-time budget of {plan.max_time_s:g} s",
                )
            round_s = took if round_s is None else max(round_s, took)
            if self.done < max(minimum, start + 2):
                continue
            comparison = _compare(self.runs, config, base_sha, head_sha)
            undecided = _undecided(comparison, config, plan.target_mde_pct)
            if not undecided:
                break
        # The rounds measured since the last comparison count too.
        return _compare(self.runs, config, base_sha, head_sha) if self.done > start else None

    def _progress(
        self, done: int, planned: int, elapsed: float, round_s: float | None, undecided: list[str]
    ) -> None:
        if self.progress is not None:
            self.progress(_progress_line("round", done, planned, elapsed, round_s, undecided))


def _announce(log: list[str], progress: Callable[[str], None] | None, message: str) -> None:
    """Say it now (on the progress channel) and keep it for the report's log."""
    log.append(message)
    if progress is not None:
        progress(message)


def _progress_line(
    unit: str,
    done: int,
    planned: int,
    elapsed: float,
    each_s: float | None,
    undecided: list[str],
    budget_left_s: float | None = None,
) -> str:
    """``round 3 of 6 (40 s elapsed, about 60 s left); undecided: a, b, c and 2 more``"""
    left_s = each_s * (planned - done) if each_s else None
    if left_s is not None and budget_left_s is not None:
        left_s = min(left_s, max(0.0, budget_left_s))
    remaining = f", about {left_s:.0f} s left" if left_s is not None else ""
    still = f"; undecided: {', '.join(undecided[:3])}" if undecided else ""
    more = f" and {len(undecided) - 3} more" if len(undecided) > 3 else ""
    return f"{unit} {done + 1} of {planned} ({elapsed:.0f} s elapsed{remaining}){still}{more}"


def _record(
    runs: dict[str, list[Run | None]],
    side: str,
    index: int,
    out: Path,
    error: str | None,
    log: list[str],
) -> None:
    """Keep one side's run of one round (a failed first round is an error)."""
    if error is not None:
        if index == 0:
            raise InputError(f"the {side} revision failed to run: {error}")
        log.append(f"round {index + 1}, {side}: failed ({error}); round skipped")
        runs[side].append(None)
        return
    document = json.loads(out.read_text(encoding="utf-8"))
    (run,) = results_from_document(document, f"{side} round {index + 1}", log.append).runs
    runs[side].append(run)


def _count_both_sides(
    plan: ABPlan,
    python: str,
    sides: dict[str, _Side],
    saved: Path,
    mode: str,
    runs: dict[str, list[Run | None]],
    log: list[str],
    base_sha: str,
    head_sha: str,
    config: Config,
    progress: Callable[[str], None] | None,
) -> Comparison:
    jobs = max(1, (os.cpu_count() or 1) // 2)
    if progress:
        progress(f"counting instructions of both sides at once ({jobs} process(es) each)")
    outs = {side: saved / f"{side}-0.json" for side in sides}
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            side: pool.submit(_measure, plan, python, sides[side], outs[side], mode=mode, jobs=jobs)
            for side in ("base", "head")
        }
        errors = {side: future.result() for side, future in futures.items()}
    for side in ("base", "head"):
        _record(runs, side, 0, outs[side], errors[side], log)
    return _compare(runs, config, base_sha, head_sha)


def _results(runs: Sequence[Run | None], sha: str) -> ResultsFile:
    kept = [run for run in runs if run is not None]
    return ResultsFile(environment=Environment(git_commit=sha), runs=tuple(kept))


def _compare(
    runs: dict[str, list[Run | None]], config: Config, base_sha: str, head_sha: str
) -> Comparison:
    # Keep only complete rounds, so run i of each side is round i.
    pairs = [(a, b) for a, b in zip(runs["base"], runs["head"], strict=False) if a and b]
    if not pairs:
        raise InputError("no round produced results on both sides")
    base = ResultsFile(
        environment=Environment(git_commit=base_sha), runs=tuple(a for a, _ in pairs)
    )
    head = ResultsFile(
        environment=Environment(git_commit=head_sha), runs=tuple(b for _, b in pairs)
    )
    return compare(base, head, config, baseline_label="base", current_label="head", paired=True)


def _undecided(comparison: Comparison, config: Config, target_mde_pct: float) -> list[str]:
    """Time benchmarks that more measuring could still decide."""
    return [
        b.name
        for b in comparison.benchmarks
        if b.kind is Kind.TIME and (needs_more_data(b, config) or (b.mde_pct or 0) > target_mde_pct)
    ]


_SLICE_USE: Final = 0.9
"""The part of the time left that the rounds are planned to take."""
_REPORT_RESERVE_S: Final = 3.0
"""Kept back from --max-time for comparing and writing the report."""


@dataclass
class _LockstepRun:
    """Wall time in lock-step worker pairs (ab/_lockstep.py) within --max-time."""

    plan: ABPlan
    stepper: Lockstep
    runs: dict[str, list[Run | None]]
    log: list[str]
    clock: Callable[[], float]
    started: float
    progress: Callable[[str], None] | None
    records: list[PairRecord] = field(default_factory=list)
    comparison: Comparison | None = None
    interrupted: bool = False
    _pair_started: float = 0.0

    @property
    def options(self) -> LockstepOptions:
        return self.stepper.options

    def run(self, config: Config, shas: tuple[str, str]) -> None:
        undecided: list[str] = []
        with _interrupt_on_sigterm():
            try:
                for index in range(self.options.pairs):
                    if self._out_of_time(index, undecided):
                        break
                    self._report_progress(index, undecided)
                    self._pair_started = self.clock()
                    record = self.stepper.pair(index, self._slice_s)
                    self.records.append(record)
                    added = pair_runs([record], self.options.schedule)
                    for side in SIDES:
                        self.runs[side].extend(added[side])
                    self.comparison = _compare(self.runs, config, *shas)
                    undecided = _undecided(self.comparison, config, self.plan.target_mde_pct)
                    if not record.complete or self._cleared(index, undecided):
                        break
            except KeyboardInterrupt:
                self.interrupted = True
                self.log.append(
                    f"interrupted after {len(self.records)} worker pair(s): the report covers "
                    f"them; the raw rounds are in {self.stepper.saved}"
                )

    def _report_progress(self, index: int, undecided: list[str]) -> None:
        if self.progress is None:
            return
        each = self.records[-1].seconds if self.records else None
        line = _progress_line(
            "worker pair", index, self.options.pairs, self.clock() - self.started, each,
            undecided, budget_left_s=self.stepper.deadline - self.clock(),
        )  # fmt: skip
        self.progress(line)

    def _cleared(self, index: int, undecided: list[str]) -> bool:
        """Stop early only when every benchmark is cleared (unchanged or faster,
        within the target MDE): stopping at a look that shows a regression would
        inflate false alarms (optional stopping)."""
        assert self.comparison is not None
        slower = (Status.REGRESSION, Status.LIKELY_REGRESSION)
        return (
            index + 1 >= self.options.min_pairs
            and not undecided
            and not any(b.status in slower for b in self.comparison.benchmarks)
        )

    def _overhead_s(self) -> float | None:
        """What a worker pair costs besides its rounds (start-up, collection, set-up)."""
        if not self.records:
            return None
        last = self.records[-1]
        return max(0.0, last.seconds - last.measuring_s)

    def _out_of_time(self, index: int, undecided: list[str]) -> bool:
        overhead = self._overhead_s()
        if overhead is None:
            return False
        needed = overhead + 0.25 * self.records[-1].measuring_s
        if self.clock() + needed <= self.stepper.deadline:
            return False
        left = f" with {len(undecided)} benchmark(s) undecided" if undecided else ""
        self.log.append(
            f"time budget of {self.plan.max_time_s:g} s reached after {index} worker pair(s){left}"
        )
        return True

    def _slice_s(self, benchmarks: int) -> float:
        """Each benchmark's share of what is left, over the worker pairs to come
        (benchmarks that pytest skipped in the last pair get no share)."""
        if self.records and self.records[-1].measured:
            benchmarks = len(self.records[-1].measured)
        left = self.options.pairs - len(self.records)
        now = self.clock()
        started = now - self._pair_started  # this pair's start-up, already paid
        overhead = self._overhead_s()
        if overhead is None:  # first pair: start-up so far, twice, as a guess
            overhead = 2 * started
        # What this pair still spends besides rounds (each benchmark's set-up, the
        # workers' exit), and the whole overhead of each pair after it; a tenth
        # kept back, since a loaded runner's overhead varies. Without this pair's
        # own rest, the last pair's last benchmark ran out of time (issue 20's CI).
        rest = max(0.0, overhead - started)
        spare = self.stepper.deadline - now - rest - overhead * (left - 1)
        share = max(0.0, _SLICE_USE * spare / (left * benchmarks))
        if not self.records:
            rounds = max(self.options.min_rounds, int(share / (2 * self.options.round_ms / 1000)))
            _announce(
                self.log,
                self.progress,
                f"{benchmarks} benchmark(s), {self.options.schedule} schedule: about {share:.1f} s "
                f"of rounds each per worker pair (~{rounds} pairs of {self.options.round_ms:g} ms "
                f"rounds), up to {self.options.pairs} worker pairs within the --max-time budget "
                f"of {self.plan.max_time_s:g} s",
            )
        elif len(self.records) == 1:
            each = self.records[0].seconds
            fit = len(self.records) + int(max(0.0, self.stepper.deadline - now) // each)
            _announce(
                self.log,
                self.progress,
                f"a worker pair takes about {each:.0f} s: about {min(fit, self.options.pairs)} "
                f"worker pair(s) fit in the --max-time budget of {self.plan.max_time_s:g} s",
            )
        return share


def _run_lockstep(
    plan: ABPlan,
    python: str,
    sides: dict[str, _Side],
    saved: Path,
    only: frozenset[str] | None,
    log: list[str],
    clock: Callable[[], float],
    started: float,
    progress: Callable[[str], None] | None,
    config: Config,
    shas: tuple[str, str],
    runs: dict[str, list[Run | None]],
) -> _LockstepRun:
    """Wall time in lock-step worker pairs, after the counting round if any."""
    options = LockstepOptions(
        schedule=plan.schedule, pairs=plan.worker_pairs, round_ms=plan.round_ms, pin=plan.pin,
        min_pairs=min(LockstepOptions.min_pairs, plan.worker_pairs),
    )  # fmt: skip
    if only is not None:
        # The counting round's wall times of these benchmarks give way to lock-step rounds.
        for side in SIDES:
            first = runs[side][0]
            if first is not None:
                kept = tuple(b for b in first.benchmarks if b.name not in only)
                runs[side][0] = first.model_copy(update={"benchmarks": kept}) if kept else None
    stepper = Lockstep(
        options, python, {s: sides[s].tree for s in SIDES}, {s: sides[s].env for s in SIDES},
        {s: [*sides[s].plugin_args, *plan.pytest_args] for s in SIDES}, saved, clock,
        deadline=started + plan.max_time_s - _REPORT_RESERVE_S, only=only, log=log,
    )  # fmt: skip
    driver = _LockstepRun(plan, stepper, runs, log, clock, started, progress)
    driver.run(config, shas)
    log.extend(unmeasured_notes(driver.records))
    if driver.comparison is None:
        raise InputError(f"stopped before any worker pair finished (raw results: {saved})")
    return driver
