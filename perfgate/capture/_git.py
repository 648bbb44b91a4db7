"""The one way perfgate runs git: for a capture's environment, and for A/B worktrees."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from perfgate._errors import GitError

__all__ = ["git", "git_or_none"]

GIT_TIMEOUT_S: Final = 60.0


def git(
    args: Sequence[str],
    cwd: Path,
    *,
    timeout_s: float = GIT_TIMEOUT_S,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
) -> str:
    """Run ``git ARGS`` in ``cwd`` and return its stripped output, or raise :class:`GitError`.

    ``env`` replaces the environment (for ``GIT_INDEX_FILE`` and commit identities);
    ``stdin`` is written to git's standard input."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
            timeout=timeout_s, env=None if env is None else dict(env), input=stdin,
        )  # fmt: skip
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args)}: no answer in {timeout_s:g} s") from None
    except OSError as err:
        raise GitError(f"git {' '.join(args)}: {err.strerror}") from None
    if done.returncode != 0:
        message = (done.stderr.strip().splitlines() or ["failed"])[-1]
        raise GitError(f"git {' '.join(args)}: {message}")
    return done.stdout.strip()


def git_or_none(args: Sequence[str], cwd: Path, *, timeout_s: float = 5.0) -> str | None:
    """:func:`git`, but ``None`` instead of an error (for optional facts)."""
    try:
        return git(args, cwd, timeout_s=timeout_s)
    except GitError:
        return None
