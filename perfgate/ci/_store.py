"""Baselines made where they are used: results kept on a data branch of the repository.

On pushes to the default branch, ``perfgate ci`` measures the commit and stores
its results as ``results/<sha>.json`` on a data branch (``perfgate-data`` by
default), with one line per commit in ``history.jsonl`` for the trend charts.
A pull request's run reads the results of its base commit (or the nearest
ancestor that has some) from that branch. Nobody commits baselines by hand, and
CI compares with numbers from the same kind of runner.

The branch is written with git plumbing (a private index, ``commit-tree``,
``push``), so the checked-out work tree is never touched. Two pushes that race
are resolved by rebuilding the commit on the branch's new tip and pushing again.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from perfgate._errors import GitError, PerfgateError
from perfgate.capture._git import git, git_or_none, git_value
from perfgate.report._history import HistoryEntry, append_history, load_history
from perfgate.results._model import ResultsFile
from perfgate.results._readers import parse_results
from perfgate.results._storage import summarised

__all__ = ["DATA_BRANCH", "DataBranch", "StoredBaseline", "first_parent_base", "token_auth_env"]

DATA_BRANCH: Final = "perfgate-data"
HISTORY_FILE: Final = "history.jsonl"
KEEP_FULL_RESULTS: Final = 100
"""Commits whose results keep every sample; older ones keep summaries."""
RESULTS_DIR: Final = "results"
# Where the fetched branch is kept locally (outside refs/heads: never checked out).
_LOCAL_REFS: Final = "refs/perfgate/branches"
_PUSH_ATTEMPTS: Final = 5
# How far back from the base commit a baseline is looked for.
_ANCESTORS: Final = 50
_IDENTITY: Final = {
    "GIT_AUTHOR_NAME": "perfgate",
    "GIT_AUTHOR_EMAIL": "perfgate@users.noreply.github.com",
    "GIT_COMMITTER_NAME": "perfgate",
    "GIT_COMMITTER_EMAIL": "perfgate@users.noreply.github.com",
}


@dataclass(frozen=True)
class StoredBaseline:
    commit: str
    """The commit these results measured."""
    results: ResultsFile
    exact: bool
    """``True`` when ``commit`` is the base itself, not an older ancestor."""


class DataBranch:
    """The data branch of one repository, through one remote."""

    def __init__(
        self,
        repo: Path,
        remote: str = "origin",
        branch: str = DATA_BRANCH,
        auth_env: Mapping[str, str] | None = None,
    ) -> None:
        self.repo = repo
        self.remote = remote
        self.branch = branch
        self._auth_env = dict(auth_env or {})
        self.local_ref = f"{_LOCAL_REFS}/{branch}"
        """Where the fetched branch is kept locally (never checked out)."""
        """Only for the fetch and the push (see :func:`token_auth_env`)."""

    def _remote_env(self) -> dict[str, str] | None:
        return {**os.environ, **self._auth_env} if self._auth_env else None

    def fetch(self) -> bool:
        """Bring the branch's tip to the local ref; ``False`` when it does not exist yet."""
        refspec = f"+refs/heads/{self.branch}:{self.local_ref}"
        try:
            git(
                ["fetch", "--quiet", "--no-tags", "--end-of-options", self.remote, refspec],
                self.repo,
                env=self._remote_env(),
            )
        except GitError as err:
            if "couldn't find remote ref" in str(err).lower():
                return False
            raise
        return True

    def _tip(self) -> str | None:
        return git_or_none(
            ["rev-parse", "--verify", "--quiet", f"{self.local_ref}^{{commit}}"], self.repo
        )

    def read(self, path: str) -> str | None:
        """A file of the fetched branch, or ``None``."""
        if self._tip() is None:
            return None
        return git_or_none(["show", f"{self.local_ref}:{path}"], self.repo, timeout_s=60)

    def history(self, warn: Callable[[str], None]) -> list[HistoryEntry]:
        text = self.read(HISTORY_FILE)
        if not text:
            return []
        with tempfile.TemporaryDirectory(prefix="perfgate-history-") as scratch:
            path = Path(scratch) / HISTORY_FILE
            path.write_text(text + "\n", encoding="utf-8")
            return load_history(path, warn)

    def baseline_for(self, base: str, warn: Callable[[str], None]) -> StoredBaseline | None:
        """The stored results of ``base``, or of its nearest first-parent ancestor
        that has some (a push whose measuring failed leaves a gap)."""
        if self._tip() is None:
            return None
        ancestry = git_or_none(
            ["rev-list", "--first-parent", f"--max-count={_ANCESTORS}", base], self.repo
        )
        candidates = ancestry.split() if ancestry else [base]
        stored = set(self._stored_commits())
        for commit in candidates:
            if commit in stored:
                text = self.read(f"{RESULTS_DIR}/{commit}.json")
                if text is None:
                    continue
                name = f"{self.branch}:{RESULTS_DIR}/{commit}.json"
                return StoredBaseline(commit, parse_results(text, name, warn), commit == base)
        return None

    def _stored_commits(self) -> list[str]:
        listing = git_or_none(
            ["ls-tree", "--name-only", f"{self.local_ref}:{RESULTS_DIR}"], self.repo
        )
        return [name.removesuffix(".json") for name in (listing or "").split()]

    def store(
        self,
        commit: str,
        results_json: str,
        entry: HistoryEntry,
        warn: Callable[[str], None],
        keep_full: int = KEEP_FULL_RESULTS,
    ) -> str:
        """Add ``results/<commit>.json`` and the commit's history line, and push.
        Returns the data branch's new commit.

        Nothing is dropped: every measured commit keeps its history line and its
        results file. The results of commits older than the newest ``keep_full``
        are compacted to summaries (:func:`summarised`): pull requests are based
        on recent commits, and history needs only the summary line."""

        def build(parent: str | None, env: dict[str, str], scratch: Path) -> str:
            history_path = scratch / HISTORY_FILE
            old = self.read(HISTORY_FILE) if parent else None
            if old:
                history_path.write_text(old + "\n", encoding="utf-8")
            append_history(history_path, entry, None, warn)
            order = [e.commit for e in load_history(history_path, warn) if e.commit]
            stored = set(self._stored_commits()) if parent else set()
            # The few that just left the window (a window of 16 more: a re-run or a
            # failed push leaves no file uncompacted for long).
            for old_commit in order[-(keep_full + 16) : -keep_full] if keep_full else order:
                if old_commit in stored and old_commit != commit:
                    self._compact(env, old_commit, warn)
            self._add(env, f"{RESULTS_DIR}/{commit}.json", results_json)
            self._add(env, HISTORY_FILE, history_path.read_text(encoding="utf-8"))
            return f"perfgate: baseline of {commit[:12]}"

        return self._write(build)

    def write_files(self, files: Mapping[str, str], message: str) -> str:
        """Add or replace ``files`` (path: text) on the branch, and push."""

        def build(parent: str | None, env: dict[str, str], scratch: Path) -> str:
            for path, text in files.items():
                self._add(env, path, text)
            return message

        return self._write(build)

    def push_revert(self, commit: str, onto: str) -> str | None:
        """Push a branch ``perfgate/revert-<commit>`` holding ``git revert <commit>``
        on top of ``onto``; None when the revert does not apply cleanly. Made in a
        scratch worktree: the checked-out work tree is never touched."""
        branch = f"perfgate/revert-{commit[:12]}"
        with tempfile.TemporaryDirectory(prefix="perfgate-revert-") as scratch:
            tree = Path(scratch) / "tree"
            git(["worktree", "add", "--detach", "--quiet", str(tree), onto], self.repo)
            try:
                env = {**os.environ, **_IDENTITY}
                try:
                    git(["revert", "--no-edit", "--end-of-options", commit], tree, env=env)
                except GitError:
                    return None
                tip = git(["rev-parse", "HEAD"], tree)
                git(
                    ["push", "--quiet", "--force", "--end-of-options", self.remote,
                     f"{tip}:refs/heads/{branch}"],
                    self.repo, env=self._remote_env(),
                )  # fmt: skip
            finally:
                git(["worktree", "remove", "--force", str(tree)], self.repo)
        return branch

    def _compact(self, env: dict[str, str], commit: str, warn: Callable[[str], None]) -> None:
        path = f"{RESULTS_DIR}/{commit}.json"
        text = self.read(path)
        if text is None:
            return
        try:
            compact = summarised(parse_results(text, f"{self.branch}:{path}", warn))
        except PerfgateError as err:
            warn(f"{self.branch}:{path}: left as it is ({err})")
            return
        compacted = compact.to_json()
        if len(compacted) < len(text):
            self._add(env, path, compacted)

    def _write(self, build: Callable[[str | None, dict[str, str], Path], str]) -> str:
        """Build a commit on the branch's tip with a private index and push it; a
        push that lost a race is rebuilt on the new tip."""
        for attempt in range(_PUSH_ATTEMPTS):
            exists = self.fetch()
            parent = self._tip() if exists else None
            with tempfile.TemporaryDirectory(prefix="perfgate-data-") as scratch_name:
                scratch = Path(scratch_name)
                env = {**os.environ, **_IDENTITY, "GIT_INDEX_FILE": str(scratch / "index")}
                git(
                    ["read-tree", parent] if parent else ["read-tree", "--empty"],
                    self.repo,
                    env=env,
                )
                message = build(parent, env, scratch)
                self._add(env, "README.md", _README)
                tree = git(["write-tree"], self.repo, env=env)
                args = ["commit-tree", tree, "-m", message, *(["-p", parent] if parent else [])]
                tip = git(args, self.repo, env=env)
            try:
                git(
                    ["push", "--quiet", "--end-of-options", self.remote,
                     f"{tip}:refs/heads/{self.branch}"],
                    self.repo, env=self._remote_env(),
                )  # fmt: skip
                git(["update-ref", self.local_ref, tip], self.repo)
                return tip
            except GitError as err:
                if attempt == _PUSH_ATTEMPTS - 1:
                    raise GitError(
                        f"could not push to {self.remote} {self.branch} after "
                        f"{_PUSH_ATTEMPTS} attempts ({err}); does the job have "
                        "`permissions: contents: write`?"
                    ) from None
        raise AssertionError("unreachable")

    def _add(self, env: dict[str, str], path: str, text: str) -> None:
        blob = git(["hash-object", "-w", "--stdin"], self.repo, env=env, stdin=text)
        git(["update-index", "--add", "--cacheinfo", f"100644,{blob},{path}"], self.repo, env=env)


def token_auth_env(
    token: str | None, server_url: str, environ: Mapping[str, str]
) -> dict[str, str]:
    """Git configuration, through the environment of one git process, that sends
    ``token`` to ``server_url`` as actions/checkout does (an HTTP extra header).

    The workflow's checkout can then keep no credentials in ``.git/config``
    (``persist-credentials: false``), where a pull request's code would read
    them; the header lives only in the fetch and push that perfgate runs itself,
    never in a benchmark process, and never on a command line."""
    if not token:
        return {}
    import base64

    index = int(environ.get("GIT_CONFIG_COUNT", "0") or 0)
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": str(index + 1),
        f"GIT_CONFIG_KEY_{index}": f"http.{server_url.rstrip('/')}/.extraheader",
        f"GIT_CONFIG_VALUE_{index}": f"AUTHORIZATION: basic {basic}",
    }


def first_parent_base(repo: Path, candidates: Sequence[str]) -> str | None:
    """The first of ``candidates`` that names a commit here (the merge-base, else the base)."""
    for ref in candidates:
        name = git_value(ref, "commit")
        sha = git_or_none(
            ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{name}^{{commit}}"], repo
        )  # fmt: skip
        if sha:
            return sha
    return None


_README: Final = """\
# perfgate data

Written by perfgate's GitHub Action on pushes to the default branch; do not edit.

- `results/<commit>.json`: the benchmark results of that commit (perfgate's results format),
  the baseline of pull requests based on it;
- `history.jsonl`: one summary line per measured commit, every one kept (history,
  change points, drift, the dashboard);
- `steps.jsonl`: the steps perfgate has bisected, and what it proposed for each;
- `evidence/<commit>/`: the A/B reports that named and confirmed a step's commit.

The results of commits older than the newest 100 keep summaries, not samples.
"""
