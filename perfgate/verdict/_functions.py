"""Why a count changed: the per-function difference of two profile windows.

Each counted benchmark carries where one call's instructions went
(:class:`perfgate.results._model.FunctionCost`, from callgrind; see
``perfgate/capture/_profile.py``). For a changed benchmark, :func:`explain`
subtracts the baseline's from the current's, function by function:

- **own instructions**: each function's exclusive cost (a Python function's is
  the interpreter running its bytecode; a C function's its machine code). The
  changes in the benchmark's direction, largest first, each with its share of
  the net change (the sum over all functions), are the "where";
- **inside**: the innermost Python function whose *inclusive* change holds at
  least half of the net change (the function whose call tree the extra work
  is in), the way a differential flame graph is read from the top (Gregg,
  "Differential Flame Graphs", 2014);
- **allocator bookkeeping**: the part of the net change in the memory
  allocators' own instructions (CPython's pymalloc, the C library's malloc).
  What one allocation or free costs depends on the heap it finds (how full the
  current pool is, how fragmented the free lists are), that is on everything
  the process allocated before: the same code counted in two processes moved
  1.3% this way, all of it in ``_PyObject_Free`` (docs/why.md). A change that
  allocates more objects also moves the code that builds and destroys them, so
  a change at least :data:`HEAP_ONLY_SHARE` of which is allocator bookkeeping
  is the heap's state, not more work (``heap_only``). callgrind's call counts
  are not used: on attrs' suite the same benchmark's ``_PyObject_Malloc`` read
  3,731 and 4,459 calls in two processes at an identical cost.

Deterministic: the inputs are instruction counts of one call on each side,
exact to a few instructions (docs/why.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from perfgate.results._model import FunctionCost

__all__ = ["Explanation", "FunctionChange", "explain", "is_allocator"]

MIN_SHARE: Final = 0.05
"""A function is listed when its change is at least this share of the net change."""
INSIDE_SHARE: Final = 0.5
LIMIT: Final = 8
HEAP_ONLY_SHARE: Final = 0.9
"""A change at least this share of which is allocator bookkeeping is the heap's."""

_ALLOCATOR: Final = re.compile(
    r"""
    _?Py(?:Object|Mem)(?:_Raw)?_(?:Malloc|Calloc|Realloc|Free)  # CPython's entry points
    | _PyMem_(?:Raw|Debug)\w*
    | pymalloc_\w+ | (?:allocate_from_new|insert_to_used|insert_to_free)pool
    | pymalloc_pool_extend | new_arena | address_in_range | arena_map_\w+
    | _PyObject_(?:Virtual)?Arena\w+
    | (?:__libc_)?(?:malloc|calloc|realloc|free|cfree)  # the C library's
    | _int_(?:malloc|free|realloc)\w* | malloc_consolidate | unlink_chunk
    | sysmalloc\w* | systrim | tcache_\w+ | _?mi_\w+  # mimalloc (free-threaded builds)
    """,
    re.VERBOSE,
)


def is_allocator(function: str) -> bool:
    """Whether ``function`` (a C symbol) belongs to a memory allocator."""
    return _ALLOCATOR.fullmatch(function) is not None


class FunctionChange(BaseModel):
    """One function's own instructions per call, before and after."""

    model_config = ConfigDict(frozen=True)

    function: str
    python: bool
    baseline_instructions: Annotated[int, Field(ge=0)]
    current_instructions: Annotated[int, Field(ge=0)]
    change_instructions: int
    share_pct: float
    """This change as a percentage of the net change (same sign: it explains it)."""
    baseline_calls: Annotated[int, Field(ge=0)]
    current_calls: Annotated[int, Field(ge=0)]


class Explanation(BaseModel):
    """Where a counted benchmark's change went, per call."""

    model_config = ConfigDict(frozen=True)

    change_instructions: int
    """Net change of the profiled call (sum over its functions)."""
    inside: str | None = None
    """The innermost Python function holding at least half of the change."""
    inside_share_pct: float | None = None
    functions: list[FunctionChange] = Field(default_factory=list)
    python_names: bool = True
    """Whether Python functions are named (CPython 3.12+ with perf trampolines)."""
    allocator_change_instructions: int = 0
    """The part of the net change in the memory allocators' own instructions."""

    @property
    def heap_only(self) -> bool:
        """Whether the change is (at least :data:`HEAP_ONLY_SHARE`) the
        allocators' bookkeeping: the heap the process had built, not more work."""
        share = self.allocator_change_instructions / self.change_instructions
        return share >= HEAP_ONLY_SHARE


def _key(cost: FunctionCost) -> tuple[str, bool]:
    return cost.function, cost.python


def explain(
    baseline: Sequence[FunctionCost], current: Sequence[FunctionCost], limit: int = LIMIT
) -> Explanation | None:
    """The per-function change from ``baseline`` to ``current`` (each one call's
    profile), or ``None`` when there is nothing to explain (no net change)."""
    before = {_key(c): c for c in baseline}
    after = {_key(c): c for c in current}
    own = {
        key: (
            before[key].self_instructions if key in before else 0,
            after[key].self_instructions if key in after else 0,
        )
        for key in sorted(before.keys() | after.keys())
    }
    net = sum(new - old for old, new in own.values())
    if net == 0:
        return None
    changes = []
    for key, (old_own, new_own) in own.items():
        delta = new_own - old_own
        share = delta / net
        if share < MIN_SHARE:
            continue
        old, new = before.get(key), after.get(key)
        changes.append(
            FunctionChange(
                function=key[0],
                python=key[1],
                baseline_instructions=old_own,
                current_instructions=new_own,
                change_instructions=delta,
                share_pct=100 * share,
                baseline_calls=old.calls if old else 0,
                current_calls=new.calls if new else 0,
            )
        )
    changes.sort(key=lambda c: (-c.share_pct, c.function))
    inside, inside_share = _inside(before, after, net)
    return Explanation(
        change_instructions=net,
        inside=inside,
        inside_share_pct=inside_share,
        functions=changes[:limit],
        python_names=any(c.python for c in (*baseline, *current)),
        allocator_change_instructions=sum(
            new - old
            for (name, python), (old, new) in own.items()
            if not python and is_allocator(name)
        ),
    )


def _inside(
    before: dict[tuple[str, bool], FunctionCost],
    after: dict[tuple[str, bool], FunctionCost],
    net: int,
) -> tuple[str | None, float | None]:
    """The Python function with the smallest inclusive cost whose inclusive
    change holds at least :data:`INSIDE_SHARE` of ``net``."""
    best: tuple[int, str, float] | None = None
    for key in before.keys() | after.keys():
        if not key[1]:
            continue
        old, new = before.get(key), after.get(key)
        old_all = (old.inclusive_instructions or 0) if old else 0
        new_all = (new.inclusive_instructions or 0) if new else 0
        share = (new_all - old_all) / net
        if share >= INSIDE_SHARE:
            size = max(old_all, new_all)
            if best is None or (size, key[0]) < best[:2]:
                best = (size, key[0], 100 * share)
    if best is None:
        return None, None
    return best[1], min(best[2], 100.0)
