"""The bounded fuzz run of every reader (`make fuzz` runs the long one)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))

import fuzz


@pytest.mark.parametrize("reader", fuzz.READERS, ids=lambda r: r.name)
def test_no_reader_crashes_on_mutated_input(reader):
    seed_ok = fuzz.fuzz(reader, inputs=1, seconds=None)
    assert seed_ok.tried == 1
    outcome = fuzz.fuzz(reader, inputs=250, seconds=None)
    assert outcome.tried == 250
    assert outcome.crashes == []
    assert outcome.refused > 0 or reader.name in ("orchestrator manifest", "history")


def test_the_seeds_are_valid_inputs(tmp_path):
    """A fuzzer whose seed is already refused only tests the first line of a reader."""
    for reader in fuzz.READERS:
        path = tmp_path / reader.filename
        path.write_bytes(reader.seed())
        reader.read(path)
