"""Pause Python's cyclic garbage collector while large acyclic data is built.

Reading a results file of 10,000 benchmarks × 3 runs creates hundreds of
thousands of container objects and no reference cycles; the collector's
generational passes, triggered by the allocations alone, cost as much as the
reading (measured: 0.8 s of 2.2 s; docs/architecture.md). Paused, they cost
nothing; the collector resumes, in whatever state it was, on the way out.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collector_paused"]


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
