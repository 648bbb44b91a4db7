"""The one way perfgate runs git: for a capture's environment, and for A/B worktrees."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from perfgate._errors import GitError

__all__ = ["git", "git_or_none", "git_value"]

GIT_TIMEOUT_S: Final = 60.0


def git_value(value: str, what: str) -> str:
    """A value from a flag, an action input or the event, checked before it goes
    on git's command line: one that starts with ``-`` would be read as an option
    (``--upload-pack=CMD`` runs CMD), so it is refused. The calls also put
    ``--end-of-options`` before such values where git reads options."""
    if not value or value.startswith("-") or "\0" in value:
        from perfgate._errors import InputError

        raise InputError(f"{what} {value!r} is not a git name (it must not start with '-')")
    return value


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
