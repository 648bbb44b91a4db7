"""The one way perfgate runs git: values from flags, inputs and events never
become options."""

from __future__ import annotations

import json

import pytest

from perfgate._errors import InputError
from perfgate.capture._git import git_value
from perfgate.cli._main import main


@pytest.mark.parametrize("value", ["--upload-pack=touch X", "-c", "", "a\0b"])
def test_a_value_that_git_would_read_as_an_option_is_refused(value):
    with pytest.raises(InputError, match="is not a git name"):
        git_value(value, "--remote")


def test_names_refs_and_shas_pass():
    for value in ("origin", "perfgate-data", "HEAD~1", "a" * 40, "refs/heads/main"):
        assert git_value(value, "ref") == value


@pytest.mark.parametrize(
    "flags",
    [
        ["--remote", "--upload-pack=touch {marker}"],
        ["--data-branch", "--upload-pack=touch {marker}"],
    ],
)
def test_perfgate_ci_runs_no_command_from_a_flag(flags, tmp_path, monkeypatch, capsys):
    """Issue 19: ``perfgate ci --remote='--upload-pack=touch X'`` ran the command."""
    marker = tmp_path / "X"
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"repository": {"default_branch": "main"}}))
    monkeypatch.chdir(tmp_path)
    for key, value in {
        "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "push",
        "GITHUB_REF": "refs/heads/main",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    args = ["ci", "--no-publish", *[f.format(marker=marker) for f in flags]]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "is not a git name" in err
    assert err.count("\n") == 1
    assert not marker.exists()


def test_perfgate_ab_refuses_an_option_as_a_revision(tmp_path, monkeypatch, capsys):
    from tests.conftest import git_as_dev

    git_as_dev(tmp_path, "init", "-q")
    git_as_dev(tmp_path, "commit", "-q", "--allow-empty", "-m", "one")
    monkeypatch.chdir(tmp_path)
    assert main(["ab", "--base=--output=/tmp/x", "--", "tests"]) == 2
    assert "is not a git name" in capsys.readouterr().err


def test_perfgate_ci_gives_the_environment_back_to_an_in_process_caller(tmp_path, monkeypatch):
    """The keys leave the environment while pull-request code may run, and come
    back after (tests and embedding tools call main() in-process)."""
    import os

    event = tmp_path / "event.json"
    event.write_text(json.dumps({"repository": {"default_branch": "main"}}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PERFGATE_SOMETHING", "kept")
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_notReallyATokenButLongEnough")
    for key, value in {
        "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "push", "GITHUB_REF": "refs/heads/main",
    }.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    assert main(["ci", "--no-publish", "--remote=-x"]) == 2
    assert os.environ["PERFGATE_SOMETHING"] == "kept"
    assert os.environ["GITHUB_TOKEN"] == "ghs_notReallyATokenButLongEnough"
