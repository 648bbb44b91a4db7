"""Lock-step A/B: the coordinator that hands the turn between two workers.

For each *worker pair*, one pytest process per side starts in that side's tree
and interpreter (``capture/_lockstep.py`` takes over its ``benchmark``
fixture). Both collect the benchmarks; the coordinator gives both one order,
and then, benchmark by benchmark, waits until both are inside the same
benchmark's call and hands out rounds:

- ``alternate``: A B, B A, A B … one side at a time, each round a few
  milliseconds, so the two sides of a pair of rounds are milliseconds apart;
- ``duet``: both sides' rounds at once, on separate cores (Bulej et al.,
  "Duet Benchmarking", ICPE 2020).

Each side's round times of one worker pair are one run in the results (the
samples, in round order, are the per-call times); sample *i* of the two sides'
runs of the same pair are a pair of rounds, marked by ``LOCKSTEP_RUN_KEY`` in the
run's environment. Several fresh worker pairs average out what is fixed for a
process (memory layout, hash seeds); the analysis
(:func:`perfgate.verdict._stats.estimate_interleaved_ratio`) treats the worker
pair as the unit of replication.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from perfgate._errors import InputError
from perfgate.ab._blame import blame
from perfgate.capture._atomic import write_atomic
from perfgate.capture._child import KEEP_OUTPUT_CHARS, Fault, fault_of
from perfgate.capture._lockstep import (
    LOCKSTEP_CPU_ENV,
    LOCKSTEP_KEY_ENV,
    LOCKSTEP_ROUND_MS_ENV,
    LOCKSTEP_SIDE_ENV,
    Channel,
    ProtocolError,
)
from perfgate.capture._options import LOCKSTEP_ENV
from perfgate.capture._records import LOCKSTEP_RUN_KEY
from perfgate.results._model import Benchmark, Environment, ResultsFile, Run

__all__ = ["SCHEDULES", "Lockstep", "LockstepOptions", "PairRecord", "unmeasured_notes"]

SCHEDULES: Final = ("alternate", "duet")
SIDES: Final = ("base", "head")
_CONNECT_S: Final = 300.0
"""How long a worker may take to start and collect before it is given up."""


@dataclass(frozen=True)
class LockstepOptions:
    schedule: str = "alternate"
    pairs: int = 16
    """Worker pairs at most (fewer when the budget runs out or all is cleared).
    What is fixed for a process (layout, hash seed) moves a benchmark by 2–5%
    here, as much as the rounds' noise, so many short pairs beat a few long ones
    (measured: docs/accuracy.md)."""
    min_pairs: int = 6
    round_ms: float = 10.0
    """Target length of one round (calls are added until a round takes this)."""
    min_rounds: int = 10
    """Pairs of rounds of each benchmark in each worker pair, at least."""
    pin: bool = True
    """Pin workers to CPUs (Linux): with ``alternate`` both workers of a pair share
    one CPU (another for each pair), with ``duet`` each side gets its own."""


@dataclass
class PairRecord:
    """What one worker pair measured: side -> benchmark -> per-call seconds per round."""

    index: int
    times: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    groups: dict[str, str | None] = field(default_factory=dict)
    unmeasured: dict[tuple[str, str], str] = field(default_factory=dict)
    """(benchmark, side) that ended without measuring: ``skipped``, ``failed``, or
    ``passed`` (the test never called the fixture)."""
    seconds: float = 0.0
    measuring_s: float = 0.0
    complete: bool = True

    @property
    def measured(self) -> set[str]:
        """The benchmarks that got rounds on at least one side."""
        return {name for by_name in self.times.values() for name, v in by_name.items() if v}

    def run(self, side: str, schedule: str) -> Run | None:
        benchmarks = tuple(
            Benchmark(name=name, group=self.groups.get(name), samples=values)
            for name, values in self.times.get(side, {}).items()
            if values
        )
        if not benchmarks:
            return None
        return Run(
            started_at=datetime.now(UTC),
            environment={LOCKSTEP_RUN_KEY: {"pair": self.index, "schedule": schedule}},
            benchmarks=benchmarks,
        )


class _OutOfTime(Exception):
    """The hard budget ran out in the middle of a worker pair."""


@dataclass
class _Worker:
    side: str
    process: subprocess.Popen[bytes]
    log: Path
    channel: Channel | None = None
    calls: int = 1
    """Calls per round this worker calibrated for the current benchmark."""

    def receive(self) -> dict[str, object]:
        assert self.channel is not None
        return self.channel.receive()

    def send(self, message: dict[str, object]) -> None:
        assert self.channel is not None
        self.channel.send(message)

    def failure(self) -> str:
        with contextlib.suppress(OSError):
            self.process.wait(timeout=10)
        tail = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        code = self.process.returncode
        return f"exit {code}: {tail[-1] if tail else 'no output'}"

    def fault(self) -> Fault | None:
        """Whose fault its exit was, when not the revision's (capture._child.fault_of)."""
        code = self.process.returncode
        if code is None or code == 0:
            return None
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")[-KEEP_OUTPUT_CHARS:]
        except OSError:
            return None
        return fault_of(code, text)

    def stop(self) -> None:
        if self.channel is not None:
            with contextlib.suppress(OSError):
                self.channel.close()
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)


@dataclass
class Lockstep:
    """Runs worker pairs, one after another, within a hard deadline."""

    options: LockstepOptions
    python: str
    trees: dict[str, Path]
    envs: dict[str, dict[str, str]]
    pytest_args: dict[str, list[str]]
    """Per side: pytest's arguments (perfgate's plugin first where it must be named)."""
    saved: Path
    clock: Callable[[], float]
    deadline: float
    """The clock value by which everything must have stopped."""
    only: frozenset[str] | None = None
    """Measure only these benchmarks (the ones kept on wall time after counting)."""
    log: list[str] = field(default_factory=list)
    hash_seed: int = field(default_factory=lambda: secrets.randbelow(2**31))
    """PYTHONHASHSEED of the first pair (unless the side's environment sets one)."""

    def pair(self, index: int, slice_s: Callable[[int], float]) -> PairRecord:
        """One worker pair through every benchmark; ``slice_s(n)`` is the time for
        each benchmark's rounds once the pair knows it has ``n`` benchmarks."""
        record = PairRecord(index)
        started = self.clock()
        key = secrets.token_hex(16)
        with contextlib.ExitStack() as stack:
            server = stack.enter_context(socket.create_server(("127.0.0.1", 0)))
            port = server.getsockname()[1]
            workers = {side: self._start(side, index, f"127.0.0.1:{port}", key) for side in SIDES}
            for worker in workers.values():
                stack.callback(worker.stop)
            self._connect(server, key, workers)
            order, has = self._agree(workers)
            each_s = slice_s(len(order))
            for name in order:
                present = [workers[s] for s in SIDES if name in has[s]]
                try:
                    self._benchmark(name, present, each_s, record)
                except _OutOfTime:
                    record.complete = False
                    self.log.append(
                        f"worker pair {index + 1}: the time budget ran out at {name}; "
                        "the report covers what was measured"
                    )
                    break
            else:
                for worker in workers.values():
                    with contextlib.suppress(ProtocolError, OSError):
                        self._expect(worker, "bye", None)
        record.seconds = self.clock() - started
        self._save(record)
        return record

    def _start(self, side: str, index: int, address: str, key: str) -> _Worker:
        log = self.saved / f"worker-{side}-{index + 1}.log"
        env = {
            # Both sides of a pair hash with one seed, a new one for each pair:
            # string hashing moves dict layouts and so times by a few percent
            # per process; shared, it cancels within the pair.
            "PYTHONHASHSEED": str(self.hash_seed + index),
            **self.envs[side],
            LOCKSTEP_ENV: address,
            LOCKSTEP_KEY_ENV: key,
            LOCKSTEP_SIDE_ENV: side,
            LOCKSTEP_ROUND_MS_ENV: str(self.options.round_ms),
        }
        cpu = self._cpu(side, index)
        if cpu is not None:
            env[LOCKSTEP_CPU_ENV] = str(cpu)
        args = [
            self.python,
            "-m",
            "pytest",
            *self.pytest_args[side],
            "-q",
            "-p",
            "no:cacheprovider",
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                args, cwd=self.trees[side], env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        return _Worker(side, process, log)

    def _cpu(self, side: str, index: int) -> int | None:
        """The CPU of one side's worker in pair ``index`` (None: not pinned)."""
        if not self.options.pin or not hasattr(os, "sched_getaffinity"):
            return None
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            return None
        if self.options.schedule == "duet":
            return cpus[(index + SIDES.index(side)) % len(cpus)]
        return cpus[index % len(cpus)]

    def _connect(self, server: socket.socket, key: str, workers: dict[str, _Worker]) -> None:
        waiting = dict(workers)
        server.settimeout(1.0)
        limit = min(self.deadline, self.clock() + _CONNECT_S)
        while waiting:
            if self.clock() > limit:
                raise _startup_error(waiting, "did not start in time")
            for worker in waiting.values():
                if worker.process.poll() is not None:
                    described = worker.failure()
                    blame(worker.side, worker.fault())
                    raise InputError(
                        f"the {worker.side} side's pytest stopped before measuring "
                        f"({described}; log: {worker.log})"
                    )
            try:
                sock, _ = server.accept()
            except TimeoutError:
                continue
            sock.settimeout(_CONNECT_S)
            channel = Channel(sock)
            try:
                hello = channel.receive()
            except (ProtocolError, OSError, ValueError):
                channel.close()
                continue
            side = hello.get("side")
            if hello.get("key") != key or side not in waiting:
                channel.close()  # not one of ours
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            waiting.pop(str(side)).channel = channel

    def _agree(self, workers: dict[str, _Worker]) -> tuple[list[str], dict[str, set[str]]]:
        """Both sides' benchmarks, in one order (base's, then the head's new ones)."""
        lists: dict[str, list[str]] = {}
        for side, worker in workers.items():
            message = self._expect(worker, "tests", None)
            if message.get("errors"):
                raise InputError(
                    f"the {worker.side} side's pytest could not collect its tests "
                    f"({message['errors']} error(s); log: {worker.log})"
                )
            found = message.get("tests")
            lists[side] = [str(n) for n in found] if isinstance(found, list) else []
        order = list(dict.fromkeys([*lists["base"], *lists["head"]]))
        if self.only is not None:
            order = [name for name in order if name in self.only]
        if not order:
            raise InputError(
                "no benchmark to measure: neither side's tests use the benchmark fixture"
            )
        for side, worker in workers.items():
            mine = set(lists[side])
            worker.send({"op": "order", "order": [n for n in order if n in mine]})
        return order, {side: set(names) for side, names in lists.items()}

    def _receive(self, worker: _Worker) -> dict[str, object]:
        try:
            return worker.receive()
        except (ProtocolError, OSError, ValueError) as err:
            raise InputError(
                f"the {worker.side} side's pytest stopped while measuring "
                f"({worker.failure()}; log: {worker.log})"
            ) from err

    def _expect(self, worker: _Worker, op: str, test: str | None) -> dict[str, object]:
        message = self._receive(worker)
        if message.get("op") != op or (test is not None and message.get("test") != test):
            raise InputError(
                f"the {worker.side} side's pytest is out of step: expected {op} {test or ''}, "
                f"got {message.get('op')} {message.get('test', '')} (log: {worker.log})"
            )
        return message

    def _benchmark(
        self, name: str, present: Sequence[_Worker], each_s: float, record: PairRecord
    ) -> None:
        ready: list[_Worker] = []
        for worker in present:
            message = self._receive_for(worker, name)
            if message.get("op") == "ready":
                ready.append(worker)
                group = message.get("group")
                record.groups[name] = str(group) if isinstance(group, str) else None
                calls = message.get("calls")
                worker.calls = calls if isinstance(calls, int) and calls > 0 else 1
                record.times.setdefault(worker.side, {})[name] = []
            else:
                outcome = message.get("outcome")
                record.unmeasured[name, worker.side] = str(outcome or "passed")
        if ready:
            measured = self._rounds(name, ready, each_s, record)
            record.measuring_s += measured
            for worker in ready:
                worker.send({"op": "done"})
            for worker in ready:
                self._expect(worker, "end", name)

    def _receive_for(self, worker: _Worker, name: str) -> dict[str, object]:
        message = self._receive(worker)
        if message.get("test") != name or message.get("op") not in ("ready", "end"):
            raise InputError(
                f"the {worker.side} side's pytest is out of step at {name} (log: {worker.log})"
            )
        return message

    def _rounds(
        self, name: str, ready: Sequence[_Worker], each_s: float, record: PairRecord
    ) -> float:
        """Hand out rounds of one benchmark until its slice of time is spent."""
        calls = max(worker.calls for worker in ready)
        started = self.clock()
        stop = started + each_s
        duet = self.options.schedule == "duet" and len(ready) == 2
        index = 0
        while True:
            if self.clock() > self.deadline:
                raise _OutOfTime
            turn = list(ready) if index % 2 == 0 else list(reversed(ready))
            if duet:
                for worker in turn:
                    worker.send({"op": "round", "calls": calls})
                for worker in turn:
                    self._took(worker, name, calls, record)
            else:
                for worker in turn:
                    worker.send({"op": "round", "calls": calls})
                    self._took(worker, name, calls, record)
            index += 1
            if index >= self.options.min_rounds and self.clock() >= stop:
                return self.clock() - started

    def _took(self, worker: _Worker, name: str, calls: int, record: PairRecord) -> None:
        message = self._expect(worker, "took", None)
        ns = message.get("ns")
        if not isinstance(ns, int) or ns <= 0:
            raise InputError(f"the {worker.side} side sent a bad round time for {name}")
        record.times[worker.side][name].append(ns / calls / 1e9)

    def _save(self, record: PairRecord) -> None:
        for side in SIDES:
            run = record.run(side, self.options.schedule)
            if run is not None:
                results = ResultsFile(environment=Environment(), runs=(run,))
                write_atomic(self.saved / f"{side}-pair{record.index + 1}.json", results.to_json())


def _startup_error(waiting: dict[str, _Worker], what: str) -> InputError:
    sides = " and ".join(sorted(waiting))
    logs = ", ".join(str(w.log) for w in waiting.values())
    return InputError(f"the {sides} side's pytest {what} (log: {logs})")


def unmeasured_notes(records: Sequence[PairRecord]) -> list[str]:
    """One line per benchmark that a side did not measure (skipped tests: one line)."""
    seen: dict[tuple[str, str], str] = {}
    for record in records:
        for key, outcome in record.unmeasured.items():
            if seen.get(key) != "failed":
                seen[key] = outcome
    skipped = {name for (name, _side), outcome in seen.items() if outcome == "skipped"}
    notes = [f"{len(skipped)} benchmark(s) skipped by pytest"] if skipped else []
    for (name, side), outcome in seen.items():
        if outcome == "failed":
            notes.append(f"{name}: failed on the {side} side (see worker-{side}-*.log)")
        elif outcome == "passed":
            notes.append(f"{name}: the {side} side's test did not call the benchmark fixture")
    return notes


def pair_runs(records: Sequence[PairRecord], schedule: str) -> dict[str, list[Run | None]]:
    """Both sides' runs, position *j* of each side from worker pair *j*."""
    runs: dict[str, list[Run | None]] = {side: [] for side in SIDES}
    for record in records:
        for side in SIDES:
            runs[side].append(record.run(side, schedule))
    return runs
