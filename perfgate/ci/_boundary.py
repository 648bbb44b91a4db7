"""The trust boundary of ``perfgate ci``: pull-request code holds no keys.

A pull request's ``conftest.py``, its benchmarks and whatever they import run
in the benchmark processes, as the same user as perfgate. Around them:

- **Keys taken first.** Before any of that code runs, perfgate reads the event
  (:class:`~perfgate.publish._github_context.GitHubContext`) and takes the
  token, the runner's other tokens and GitHub's command files (``GITHUB_ENV``,
  ``GITHUB_OUTPUT``, ...) out of its own environment, so no child inherits
  them; the token is also blanked in the process's initial environment block,
  which ``/proc/<pid>/environ`` shows to any process of the same user.
- **Nothing outlives the measuring.** On Linux perfgate becomes a child
  subreaper (``prctl(PR_SET_CHILD_SUBREAPER)``): a daemon the pull request
  starts, even a double-forked one, stays perfgate's descendant and is killed
  when measuring ends, before anything is judged or published.
- **What it may have written is undone or refused.** The command files and the
  event file are restored to their bytes from before; the judge's own files
  (its interpreter's library and site-packages, perfgate itself) are
  fingerprinted before and checked after, and a change refuses publishing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import sysconfig
import time
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from perfgate._errors import PerfgateError

__all__ = [
    "COMMAND_FILES",
    "PullRequestCode",
    "judge_files",
    "take_keys",
    "wipe_initial_environment",
]

COMMAND_FILES: Final = (
    "GITHUB_ENV",
    "GITHUB_OUTPUT",
    "GITHUB_PATH",
    "GITHUB_STATE",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_EVENT_PATH",
)
"""Files GitHub reads after the step (or perfgate reads after measuring)."""
_SECRET_WORDS: Final = ("TOKEN", "SECRET", "PASSWORD", "PRIVATE_KEY")
_RUNNER_KEYS: Final = (
    "ACTIONS_RUNTIME_URL",
    "ACTIONS_CACHE_URL",
    "ACTIONS_RESULTS_URL",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
)
_MAX_SNAPSHOT_BYTES: Final = 32 * 1024**2
_PR_SET_CHILD_SUBREAPER: Final = 36
_KILL_ROUNDS: Final = 50


def _is_key(name: str) -> bool:
    upper = name.upper()
    return (
        name in COMMAND_FILES
        or name in _RUNNER_KEYS
        or (upper.startswith("PERFGATE_") and name != "PERFGATE_DEBUG")
        or any(word in upper for word in _SECRET_WORDS)
    )


def take_keys(environ: MutableMapping[str, str]) -> dict[str, str]:
    """Remove every key from ``environ`` (tokens and anything named like a secret,
    the runner's service URLs, GitHub's command files, perfgate's own inputs) and
    return them: children started afterwards inherit none."""
    taken = {name: environ[name] for name in list(environ) if _is_key(name)}
    for name in taken:
        del environ[name]
    return taken


def _stat_fields(stat: Path) -> list[str]:
    """The fields of a ``/proc/<pid>/stat`` after the command name (proc(5) field
    3 is index 0): the name, in parentheses, may itself hold spaces or ')'."""
    return stat.read_text().rsplit(")", 1)[1].split()


def wipe_initial_environment(values: Mapping[str, str]) -> bool:
    """Blank ``values`` (secrets) in this process's initial environment block.

    ``os.environ`` changes do not reach ``/proc/<pid>/environ``: the kernel shows
    the block the process started with, and any process of the same user may
    read it. Linux only (``/proc/self/mem``); returns whether it was done."""
    secrets = [value.encode() for value in values.values() if len(value) >= 8]
    if not secrets or not sys.platform.startswith("linux"):
        return False
    try:
        fields = _stat_fields(Path("/proc/self/stat"))
        start, end = int(fields[47]), int(fields[48])  # proc(5) env_start, env_end
        with Path("/proc/self/mem").open("r+b", buffering=0) as mem:
            mem.seek(start)
            block = mem.read(end - start)
            wiped = block
            for secret in secrets:
                wiped = wiped.replace(secret, b"*" * len(secret))
            if wiped != block:
                mem.seek(start)
                mem.write(wiped)
    except (OSError, ValueError, IndexError):
        return False
    return True


def _snapshot(environ: Mapping[str, str]) -> dict[Path, bytes | None]:
    files: dict[Path, bytes | None] = {}
    for name in COMMAND_FILES:
        value = environ.get(name)
        if not value:
            continue
        path = Path(value)
        try:
            if path.is_file() and path.stat().st_size <= _MAX_SNAPSHOT_BYTES:
                files[path] = path.read_bytes()
            elif not path.exists():
                files[path] = None
        except OSError:
            continue
    return files


def _restore(files: Mapping[Path, bytes | None]) -> tuple[list[str], list[str]]:
    """Put each file back as it was; returns (notes, names that could not be)."""
    notes, failed = [], []
    for path, before in files.items():
        with contextlib.suppress(OSError):
            now = path.read_bytes() if path.exists() else None
            if now == before and not path.is_symlink():
                continue
        try:
            if path.is_symlink():
                path.unlink()
            if before is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(before)
        except OSError as err:
            failed.append(f"{path.name} ({err.strerror})")
            continue
        notes.append(f"{path.name}: changed while the pull request's code ran; restored")
    return notes, failed


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(_stat_fields(entry / "stat")[1]) == pid:  # proc(5) ppid
                found.append(int(entry.name))
    return found


def _kill_descendants() -> int:
    """Kill every process left under this one (orphans come here as subreaper)."""
    me, killed = os.getpid(), 0
    for _ in range(_KILL_ROUNDS):
        left = _children(me)
        if not left:
            break
        for pid in left:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.01)
    return killed


def _set_subreaper() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


@dataclass
class PullRequestCode:
    """Brackets the part of ``perfgate ci`` that runs pull-request code.

    ``with PullRequestCode(environ) as boundary: ...`` snapshots the command and
    event files named in ``environ`` (the environment as the step got it) and the
    judge's files; on leaving, kills what is left, restores the files, and
    :meth:`check` refuses to go on if the judge's files changed."""

    environ: Mapping[str, str]
    notes: list[str] = field(default_factory=list)
    _files: dict[Path, bytes | None] = field(default_factory=dict)
    _judge: dict[str, str] = field(default_factory=dict)
    _reaping: bool = False
    _unrestored: list[str] = field(default_factory=list)

    def __enter__(self) -> PullRequestCode:
        self._files = _snapshot(self.environ)
        self._judge = judge_files()
        self._reaping = _set_subreaper()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._reaping:
            killed = _kill_descendants()
            if killed:
                self.notes.append(
                    f"{killed} process(es) left running by the measured code were stopped"
                )
        notes, self._unrestored = _restore(self._files)
        self.notes.extend(notes)

    def check(self) -> None:
        """Raise if the judge's own files changed while pull-request code ran.

        Bytecode caches (``__pycache__/*.pyc``) that appeared or changed are removed
        instead: another interpreter sharing the standard library may write them
        innocently, and removed, nothing of them can be loaded (Python compiles
        the verified source again). A command or event file that could not be put
        back is refused too: a later step would read what the pull request wrote."""
        if self._unrestored:
            raise PerfgateError(
                "the pull request's code changed GitHub's files and they could not be "
                f"restored ({', '.join(self._unrestored)}): nothing is published from this job"
            )
        now = judge_files()
        changed = sorted(
            {path for path, stamp in now.items() if self._judge.get(path) != stamp}
            | (set(self._judge) - set(now))
        )
        caches = [p for p in changed if p.endswith(".pyc") and "__pycache__" in Path(p).parts]
        for path in caches:
            with contextlib.suppress(OSError):
                Path(path).unlink()
        if caches:
            self.notes.append(f"{len(caches)} bytecode cache file(s) written meanwhile: removed")
        others = [p for p in changed if p not in caches]
        if others:
            raise PerfgateError(
                f"perfgate's own environment changed while the measured code ran ({len(others)} "
                f"file(s), e.g. {others[0]}): nothing is judged or published from this job"
            )


def _roots() -> Iterator[tuple[Path, bool]]:
    """The folders the judge imports from, each with whether to skip the
    ``site-packages`` folders inside it (the base interpreter's, under its
    standard library: the project's packages, which a venv judge never imports)."""
    seen: set[Path] = set()
    paths = sysconfig.get_paths()
    candidates = [(Path(paths[n]), True) for n in ("stdlib", "platstdlib")]
    candidates += [(Path(paths[n]), False) for n in ("purelib", "platlib")]
    candidates.append((Path(__file__).resolve().parents[1], False))
    for path, prune in candidates:
        resolved = path.resolve()
        if resolved.is_dir() and resolved not in seen:
            seen.add(resolved)
            yield resolved, prune


_PROJECT_PACKAGES: Final = frozenset({"site-packages", "dist-packages"})


def judge_files() -> dict[str, str]:
    """A fingerprint of every file the judge may import or read: its interpreter's
    standard library, its site-packages and perfgate's package (``__pycache__``
    included, since Python trusts a matching ``.pyc``).

    Each file's inode, size, modification and *change* time: a write or a rename
    moves the change time, which, unlike the modification time, no process can
    set back (only the clock could), so contents need not be read (0.3 s for
    62,000 files here, against 3 to 14 s for hashing them)."""
    prints: dict[str, str] = {}
    roots = list(_roots())
    own = {root for root, _ in roots}
    for root, prune in roots:
        for dirpath, dirs, names in os.walk(root):
            if prune:
                dirs[:] = [
                    d for d in dirs
                    if d not in _PROJECT_PACKAGES or Path(dirpath, d).resolve() in own
                ]  # fmt: skip
            for name in names:
                path = os.path.join(dirpath, name)  # noqa: PTH118 (72,000 files: str is faster)
                try:
                    st = os.lstat(path)
                except OSError:
                    prints[path] = "unreadable"
                    continue
                prints[path] = f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    return prints
