"""Why a count changed: the per-function difference (verdict/_functions.py)."""

from __future__ import annotations

from perfgate.results._model import FunctionCost
from perfgate.verdict._functions import explain


def cost(name, own, *, python=False, calls=1, inclusive=None):
    return FunctionCost(function=name, python=python, calls=calls, self=own, inclusive=inclusive)


# A list scan replaced a dict: the extra work is in C comparison functions,
# called from the Python function that now loops; the caller is unchanged.
BASE = [
    cost("test_unique (bench.py)", 100, python=True, inclusive=12_000),
    cost("unique_words (textkit.py)", 2_000, python=True, inclusive=11_900),
    cost("dict_fromkeys", 6_000, calls=1),
    cost("words (textkit.py)", 500, python=True, inclusive=3_900),
    cost("sre_search", 3_400, calls=6_000),
]
HEAD = [
    cost("test_unique (bench.py)", 100, python=True, inclusive=512_000),
    cost("unique_words (textkit.py)", 20_000, python=True, inclusive=511_900),
    cost("PyObject_RichCompare", 300_000, calls=3_800_000),
    cost("list_contains", 188_000, calls=6_000),
    cost("words (textkit.py)", 500, python=True, inclusive=3_900),
    cost("sre_search", 3_400, calls=6_000),
]


def test_the_change_is_split_by_function_largest_share_first():
    why = explain(BASE, HEAD)
    assert why is not None
    assert why.change_instructions == 500_000  # the sum of every own change
    names = [f.function for f in why.functions]
    assert names == ["PyObject_RichCompare", "list_contains"]  # 60% and 37.6%; 3.6% is below 5%
    first = why.functions[0]
    assert (first.baseline_instructions, first.current_instructions) == (0, 300_000)
    assert first.share_pct == 60.0
    assert (first.baseline_calls, first.current_calls) == (0, 3_800_000)


def test_inside_names_the_innermost_python_function_holding_most_of_it():
    why = explain(BASE, HEAD)
    assert why is not None
    assert why.inside == "unique_words (textkit.py)"  # not its caller, which holds it too
    assert why.inside_share_pct == 100.0
    assert why.python_names


def test_an_improvement_is_explained_by_what_got_cheaper():
    why = explain(HEAD, BASE)
    assert why is not None
    assert why.change_instructions == -500_000
    assert [f.function for f in why.functions] == ["PyObject_RichCompare", "list_contains"]
    assert all(f.change_instructions < 0 and f.share_pct > 0 for f in why.functions)
    assert why.inside == "unique_words (textkit.py)"


def test_nothing_to_explain_without_a_net_change():
    assert explain(BASE, BASE) is None


def test_without_python_frames_only_c_functions_are_named_and_it_says_so():
    c_only = [c for c in BASE if not c.python]
    later = [*c_only, cost("list_contains", 9_000)]
    why = explain(c_only, later)
    assert why is not None
    assert why.inside is None
    assert not why.python_names


def test_allocator_symbols_are_known_and_nothing_else():
    from perfgate.verdict._functions import is_allocator

    for name in ("_PyObject_Free", "PyObject_Malloc", "_PyMem_RawRealloc", "malloc", "free",
                 "_int_malloc", "sysmalloc_mmap", "insert_to_usedpool", "mi_free"):  # fmt: skip
        assert is_allocator(name), name
    for name in ("PyLong_FromLong", "list_resize", "memcpy", "mid_point", "freeze", "dict_free"):
        assert not is_allocator(name), name


def test_a_change_that_is_allocator_bookkeeping_is_the_heaps_more_objects_are_not():
    """The CI failure on 3.12: the same checksum loop counted in two processes,
    +24.5k instructions, all of it in _PyObject_Free."""
    base = [
        cost("checksum (fastlib/__init__.py)", 582_113, python=True, inclusive=1_950_000),
        cost("_PyObject_Free", 300_867, calls=6_422),
        cost("_PyObject_Malloc", 196_512, calls=6_533),
        cost("PyLong_FromLong", 81_920, calls=2_055),
    ]
    heap = [*base[:1], cost("_PyObject_Free", 325_367, calls=6_422), *base[2:]]
    why = explain(base, heap)
    assert why is not None
    assert why.change_instructions == why.allocator_change_instructions == 24_500
    assert why.heap_only

    # More objects: the allocator's cost grows with the code that makes them.
    more = [
        base[0],
        cost("_PyObject_Free", 330_867, calls=7_000),
        cost("_PyObject_Malloc", 216_512, calls=7_100),
        cost("PyLong_FromLong", 121_920, calls=3_055),
    ]
    why = explain(base, more)
    assert why is not None
    assert why.allocator_change_instructions == 50_000
    assert why.change_instructions == 90_000
    assert not why.heap_only
