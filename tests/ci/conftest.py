"""Fixtures shared by the action's end-to-end tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``RUNNER_TEMP``, shared by the session: the action's set-up step installs
    perfgate there from the action's path once (its own ``pip install``, a
    non-editable install, as on GitHub), and later runs reuse it."""
    return tmp_path_factory.mktemp("runner-temp")
