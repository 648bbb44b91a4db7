"""Where instruction counts mislead: the same instructions, a different time.

Each case has a ``base`` and a ``changed`` variant whose change a count cannot
see (or sees wrongly). ``instructions.py`` measures them in
``--perfgate-mode=time+instructions`` and puts both ratios in docs/accuracy.md.
"""

from __future__ import annotations

import os
import random
import tempfile
import threading
import time

import pytest

_SIZE = 200_000
_VALUES = list(range(_SIZE))
_SEQUENTIAL = list(range(_SIZE))
_SHUFFLED = _SEQUENTIAL[:]
random.Random(0).shuffle(_SHUFFLED)
# Objects allocated in order, then visited in order or scattered: the same
# bytecode and nearly the same instructions, but cache misses differ.
_OBJECTS = [[i] for i in range(_SIZE)]
_SCATTERED = _OBJECTS[:]
random.Random(1).shuffle(_SCATTERED)


def _sleep(changed: bool) -> None:
    time.sleep(0.004 if changed else 0.002)


def _fsync(changed: bool) -> None:
    with tempfile.NamedTemporaryFile() as handle:
        handle.write(b"x" * 4096)
        handle.flush()
        if changed:
            os.fsync(handle.fileno())


def _thread(changed: bool) -> None:
    # The changed variant waits for a thread that sleeps: the caller's
    # instructions barely change, its wall time does.
    done = threading.Event()
    worker = threading.Thread(target=lambda: (time.sleep(0.002 if changed else 0), done.set()))
    worker.start()
    worker.join()


def _memory(changed: bool) -> None:
    total = 0
    for item in _SCATTERED if changed else _OBJECTS:
        total += item[0]


CASES = {"sleep": _sleep, "fsync": _fsync, "thread": _thread, "memory": _memory}


@pytest.mark.parametrize("variant", ["base", "changed"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_mislead(benchmark, case, variant):
    benchmark(CASES[case], variant == "changed")
