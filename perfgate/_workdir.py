"""``.perfgate/``: where perfgate writes in a project, a folder that ignores itself.

Like pytest's ``.pytest_cache`` and mypy's ``.mypy_cache``, the folder holds a
``.gitignore`` of ``*``, written when the folder is made, so ``git status``
stays clean without the project listing it. ``perfgate ab`` keeps each run's
raw results in ``.perfgate/ab-<time>/``; the newest :data:`KEEP_AB_RUNS` are
kept and older ones removed when a new run starts, and a run that saved
nothing leaves no folder behind.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from perfgate.capture._atomic import write_atomic

__all__ = ["KEEP_AB_RUNS", "WORKDIR", "ab_run_dir", "perfgate_dir"]

WORKDIR: Final = ".perfgate"
KEEP_AB_RUNS: Final = 10
"""A/B run folders kept in ``.perfgate/`` (the newest), as docs/modes.md says."""
_IGNORE: Final = "# Written by perfgate: everything here is perfgate's own output.\n*\n"


def perfgate_dir(path: Path) -> Path:
    """``path`` made (with parents), with its ``.gitignore`` of ``*`` when it is
    perfgate's own folder and has none (a user's own file is never replaced)."""
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if path.name == WORKDIR and not ignore.exists():
        write_atomic(ignore, _IGNORE)
    return path


@contextlib.contextmanager
def ab_run_dir(repo: Path, chosen: Path | None = None) -> Iterator[Path]:
    """The folder for one A/B run's raw results: ``chosen``, or a new
    ``.perfgate/ab-<time>`` after pruning the older ones. Removed again when
    the run ends with nothing in it (a failure before the first round)."""
    if chosen is not None:
        yield perfgate_dir(chosen)
        return
    root = perfgate_dir(repo / WORKDIR)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run = root / f"ab-{stamp}"
    suffix = 1
    while run.exists():
        suffix += 1
        run = root / f"ab-{stamp}-{suffix}"
    _prune(root, KEEP_AB_RUNS - 1)
    run.mkdir()
    try:
        yield run
    finally:
        with contextlib.suppress(OSError):
            if not any(run.iterdir()):
                run.rmdir()


def _prune(root: Path, keep: int) -> None:
    """Remove all but the newest ``keep`` A/B run folders (by name: a time)."""
    runs = sorted(p for p in root.glob("ab-*") if p.is_dir() and not p.is_symlink())
    for old in runs[: max(len(runs) - keep, 0)]:
        shutil.rmtree(old, ignore_errors=True)
