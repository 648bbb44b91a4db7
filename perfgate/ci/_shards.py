"""A suite sharded over a CI matrix: each shard's results, and their merge.

Each job of the matrix runs ``perfgate ci --shard I/N``: it measures its shard
of the benchmarks (``--perfgate-shard``, a stable split by node id,
capture/_shard.py) and writes one :class:`ShardResults` file, which the
action uploads as an artifact. A combining job (``perfgate ci --combine DIR``)
reads every shard's file and merges them run by run into one results file:
one comparison, one check, one comment, and on pushes one set of results on
the data branch. It runs none of the project's code.

The shard files come from jobs that ran pull-request code: they are untrusted
input, read with the bounded reader and validated like any results file, and
must agree (the same N, every shard once, the same commit) or the combination
is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from perfgate._errors import InputError
from perfgate.capture._atomic import write_atomic
from perfgate.capture._shard import MAX_SHARDS
from perfgate.results._model import ResultsFile, Run
from perfgate.results._readers import MAX_RESULTS_BYTES, read_regular_file

__all__ = ["SHARD_FILE", "ShardResults", "merge_shards", "read_shards", "write_shard"]

SHARD_FILE: Final = "shard.json"
SHARD_SCHEMA: Final = "perfgate/shard"


class ShardResults(BaseModel):
    """What one shard's job measured."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    schema_: Literal["perfgate/shard"] = Field(default=SHARD_SCHEMA, alias="schema")
    version: Literal[1] = 1
    shard: Annotated[int, Field(ge=1, le=MAX_SHARDS)]
    of: Annotated[int, Field(ge=1, le=MAX_SHARDS)]
    commit: Annotated[str, Field(pattern=r"^[0-9a-f]{40}$")]
    mode: Literal["stored", "instructions"]
    results: ResultsFile | None = None
    """``None``: no benchmark fell into this shard."""


def write_shard(path: Path, shard: ShardResults) -> None:
    write_atomic(path, shard.model_dump_json(by_alias=True, exclude_none=True, indent=1) + "\n")


def read_shards(directory: Path) -> list[ShardResults]:
    """Every ``shard.json`` under ``directory`` (the downloaded artifacts, one
    folder each), validated; a clear error for a bad or missing one."""
    if not directory.is_dir():
        raise InputError(f"--combine {directory}: no such directory (download the shards first)")
    paths = sorted(directory.rglob(SHARD_FILE))
    if not paths:
        raise InputError(f"--combine {directory}: no {SHARD_FILE} in it (did the shard jobs run?)")
    if len(paths) > MAX_SHARDS:
        raise InputError(f"--combine {directory}: {len(paths)} shard files, at most {MAX_SHARDS}")
    shards = []
    for path in paths:
        try:
            text = read_regular_file(path, MAX_RESULTS_BYTES)
        except OSError as err:
            raise InputError(f"{path}: cannot read it ({err.strerror})") from None
        try:
            shards.append(ShardResults.model_validate_json(text))
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise InputError(
                f"{path}: not a perfgate shard file ({where}: {first['msg']})"
            ) from None
    return shards


def merge_shards(shards: list[ShardResults], commit: str) -> tuple[ResultsFile, str]:
    """The shards' results as one file (run ``k`` holds every shard's run ``k``)
    and their mode; refused unless they are every shard of one split of ``commit``."""
    counts = {s.of for s in shards}
    if len(counts) != 1:
        raise InputError(f"the shards disagree on their number: {sorted(counts)}")
    count = counts.pop()
    indices = sorted(s.shard for s in shards)
    if indices != list(range(1, count + 1)):
        missing = sorted(set(range(1, count + 1)) - set(indices))
        doubled = sorted({i for i in indices if indices.count(i) > 1})
        raise InputError(
            f"need every shard of {count} once: "
            + ", ".join(
                part
                for part in (
                    f"missing {', '.join(map(str, missing))}" if missing else "",
                    f"twice {', '.join(map(str, doubled))}" if doubled else "",
                )
                if part
            )
        )
    strangers = sorted({s.commit[:12] for s in shards if s.commit != commit})
    if strangers:
        raise InputError(
            f"shards measured another commit ({', '.join(strangers)}), not {commit[:12]}"
        )
    modes = {s.mode for s in shards}
    if len(modes) != 1:
        raise InputError(f"the shards measured in different modes: {sorted(modes)}")
    files = [s.results for s in sorted(shards, key=lambda s: s.shard) if s.results is not None]
    if not files:
        raise InputError("no benchmark was measured in any shard")
    width = max(len(f.runs) for f in files)
    runs = []
    for index in range(width):
        parts = [f.runs[index] for f in files if index < len(f.runs)]
        benchmarks = [bench for part in parts for bench in part.benchmarks]
        names = [bench.name for bench in benchmarks]
        if len(set(names)) != len(names):
            twice = sorted({name for name in names if names.count(name) > 1})
            raise InputError(f"{twice[0]}: measured by two shards")
        runs.append(
            Run(
                started_at=min(part.started_at for part in parts),
                environment=parts[0].environment,
                benchmarks=tuple(benchmarks),
            )
        )
    return ResultsFile(environment=files[0].environment, runs=tuple(runs)), modes.pop()
