"""History on a push to the default branch: find new steps, bisect, confirm, record.

After ``perfgate ci`` stores a commit's results, it reads the whole history from
the data branch, finds each benchmark's steps (``history/``), and for every new
step that slowed a benchmark and still holds, finds the first commit at the new
level (bisection with ``perfgate ab``) and confirms it with an A/B against its
parent. Each handled step becomes a line of ``steps.jsonl``, with the A/B reports
under ``evidence/<commit>/``; the confirmed ones wait there to be proposed
(``publish/_rollback.py``). Publishing happens after this, outside the code that
measured the project (the trust boundary, docs/security.md).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from perfgate._config import Config
from perfgate._errors import PerfgateError
from perfgate.capture._git import git, git_or_none, git_value
from perfgate.capture._plan import resolve_mode
from perfgate.ci._store import HISTORY_FILE, DataBranch
from perfgate.history._analysis import BenchmarkHistory, analyse, series_from_history
from perfgate.history._bisect import ab_runner, bisect_step, node_id
from perfgate.history._changepoints import Step
from perfgate.history._ledger import SteppedBenchmark, StepRecord, dump_ledger, parse_ledger

__all__ = [
    "LEDGER_FILE",
    "HistoryReview",
    "first_parent_order",
    "read_history",
    "read_ledger",
    "record_proposals",
    "review_push",
]

LEDGER_FILE: Final = "steps.jsonl"
EVIDENCE_DIR: Final = "evidence"
_MAX_COMMITS: Final = 100_000
MAX_BISECTIONS: Final = 4
"""Steps bisected per push; the others wait for the next push (a push's job
must end: each bisection is about log2(commits) + 1 A/Bs)."""


@dataclass
class HistoryReview:
    """What a push's look at the history found and did."""

    series: list[BenchmarkHistory] = field(default_factory=list)
    new: list[StepRecord] = field(default_factory=list)
    """Steps handled by this push (bisected and confirmed, or not)."""
    pending: list[StepRecord] = field(default_factory=list)
    """Confirmed slowdowns not yet proposed (this push's and earlier ones')."""
    records: list[StepRecord] = field(default_factory=list)
    """Every step handled so far (``steps.jsonl``, this push's included)."""
    log: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Group:
    """Steps of several benchmarks over the same commits: one bisection."""

    good: str | None
    span: tuple[str, ...]
    steps: list[tuple[BenchmarkHistory, Step]]


def first_parent_order(repo: Path, head: str) -> list[str] | None:
    """The default branch's commits, oldest first; None in a shallow clone."""
    if git_or_none(["rev-parse", "--is-shallow-repository"], repo) == "true":
        return None
    listing = git(
        ["rev-list", "--first-parent", "--reverse", f"--max-count={_MAX_COMMITS}", head], repo
    )
    return listing.split()


def read_ledger(store: DataBranch, warn: Callable[[str], None]) -> list[StepRecord]:
    """The steps handled so far, as the data branch last fetched says."""
    return parse_ledger(store.read(LEDGER_FILE), warn)


def read_history(
    store: DataBranch,
    config: Config,
    *,
    ref: str,
    fetch: bool,
    warn: Callable[[str], None],
) -> tuple[list[BenchmarkHistory], list[str]]:
    """Every benchmark's analysed series from the data branch, in the first-parent
    order of ``ref``; and notes for the reader."""
    notes = []
    if fetch and not store.fetch():
        raise PerfgateError(
            f"no branch {store.branch} on {store.remote}: the action's pushes to the default "
            "branch make it (or pass --remote / --data-branch)"
        )
    if store.read(HISTORY_FILE) is None:
        raise PerfgateError(
            f"no history on {store.branch}: fetch it first (without --no-fetch), or check "
            "--remote and --data-branch"
        )
    name = git_value(ref, "--ref")
    head = git(["rev-parse", "--verify", "--end-of-options", f"{name}^{{commit}}"], store.repo)
    order = first_parent_order(store.repo, head)
    if order is None:
        notes.append("a shallow clone: the history is in push order (fetch the full history)")
    return analyse(series_from_history(store.history(warn), order, warn), config), notes


def _new_groups(series: Sequence[BenchmarkHistory], ledger: Sequence[StepRecord]) -> list[_Group]:
    groups: dict[tuple[str | None, tuple[str, ...]], list[tuple[BenchmarkHistory, Step]]] = {}
    for item in series:
        for step in item.steps:
            if step.ratio <= 1 or not item.persists(step):
                continue
            span = tuple(
                p.commit for p in item.points[step.first : step.last + 1] if p.commit is not None
            )
            if not span or any(r.covers(item.name, span) for r in ledger):
                continue
            good, _ = item.commit_range(step)
            groups.setdefault((good, span), []).append((item, step))
    return [_Group(good, span, steps) for (good, span), steps in groups.items()]


def _stepped(item: BenchmarkHistory, step: Step, confirm: float | None) -> SteppedBenchmark:
    return SteppedBenchmark(
        name=item.name, unit=item.unit, before=step.before, after=step.after, ratio=step.ratio,
        ratio_low=step.ratio_low, ratio_high=step.ratio_high, confirm_ratio=confirm,
    )  # fmt: skip


def review_push(
    repo: Path,
    store: DataBranch,
    config: Config,
    *,
    head: str,
    python: str,
    pytest_args: Sequence[str],
    max_time_s: float,
    bisect: bool,
    say: Callable[[str], None],
    warn: Callable[[str], None],
) -> HistoryReview:
    """Find the history's steps; bisect and confirm the new slowdowns (when
    ``bisect``), and record them on the data branch."""
    review = HistoryReview()
    order = first_parent_order(repo, head)
    if order is None:
        review.log.append(
            "history: a shallow clone has no commit order, so no bisection; check out "
            "with fetch-depth: 0"
        )
    review.series = analyse(series_from_history(store.history(warn), order, warn), config)
    ledger = read_ledger(store, warn)
    review.pending = [r for r in ledger if r.pending]
    review.records = list(ledger)
    groups = _new_groups(review.series, ledger)
    found = sum(len(item.steps) for item in review.series)
    review.log.append(
        f"history: {len(review.series)} benchmark(s), {found} step(s); "
        f"{sum(len(g.steps) for g in groups)} new slowdown(s) to bisect"
    )
    if not groups or not bisect or order is None:
        return review
    mode, note = resolve_mode(config.bisect_mode)
    if note:
        review.log.append(f"history: {note}")
    if len(groups) > MAX_BISECTIONS:
        review.log.append(
            f"history: bisecting the {MAX_BISECTIONS} largest of {len(groups)} new slowdowns; "
            "the next push takes the rest"
        )
        groups = sorted(groups, key=lambda g: -max(s.ratio for _, s in g.steps))[:MAX_BISECTIONS]
    files: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="perfgate-bisect-") as scratch:
        for number, group in enumerate(groups):
            record = _bisect_group(
                repo, group, config, head=head, python=python, pytest_args=pytest_args,
                max_time_s=max_time_s, mode=mode, scratch=Path(scratch) / str(number),
                files=files, say=say,
            )  # fmt: skip
            review.new.append(record)
            review.log.append(f"history: {_describe(record)}")
    review.pending += [r for r in review.new if r.pending]
    review.records += review.new
    files[LEDGER_FILE] = dump_ledger([*ledger, *review.new])
    store.write_files(files, f"perfgate: {len(review.new)} step(s) found at {head[:12]}")
    return review


def _bisect_group(
    repo: Path,
    group: _Group,
    config: Config,
    *,
    head: str,
    python: str,
    pytest_args: Sequence[str],
    max_time_s: float,
    mode: str,
    scratch: Path,
    files: dict[str, str],
    say: Callable[[str], None],
) -> StepRecord:
    names = [item.name for item, _ in group.steps]
    ratio = math.exp(sum(math.log(step.ratio) for _, step in group.steps) / len(group.steps))
    base = {
        "found_at": head, "date": datetime.now(UTC), "span": list(group.span),
        "good": group.good, "slower": True, "mode": mode,
    }  # fmt: skip
    if group.good is None:
        return StepRecord(
            **base, note="the step begins at the first measured commit: nothing to bisect from",
            benchmarks=[_stepped(item, step, None) for item, step in group.steps],
        )  # fmt: skip
    run = ab_runner(repo, python, names, pytest_args, config, mode, max_time_s)
    try:
        culprit = bisect_step(
            repo, group.good, group.span[-1], names, ratio, run=run, config=config,
            evidence_dir=scratch, mode=mode, say=say,
        )  # fmt: skip
    except PerfgateError as err:
        return StepRecord(
            **base, note=f"bisection failed: {err}",
            benchmarks=[_stepped(item, step, None) for item, step in group.steps],
        )  # fmt: skip
    evidence = []
    for path in culprit.evidence:
        name = f"{EVIDENCE_DIR}/{culprit.commit}/{Path(path).name}"
        files[name] = Path(path).read_text(encoding="utf-8")
        evidence.append(name)
    confirm = {node_id(k): v for k, v in culprit.ratios.items()}
    subject = git_or_none(["log", "-1", "--format=%s", culprit.commit], repo)
    return StepRecord(
        **base, culprit=culprit.commit, parent=culprit.parent,
        subject=(subject or "")[:500] or None, confirmed=culprit.confirmed,
        benchmarks=[
            _stepped(item, step, confirm.get(node_id(item.name))) for item, step in group.steps
        ],
        evidence=evidence,
        note=None if culprit.confirmed else "the A/B against its parent did not show the step",
    )  # fmt: skip


def _describe(record: StepRecord) -> str:
    shown = [b.name for b in record.benchmarks[:3]]
    more = len(record.benchmarks) - len(shown)
    names = ", ".join(shown) + (f" and {more} more" if more else "")
    size = max(b.ratio for b in record.benchmarks)
    where = f"{record.culprit[:12]}" if record.culprit else "no commit named"
    state = "confirmed" if record.confirmed else f"not confirmed ({record.note})"
    return f"{names}: +{100 * (size - 1):.1f}% at {where}, {state}"


def record_proposals(store: DataBranch, done: dict[str, str], warn: Callable[[str], None]) -> None:
    """Write what was proposed for each culprit (``done``: culprit → proposal)."""
    if not done:
        return
    ledger = read_ledger(store, warn)
    updated = [
        r.model_copy(update={"proposal": done[r.culprit]}) if r.pending and r.culprit in done else r
        for r in ledger
    ]
    store.write_files({LEDGER_FILE: dump_ledger(updated)}, "perfgate: rollback proposed")
