"""Shuffle the workload order per process, so that no factor always runs first.

Warm-up and in-process drift would otherwise bias one factor against another.
The seed comes from PERFGATE_ACCURACY_SEED (the harness sets one per process).
"""

from __future__ import annotations

import os
import random

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    random.Random(os.environ.get("PERFGATE_ACCURACY_SEED", "0")).shuffle(items)
