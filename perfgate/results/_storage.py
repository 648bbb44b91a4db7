"""Write files atomically, and merge results files.

A write goes to a temporary file in the target's directory, is fsynced, and
replaces the target with ``os.replace``; a crash at any point leaves either
the old file or the new one, never a torn mix.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from perfgate._errors import InputError, WriteError
from perfgate.results._model import Environment, ResultsFile, Run

__all__ = ["merge_results", "save_results", "write_atomic"]

_DEFAULT_MODE = 0o644


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` atomically: temp file, fsync, rename, fsync dir."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    directory = path.parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    except OSError as err:
        raise WriteError(f"{path}: cannot write ({err.strerror})") from None
    try:
        # mkstemp creates 0600; give the file the target's mode, or a normal one.
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = _DEFAULT_MODE
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(err, OSError):
            raise WriteError(f"{path}: cannot write ({err.strerror})") from None
        raise
    # Make the rename itself durable; not every platform can open a directory.
    with contextlib.suppress(OSError):
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_results(path: Path, results: ResultsFile) -> None:
    """Write a results file atomically."""
    write_atomic(path, results.to_json())


def _delta(file_env: Environment, run_env: Environment) -> dict[str, object]:
    ours, theirs = file_env.model_dump(), run_env.model_dump()
    return {k: v for k, v in theirs.items() if v is not None and ours.get(k) != v}


def merge_results(inputs: Sequence[ResultsFile]) -> ResultsFile:
    """Combine results files; every input run stays a separate run.

    The merged file's environment is the first input's. Each run keeps, in its
    own ``environment``, the fields where its file differed (e.g. another
    commit), so nothing is lost.
    """
    if not inputs:
        raise InputError("merge needs at least one input")
    base_env = inputs[0].environment
    runs: list[Run] = []
    for results in inputs:
        delta = _delta(base_env, results.environment)
        for run in results.runs:
            merged_env = {**delta, **run.environment}
            runs.append(run.model_copy(update={"environment": merged_env}) if merged_env else run)
    return ResultsFile(environment=base_env, runs=tuple(runs))
