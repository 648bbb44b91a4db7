"""Publish a comparison to GitHub: a check run on the head commit, one sticky
pull-request comment, and the job summary.

All GitHub calls go through PyGithub. The client is passed in, so tests point
it at a GitHub-compatible server on 127.0.0.1. Failures degrade in order of
importance: the job summary is written first and always; a read-only token
(fork pull requests) skips the check and the comment with one clear line; the
gate's verdict never depends on publishing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import requests
from github import Github, GithubException
from github.Issue import Issue
from github.IssueComment import IssueComment

from perfgate._config import Config
from perfgate._errors import PublishError, ReadOnlyTokenError
from perfgate.publish._github_context import GitHubContext
from perfgate.report._format import plain
from perfgate.report._history import HistoryEntry, trend_chart
from perfgate.report._render import COMMENT_TEMPLATE, render_template
from perfgate.verdict._comparison import Comparison, Status

__all__ = [
    "CHECK_SUMMARY_LIMIT",
    "COMMENT_LIMIT",
    "MARKER",
    "GitHubClient",
    "PublishResult",
    "build_comment",
    "label_acceptance",
    "write_step_summary",
]

MARKER: Final = "<!-- perfgate:comment -->"
"""Hidden marker that identifies perfgate's sticky comment."""
COMMENT_LIMIT: Final = 60_000
"""GitHub rejects comment bodies over 65,536 characters; multibyte text fails earlier."""
CHECK_SUMMARY_LIMIT: Final = 65_535
STEP_SUMMARY_LIMIT_BYTES: Final = 1_000_000
COMMENT_NAME_LIMIT: Final = 150
MAX_ATTEMPTS: Final = 4
BACKOFF_S: Final = 2.0
BACKOFF_CAP_S: Final = 30.0
RETRY_BUDGET_S: Final = 30.0
"""Most time one publish waits between retries, all calls together; past it,
publishing gives up on GitHub (in one line) and the verdict stands."""
DEFAULT_BOT: Final = "github-actions[bot]"
_TITLE_LIMIT: Final = 250
MAX_CHARTS: Final = 5

# Ever smaller renderings of the comment; regression rows are never dropped.
_SHRINK_STEPS: Final[tuple[dict[str, Any], ...]] = (
    {},
    {"show_details": False},
    {"show_details": False, "charts": {}},
    {"show_details": False, "charts": {}, "name_limit": 80},
    {"show_details": False, "charts": {}, "name_limit": 40},
)


@dataclass
class PublishResult:
    """What publishing did, for the CLI to report."""

    check_run: Literal["created", "updated", "skipped", "failed", "dry-run"] = "skipped"
    comment: Literal["created", "updated", "skipped", "failed", "dry-run"] = "skipped"
    summary_written: bool = False
    messages: list[str] = field(default_factory=list)
    comparison: Comparison | None = None
    """The verdict as published (after label acceptance): the exit code follows it."""

    def record(self, target: str, outcome: str) -> None:
        """Note what one publisher did."""
        word = outcome.split(":", 1)[0]
        if target == "job summary":
            self.summary_written = word == "written"
        elif target == "check run":
            self.check_run = word  # type: ignore[assignment]
        elif target == "comment":
            self.comment = word  # type: ignore[assignment]
        elif target == "dry run":
            self.check_run = self.comment = "dry-run"


def _charts(comparison: Comparison, history: list[HistoryEntry]) -> dict[str, str]:
    """Trend charts for the benchmarks that moved: every regression or likely
    regression, then the largest other changes beyond the threshold (improvements
    included), at most ``MAX_CHARTS``."""
    moved = (Status.REGRESSION, Status.LIKELY_REGRESSION)
    chosen = [b for b in comparison.movers if b.status in moved]
    chosen += [
        b
        for b in comparison.movers
        if b.status not in moved
        and abs(math.log(b.ratio or 1.0)) > math.log1p(b.threshold_pct / 100)
    ]
    charts: dict[str, str] = {}
    for bench in chosen:
        if len(charts) == MAX_CHARTS:
            break
        if bench.current_value is not None:
            chart = trend_chart(bench.name, history, bench.current_value)
            if chart is not None:
                charts[bench.name] = chart
    return charts


def build_comment(
    comparison: Comparison,
    ctx: GitHubContext,
    config: Config,
    history: list[HistoryEntry],
    *,
    limit: int = COMMENT_LIMIT,
    marker: str = MARKER,
) -> str:
    """The comment body: the markdown report, trend charts and a footer, shrunk
    step by step (details, charts, long names) until it fits ``limit``."""
    base: dict[str, Any] = {
        "c": comparison,
        "marker": marker,
        "run_url": ctx.run_url,
        "head_sha": ctx.head_sha,
        "base_sha": ctx.base_sha,
        "accept_label": config.accept_label,
        "charts": _charts(comparison, history),
        # A comment is read in seconds: very long names are clipped (the
        # uploaded report and results keep them whole).
        "name_limit": COMMENT_NAME_LIMIT,
    }
    body = ""
    for index, step in enumerate(_SHRINK_STEPS):
        body = render_template(
            COMMENT_TEMPLATE, config.template_dir, **{**base, **step, "truncated": index > 0}
        )
        if len(body) <= limit:
            return str(body)
    note = "\n\n… (cut to fit GitHub's size limit; see the full report in the run's artifacts)\n"
    return body[: limit - len(note)] + note


def _message(err: GithubException) -> str:
    data = err.data if isinstance(err.data, dict) else {}
    message = str(data.get("message", "")) or str(err.data or "")
    details = data.get("errors")
    if isinstance(details, list) and details and isinstance(details[0], dict):
        message += f" ({details[0].get('message') or details[0].get('code')})"
    return plain(message)[:300]


def _retryable(err: Exception) -> bool:
    if isinstance(err, requests.RequestException):
        return True
    if isinstance(err, GithubException):
        if err.status >= 500 or err.status == 429:
            return True
        return err.status == 403 and "rate limit" in _message(err).lower()
    return False


def _read_only(err: GithubException) -> bool:
    """A token that may not write here: any 403 that is not a rate limit."""
    return err.status == 403 and "rate limit" not in _message(err).lower()


def _delay_s(err: Exception, attempt: int) -> float:
    headers = getattr(err, "headers", None) or {}
    retry_after = headers.get("retry-after") or headers.get("Retry-After")
    if retry_after is not None:
        try:
            return min(float(str(retry_after)), BACKOFF_CAP_S)
        except ValueError:
            pass
    return float(min(BACKOFF_S * 2**attempt, BACKOFF_CAP_S))


class GitHubClient:
    """perfgate's calls to the GitHub API, through PyGithub, with retries."""

    def __init__(
        self,
        client: Github,
        ctx: GitHubContext,
        config: Config,
        *,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.client = client
        self.ctx = ctx
        self.config = config
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.waited_s = 0.0

    def _call(
        self,
        what: str,
        action: Callable[[], Any],
        reconcile: Callable[[], Any] | None = None,
    ) -> Any:
        """Run one API call with retries on 5xx, 429, rate limits and network errors.

        ``reconcile`` is asked, after a failed attempt and before the next, whether
        the failed call took effect after all (a POST that timed out may have
        created what it was asked to); a non-``None`` answer is returned instead
        of calling again. This is the only retry loop that talks to GitHub."""
        for attempt in range(self.max_attempts):
            try:
                return action()
            except (GithubException, requests.RequestException) as err:
                if isinstance(err, GithubException) and _read_only(err):
                    raise ReadOnlyTokenError(f"{what}: {_message(err)}") from None
                delay = _delay_s(err, attempt)
                out_of_budget = self.waited_s + delay > RETRY_BUDGET_S
                if not _retryable(err) or attempt == self.max_attempts - 1 or out_of_budget:
                    raise self._error(what, err) from None
                self.waited_s += delay
                self.sleep(delay)
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                # A reply PyGithub could not parse (malformed JSON, missing fields):
                # GitHub's problem, reported in one line, never an internal error.
                raise PublishError(
                    f"{what}: GitHub's reply was not understood ({type(err).__name__})"
                ) from None
            if reconcile is not None:
                done = reconcile()
                if done is not None:
                    return done
        raise AssertionError("unreachable")

    @staticmethod
    def _error(what: str, err: Exception) -> PublishError:
        if isinstance(err, GithubException):
            return PublishError(f"{what}: GitHub answered {err.status}: {_message(err)}")
        return PublishError(f"{what}: {type(err).__name__}")

    # --- check run ----------------------------------------------------------------------------

    def check_run_payload(self, comparison: Comparison, summary: str) -> dict[str, Any]:
        title = render_template("headline.txt.j2", self.config.template_dir, c=comparison).strip()
        return {
            "name": self.config.check_name,
            "head_sha": self.ctx.head_sha,
            "status": "completed",
            "conclusion": comparison.conclusion,
            "completed_at": datetime.now(UTC),
            "details_url": self.ctx.run_url,
            "output": {"title": title[:_TITLE_LIMIT], "summary": summary},
        }

    def upsert_check_run(self, payload: dict[str, Any]) -> str:
        """perfgate's one check run on the head commit: found by name and head sha
        and edited (a re-run), or created once; a retried create that took effect
        after all is found and edited, never doubled. Returns "created" or "updated"."""
        repo = self.client.get_repo(self._repository())
        args = {k: v for k, v in payload.items() if v is not None}
        edits = {k: v for k, v in args.items() if k not in ("name", "head_sha")}

        def find() -> Any:
            commit = repo.get_commit(str(payload["head_sha"]))
            for run in commit.get_check_runs(check_name=str(payload["name"])):
                return run
            return None

        def edit(run: Any) -> None:
            self._call("updating the check run", lambda: run.edit(**edits))

        existing = self._call("finding the check run", find)
        if existing is not None:
            edit(existing)
            return "updated"

        def created_after_all() -> str | None:
            run = find()
            if run is None:
                return None
            edit(run)
            return "created"

        def create() -> str:
            repo.create_check_run(**args)
            return "created"

        result: str = self._call("creating the check run", create, reconcile=created_after_all)
        return result

    # --- sticky comment -----------------------------------------------------------------------

    def _author(self) -> str:
        if self.config.comment_author:
            return self.config.comment_author
        try:
            return str(self.client.get_user().login)
        except (GithubException, requests.RequestException, ValueError, KeyError, TypeError):
            # The workflow token is an installation token: it cannot read /user.
            return DEFAULT_BOT

    def _find(self, issue: Issue, author: str) -> IssueComment | None:
        def scan() -> IssueComment | None:
            for comment in issue.get_comments():
                if comment.user.login == author and MARKER in (comment.body or ""):
                    return comment
            return None

        found: IssueComment | None = self._call("listing comments", scan)
        return found

    def upsert_comment(self, body: str, shrink: Callable[[int], str]) -> str:
        """Edit perfgate's comment, or create it once; returns "created" or "updated"."""
        number = self.ctx.pr_number
        assert number is not None
        repo = self.client.get_repo(self._repository())
        issue = self._call("reading the pull request", lambda: repo.get_issue(number))
        author = self._author()
        try:
            return self._write_comment(issue, author, body)
        except PublishError as err:
            if "too long" not in str(err).lower():
                raise
            # GitHub counts differently than we do (multibyte): try a much smaller body.
            return self._write_comment(issue, author, shrink(COMMENT_LIMIT // 4))

    def _edit(self, comment: IssueComment, body: str) -> None:
        self._call("updating the comment", lambda: comment.edit(body))

    def _write_comment(self, issue: Issue, author: str, body: str) -> str:
        existing = self._find(issue, author)
        if existing is not None:
            self._edit(existing, body)
            self._drop_duplicates(issue, author)
            return "updated"

        def created_after_all() -> str | None:
            # The failed POST may have created the comment: edit that one.
            created = self._find(issue, author)
            if created is None:
                return None
            self._edit(created, body)
            return "created"

        def create() -> str:
            issue.create_comment(body)
            return "created"

        result: str = self._call("creating the comment", create, reconcile=created_after_all)
        self._drop_duplicates(issue, author)
        return result

    def _drop_duplicates(self, issue: Issue, author: str) -> None:
        """Two publishes that raced (list, then create) may both have created a
        comment: keep the oldest of ours, delete the others."""

        def ours() -> list[IssueComment]:
            return [
                c
                for c in issue.get_comments()
                if c.user.login == author and MARKER in (c.body or "")
            ]

        found: list[IssueComment] = self._call("listing comments", ours)
        for extra in sorted(found, key=lambda c: c.id)[1:]:
            self._call("deleting a duplicate comment", extra.delete)

    def resolve_pull_request(self) -> tuple[int, tuple[str, ...]] | None:
        """The open pull request whose head is ``ctx.head_sha``, and its labels.

        For ``workflow_run`` publishing from forks, where the trusted payload has
        no pull request number. The pull requests are listed by head repository
        owner and branch (``GET /repos/{repo}/pulls?head=owner:branch``), which
        finds a fork's pull request; ``GET /commits/{sha}/pulls`` lists only pull
        requests of branches in this repository, so it is the fallback for
        same-repository branches."""
        sha = self.ctx.head_sha
        if not sha:
            return None
        repo = self.client.get_repo(self._repository())

        def by_branch() -> tuple[int, tuple[str, ...]] | None:
            if not (self.ctx.head_owner and self.ctx.head_branch):
                return None
            pulls = repo.get_pulls(
                state="open", head=f"{self.ctx.head_owner}:{self.ctx.head_branch}"
            )
            return _matching(pulls, sha)

        def by_commit() -> tuple[int, tuple[str, ...]] | None:
            return _matching(repo.get_commit(sha).get_pulls(), sha)

        found: tuple[int, tuple[str, ...]] | None = self._call(
            "finding the pull request", by_branch
        ) or self._call("finding the pull request", by_commit)
        return found

    # --- rollback proposals ------------------------------------------------------------------

    def upsert_issue(self, marker: str, title: str, body: str, label: str) -> tuple[str, int]:
        """perfgate's one issue carrying ``marker`` (among issues with ``label``, open
        or closed): edited when open, left alone when closed (someone decided), else
        created once; a retried create that took effect after all is found, never
        doubled. Returns ("created" | "updated" | "closed", its number)."""
        repo = self.client.get_repo(self._repository())

        def find() -> Any:
            for issue in repo.get_issues(state="all", labels=[label]):
                if issue.pull_request is None and marker in (issue.body or ""):
                    return issue
            return None

        existing = self._call("finding the rollback issue", find)
        if existing is not None:
            if existing.state == "closed":
                return "closed", int(existing.number)
            self._call("updating the rollback issue", lambda: existing.edit(title=title, body=body))
            return "updated", int(existing.number)

        def created_after_all() -> tuple[str, int] | None:
            issue = find()
            return None if issue is None else ("created", int(issue.number))

        def create() -> tuple[str, int]:
            issue = repo.create_issue(title=title, body=body, labels=[label])
            return "created", int(issue.number)

        result: tuple[str, int] = self._call(
            "creating the rollback issue", create, reconcile=created_after_all
        )
        return result

    def pull_request_of(self, sha: str) -> tuple[int, tuple[str, ...]] | None:
        """The pull request that brought commit ``sha`` (merged or open), and its labels."""
        repo = self.client.get_repo(self._repository())

        def first() -> tuple[int, tuple[str, ...]] | None:
            for pull in repo.get_commit(sha).get_pulls():
                return int(pull.number), tuple(str(label.name) for label in pull.labels)
            return None

        found: tuple[int, tuple[str, ...]] | None = self._call("finding the pull request", first)
        return found

    def open_pull_request(self, *, title: str, body: str, head: str, base: str) -> int:
        """A pull request of branch ``head`` into ``base``."""
        repo = self.client.get_repo(self._repository())

        def create() -> int:
            return int(repo.create_pull(base=base, head=head, title=title, body=body).number)

        number: int = self._call("opening the revert pull request", create)
        return number

    def _repository(self) -> str:
        if not self.ctx.repository:
            raise PublishError("no repository: set GITHUB_REPOSITORY or pass --repo")
        return self.ctx.repository


def _matching(pulls: Any, sha: str) -> tuple[int, tuple[str, ...]] | None:
    """The first pull request whose head is ``sha`` (a later push moves the head)."""
    for pull in pulls:
        if pull.head.sha == sha:
            return int(pull.number), tuple(str(label.name) for label in pull.labels)
    return None


def write_step_summary(path: Path, markdown: str) -> None:
    """Append the report to the job summary (GitHub allows 1 MiB per step)."""
    data = markdown.encode("utf-8")[:STEP_SUMMARY_LIMIT_BYTES].decode("utf-8", "ignore")
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(data + "\n")
    except OSError as err:
        raise PublishError(f"{path}: cannot write the job summary ({err.strerror})") from None


MAX_REPORT_BYTES: Final = 256 * 1024**2
"""A report of the most benchmarks allowed is about 60 MB; anything larger is not one."""


def load_report(path: Path) -> Comparison:
    """Read a ``perfgate compare --format json`` report: untrusted input (a fork's
    artifact), so through the one bounded reader (a regular file within
    :data:`MAX_REPORT_BYTES`) and the model's limits (at most
    ``MAX_REPORT_BENCHMARKS`` benchmarks, every number within its range)."""
    from pydantic import ValidationError

    from perfgate._errors import InputError
    from perfgate._validation import describe_validation_error
    from perfgate.results._readers import read_regular_file

    try:
        data = read_regular_file(path, MAX_REPORT_BYTES)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a report") from None
    except OSError as err:
        raise InputError(f"{path}: cannot read ({err.strerror})") from None
    try:
        return Comparison.model_validate_json(data)
    except ValidationError as err:
        raise InputError(
            f"{path}: not a perfgate report (perfgate compare --format json): "
            f"{describe_validation_error(err)}"
        ) from None


def label_acceptance(comparison: Comparison, ctx: GitHubContext, config: Config) -> Comparison:
    """Accept the regressions of a pull request that carries the acceptance label."""
    from perfgate.verdict._compare import accept_regressions

    if config.accept_label not in ctx.labels or not comparison.blocking:
        return comparison
    who = f" added by @{ctx.label_actor}" if ctx.label_actor else ""
    where = f" on pull request #{ctx.pr_number}" if ctx.pr_number else ""
    return accept_regressions(comparison, f"label `{config.accept_label}`{where}{who}")
