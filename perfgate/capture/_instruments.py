"""Instruments: what measures a benchmarked call, behind one small interface.

pytest-benchmark times the call (wall time, its rounds and raw samples); the
instruments here measure *the same call* again after it has been timed, each
in its own way. :func:`measure_after_benchmark` makes a test's ``benchmark``
fixture hand the call over.

- :class:`WallTime`: rounds of ``time.perf_counter`` (the ``perf_run`` fixture's
  callables, and anything not timed by pytest-benchmark);
- :class:`Counters`: file-system calls, bytes read and written, peak allocation;
- :class:`Instructions`: instruction counts, inside the process that valgrind runs
  (the counts are read afterwards from callgrind's dumps by :func:`read_counts`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from perfgate.capture._records import BenchmarkRecord

__all__ = ["Counters", "Instructions", "Instrument", "WallTime", "measure_after_benchmark"]

Call = Callable[[], object]


class Instrument(Protocol):
    """Measures one call of a benchmark and returns what it measured."""

    def measure(self, name: str, call: Call) -> Sequence[BenchmarkRecord]: ...


class WallTime:
    """Wall time of ``rounds`` calls after ``warmup`` calls, in seconds."""

    def __init__(self, *, rounds: int, warmup: int = 0) -> None:
        self.rounds, self.warmup = rounds, warmup

    def measure(self, name: str, call: Call) -> Sequence[BenchmarkRecord]:
        from perfgate.capture._commands import time_callable

        samples = time_callable(call, rounds=self.rounds, warmup=self.warmup)
        return [BenchmarkRecord(name=name, samples=tuple(samples))]


class Counters:
    """Deterministic per-call counters (see :mod:`perfgate.capture._counters`)."""

    def measure(self, name: str, call: Call) -> Sequence[BenchmarkRecord]:
        from perfgate.capture._counters import measure_counters

        return measure_counters(name, call)


class Instructions:
    """Instruction counts under callgrind; only meaningful in the process valgrind runs."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir

    def measure(self, name: str, call: Call) -> Sequence[BenchmarkRecord]:
        from perfgate.capture._instructions import count_in_child

        count_in_child(name, call, self.out_dir)
        return []  # read from the dumps by the parent (read_counts)


def measure_after_benchmark(item: Any, after: Callable[[Call], None]) -> None:
    """Make the test's ``benchmark`` fixture call ``after`` with the benchmarked call,
    once pytest-benchmark has timed it. The fixture object stays a
    ``BenchmarkFixture`` (a subclass), so pytest-benchmark's own checks hold."""
    fixture: Any = getattr(item, "funcargs", {}).get("benchmark")
    if fixture is None:
        return
    fixture.__class__ = _measuring_fixture_class(type(fixture))
    fixture.perfgate_after = after


_MEASURING_CLASSES: dict[type, type] = {}


def _measuring_fixture_class(base: type) -> type:
    if base in _MEASURING_CLASSES.values():
        return base
    if base not in _MEASURING_CLASSES:

        class MeasuringFixture(base):  # type: ignore[misc]
            perfgate_after: Callable[[Call], None]

            def __call__(self, function_to_benchmark: Any, *args: Any, **kwargs: Any) -> Any:
                result = super().__call__(function_to_benchmark, *args, **kwargs)
                self.perfgate_after(lambda: function_to_benchmark(*args, **kwargs))
                return result

            def pedantic(
                self,
                target: Any,
                args: Any = (),
                kwargs: Any = None,
                setup: Any = None,
                **options: Any,
            ) -> Any:
                result = super().pedantic(target, args=args, kwargs=kwargs, setup=setup, **options)

                def again() -> object:
                    call_args, call_kwargs = (args, kwargs or {})
                    if setup is not None:
                        made = setup()
                        if made is not None:
                            call_args, call_kwargs = made
                    return target(*call_args, **call_kwargs)

                self.perfgate_after(again)
                return result

        _MEASURING_CLASSES[base] = MeasuringFixture
    return _MEASURING_CLASSES[base]
