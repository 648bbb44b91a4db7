"""The ``perfgate`` command line.

Each subcommand parses its arguments here and calls a plain ``run_*`` function
with typed values. This is the only place, with the pytest plugin, that prints
or chooses exit codes: 0 pass, 1 the gate failed, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn

from perfgate._config import Config, find_pyproject, load_config
from perfgate._errors import InternalError, PerfgateError
from perfgate._version import __version__
from perfgate.capture._atomic import write_atomic
from perfgate.capture._plan import MODES
from perfgate.ci._ci import MODES as CI_MODES
from perfgate.report._render import ReportFormat, render
from perfgate.results._model import ResultsFile
from perfgate.results._readers import load_results, results_from_document
from perfgate.results._storage import merge_results, save_results
from perfgate.verdict._compare import compare
from perfgate.verdict._comparison import Comparison, Verdict

if TYPE_CHECKING:
    from github import Github

    from perfgate.ci._ci import CiPlan
    from perfgate.ci._history import HistoryReview
    from perfgate.ci._store import DataBranch
    from perfgate.history._analysis import BenchmarkHistory, Drift
    from perfgate.history._ledger import StepRecord
    from perfgate.publish._github_context import GitHubContext
    from perfgate.report._history import HistoryEntry

__all__ = ["main", "run_compare", "run_history_add", "run_merge", "run_publish"]

EXIT_PASS: Final = 0
EXIT_FAIL: Final = 1
EXIT_ERROR: Final = 2
EXIT_INTERNAL: Final = 3
"""A bug in perfgate: never a verdict. One line; the traceback with ``PERFGATE_DEBUG=1``."""
EXIT_INTERRUPTED: Final = 130
DEBUG_VARIABLE: Final = "PERFGATE_DEBUG"


def _warn(message: str) -> None:
    print(f"perfgate: warning: {message}", file=sys.stderr)


def _config(path: Path | None) -> Config:
    return load_config(path if path is not None else find_pyproject(Path.cwd()))


def run_compare(
    baseline: Path,
    current: Path,
    *,
    fmt: ReportFormat,
    output: Path | None,
    config: Config,
    evidence_dir: Path | None = None,
    state: Path | None = None,
) -> int:
    """``perfgate compare``: print or write the report; return the exit code."""
    sides = load_results(baseline, _warn), load_results(current, _warn)
    comparison = compare(*sides, config)
    return _emit(
        comparison, fmt=fmt, output=output, config=config, evidence_dir=evidence_dir,
        state=state, sides=sides,
    )  # fmt: skip


def _emit(
    comparison: Comparison,
    *,
    fmt: ReportFormat,
    output: Path | None,
    config: Config,
    evidence_dir: Path | None,
    state: Path | None,
    sides: tuple[ResultsFile | None, ResultsFile | None] = (None, None),
) -> int:
    """The output step of ``compare`` and ``ab``: evidence, the report, the exit code.
    ``sides`` (baseline, current) give the HTML report its distributions."""
    if evidence_dir is not None or state is not None:
        from perfgate.report._evidence import append_metrics_line, write_state

        if evidence_dir is not None:
            append_metrics_line(evidence_dir, comparison)
        if state is not None:
            write_state(state, comparison)
    report = render(
        comparison, fmt, template_dir=config.template_dir, baseline=sides[0], current=sides[1]
    )
    if output is None:
        sys.stdout.write(report)
    else:
        write_atomic(output, report)
        headline = render(comparison, ReportFormat.TEXT, template_dir=config.template_dir)
        print(headline.splitlines()[0], file=sys.stderr)
    return EXIT_FAIL if comparison.verdict is Verdict.FAIL else EXIT_PASS


def _github_client(ctx: GitHubContext) -> Github:
    from github import Auth, Github

    assert ctx.token is not None
    # perfgate retries itself (and re-lists before re-posting a comment), so
    # PyGithub's own retries, which also repeat POSTs, are off.
    return Github(
        auth=Auth.Token(ctx.token.get_secret_value()), base_url=ctx.api_url, retry=None, lazy=True
    )


def run_publish(
    report: Path,
    *,
    config: Config,
    overrides: dict[str, object],
    dry_run: bool,
    verdict_exit: bool = True,
) -> int:
    """``perfgate publish``: job summary, check run, sticky comment; exit with the verdict."""
    from perfgate.publish._github import load_report
    from perfgate.report._history import load_history

    comparison = load_report(report)
    history = load_history(config.history, _warn)
    published = _publish(comparison, config, overrides, history, dry_run=dry_run)
    failed = published.verdict is Verdict.FAIL and verdict_exit
    return EXIT_FAIL if failed else EXIT_PASS


def _publish(
    comparison: Comparison,
    config: Config,
    overrides: dict[str, object],
    history: list[HistoryEntry],
    *,
    dry_run: bool,
    ctx: GitHubContext | None = None,
) -> Comparison:
    """Publish and say what happened (the token never printed); returns the
    comparison as published (after label acceptance), which the exit code follows.
    ``ctx``: the context read before any pull-request code ran (``perfgate ci``)."""
    from perfgate.publish._github_context import GitHubContext
    from perfgate.publish._publishers import publish

    if ctx is None:
        ctx = GitHubContext.from_environment(os.environ, overrides)
    token = ctx.token.get_secret_value() if ctx.token else None

    def say(text: str) -> None:
        print(_redact(text, token))

    try:
        result = publish(
            comparison, ctx, config, history,
            client_factory=_github_client, dry_run=dry_run, out=say,
        )  # fmt: skip
    except PerfgateError as err:
        raise PerfgateError(_redact(str(err), token)) from None
    for message in result.messages:
        print(_redact(f"perfgate: {message}", token), file=sys.stderr)
    if not dry_run:
        done = f"check run {result.check_run}, comment {result.comment}"
        if result.summary_written:
            done += ", job summary written"
        print(f"perfgate: published ({done})", file=sys.stderr)
    return result.comparison or comparison


def run_ci_cli(args: argparse.Namespace, config: Config) -> int:
    """``perfgate ci``: what the GitHub Action runs (ci/_ci.py), then the reports,
    the check, the comment, the job summary and the step outputs."""
    import shlex

    from perfgate.ci._boundary import PullRequestCode, take_keys, wipe_initial_environment
    from perfgate.ci._ci import CiPlan, read_ci_event, run_ci
    from perfgate.publish._github_context import GitHubContext

    if args.runs < 1:
        raise PerfgateError("--runs must be at least 1")
    try:
        pytest_args = shlex.split(args.pytest_args or "")
        benchmarks = shlex.split(args.benchmarks or "")
    except ValueError as err:
        raise PerfgateError(f"--pytest-args / --benchmarks: {err}") from None
    benchmarks = benchmarks or list(config.benchmarks) or ["tests/benchmarks"]
    out_dir = args.out_dir.resolve()
    shard = None
    if args.shard is not None:
        from perfgate.capture._shard import parse_shard

        try:
            shard = parse_shard(args.shard)
        except ValueError as err:
            raise PerfgateError(f"--shard: {err}") from None
    plan = CiPlan(
        repo=Path.cwd(), python=args.python, benchmarks=benchmarks, pytest_args=pytest_args,
        mode=args.mode, runs=args.runs, data_branch=args.data_branch, remote=args.remote,
        out_dir=out_dir, max_time_s=args.max_time,
        dashboard=args.dashboard.resolve() if args.dashboard else None,
        shard=shard, combine=args.combine.resolve() if args.combine else None,
    )  # fmt: skip
    # The trust boundary (ci/_boundary.py, docs/security.md): everything publishing
    # needs is read now, before any pull-request code runs; then the keys leave
    # this process's environment, so the benchmark processes inherit none.
    writes_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # the judge's files must not change while PR code runs
    step = dict(os.environ)
    event = read_ci_event(step)
    ctx = GitHubContext.from_environment(step, event=event) if args.publish else None
    if args.publish:
        import perfgate.publish._publishers  # noqa: F401 (loaded before PR code runs)
    taken = take_keys(os.environ)
    wipe_initial_environment(taken)
    try:
        with PullRequestCode(step) as boundary:
            result = run_ci(plan, config, step, event=event, say=_warn_plain, warn=_warn)
    finally:
        # No pull-request code runs from here on; a caller in this process (a
        # test, an embedding tool) gets its environment back as it was.
        os.environ.update(taken)
        sys.dont_write_bytecode = writes_bytecode
    for note in boundary.notes:
        _warn(note)
    boundary.check()
    for line in result.log:
        _warn_plain(line)
    outputs: dict[str, str] = {"mode": result.mode}
    if result.shard_file is not None:
        assert shard is not None
        outputs |= {
            "verdict": "shard", "conclusion": "shard", "shard": str(result.shard_file),
            "shard-artifact": f"perfgate-shard-{shard[0]}-of-{shard[1]}",
        }  # fmt: skip
        _step_outputs(outputs, step.get("GITHUB_OUTPUT"))
        return EXIT_PASS
    if result.role == "baseline":
        outputs |= {"verdict": "baseline", "conclusion": "baseline"}
        if result.review is not None:
            pending = result.review.pending
            outputs["rollbacks"] = str(len(pending))
            if pending and args.publish and ctx is not None and result.store is not None:
                _propose_rollbacks(result.review, result.store, config, ctx, event, plan)
        _step_outputs(outputs, step.get("GITHUB_OUTPUT"))
        return EXIT_PASS
    comparison = result.comparison
    assert comparison is not None
    report = out_dir / "report.json"
    write_atomic(report, comparison.to_json())
    write_atomic(
        out_dir / "report.md",
        render(comparison, ReportFormat.MARKDOWN, template_dir=config.template_dir),
    )
    html = out_dir / "report.html"
    write_atomic(
        html,
        render(
            comparison, ReportFormat.HTML, template_dir=config.template_dir,
            baseline=result.sides[0], current=result.sides[1],
        ),
    )  # fmt: skip
    print(render(comparison, ReportFormat.TEXT, template_dir=config.template_dir), end="")
    if args.publish:
        comparison = _publish(comparison, config, {}, result.history, dry_run=False, ctx=ctx)
    outputs |= {
        "verdict": comparison.verdict.value,
        "conclusion": comparison.conclusion,
        "report": str(report),
        "html": str(html),
    }
    _step_outputs(outputs, step.get("GITHUB_OUTPUT"))
    return EXIT_FAIL if comparison.verdict is Verdict.FAIL else EXIT_PASS


def _propose_rollbacks(
    review: HistoryReview,
    store: DataBranch,
    config: Config,
    ctx: GitHubContext,
    event: Mapping[str, Any],
    plan: CiPlan,
) -> None:
    """Open or update the rollback issue (or revert pull request) of each confirmed
    slowdown in the history, then record what was done on the data branch."""
    from perfgate.ci._history import record_proposals
    from perfgate.publish._github import GitHubClient
    from perfgate.publish._rollback import propose, rollback_body

    token = ctx.token.get_secret_value() if ctx.token else None
    if token is None:
        _warn_plain("no GITHUB_TOKEN: the rollback proposals were not published")
        return
    client = GitHubClient(_github_client(ctx), ctx, config)
    repository = event.get("repository")
    default = repository.get("default_branch") if isinstance(repository, dict) else None

    def body(record: StepRecord, _pull: int | None) -> str:
        return rollback_body(
            record, config, server_url=ctx.server_url, repository=ctx.repository,
            data_branch=plan.data_branch, run_url=ctx.run_url,
        )  # fmt: skip

    def revert(record: StepRecord) -> str | None:
        assert record.culprit is not None
        return store.push_revert(record.culprit, record.found_at)

    done = propose(
        review.pending, client, config, body=body, revert=revert,
        base_branch=default if isinstance(default, str) else None,
        say=lambda text: _warn_plain(_redact(text, token)),
    )  # fmt: skip
    record_proposals(store, done, _warn)


def _step_outputs(values: dict[str, str], target: str | None) -> None:
    """The action's outputs (``GITHUB_OUTPUT``), when running in GitHub Actions."""
    if not target:
        return
    try:
        with Path(target).open("a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in values.items())
    except OSError as err:
        raise PerfgateError(f"{target}: cannot write the step outputs ({err.strerror})") from None


def _redact(text: str, token: str | None) -> str:
    return text.replace(token, "***") if token else text


def run_history_add(
    results: Path, *, config: Config, history: Path | None, max_entries: int | None
) -> int:
    """``perfgate history add``: append a baseline's summary to the trend history."""
    from perfgate.report._history import append_history, summarise

    path = history or config.history
    kept = append_history(
        path,
        summarise(load_results(results, _warn)),
        max_entries or config.history_max_entries,
        _warn,
    )
    print(f"perfgate: {path} now holds {kept} entries", file=sys.stderr)
    return EXIT_PASS


def _history_series(
    args: argparse.Namespace, config: Config
) -> tuple[list[BenchmarkHistory], dict[str, Drift], DataBranch]:
    """The analysed history of the data branch, and each benchmark's drift since
    ``--since`` (empty without it)."""
    from perfgate.capture._git import git, git_value
    from perfgate.ci._history import read_history
    from perfgate.ci._store import DataBranch
    from perfgate.history._analysis import drift_since

    repo = Path(git(["rev-parse", "--show-toplevel"], Path.cwd()))
    store = DataBranch(
        repo, git_value(args.remote, "--remote"), git_value(args.data_branch, "--data-branch")
    )
    series, notes = read_history(store, config, ref=args.ref, fetch=args.fetch, warn=_warn)
    for note in notes:
        _warn_plain(note)
    drifts: dict[str, Drift] = {}
    if args.since:
        name = git_value(args.since, "--since")
        reference = git(["rev-parse", "--verify", "--end-of-options", f"{name}^{{commit}}"], repo)
        ancestry = git(["rev-list", "--first-parent", "--max-count=1000", reference], repo)
        for item in series:
            measured = {p.commit for p in item.points}
            nearest = next((c for c in ancestry.split() if c in measured), None)
            drift = drift_since(item, nearest) if nearest else None
            if drift is not None:
                drifts[item.name] = drift
        if not drifts:
            raise PerfgateError(f"--since {args.since}: no measured commit at or before it")
    return series, drifts, store


def run_history_cli(args: argparse.Namespace, config: Config) -> int:
    """``perfgate history``: each benchmark's steps (size, interval, commits), the
    drift since ``--since``, and with ``--bisect`` the commit of each slowdown."""
    from perfgate.report._render import render_template

    series, drifts, store = _history_series(args, config)
    if args.bisect:
        _bisect_locally(series, store.repo, config, args.python or sys.executable)
    if args.format == "json":
        import json

        print(json.dumps({
            "benchmarks": [item.model_dump(mode="json") for item in series],
            "drift": {name: d.model_dump(mode="json") for name, d in drifts.items()},
        }, indent=1))  # fmt: skip
        return EXIT_PASS
    text = render_template(
        "history.txt.j2", config.template_dir, series=series, drifts=drifts,
        since=args.since, notes=[],
    )  # fmt: skip
    print(text, end="")
    return EXIT_PASS


def _bisect_locally(
    series: list[BenchmarkHistory], repo: Path, config: Config, python: str
) -> None:
    from perfgate._workdir import WORKDIR, perfgate_dir
    from perfgate.capture._plan import resolve_mode
    from perfgate.history._bisect import ab_runner, bisect_step

    mode, note = resolve_mode(config.bisect_mode)
    if note:
        _warn_plain(note)
    for item in series:
        for step in item.steps:
            good, bad = item.commit_range(step)
            if step.ratio <= 1 or good is None or bad is None:
                continue
            run = ab_runner(repo, python, [item.name], [], config, mode, 600.0)
            culprit = bisect_step(
                repo, good, bad, [item.name], step.ratio, run=run, config=config,
                evidence_dir=perfgate_dir(repo / WORKDIR) / "history" / bad[:12], mode=mode,
                say=_warn_plain,
            )  # fmt: skip
            state = "confirmed" if culprit.confirmed else "not confirmed"
            _warn_plain(
                f"{item.name}: {step.change_pct:+.1f}% first at {culprit.commit[:12]} ({state} "
                f"against its parent); roll back with: git revert {culprit.commit}"
            )


def run_init_cli(args: argparse.Namespace, config: Config) -> int:
    """``perfgate init``: write the workflow and ``[tool.perfgate]``; show what was done."""
    from perfgate.ci._init import init_project

    root = Path.cwd()
    done = init_project(
        root, force=args.force, action_ref=args.action_ref,
        python_version=args.python_version, template_dir=config.template_dir,
    )  # fmt: skip
    print(f"benchmarks found: {', '.join(done.benchmarks)}")
    for path in done.written:
        print(f"wrote {path.relative_to(root)}")
    for path in done.unchanged:
        print(f"unchanged {path.relative_to(root)}")
    for note in done.notes:
        _warn_plain(note)
    if any(p.name == "perfgate.yml" for p in done.written):
        print()
        print(done.workflow_text, end="")
        print()
        print("Commit it; the next push to the default branch makes the baseline, and every")
        print("pull request after it gets a check and a comment.")
    return EXIT_PASS


def run_dashboard_cli(args: argparse.Namespace, config: Config) -> int:
    """``perfgate dashboard``: the static history site."""
    from perfgate.ci._history import read_ledger
    from perfgate.report._dashboard import build_dashboard

    series, drifts, store = _history_series(args, config)
    repo_url = args.repo_url or _repo_url(store.repo, args.remote)
    title = args.title or (repo_url.rstrip("/").rpartition("/")[2] if repo_url else store.repo.name)
    written = build_dashboard(
        series, args.output, title=title, repo_url=repo_url, drifts=drifts,
        records=read_ledger(store, _warn), template_dir=config.template_dir,
    )  # fmt: skip
    _warn_plain(
        f"wrote {len(written)} page(s) to {args.output} (open {args.output / 'index.html'})"
    )
    return EXIT_PASS


def _repo_url(repo: Path, remote: str) -> str | None:
    """The repository's web address: GitHub's environment, else the remote's URL."""
    import re

    from perfgate.capture._git import git_or_none

    server, name = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    if server and name:
        return f"{server.rstrip('/')}/{name}"
    url = git_or_none(["remote", "get-url", "--end-of-options", remote], repo) or ""
    match = re.fullmatch(r"(?:https://|git@)([^/:]+)[/:](.+?)(?:\.git)?/?", url)
    return f"https://{match.group(1)}/{match.group(2)}" if match else None


def run_command_cli(
    name: str,
    command: Sequence[str],
    *,
    rounds: int,
    warmup: int,
    output: Path | None,
    cwd: Path | None,
    env: Sequence[str],
    shell: bool,
    python: str | None = None,
) -> int:
    """``perfgate run``: time a command; exit 1 when any round failed."""
    from perfgate.capture._commands import run_command, with_python
    from perfgate.capture._environment import collect_environment
    from perfgate.capture._records import document_text

    run_env = {**os.environ, **_parse_env(env)}
    if python is not None:
        command, run_env = with_python(command, python, run_env)
    progress = _warn_plain if sys.stderr.isatty() else None
    result = run_command(
        name, command, rounds=rounds, warmup=warmup, shell=shell, cwd=cwd,
        env=run_env, progress=progress,
    )  # fmt: skip
    for bad in result.failed:
        print(
            f"perfgate: round {bad.round + 1} failed with exit code {bad.exit_code}: "
            f"{bad.stderr_text}",
            file=sys.stderr,
        )
    document = result.to_document(collect_environment(cwd or Path.cwd()))
    if document is None:
        print(f"perfgate: every round of {name!r} failed; nothing was timed", file=sys.stderr)
        return EXIT_FAIL
    good = [r.wall_s for r in result.measured if r.ok]
    print(
        f"perfgate: {name}: {len(good)} round(s), median {sorted(good)[len(good) // 2]:.3f} s",
        file=sys.stderr,
    )
    # Validated like any results file before it is written.
    results_from_document(document, f"the rounds of {name!r}", _warn)
    text = document_text(document)
    if output is not None:
        write_atomic(output, text)
    else:
        sys.stdout.write(text)
    return EXIT_FAIL if result.failed else EXIT_PASS


def run_ab_cli(args: argparse.Namespace, config: Config) -> int:
    """``perfgate ab``: interleaved A/B of two revisions in this job."""
    from perfgate.ab._ab import ABPlan, run_ab

    env = _parse_env(args.env)
    pytest_args = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    plan = ABPlan(
        repo=Path.cwd(),
        base_ref=args.base,
        head_ref=args.head,
        rounds=args.rounds,
        max_time_s=args.max_time,
        pytest_args=list(pytest_args),
        env=env,
        mode=args.mode,
        target_mde_pct=args.target_mde_pct,
        command=args.command_line,
        command_name=args.name,
        python=args.python,
        save_dir=args.save_dir,
        schedule=args.schedule,
        worker_pairs=args.worker_pairs,
        round_ms=args.round_ms,
        pin=not args.no_pin,
    )
    if plan.worker_pairs < 1 or plan.round_ms <= 0:
        raise PerfgateError("--worker-pairs must be at least 1 and --round-ms above 0")
    if plan.rounds < 2 and plan.mode != "instructions":
        raise PerfgateError("--rounds must be at least 2 for wall-time A/B")
    said: set[str] = set()

    def progress(message: str) -> None:
        said.add(message)
        _warn_plain(message)

    result = run_ab(plan, config, progress=progress)
    for line in result.log:
        if line not in said:  # announced as it happened
            _warn_plain(line)
    unit = "worker pair" if result.lockstep else "round"
    _warn_plain(
        f"A/B: {result.rounds} {unit}{'s' if result.rounds != 1 else ''} in {result.seconds:.0f} s"
    )
    if result.save_dir is not None:
        _warn_plain(f"raw results of every round: {result.save_dir}")
    code = _emit(
        result.comparison,
        fmt=ReportFormat(args.format),
        output=args.output,
        config=config,
        evidence_dir=args.evidence_dir,
        state=args.state,
        sides=(result.base, result.head),
    )
    # An interrupted A/B reports what it measured, but is not a verdict.
    return EXIT_INTERRUPTED if result.interrupted else code


def _parse_env(items: Sequence[str]) -> dict[str, str]:
    """``--env K=V`` values as a mapping."""
    env = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise PerfgateError(f"--env {item!r}: expected KEY=VALUE")
        env[key] = value
    return env


def _warn_plain(message: str) -> None:
    print(f"perfgate: {message}", file=sys.stderr)


def run_ingest(
    paths: Sequence[Path],
    *,
    output: Path | None,
    task: str | None,
    pipeline: str | None,
    since: str | None,
    until: str | None,
) -> int:
    """``perfgate ingest``: orchestrator run records to a results file."""
    from perfgate.results._ingest import IngestFilter, ingest

    keep = IngestFilter(task=task, pipeline=pipeline, since=_when(since), until=_when(until))
    report = ingest(paths, keep=keep, warn=_warn)
    print(f"perfgate: {report.summary()}", file=sys.stderr)
    if report.results is None:
        raise PerfgateError("no timing samples in these records (no succeeded run or stage)")
    if output is not None:
        save_results(output, report.results)
        print(f"perfgate: wrote {output} ({len(report.results.runs)} runs)", file=sys.stderr)
    else:
        sys.stdout.write(report.results.to_json())
    return EXIT_PASS


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise PerfgateError(f"{text!r}: expected an ISO date or time, e.g. 2026-11-16") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run_merge(output: Path, inputs: Sequence[Path]) -> int:
    """``perfgate merge``: combine results files, keeping every run separate."""
    from perfgate.capture._atomic import locked

    def load() -> tuple[ResultsFile, float | None]:
        stamp = output.stat().st_mtime_ns if output in inputs and output.is_file() else None
        return merge_results([load_results(path, _warn) for path in inputs]), stamp

    merged, stamp = load()  # bad input stops here, before anything is written
    with locked(output):  # two merges into one target: one after the other
        if stamp is not None and output.stat().st_mtime_ns != stamp:
            merged, _ = load()  # the target (also an input) changed meanwhile
        save_results(output, merged)
    print(f"perfgate: wrote {output} ({len(merged.runs)} runs)", file=sys.stderr)
    return EXIT_PASS


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line and exit with perfgate's usage code."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"perfgate: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="perfgate",
        description="A CI performance regression gate with verdicts you can trust.",
    )
    parser.add_argument("--version", action="version", version=f"perfgate {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PYPROJECT",
        help="pyproject.toml with [tool.perfgate] (default: nearest one above the cwd)",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    cmp = commands.add_parser("compare", help="compare results against a baseline")
    cmp.add_argument(
        "baseline", type=Path, help="baseline results (perfgate or pytest-benchmark JSON)"
    )
    cmp.add_argument(
        "current", type=Path, help="current results (perfgate or pytest-benchmark JSON)"
    )
    cmp.add_argument(
        "--format", choices=[f.value for f in ReportFormat], default="text", help="report format"
    )
    cmp.add_argument("--output", "-o", type=Path, help="write the report here instead of stdout")
    cmp.add_argument("--threshold-pct", type=float, help="override threshold_pct")
    cmp.add_argument(
        "--evidence-dir", type=Path, help="append a metrics line to DIR/perfgate-metrics.jsonl"
    )
    cmp.add_argument("--state", type=Path, help="write a state snapshot (latest verdicts) here")
    cmp.add_argument("--alpha", type=float, help="override alpha")

    pub = commands.add_parser(
        "publish", help="post the check run, the sticky PR comment and the job summary"
    )
    pub.add_argument("report", type=Path, help="JSON report from perfgate compare --format json")
    pub.add_argument(
        "--dry-run", action="store_true", help="print what would be sent; send nothing"
    )
    pub.add_argument("--repo", dest="repository", help="owner/name (default: GITHUB_REPOSITORY)")
    pub.add_argument(
        "--pr", dest="pr_number", type=int, help="pull request number (default: event)"
    )
    pub.add_argument("--sha", dest="head_sha", help="commit for the check run (default: PR head)")
    pub.add_argument("--event-path", type=Path, help="event payload (default: GITHUB_EVENT_PATH)")
    pub.add_argument(
        "--no-verdict-exit",
        dest="verdict_exit",
        action="store_false",
        help="exit 0 on a regression too (a job that only publishes); 2 and 3 stay errors",
    )

    hist = commands.add_parser(
        "history",
        help="the default branch's history from the data branch: steps, their commits, drift",
    )
    _data_branch_flags(hist)
    hist.add_argument(
        "--since", metavar="REF",
        help="also the drift of every benchmark since this commit or tag (all steps together)",
    )  # fmt: skip
    hist.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    hist.add_argument(
        "--bisect", action="store_true",
        help="find the commit of each slowdown step with perfgate ab (instruction counts where "
        "valgrind is), and confirm it against its parent",
    )  # fmt: skip
    hist.add_argument("--python", help="the project's interpreter for --bisect (default: this one)")
    hist_commands = hist.add_subparsers(dest="history_command", parser_class=_Parser)
    hist_add = hist_commands.add_parser("add", help="append a baseline's summary line")
    hist_add.add_argument("results", type=Path, help="the baseline results file")
    hist_add.add_argument("--history", type=Path, help="history file (default: config history)")
    hist_add.add_argument("--max-entries", type=int, help="lines to keep (default: config)")

    dash = commands.add_parser(
        "dashboard", help="a static site of the history: a page per benchmark, an index"
    )
    dash.add_argument("--output", "-o", type=Path, required=True, help="the site's directory")
    _data_branch_flags(dash)
    dash.add_argument("--since", metavar="REF", help="also each benchmark's drift since REF")
    dash.add_argument(
        "--repo-url", help="the repository's web address, for commit links (default: from "
        "GITHUB_SERVER_URL and GITHUB_REPOSITORY, else the remote's https URL)",
    )  # fmt: skip
    dash.add_argument("--title", help="the site's title (default: the repository's name)")

    init = commands.add_parser(
        "init", help="set this project up: a workflow for the gate and [tool.perfgate]"
    )
    init.add_argument(
        "--force", action="store_true", help="replace a workflow file that differs from ours"
    )
    init.add_argument(
        "--action-ref", metavar="REF",
        help="the perfgate action's commit (or tag) to pin (default: the installed perfgate's)",
    )  # fmt: skip
    init.add_argument(
        "--python-version", default="3.12", help="the Python the workflow sets up (3.12)"
    )

    run = commands.add_parser("run", help="time a command (a pipeline run), in rounds")
    run.add_argument("--name", required=True, help="benchmark name")
    run.add_argument("--rounds", type=int, default=5, help="measured rounds (default 5)")
    run.add_argument("--warmup", type=int, default=0, help="unmeasured rounds first")
    run.add_argument("--output", "-o", type=Path, help="results file (default: stdout)")
    run.add_argument("--cwd", type=Path, help="run the command here")
    run.add_argument("--env", action="append", default=[], metavar="K=V", help="extra variable")
    run.add_argument("--shell", action="store_true", help="run the command through the shell")
    run.add_argument(
        "--python", metavar="PATH",
        help="the project's interpreter: a leading `python`/`python3` in the command is "
        "this one, and its directory comes first on the command's PATH",
    )  # fmt: skip
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="the command")

    ab = commands.add_parser("ab", help="A/B: base and head interleaved in this job")
    ab.add_argument("--base", required=True, help="base revision (use the merge-base in CI)")
    ab.add_argument("--head", help="head revision (default: the working tree)")
    ab.add_argument(
        "--schedule", choices=["alternate", "duet", "process"], default="alternate",
        help="wall time: alternate (default) hands each benchmark's rounds between a base and a "
        "head worker, milliseconds apart; duet runs both sides' rounds at once on two cores; "
        "process times whole pytest processes per round (the old way)",
    )  # fmt: skip
    ab.add_argument(
        "--worker-pairs", type=int, default=16,
        help="alternate/duet: fresh base+head worker pairs at most (default 16)",
    )  # fmt: skip
    ab.add_argument(
        "--round-ms", type=float, default=10.0,
        help="alternate/duet: length of one round in milliseconds (default 10)",
    )  # fmt: skip
    ab.add_argument(
        "--no-pin", action="store_true",
        help="alternate/duet: do not pin the workers to CPUs (Linux pins them by default)",
    )  # fmt: skip
    ab.add_argument(
        "--rounds", type=int, default=6, help="--schedule process: minimum rounds (default 6)"
    )
    ab.add_argument(
        "--max-time", type=float, default=180,
        help="time budget in seconds, minimum rounds included: no round starts that would not fit",
    )  # fmt: skip
    ab.add_argument(
        "--mode", choices=MODES, default="auto",
        help="auto (default): instruction counts where valgrind is installed, else wall time; "
        "time; instructions; time+instructions",
    )  # fmt: skip
    ab.add_argument(
        "--target-mde-pct", type=float, default=5.0,
        help="add rounds until each benchmark could detect this slowdown (default 5)",
    )  # fmt: skip
    ab.add_argument(
        "--env", action="append", default=[], metavar="K=V",
        help="per-side variable; {tree} is the side's tree (default PYTHONPATH={tree})",
    )  # fmt: skip
    ab.add_argument(
        "--command", dest="command_line", help="time this shell command instead of pytest"
    )
    ab.add_argument("--name", default="command", help="benchmark name for --command")
    ab.add_argument(
        "--python", metavar="PATH",
        help="the project's interpreter, which runs both sides (default: `python` on PATH, "
        "else the one running perfgate)",
    )  # fmt: skip
    ab.add_argument("--format", choices=[f.value for f in ReportFormat], default="text")
    ab.add_argument("--output", "-o", type=Path, help="write the report here")
    ab.add_argument("--evidence-dir", type=Path, help="append a metrics line here")
    ab.add_argument("--state", type=Path, help="write a state snapshot here")
    ab.add_argument(
        "--save-dir", type=Path,
        help="keep both sides' raw results of every round here "
        "(default: .perfgate/ab-<time> in the repository)",
    )  # fmt: skip
    ab.add_argument("pytest_args", nargs=argparse.REMAINDER, metavar="-- PYTEST_ARGS")

    ing = commands.add_parser("ingest", help="import Codex Orchestrator run records")
    ing.add_argument("paths", type=Path, nargs="+", help=".runs/ dirs, manifest.json, metrics.json")
    ing.add_argument("--output", "-o", type=Path, help="results file (default: stdout)")
    ing.add_argument("--task", help="only this task id")
    ing.add_argument("--pipeline", help="only this pipeline (e.g. diagnostics)")
    ing.add_argument("--since", help="only runs started at or after (ISO date/time, UTC)")
    ing.add_argument("--until", help="only runs started at or before (ISO date/time, UTC)")

    ci = commands.add_parser(
        "ci", help="what the GitHub Action runs: baseline on pushes, gate on pull requests"
    )
    ci.add_argument(
        "--python", default="python", help="the project's interpreter (default: python)"
    )
    ci.add_argument(
        "--benchmarks",
        default="",
        help="benchmark paths, space-separated (default: benchmarks in [tool.perfgate], else "
        "tests/benchmarks)",
    )
    ci.add_argument("--pytest-args", default="", help="more pytest arguments, one string")
    ci.add_argument(
        "--mode",
        choices=CI_MODES,
        default="auto",
        help="auto: instruction counts where valgrind is installed, else stored wall time",
    )
    ci.add_argument("--runs", type=int, default=3, help="wall-time processes per side (stored)")
    ci.add_argument("--threshold-pct", type=float, help="override threshold_pct")
    ci.add_argument("--data-branch", default="perfgate-data", help="where baselines are kept")
    ci.add_argument("--remote", default="origin", help="git remote of the data branch")
    ci.add_argument("--out-dir", type=Path, default=Path(".perfgate"), help="reports go here")
    ci.add_argument("--max-time", type=float, default=180.0, help="A/B budget, seconds")
    ci.add_argument("--no-publish", dest="publish", action="store_false",
                    help="write the reports, publish nothing")  # fmt: skip
    ci.add_argument(
        "--dashboard", type=Path, metavar="DIR",
        help="pushes: also build the history dashboard here (perfgate dashboard)",
    )  # fmt: skip
    sharding = ci.add_mutually_exclusive_group()
    sharding.add_argument(
        "--shard", metavar="I/N",
        help="a job of a CI matrix: measure shard I of N of the benchmarks (a stable split "
        "by node id) and write it to OUT_DIR/shard.json for the combining job",
    )  # fmt: skip
    sharding.add_argument(
        "--combine", type=Path, metavar="DIR",
        help="the combining job: merge every shard.json under DIR, then gate or store as "
        "usual (one check, one comment); runs none of the project's code",
    )  # fmt: skip

    mrg = commands.add_parser("merge", help="combine results files; each input run stays a run")
    mrg.add_argument("--output", "-o", type=Path, required=True, help="merged results file")
    mrg.add_argument("inputs", type=Path, nargs="+", help="results files to merge")
    return parser


def _data_branch_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-branch", default="perfgate-data", help="the data branch")
    parser.add_argument("--remote", default="origin", help="where the data branch is fetched from")
    parser.add_argument(
        "--no-fetch", dest="fetch", action="store_false",
        help="use the data branch as last fetched (refs/perfgate/branches/BRANCH)",
    )  # fmt: skip
    parser.add_argument(
        "--ref", default="HEAD", help="the branch whose first-parent order the history follows"
    )


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "compare":
        config = _config(args.config)
        flags = {"threshold_pct": args.threshold_pct, "alpha": args.alpha}
        overrides = {key: value for key, value in flags.items() if value is not None}
        if overrides:
            config = config.updated(**overrides)
        return run_compare(
            args.baseline,
            args.current,
            fmt=ReportFormat(args.format),
            output=args.output,
            config=config,
            evidence_dir=args.evidence_dir,
            state=args.state,
        )
    if args.command == "merge":
        return run_merge(args.output, args.inputs)
    if args.command == "run":
        argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv
        return run_command_cli(
            args.name,
            argv,
            rounds=args.rounds,
            warmup=args.warmup,
            output=args.output,
            cwd=args.cwd,
            env=args.env,
            shell=args.shell,
            python=args.python,
        )
    if args.command == "ab":
        return run_ab_cli(args, _config(args.config))
    if args.command == "ci":
        config = _config(args.config)
        if args.threshold_pct is not None:
            config = config.updated(threshold_pct=args.threshold_pct)
        return run_ci_cli(args, config)
    if args.command == "ingest":
        return run_ingest(
            args.paths,
            output=args.output,
            task=args.task,
            pipeline=args.pipeline,
            since=args.since,
            until=args.until,
        )
    if args.command == "publish":
        overrides = {
            key: getattr(args, key)
            for key in ("repository", "pr_number", "head_sha", "event_path")
            if getattr(args, key) is not None
        }
        return run_publish(
            args.report,
            config=_config(args.config),
            overrides=overrides,
            dry_run=args.dry_run,
            verdict_exit=args.verdict_exit,
        )
    if args.command == "history" and args.history_command == "add":
        return run_history_add(
            args.results,
            config=_config(args.config),
            history=args.history,
            max_entries=args.max_entries,
        )
    if args.command == "history":
        return run_history_cli(args, _config(args.config))
    if args.command == "dashboard":
        return run_dashboard_cli(args, _config(args.config))
    if args.command == "init":
        return run_init_cli(args, _config(args.config))
    raise AssertionError(f"unhandled command {args.command!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``perfgate`` console script."""
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except InternalError as err:
        print(f"perfgate: internal error: {_one_line(str(err))}", file=sys.stderr)
        return EXIT_INTERNAL
    except PerfgateError as err:
        print(f"perfgate: error: {_one_line(str(err))}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("perfgate: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as err:  # noqa: BLE001 - the edge: a bug must not look like a verdict
        if os.environ.get(DEBUG_VARIABLE):
            import traceback

            traceback.print_exc()
        where = f" ({type(err).__name__})"
        print(
            f"perfgate: internal error{where}: {_one_line(str(err))[:300]}; this is a bug in "
            f"perfgate, not a verdict (set {DEBUG_VARIABLE}=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _one_line(text: str) -> str:
    """A message as one printable line: no newlines, control or bidi characters."""
    from perfgate.report._format import plain

    return plain(text)


if __name__ == "__main__":
    sys.exit(main())
