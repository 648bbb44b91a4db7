"""``perfgate ci``: what the GitHub Action does, as one command.

On a push to the default branch it measures the commit and stores the results
on the data branch (the baseline of later pull requests, see ``_store.py``),
then looks at the whole history for new steps (``_history.py``).
On a pull request it measures the head, compares with the stored results of
the base (or runs an A/B of base and head in this job), writes the reports and
hands the comparison back for publishing. Measuring runs in the project's own
interpreter with only perfgate's capture plugin added (the capture/judge split).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from perfgate._config import Config
from perfgate._errors import InputError, InternalError
from perfgate._workdir import perfgate_dir
from perfgate.ab._ab import ABPlan, plugin_env, run_ab
from perfgate.capture._child import run_pytest
from perfgate.capture._git import git, git_or_none, git_value
from perfgate.capture._plan import resolve_mode
from perfgate.ci._history import HistoryReview, review_push
from perfgate.ci._shards import SHARD_FILE, ShardResults, merge_shards, read_shards, write_shard
from perfgate.ci._store import DataBranch, StoredBaseline, first_parent_base, token_auth_env
from perfgate.publish._github_context import read_event
from perfgate.report._history import HistoryEntry, summarise
from perfgate.results._model import ResultsFile
from perfgate.results._readers import load_results
from perfgate.results._storage import merge_results, save_results
from perfgate.verdict._compare import compare
from perfgate.verdict._comparison import Comparison

__all__ = ["CiPlan", "CiResult", "read_ci_event", "run_ci"]

Mode = Literal["auto", "stored", "ab", "instructions"]
MODES: Final = ("auto", "stored", "ab", "instructions")
# pytest's exit codes that mean the benchmarks could not be measured.
_NO_TESTS: Final = 5


@dataclass(frozen=True)
class CiPlan:
    """The action's inputs, typed."""

    repo: Path
    python: str
    benchmarks: list[str]
    pytest_args: list[str] = field(default_factory=list)
    mode: Mode = "auto"
    runs: int = 3
    """Separate pytest processes per side in stored wall-time mode."""
    data_branch: str = "perfgate-data"
    remote: str = "origin"
    out_dir: Path = Path(".perfgate")
    max_time_s: float = 180.0
    dashboard: Path | None = None
    """Pushes: build the history dashboard here."""
    shard: tuple[int, int] | None = None
    """Measure only this shard (index, count) and write it for a combining job."""
    combine: Path | None = None
    """Measure nothing: merge the shards' files found here, then gate or store."""


@dataclass
class CiResult:
    role: Literal["baseline", "gate"]
    mode: str
    """The concrete mode: ``stored`` (wall time), ``instructions`` or ``ab``."""
    comparison: Comparison | None = None
    """The gate's comparison (pull requests)."""
    baseline: StoredBaseline | None = None
    current: ResultsFile | None = None
    stored_as: str | None = None
    """The data branch's new commit (pushes)."""
    history: list[HistoryEntry] = field(default_factory=list)
    sides: tuple[ResultsFile | None, ResultsFile | None] = (None, None)
    """The results compared (baseline, current), for the HTML report's distributions."""
    log: list[str] = field(default_factory=list)
    review: HistoryReview | None = None
    """Pushes: the history's steps, and the slowdowns waiting to be proposed."""
    store: DataBranch | None = None
    shard_file: Path | None = None
    """A shard's job: the file it wrote for the combining job."""


def read_ci_event(environ: Mapping[str, str]) -> dict[str, Any]:
    """The event payload, read once, before any pull-request code runs."""
    path = environ.get("GITHUB_EVENT_PATH")
    if not path:
        raise InputError("perfgate ci runs in GitHub Actions: GITHUB_EVENT_PATH is not set")
    return read_event(Path(path))  # the one event reader: regular file, size limit


def _role(environ: Mapping[str, str], event: Mapping[str, Any]) -> Literal["baseline", "gate"]:
    name = environ.get("GITHUB_EVENT_NAME", "")
    if name == "pull_request":
        return "gate"
    repository = event.get("repository")
    default = repository.get("default_branch") if isinstance(repository, dict) else None
    ref = environ.get("GITHUB_REF", "")
    if (
        name in ("push", "workflow_dispatch", "schedule")
        and default
        and ref == f"refs/heads/{default}"
    ):
        return "baseline"
    raise InputError(
        f"perfgate ci makes baselines on pushes to the default branch ({default or '?'}) and "
        f"gates pull_request events; this is {name or 'no event'} on {ref or 'no ref'}"
    )


def _concrete(mode: Mode, role: str) -> tuple[str, str | None]:
    """``auto`` made concrete: instruction counts where valgrind is, else wall time."""
    if mode == "ab":
        # A push has no base to A/B against: it stores wall times for history.
        return ("stored", None) if role == "baseline" else ("ab", None)
    if mode == "stored":
        return "stored", None
    if mode == "instructions" and shutil.which("valgrind") is None:
        raise InputError("mode instructions needs valgrind (apt-get install valgrind)")
    concrete, note = resolve_mode(mode)
    return ("instructions" if concrete == "instructions" else "stored"), note


def measure(plan: CiPlan, mode: str, say: Callable[[str], None]) -> ResultsFile | None:
    """Run the project's benchmarks in its own interpreter; ``plan.runs`` processes
    for wall time (merged, each one a run), one for instruction counts. ``None``:
    a shard that no benchmark fell into."""
    runs = 1 if mode == "instructions" else plan.runs
    with tempfile.TemporaryDirectory(prefix="perfgate-ci-") as scratch_name:
        scratch = Path(scratch_name)
        env, extra = plugin_env(plan.python, plan.repo, os.environ, scratch)
        files = []
        for index in range(runs):
            out = scratch / f"run-{index}.json"
            args = [*extra, *plan.benchmarks, *plan.pytest_args, "-q",
                    "--perfgate-confirm-budget", "0", "--perfgate-output", str(out)]  # fmt: skip
            if mode == "instructions":
                args.append("--perfgate-mode=instructions")
            if plan.shard is not None:
                args.append(f"--perfgate-shard={plan.shard[0]}/{plan.shard[1]}")
            child = run_pytest([plan.python], args, cwd=plan.repo, env=env)
            if child.returncode == _NO_TESTS and plan.shard is not None:
                say(f"no benchmark falls into shard {plan.shard[0]} of {plan.shard[1]}")
                return None
            if child.returncode == _NO_TESTS:
                raise InputError(
                    f"no benchmarks were collected from {' '.join(plan.benchmarks)} "
                    "(the action's benchmarks: input)"
                )
            if child.returncode != 0 or not out.is_file():
                fault = child.fault()
                if fault is not None and fault.kind == "command-line":
                    raise InputError(
                        f"pytest rejected its arguments ({fault.detail}): check the action's "
                        "benchmarks: and pytest-args: inputs"
                    )
                if fault is not None:
                    raise InternalError(
                        f"perfgate's own capture code failed ({fault.detail}): this is a bug in "
                        "perfgate, not a failure of your benchmarks"
                    )
                raise InputError(f"the benchmarks failed ({child.describe()})")
            say(f"measured run {index + 1} of {runs} ({mode})")
            files.append(load_results(out))
        return merge_results(files)


def _dashboard(
    plan: CiPlan, config: Config, review: HistoryReview, environ: Mapping[str, str]
) -> str:
    from perfgate.report._dashboard import build_dashboard

    assert plan.dashboard is not None
    server, name = environ.get("GITHUB_SERVER_URL"), environ.get("GITHUB_REPOSITORY")
    repo_url = f"{server.rstrip('/')}/{name}" if server and name else None
    written = build_dashboard(
        review.series, plan.dashboard, title=(name or plan.repo.name).rpartition("/")[2],
        repo_url=repo_url, records=review.records, template_dir=config.template_dir,
    )  # fmt: skip
    return f"history: dashboard of {len(written) - 1} benchmark(s) in {plan.dashboard}"


def run_ci(
    plan: CiPlan,
    config: Config,
    environ: Mapping[str, str],
    *,
    event: Mapping[str, Any],
    say: Callable[[str], None],
    warn: Callable[[str], None],
) -> CiResult:
    """Make the baseline (push) or judge the pull request (pull_request).

    ``environ`` is the step's environment as it started and ``event`` its payload
    (:func:`read_ci_event`), both read before any pull-request code ran: nothing
    here reads either again."""
    role = _role(environ, event)
    combined = None
    if plan.combine is not None:
        # Measured by the shards' jobs, in their mode; nothing runs here.
        commit = git(["rev-parse", "HEAD"], plan.repo)
        combined, mode = merge_shards(read_shards(plan.combine), commit)
        note: str | None = f"combined the results of every shard ({mode})"
    else:
        mode, note = _concrete(plan.mode, role)
    result = CiResult(role=role, mode=mode)
    if note:
        result.log.append(note)
    if plan.shard is not None:
        return _measure_shard(plan, mode, result, say)
    auth = token_auth_env(
        environ.get("GITHUB_TOKEN"),
        environ.get("GITHUB_SERVER_URL") or "https://github.com",
        os.environ,
    )
    store = DataBranch(
        plan.repo, git_value(plan.remote, "--remote"), git_value(plan.data_branch, "--data-branch"),
        auth_env=auth,
    )  # fmt: skip
    perfgate_dir(plan.out_dir)
    if role == "baseline":
        commit = git(["rev-parse", "HEAD"], plan.repo)
        current = combined or _measured(plan, mode, say)
        result.current = current
        save_results(plan.out_dir / "current.json", current)
        text = current.to_json()
        entry = summarise(current)
        result.stored_as = store.store(commit, text, entry, warn)
        say(f"stored the baseline of {commit[:12]} on {plan.data_branch}")
        result.review = review_push(
            plan.repo, store, config, head=commit, python=plan.python,
            pytest_args=plan.pytest_args, max_time_s=plan.max_time_s,
            bisect=config.rollback != "off", say=say, warn=warn,
        )  # fmt: skip
        result.log.extend(result.review.log)
        result.store = store
        if plan.dashboard is not None:
            result.log.append(_dashboard(plan, config, result.review, environ))
        return result
    pull = event.get("pull_request") if isinstance(event.get("pull_request"), dict) else {}
    assert isinstance(pull, dict)
    base = pull.get("base") if isinstance(pull.get("base"), dict) else {}
    assert isinstance(base, dict)
    base_sha = base.get("sha") if isinstance(base.get("sha"), str) else None
    head = git(["rev-parse", "HEAD"], plan.repo)
    # The merge-base, when the history is there (fetch-depth: 0); else the event's base.
    event_base = git_value(base_sha, "the event's base sha") if base_sha else None
    merge_base = (
        git_or_none(["merge-base", "--end-of-options", event_base, head], plan.repo)
        if event_base
        else None
    )
    base_commit = first_parent_base(plan.repo, [c for c in (merge_base, base_sha) if c])
    if store.fetch():
        result.history = store.history(warn)
    if mode == "ab":
        if base_commit is None:
            raise InputError("mode ab needs the base commit: check out with fetch-depth: 0")
        ab = run_ab(
            ABPlan(
                repo=plan.repo, base_ref=base_commit, head_ref=None, rounds=8,
                max_time_s=plan.max_time_s, pytest_args=[*plan.benchmarks, *plan.pytest_args],
                env={}, mode="time", target_mde_pct=config.threshold_pct, command=None,
                command_name="command", python=plan.python,
                save_dir=plan.out_dir / "ab",
            ),
            config,
            progress=say,
        )  # fmt: skip
        result.log.extend(ab.log)
        result.comparison = ab.comparison
        result.sides = (ab.base, ab.head)
        return result
    current = combined or _measured(plan, mode, say)
    result.current = current
    save_results(plan.out_dir / "current.json", current)
    stored = store.baseline_for(base_commit, warn) if base_commit else None
    result.baseline = stored
    if stored is None:
        result.log.append(
            f"no baseline on {plan.data_branch} yet for {(base_commit or '?')[:12]} or its "
            "ancestors: every benchmark is new (the next push to the default branch makes one)"
        )
    elif not stored.exact:
        result.log.append(
            f"no baseline for the base {(base_commit or '?')[:12]}: compared with its "
            f"ancestor {stored.commit[:12]}"
        )
    result.sides = (stored.results if stored else None, current)
    result.comparison = compare(result.sides[0], current, config)
    return result


def _measured(plan: CiPlan, mode: str, say: Callable[[str], None]) -> ResultsFile:
    measured = measure(plan, mode, say)
    assert measured is not None  # only a shard can come back empty
    return measured


def _measure_shard(
    plan: CiPlan, mode: str, result: CiResult, say: Callable[[str], None]
) -> CiResult:
    """A matrix job: measure this shard and write it for the combining job."""
    assert plan.shard is not None
    if mode not in ("stored", "instructions"):
        raise InputError(
            f"mode {mode} cannot be sharded: use instructions or stored (each shard is "
            "measured alone, then the combining job compares them)"
        )
    index, count = plan.shard
    shard = ShardResults(
        shard=index, of=count, commit=git(["rev-parse", "HEAD"], plan.repo),
        mode="instructions" if mode == "instructions" else "stored",
        results=measure(plan, mode, say),
    )  # fmt: skip
    result.shard_file = plan.out_dir / SHARD_FILE
    write_shard(result.shard_file, shard)
    say(f"shard {index} of {count}: wrote {result.shard_file} for the combining job")
    return result
