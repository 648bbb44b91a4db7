"""The worker side of lock-step A/B: rounds on a coordinator's turn token.

``perfgate ab`` starts one pytest process per side (``--perfgate-lockstep``),
each in its own tree and interpreter. In those processes perfgate takes over the
``benchmark`` fixture: when a test calls it, the worker calibrates how many
calls make one round, tells the coordinator it is ready, and then times one
round each time the coordinator hands it the turn, until told it is done. The
coordinator (``perfgate/ab/_lockstep.py``) alternates the two sides' rounds of
the same benchmark milliseconds apart, so that a disturbance of the machine,
which comes and goes on a sub-second scale (``NOISE.md`` §5), hits both.

``benchmark(fn, *args, **kwargs)``, ``benchmark.pedantic(target, args, kwargs,
setup=..., iterations=...)`` and ``@pytest.mark.benchmark(group=...)`` keep
working; the number of rounds is the coordinator's (it spends the time budget),
not ``pedantic``'s ``rounds``.

Messages are JSON lines on a loopback TCP connection, first authenticated with
a key from the environment. Standard library and pytest only (capture side).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import socket
import time
from collections.abc import Callable
from typing import Any, Final

import pytest

__all__ = [
    "LOCKSTEP_CPU_ENV",
    "LOCKSTEP_KEY_ENV",
    "LOCKSTEP_ROUND_MS_ENV",
    "LOCKSTEP_SIDE_ENV",
    "LockstepBenchmark",
    "LockstepWorker",
    "ProtocolError",
    "calibrate",
]

LOCKSTEP_KEY_ENV: Final = "PERFGATE_LOCKSTEP_KEY"
LOCKSTEP_SIDE_ENV: Final = "PERFGATE_LOCKSTEP_SIDE"
LOCKSTEP_ROUND_MS_ENV: Final = "PERFGATE_LOCKSTEP_ROUND_MS"
LOCKSTEP_CPU_ENV: Final = "PERFGATE_LOCKSTEP_CPU"
"""The CPU the worker pins itself to (where the OS allows it), if set."""
DEFAULT_ROUND_MS: Final = 10.0
MAX_CALLS_PER_ROUND: Final = 1_000_000


class ProtocolError(RuntimeError):
    """The coordinator went away or said something unexpected."""


class Channel:
    """JSON lines over a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = sock.makefile("rb")

    def send(self, message: dict[str, Any]) -> None:
        self._sock.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n")

    def receive(self) -> dict[str, Any]:
        line = self._reader.readline()
        if not line:
            raise ProtocolError("the coordinator closed the connection")
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ProtocolError(f"unexpected message {line[:80]!r}")
        return message

    def close(self) -> None:
        self._reader.close()
        self._sock.close()


def calibrate(
    one_round: Callable[[int], int], target_ns: int, *, limit: int = MAX_CALLS_PER_ROUND
) -> int:
    """The calls per round that take at least ``target_ns``: double (or scale up)
    from one call until a timed batch reaches the target. ``one_round(n)`` runs
    ``n`` calls and returns the nanoseconds they took."""
    calls = 1
    while True:
        took = one_round(calls)
        if took >= target_ns or calls >= limit:
            return calls
        grow = 2 if took <= 0 else min(10.0, max(2.0, 1.2 * target_ns / took))
        calls = min(limit, math.ceil(calls * grow))


class LockstepWorker:
    """A pytest plugin object: the lock-step side of one worker process."""

    def __init__(self, address: str, key: str, side: str, round_ms: float) -> None:
        host, _, port = address.rpartition(":")
        try:
            sock = socket.create_connection((host, int(port)), timeout=60)
        except (OSError, ValueError) as err:
            raise pytest.UsageError(f"perfgate: cannot reach the A/B coordinator: {err}") from None
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.channel = Channel(sock)
        self.side = side
        self.round_ns = int(round_ms * 1e6)
        self._outcomes: dict[str, str] = {}
        self.channel.send({"op": "hello", "key": key, "side": side, "pid": os.getpid()})

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Keep the benchmarks only, in the order the coordinator gives both sides."""
        benchmarks = [i for i in items if "benchmark" in getattr(i, "fixturenames", ())]
        self.channel.send(
            {
                "op": "tests",
                "tests": [item.nodeid for item in benchmarks],
                "errors": session.testsfailed,  # collection errors so far
            }
        )
        reply = self.channel.receive()
        order = [str(name) for name in reply.get("order", [])]
        by_id = {item.nodeid: item for item in benchmarks}
        kept = [by_id[name] for name in order if name in by_id]
        dropped = [item for item in items if item.nodeid not in set(order)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = kept

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self._outcomes[report.nodeid] = "failed"
        elif report.skipped:
            self._outcomes.setdefault(report.nodeid, "skipped")

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        outcome = self._outcomes.pop(nodeid, "passed")
        self.channel.send({"op": "end", "test": nodeid, "outcome": outcome})

    def pytest_sessionfinish(self) -> None:
        with contextlib.suppress(OSError):
            self.channel.send({"op": "bye"})
        self.channel.close()

    def measure(
        self,
        test: str,
        group: str | None,
        one_round: Callable[[int], int],
        calls: int | None,
    ) -> None:
        """Report ready, then time rounds on the coordinator's turns until done.
        ``calls``: fixed calls per round (``None``: calibrate to the round target)."""
        calls = calls or calibrate(one_round, self.round_ns)
        self.channel.send({"op": "ready", "test": test, "group": group, "calls": calls})
        while True:
            command = self.channel.receive()
            op = command.get("op")
            if op == "round":
                calls = int(command.get("calls", calls))
                self.channel.send({"op": "took", "ns": one_round(calls), "calls": calls})
            elif op == "done":
                return
            else:
                raise ProtocolError(f"unexpected command {op!r}")


class LockstepBenchmark:
    """What the ``benchmark`` fixture is in a lock-step worker."""

    def __init__(self, worker: LockstepWorker, node: pytest.Item) -> None:
        self._worker = worker
        self._node = node
        marker = node.get_closest_marker("benchmark")
        self.group: str | None = marker.kwargs.get("group") if marker else None
        self.name = node.name
        self.fullname = node.nodeid
        self.extra_info: dict[str, Any] = {}
        self.stats = None
        self._used = False

    def __call__(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._start()
        result = function(*args, **kwargs)  # a first, untimed call (also warms up)

        def one_round(calls: int) -> int:
            started = time.perf_counter_ns()
            for _ in range(calls):
                function(*args, **kwargs)
            return time.perf_counter_ns() - started

        self._worker.measure(self.fullname, self.group, one_round, None)
        return result

    def pedantic(
        self,
        target: Callable[..., Any],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
        setup: Callable[[], Any] | None = None,
        rounds: int = 1,
        warmup_rounds: int = 0,
        iterations: int = 1,
    ) -> Any:
        """pytest-benchmark's ``pedantic``: with ``setup``, each round calls it
        (untimed) and then times one call with what it returns; without, like a
        plain call with at least ``iterations`` calls per round."""
        self._start()
        if setup is not None and iterations != 1:
            raise ValueError("Can't use more than 1 `iterations` with a `setup` function.")
        kwargs = kwargs or {}

        def prepared() -> tuple[tuple[Any, ...], dict[str, Any]]:
            if setup is None:
                return args, kwargs
            made = setup()
            return made if made is not None else (args, kwargs)

        for _ in range(max(0, warmup_rounds)):
            call_args, call_kwargs = prepared()
            target(*call_args, **call_kwargs)
        call_args, call_kwargs = prepared()
        result = target(*call_args, **call_kwargs)

        def one_round(calls: int) -> int:
            if setup is not None:
                call_args, call_kwargs = prepared()
                started = time.perf_counter_ns()
                target(*call_args, **call_kwargs)
                return time.perf_counter_ns() - started
            started = time.perf_counter_ns()
            for _ in range(calls):
                target(*args, **kwargs)
            return time.perf_counter_ns() - started

        fixed = 1 if setup is not None else None
        if fixed is None and iterations > 1:
            fixed = max(iterations, calibrate(one_round, self._worker.round_ns))
        self._worker.measure(self.fullname, self.group, one_round, fixed)
        return result

    def _start(self) -> None:
        if self._used:
            raise RuntimeError(
                "the benchmark fixture can only be used once per test (as in pytest-benchmark)"
            )
        self._used = True


WORKER_KEY: pytest.StashKey[LockstepWorker] = pytest.StashKey()


def start_worker(config: pytest.Config, address: str) -> None:
    """Connect to the coordinator and take over the ``benchmark`` fixture."""
    import sys

    env = os.environ
    if env.get("PYTEST_XDIST_WORKER") or getattr(config.option, "numprocesses", None):
        raise pytest.UsageError(
            "perfgate: lock-step A/B runs each side in one pytest process; "
            "leave out pytest-xdist's -n"
        )
    try:
        round_ms = float(env.get(LOCKSTEP_ROUND_MS_ENV, DEFAULT_ROUND_MS))
    except ValueError:
        raise pytest.UsageError(f"perfgate: {LOCKSTEP_ROUND_MS_ENV} is not a number") from None
    cpu = env.get(LOCKSTEP_CPU_ENV)
    if cpu and cpu.isdigit() and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):  # not allowed here: measured unpinned
            os.sched_setaffinity(0, {int(cpu)})
    worker = LockstepWorker(
        address, env.get(LOCKSTEP_KEY_ENV, ""), env.get(LOCKSTEP_SIDE_ENV, "?"), round_ms
    )
    config.stash[WORKER_KEY] = worker
    # pytest-benchmark's hooks refuse any other benchmark fixture and would report
    # and save results of their own: in a worker they are off (its options stay
    # known, so the project's pytest arguments still parse).
    for plugin in list(config.pluginmanager.get_plugins()):
        if getattr(plugin, "__name__", "") == "pytest_benchmark.plugin":
            config.pluginmanager.unregister(plugin)
    config.addinivalue_line("markers", "benchmark(group=...): a benchmark's group")
    config.pluginmanager.register(worker, "perfgate-lockstep")
    # Registered after pytest-benchmark, this module's fixture is the one tests get.
    config.pluginmanager.register(sys.modules[__name__], "perfgate-lockstep-fixture")


@pytest.fixture
def benchmark(request: pytest.FixtureRequest) -> LockstepBenchmark:
    """perfgate's ``benchmark`` in a lock-step A/B worker (replaces pytest-benchmark's)."""
    return LockstepBenchmark(request.config.stash[WORKER_KEY], request.node)
