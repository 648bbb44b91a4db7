"""The steps perfgate has handled, one JSON line each (``steps.jsonl`` on the data branch).

A step stays in the history forever, so every later push would find it again.
The ledger says which were already bisected (never twice), which commit caused
each, whether an A/B against its parent confirmed it, and what was proposed
(never twice: the issue is also found by its hidden marker).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from perfgate._validation import parse_json_lines

__all__ = ["StepRecord", "SteppedBenchmark", "dump_ledger", "parse_ledger"]

_Sha = Annotated[str, Field(pattern=r"^[0-9a-f]{40}$")]


class SteppedBenchmark(BaseModel):
    """One benchmark's step, as the history and the confirming A/B saw it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Annotated[str, Field(max_length=2000)]
    unit: Annotated[str, Field(max_length=50)]
    before: Annotated[float, Field(gt=0)]
    after: Annotated[float, Field(gt=0)]
    ratio: Annotated[float, Field(gt=0)]
    ratio_low: Annotated[float, Field(gt=0)]
    ratio_high: Annotated[float, Field(gt=0)]
    confirm_ratio: Annotated[float, Field(gt=0)] | None = None
    """The culprit against its parent, from the confirming A/B (None: not measured)."""


class StepRecord(BaseModel):
    """A step that perfgate has handled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    found_at: _Sha
    """The default branch's commit whose push found the step."""
    date: datetime
    span: Annotated[list[_Sha], Field(min_length=1, max_length=10_000)]
    """The measured commits that may be the first at the new level."""
    good: _Sha | None
    """The last measured commit before ``span`` (bisection's known good end)."""
    culprit: _Sha | None = None
    """The first commit at the new level, by bisection (None: bisection failed)."""
    parent: _Sha | None = None
    subject: Annotated[str, Field(max_length=500)] | None = None
    """The culprit's commit subject (untrusted text: escaped wherever shown)."""
    slower: bool
    confirmed: bool = False
    mode: str
    """How bisection measured: ``instructions`` or ``time``."""
    benchmarks: Annotated[list[SteppedBenchmark], Field(min_length=1, max_length=10_000)]
    evidence: list[Annotated[str, Field(max_length=500)]] = []
    """Paths on the data branch: each A/B's report (the confirming one last)."""
    note: Annotated[str, Field(max_length=2000)] | None = None
    """Why nothing was proposed, when bisection or confirmation failed."""
    proposal: Annotated[str, Field(max_length=500)] | None = None
    """What was done: ``issue #12``, ``pull request #13``, ``accepted: …``; None
    while a confirmed regression waits to be proposed."""

    def covers(self, name: str, span: Sequence[str]) -> bool:
        """Whether this record handled ``name``'s step with (part of) this span."""
        return any(b.name == name for b in self.benchmarks) and bool(set(span) & set(self.span))

    @property
    def pending(self) -> bool:
        """A confirmed slowdown that has not been proposed yet."""
        return self.confirmed and self.slower and self.proposal is None


def parse_ledger(text: str | None, warn: Callable[[str], None]) -> list[StepRecord]:
    return parse_json_lines((text or "").splitlines(), StepRecord, "steps.jsonl", warn)


def dump_ledger(records: Sequence[StepRecord]) -> str:
    return "".join(r.model_dump_json() + "\n" for r in records)
