"""Per-function costs of one call from a callgrind dump (capture/_profile.py)."""

from __future__ import annotations

import sys
import textwrap

import pytest

from perfgate.capture._profile import (
    dump_pid,
    function_costs,
    perf_map,
    python_frames,
    remove_perf_map,
)

# callgrind's format as valgrind 3.19 writes it with
# --separate-callers1=_PyEval_EvalFrameDefault: compressed names, with the
# file table and the function table numbered independently; relative
# positions; a call with no cost (calls=0); a recursion suffix ('2).
DUMP = textwrap.dedent(
    """\
    # callgrind format
    version: 1
    positions: line
    events: Ir
    summary: 10000

    ob=(1) /usr/lib/libpython3.12.so
    fl=(1) Python/perf_trampoline.c
    fn=(1) py_trampoline_evaluator
    cfn=(2) 0x0000000004000000
    calls=0 0
    0 1
    fn=(2)
    0 4
    cfn=(3) _PyEval_EvalFrameDefault'0x0000000004000000
    calls=1 0
    0 9990
    fl=(2) Python/generated_cases.c.h
    fn=(3)
    +3 300
    fi=(1)
    -1 10
    fe=(2)
    cfn=(4) 0x000000000400000b
    calls=2 0
    * 9000
    cfn=(5) list_contains
    calls=40 0
    0 600
    fn=(4)
    0 8
    cfn=(6) _PyEval_EvalFrameDefault'2'0x000000000400000b
    calls=2 0
    0 8992
    fn=(6)
    0 4000
    cfn=(7) PyObject_RichCompare
    calls=900 0
    0 4992
    fn=(7)
    0 4992
    fn=(5)
    0 600
    fn=(8) 0x0000000004000016
    0 3
    fn=(9) tiny_helper
    0 2
    """
)
MAP = (
    "4000000 b py::Converter.unstructure:/work/project/src/pkg/conv.py\n"
    "400000b b py::Converter._dispatch:/venv/lib/python3.12/site-packages/other/disp.py\n"
    "4000016 b py::_window:/venv/lib/python3.12/site-packages/perfgate/capture/_instructions.py\n"
)


@pytest.fixture
def profile(tmp_path):
    (tmp_path / "callgrind.out.4242.7").write_text(DUMP)
    (tmp_path / "perf-4242.map").write_text(MAP)
    names = perf_map(4242, tmp_path)
    return function_costs(tmp_path / "callgrind.out.4242.7", names, ("/work/project",))


def test_python_functions_get_own_inclusive_and_calls_named_relatively(profile):
    by_name = {entry["function"]: entry for entry in profile}
    top = by_name["Converter.unstructure (src/pkg/conv.py)"]
    assert top == {
        "function": "Converter.unstructure (src/pkg/conv.py)",
        "python": True,
        "calls": 0,  # called before collection started (calls=0)
        "self": 4 + 300 + 10,  # its trampoline and the loop running its bytecode
        "inclusive": 4 + 9990,
    }
    inner = by_name["Converter._dispatch (other/disp.py)"]  # site-packages stripped
    assert (inner["calls"], inner["self"], inner["inclusive"]) == (2, 8 + 4000, 8 + 8992)


def test_c_functions_get_their_own_instructions_and_calls(profile):
    by_name = {entry["function"]: entry for entry in profile}
    assert by_name["PyObject_RichCompare"] == {
        "function": "PyObject_RichCompare", "python": False, "calls": 900,
        "self": 4992, "inclusive": None,
    }  # fmt: skip
    assert by_name["list_contains"]["calls"] == 40


def test_perfgates_own_frame_and_negligible_functions_are_left_out(profile):
    names = [entry["function"] for entry in profile]
    assert not any("_window" in name for name in names)
    assert "tiny_helper" not in names  # 2 of 10,000: under 0.05%
    assert names[0] == "PyObject_RichCompare"  # costliest own instructions first


def test_the_perf_map_is_read_and_removed(tmp_path):
    (tmp_path / "perf-77.map").write_text(MAP + "garbage line\n5000000 b not-python\n")
    assert len(perf_map(77, tmp_path)) == 3
    remove_perf_map(77, tmp_path)
    assert perf_map(77, tmp_path) == {}
    remove_perf_map(77, tmp_path)  # already gone: no error


def test_dump_pid():
    assert dump_pid("callgrind.out.1234.5") == 1234
    assert dump_pid("callgrind.out") is None


def test_python_frames_are_named_where_the_interpreter_has_trampolines():
    with python_frames() as active:
        assert active is (sys.version_info >= (3, 12) and sys.platform == "linux")
    if hasattr(sys, "is_stack_trampoline_active"):
        assert not sys.is_stack_trampoline_active()
