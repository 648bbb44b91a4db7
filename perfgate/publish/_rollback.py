"""Rollback proposals: one issue per commit that made benchmarks slower, or a
revert pull request, on GitHub, never duplicated.

The steps come from ``steps.jsonl`` (``ci/_history.py``): a commit named by
bisection and confirmed by an A/B against its parent. Each is proposed once:
the issue carries a hidden marker with the commit, and is found by it (open or
closed) before anything is created. A closed issue is a decision and is left
alone. A slowdown accepted in ``[[tool.perfgate.accepted]]`` or by the accept
label on the pull request that brought the commit is not proposed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final

from perfgate._config import Config
from perfgate._errors import PublishError
from perfgate.history._ledger import StepRecord
from perfgate.publish._github import GitHubClient
from perfgate.report._format import plain
from perfgate.report._render import render_template

__all__ = ["ROLLBACK_TEMPLATE", "accepted_by_config", "marker", "propose", "rollback_body"]

ROLLBACK_TEMPLATE: Final = "rollback.md.j2"
_TITLE_LIMIT: Final = 200


def marker(commit: str) -> str:
    """The hidden marker that identifies the proposal for ``commit``."""
    return f"<!-- perfgate:rollback {commit} -->"


def title(record: StepRecord) -> str:
    worst = max(record.benchmarks, key=lambda b: b.ratio)
    more = f" and {len(record.benchmarks) - 1} more" if len(record.benchmarks) > 1 else ""
    text = (
        f"Performance: {(record.culprit or '')[:10]} made {plain(worst.name)}{more} "
        f"{100 * (worst.ratio - 1):.1f}% slower"
    )
    return text[:_TITLE_LIMIT]


def rollback_body(
    record: StepRecord,
    config: Config,
    *,
    server_url: str,
    repository: str | None,
    data_branch: str,
    run_url: str | None,
    revert_pull: int | None = None,
) -> str:
    """The issue's (or revert pull request's) markdown, from ``rollback.md.j2``."""
    base = f"{server_url.rstrip('/')}/{repository}" if repository else None
    return render_template(
        ROLLBACK_TEMPLATE, config.template_dir, r=record, marker=marker(record.culprit or ""),
        base_url=base, data_branch=data_branch, run_url=run_url,
        accept_label=config.accept_label, revert_pull=revert_pull,
    )  # fmt: skip


def accepted_by_config(record: StepRecord, config: Config) -> str | None:
    """The reason, when every slower benchmark of the step has an active
    ``[[tool.perfgate.accepted]]`` entry."""
    today = datetime.now(UTC).date()
    reasons = []
    for bench in record.benchmarks:
        active = [a for a in config.acceptance_for(bench.name) if a.active_on(today)]
        if not active:
            return None
        reasons.append(active[-1].reason)
    return "; ".join(dict.fromkeys(reasons))


def propose(
    records: Sequence[StepRecord],
    client: GitHubClient,
    config: Config,
    *,
    body: Callable[[StepRecord, int | None], str],
    revert: Callable[[StepRecord], str | None] | None = None,
    base_branch: str | None = None,
    say: Callable[[str], None],
) -> dict[str, str]:
    """Propose each pending record; returns culprit → what was done.

    ``revert(record)``: when ``rollback = "pull-request"``, pushes a branch with
    the revert and returns its name (None: the revert did not apply cleanly)."""
    done: dict[str, str] = {}
    for record in records:
        commit = record.culprit
        if commit is None or not record.pending or commit in done:
            continue
        try:
            outcome = _propose_one(record, commit, client, config, body, revert, base_branch, say)
        except PublishError as err:
            # Not recorded: the next push to the default branch tries again.
            say(f"rollback of {commit[:12]} not proposed: {err}")
            continue
        done[commit] = outcome
    return done


def _propose_one(
    record: StepRecord,
    commit: str,
    client: GitHubClient,
    config: Config,
    body: Callable[[StepRecord, int | None], str],
    revert: Callable[[StepRecord], str | None] | None,
    base_branch: str | None,
    say: Callable[[str], None],
) -> str:
    reason = accepted_by_config(record, config)
    if reason is None:
        pull = client.pull_request_of(commit)
        if pull is not None and config.accept_label in pull[1]:
            reason = f"label {config.accept_label} on pull request #{pull[0]}"
    if reason is not None:
        say(f"rollback of {commit[:12]} not proposed: accepted ({reason})")
        return f"accepted: {reason}"[:500]
    if config.rollback == "pull-request" and revert is not None and base_branch:
        branch = revert(record)
        if branch is not None:
            number = client.open_pull_request(
                title=f"Revert {commit[:10]}: {title(record)}"[:_TITLE_LIMIT],
                body=body(record, None),
                head=branch,
                base=base_branch,
            )
            say(f"opened revert pull request #{number} for {commit[:12]}")
            return f"pull request #{number}"
        say(f"the revert of {commit[:12]} does not apply cleanly: proposing it in an issue")
    outcome, number = client.upsert_issue(
        marker(commit), title(record), body(record, None), config.rollback_label
    )
    say(f"rollback issue #{number} for {commit[:12]}: {outcome}")
    return f"issue #{number}" + (" (closed: left alone)" if outcome == "closed" else "")
