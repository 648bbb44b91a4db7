"""The trust boundary's pieces on their own (the attacks end to end are in
tests/ci/test_action.py)."""

from __future__ import annotations

import pytest

from perfgate._errors import PerfgateError
from perfgate.ci._boundary import PullRequestCode, take_keys


def test_keys_leave_the_environment_and_the_rest_stays():
    environ = {
        "GITHUB_TOKEN": "t", "ACTIONS_RUNTIME_TOKEN": "r", "MY_SECRET": "s",
        "GITHUB_ENV": "/e", "PERFGATE_MODE": "auto", "PERFGATE_DEBUG": "1",
        "GITHUB_SHA": "abc", "PATH": "/bin",
    }  # fmt: skip
    taken = take_keys(environ)
    assert set(environ) == {"PERFGATE_DEBUG", "GITHUB_SHA", "PATH"}
    assert taken["GITHUB_TOKEN"] == "t"
    assert len(taken) == 5


def test_a_rewritten_command_file_is_put_back(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("A=1\n")
    with PullRequestCode({"GITHUB_ENV": str(env_file)}) as boundary:
        env_file.write_text("A=1\nBASH_ENV=/evil\n")
    assert env_file.read_text() == "A=1\n"
    assert boundary.notes == ["env: changed while the pull request's code ran; restored"]
    boundary.check()


def test_a_command_file_that_cannot_be_put_back_publishes_nothing(tmp_path):
    env_file = tmp_path / "env"
    env_file.write_text("A=1\n")
    with PullRequestCode({"GITHUB_ENV": str(env_file)}) as boundary:
        env_file.unlink()
        env_file.mkdir()  # a directory where the file was: it cannot be written back
    with pytest.raises(PerfgateError, match="could not be restored"):
        boundary.check()
