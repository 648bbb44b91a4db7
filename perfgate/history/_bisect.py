"""The commit that caused a step: bisection with ``perfgate ab``, then a confirmation.

A step found in the history lies between two measured commits, and a push can
bring many commits at once. Bisection measures the first-parent commits of that
range against the last good one (``perfgate ab``, instruction counts by default:
deterministic, so one A/B per probe is enough) and keeps the half that holds the
change: a probe is "at the new level" when it moved at least half of the step's
size in the step's direction. The first such commit is then confirmed by an A/B
against its own parent, in this job, before anything is proposed (DESIGN §7).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from perfgate._config import Config
from perfgate._errors import InputError
from perfgate.capture._git import git, git_value
from perfgate.capture._records import INSTRUCTIONS_SUFFIX
from perfgate.verdict._comparison import Comparison, Status

__all__ = ["Culprit", "Probe", "ab_runner", "bisect_step", "node_id"]


class Probe(BaseModel):
    """One A/B of the bisection: a commit against the last good one."""

    model_config = ConfigDict(frozen=True)

    commit: str
    against: str
    ratio: float | None
    """Geometric mean of the step's benchmarks' ratios (None: none was measured)."""
    moved: bool


class Culprit(BaseModel):
    """The first commit at the new level, and its confirmation against its parent."""

    model_config = ConfigDict(frozen=True)

    commit: str
    parent: str
    confirmed: bool
    """The A/B of ``commit`` against ``parent`` shows the step's direction beyond
    the gate's threshold on at least one of the step's benchmarks."""
    ratios: dict[str, float]
    """Each of the step's benchmarks: head/base of the confirming A/B."""
    mode: str
    probes: list[Probe]
    evidence: list[str]
    """Files written: each A/B's JSON report (the confirming one last)."""


@dataclass
class _Bisection:
    repo: Path
    names: list[str]
    slower: bool
    step_log_ratio: float
    run: Callable[[str, str, Path], Comparison]
    evidence_dir: Path
    evidence: list[str] = field(default_factory=list)

    def ratios(self, base: str, head: str, label: str) -> dict[str, float]:
        out = self.evidence_dir / f"{label}-{head[:12]}.json"
        comparison = self.run(base, head, out)
        self.evidence.append(str(out))
        found: dict[str, float] = {}
        wanted = {node_id(n) for n in self.names}
        for bench in comparison.benchmarks:
            if (
                node_id(bench.name) in wanted
                and bench.ratio is not None
                and bench.ratio > 0
                and bench.status not in (Status.NEW, Status.MISSING)
            ):
                found[bench.name] = bench.ratio
        return found


def node_id(name: str) -> str:
    """The pytest node id of a benchmark (instruction counts carry a suffix)."""
    return name.removesuffix(INSTRUCTIONS_SUFFIX)


def _commit(repo: Path, ref: str) -> str:
    name = git_value(ref, "commit")
    return git(["rev-parse", "--verify", "--end-of-options", f"{name}^{{commit}}"], repo)


def _geomean(values: Sequence[float]) -> float | None:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def bisect_step(
    repo: Path,
    good: str,
    bad: str,
    names: Sequence[str],
    step_ratio: float,
    *,
    run: Callable[[str, str, Path], Comparison],
    config: Config,
    evidence_dir: Path,
    mode: str,
    say: Callable[[str], None] = lambda _: None,
) -> Culprit:
    """The first first-parent commit in ``good..bad`` at the step's new level.

    ``run(base, head, report_path)`` measures an A/B and writes its report there
    (``ab_runner`` makes one from ``perfgate ab``)."""
    good_sha, bad_sha = (_commit(repo, ref) for ref in (good, bad))
    listing = git(["rev-list", "--first-parent", "--reverse", f"{good_sha}..{bad_sha}"], repo)
    commits = listing.split()
    if not commits:
        raise InputError(f"no commits between {good_sha[:12]} and {bad_sha[:12]}")
    evidence_dir.mkdir(parents=True, exist_ok=True)
    work = _Bisection(repo, list(names), step_ratio > 1, math.log(step_ratio), run, evidence_dir)
    probes: list[Probe] = []
    lo, hi = -1, len(commits) - 1  # commits[hi] is at the new level; lo is good
    while hi - lo > 1:
        mid = (lo + hi) // 2
        say(f"bisect: {commits[mid][:12]} against {good_sha[:12]} ({hi - lo - 1} commits left)")
        ratio = _geomean(list(work.ratios(good_sha, commits[mid], "probe").values()))
        moved = ratio is not None and math.log(ratio) / work.step_log_ratio >= 0.5
        probes.append(Probe(commit=commits[mid], against=good_sha, ratio=ratio, moved=moved))
        if moved:
            hi = mid
        else:
            lo = mid
    culprit = commits[hi]
    parent = good_sha if hi == 0 else commits[hi - 1]
    say(f"confirm: {culprit[:12]} against its parent {parent[:12]}")
    ratios = work.ratios(parent, culprit, "confirm")
    confirmed = False
    for name, ratio in ratios.items():
        settings = config.settings_for(name)
        counter = name.endswith(INSTRUCTIONS_SUFFIX)
        threshold = settings.counter_threshold_pct if counter else settings.threshold_pct
        limit = math.log1p(max(threshold, 0.5) / 100)
        change = math.log(ratio)
        if (change >= limit) if work.slower else (change <= -limit):
            confirmed = True
    return Culprit(
        commit=culprit, parent=parent, confirmed=confirmed, ratios=ratios, mode=mode,
        probes=probes, evidence=work.evidence,
    )  # fmt: skip


def ab_runner(
    repo: Path,
    python: str | None,
    names: Sequence[str],
    pytest_args: Sequence[str],
    config: Config,
    mode: str,
    max_time_s: float,
) -> Callable[[str, str, Path], Comparison]:
    """``run(base, head, report)`` for :func:`bisect_step`: a ``perfgate ab`` of only
    the step's benchmarks (by node id) in ``mode``, its JSON report written."""
    from perfgate.ab._ab import ABPlan, run_ab
    from perfgate.capture._atomic import write_atomic

    nodes = sorted({node_id(n) for n in names})

    def run(base: str, head: str, report: Path) -> Comparison:
        plan = ABPlan(
            repo=repo, base_ref=base, head_ref=head, rounds=8, max_time_s=max_time_s,
            pytest_args=[*nodes, *pytest_args], env={}, mode=mode,
            target_mde_pct=config.threshold_pct, python=python,
            save_dir=report.with_suffix(""),
        )  # fmt: skip
        result = run_ab(plan, config)
        write_atomic(report, result.comparison.to_json())
        return result.comparison

    return run
