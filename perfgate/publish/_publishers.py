"""Publishers: where a verdict goes, each behind one small interface.

:func:`publish` composes the comment and the summary
once (a :class:`Publication`) and hands it to each publisher in order of
importance: the job summary (a file, always), then the check run and the
sticky comment (GitHub, when the token can write), or, for ``--dry-run``,
the terminal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from github import Github

from perfgate._config import Config
from perfgate._errors import PublishError, ReadOnlyTokenError, WriteError
from perfgate.publish._github import (
    CHECK_SUMMARY_LIMIT,
    GitHubClient,
    PublishResult,
    build_comment,
    label_acceptance,
    write_step_summary,
)
from perfgate.publish._github_context import GitHubContext
from perfgate.report._history import HistoryEntry
from perfgate.verdict._comparison import Comparison

__all__ = [
    "CheckRun",
    "DryRun",
    "JobSummary",
    "Publication",
    "Publisher",
    "StickyComment",
    "publish",
]


@dataclass(frozen=True)
class Publication:
    """What is published, composed once for every publisher."""

    comparison: Comparison
    ctx: GitHubContext
    comment: str
    """The sticky comment's body (with its hidden marker)."""
    summary: str
    """The job summary, also the check run's summary."""
    check: dict[str, Any]
    """The check run's payload."""
    shrink: Callable[[int], str]
    """The comment again, made to fit a smaller limit."""


class Publisher(Protocol):
    """Publishes one :class:`Publication` somewhere."""

    target: str
    """What it writes, in messages: "job summary", "check run", "comment"."""

    def publish(self, item: Publication) -> str:
        """Publish, and say what happened: "written", "created", "updated", or
        "skipped: why". Raises :class:`perfgate.publish._github.PublishError`."""
        ...


class JobSummary:
    """Appends the summary to ``GITHUB_STEP_SUMMARY``."""

    target = "job summary"

    def publish(self, item: Publication) -> str:
        if item.ctx.step_summary is None:
            return "skipped: no GITHUB_STEP_SUMMARY"
        write_step_summary(item.ctx.step_summary, item.summary)
        return "written"


class CheckRun:
    """A completed check run on the pull request's head commit."""

    target = "check run"

    def __init__(self, client: GitHubClient) -> None:
        self.client = client

    def publish(self, item: Publication) -> str:
        if not item.ctx.head_sha:
            return "skipped: no head commit (GITHUB_SHA or --sha): skipped the check run"
        return self.client.upsert_check_run(item.check)


class StickyComment:
    """perfgate's one comment on the pull request, edited in place."""

    target = "comment"

    def __init__(self, client: GitHubClient) -> None:
        self.client = client

    def publish(self, item: Publication) -> str:
        if item.ctx.pr_number is None:
            return "skipped: not a pull request (no number in the event): no comment"
        return self.client.upsert_comment(item.comment, item.shrink)


class DryRun:
    """Prints what would be sent; sends nothing."""

    target = "dry run"

    def __init__(self, out: Callable[[str], None]) -> None:
        self.out = out

    def publish(self, item: Publication) -> str:
        ctx, check = item.ctx, item.check
        shown = {**check, "completed_at": check["completed_at"].isoformat()}
        self.out(f"would create check run on {ctx.repository} at {ctx.head_sha}:")
        self.out(json.dumps(shown, indent=2, ensure_ascii=False))
        target = f"pull request #{ctx.pr_number}" if ctx.pr_number else "no pull request"
        self.out(f"would create or update the comment on {target}:")
        self.out(item.comment)
        return "dry-run"


def publish(
    comparison: Comparison,
    ctx: GitHubContext,
    config: Config,
    history: list[HistoryEntry],
    *,
    client_factory: Callable[[GitHubContext], Github],
    dry_run: bool = False,
    out: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> PublishResult:
    """Write the job summary, then the check run and the sticky comment.

    Nothing here raises for GitHub's or the file system's reasons: a publisher
    that fails is recorded as ``failed`` with a one-line message, and the rest
    still run (a read-only token skips the remaining GitHub calls).
    """
    result = PublishResult(comparison=comparison)
    client = GitHubClient(
        client_factory(ctx) if not dry_run else Github(lazy=True), ctx, config, sleep=sleep
    )
    if ctx.pr_number is None and ctx.event_name == "workflow_run" and ctx.token and not dry_run:
        # The trusted workflow_run payload names no pull request for forks: find it
        # (and its labels) first, so that the summary, the check run, the comment
        # and the exit code all carry the same, label-accepted verdict.
        try:
            found = client.resolve_pull_request()
        except PublishError as err:
            found = None
            result.messages.append(f"could not find the pull request ({err})")
        if found is not None:
            number, labels = found
            ctx = ctx.model_copy(update={"pr_number": number, "labels": labels})
            client.ctx = ctx
    comparison = result.comparison = label_acceptance(comparison, ctx, config)
    summary = build_comment(comparison, ctx, config, history, limit=CHECK_SUMMARY_LIMIT, marker="")
    item = Publication(
        comparison=comparison,
        ctx=ctx,
        comment=build_comment(comparison, ctx, config, history),
        summary=summary,
        check=client.check_run_payload(comparison, summary),
        shrink=lambda limit: build_comment(comparison, ctx, config, [], limit=limit),
    )
    # In order of importance: the job summary first and always.
    local: list[Publisher] = [JobSummary()] if ctx.step_summary is not None else []
    remote: list[Publisher] = []
    if dry_run:
        local = [DryRun(out)]
    elif ctx.token is None:
        result.messages.append("no GITHUB_TOKEN: skipped the check run and the comment")
    else:
        remote = [CheckRun(client), StickyComment(client)]
    # Degrade, don't fail: each publisher does what it can; one that cannot (a
    # read-only or forbidden token, GitHub down past the retry budget, an
    # unwritable summary) says so in one line, and the others still run. The
    # verdict, not publishing, decides the exit code.
    read_only = False
    for publisher in [*local, *remote]:
        if read_only and publisher in remote:
            result.record(publisher.target, "skipped: read-only token")
            continue
        try:
            outcome = publisher.publish(item)
        except ReadOnlyTokenError as err:
            read_only = True
            result.record(publisher.target, "failed")
            result.messages.append(
                f"the token cannot write ({err}); this is expected on pull requests from forks: "
                "the job summary has the report, and docs/ci.md shows the workflow_run recipe "
                "that publishes it"
            )
            continue
        except (PublishError, WriteError) as err:
            result.record(publisher.target, "failed")
            result.messages.append(f"{publisher.target} not published: {err}")
            continue
        result.record(publisher.target, outcome)
        if outcome.startswith("skipped:"):
            result.messages.append(outcome.removeprefix("skipped:").strip())
    return result
