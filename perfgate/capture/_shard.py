"""One shard of a benchmark suite: a stable split of the collected tests.

A suite too large for one CI job runs as ``n`` jobs of a matrix, each with
``--perfgate-shard i/n``. A test belongs to shard ``1 + h mod n``, where ``h``
is the first eight bytes of the SHA-256 of its node id (``path::Class::test[param]``,
relative to the rootdir): the same test lands in the same shard on every run,
on the base and the head of an A/B, and on every machine, and adding a test
moves no other. Standard library only: this runs in capture.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

__all__ = ["MAX_SHARDS", "parse_shard", "shard_of"]

MAX_SHARDS: Final = 256
_FORM: Final = re.compile(r"^\s*(\d{1,3})\s*/\s*(\d{1,3})\s*$")


def parse_shard(text: str) -> tuple[int, int]:
    """``"2/3"`` → ``(2, 3)``; a clear ``ValueError`` for anything else."""
    match = _FORM.match(text)
    if match is None:
        raise ValueError(f"shard {text!r}: expected I/N, for example 1/3")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise ValueError(f"shard {text!r}: N must be 1 to {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise ValueError(f"shard {text!r}: I must be 1 to {count}")
    return index, count


def shard_of(node_id: str, count: int) -> int:
    """The shard (1 to ``count``) that ``node_id`` belongs to."""
    digest = hashlib.sha256(node_id.encode("utf-8", "surrogatepass")).digest()
    return 1 + int.from_bytes(digest[:8], "big") % count
