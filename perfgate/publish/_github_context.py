"""Where a publish happens: the GitHub Actions context, from the standard
``GITHUB_*`` variables and the event payload, overridable by flags.

The event payload is read as untrusted data (on ``workflow_run`` it may come
from a fork's artifact): only the fields below are taken, and validated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from perfgate._errors import InputError

__all__ = ["DEFAULT_API_URL", "GitHubContext", "read_event"]

DEFAULT_API_URL: Final = "https://api.github.com"
DEFAULT_SERVER_URL: Final = "https://github.com"
MAX_EVENT_BYTES: Final = 25 * 1024**2
"""GitHub's webhook payloads are capped at 25 MB."""


class GitHubContext(BaseModel):
    """Everything publishing needs to know about the run it belongs to."""

    model_config = ConfigDict(frozen=True)

    repository: str | None = None
    """``owner/name``."""
    api_url: str = DEFAULT_API_URL
    server_url: str = DEFAULT_SERVER_URL
    token: SecretStr | None = None
    event_name: str | None = None
    pr_number: int | None = None
    head_sha: str | None = None
    """The pull request's head commit (not the merge commit ``GITHUB_SHA``)."""
    base_sha: str | None = None
    head_branch: str | None = None
    """The pull request's head branch, in the head repository."""
    head_owner: str | None = None
    """The owner of the head repository (a fork's owner for fork pull requests)."""
    run_id: str | None = None
    labels: tuple[str, ...] = ()
    label_actor: str | None = None
    """Who added a label, when the event is a ``labeled`` event."""
    is_fork: bool = False
    step_summary: Path | None = None

    @property
    def run_url(self) -> str | None:
        if not (self.repository and self.run_id):
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"

    @classmethod
    def from_environment(
        cls,
        environ: Mapping[str, str],
        overrides: Mapping[str, Any] | None = None,
        *,
        event: Mapping[str, Any] | None = None,
    ) -> GitHubContext:
        """Read the context; ``overrides`` (from flags) win over the environment.

        ``event``: the payload already read (``perfgate ci`` reads it once, before
        any pull-request code runs); otherwise it is read from the event file."""
        overrides = dict(overrides or {})
        event_path = overrides.pop("event_path", None) or environ.get("GITHUB_EVENT_PATH")
        if event is None:
            event = read_event(Path(event_path)) if event_path else {}
        pull = event.get("pull_request") if isinstance(event.get("pull_request"), dict) else {}
        assert isinstance(pull, dict)
        head = _dict(pull, "head")
        base = _dict(pull, "base")
        head_repo: Any = _dict(head, "repo").get("full_name")
        head_branch: Any = head.get("ref")
        head_owner: Any = _dict(_dict(head, "repo"), "owner").get("login")
        repo_name = _dict(event, "repository").get("full_name")
        number = event.get("number", pull.get("number"))
        run = _dict(event, "workflow_run")
        if run:
            # The privileged workflow's own payload (trusted): the run that measured
            # the pull request, its head commit, and its pull request when not a fork.
            pulls = [p for p in _list(run, "pull_requests") if isinstance(p, dict)]
            number = pulls[0].get("number") if pulls else None
            head = {"sha": run.get("head_sha")}
            head_repo = _dict(run, "head_repository").get("full_name")
            head_branch = run.get("head_branch")
            head_owner = _dict(_dict(run, "head_repository"), "owner").get("login")
        labels = tuple(
            str(label["name"])
            for label in _list(pull, "labels")
            if isinstance(label, dict) and isinstance(label.get("name"), str)
        )
        actor = _dict(event, "sender").get("login") if event.get("action") == "labeled" else None
        head = {"sha": _text(head.get("sha"))}
        base = {"sha": _text(base.get("sha"))}
        head_repo, repo_name = _text(head_repo), _text(repo_name)
        values: dict[str, Any] = {
            "repository": environ.get("GITHUB_REPOSITORY") or repo_name,
            "api_url": environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
            "server_url": environ.get("GITHUB_SERVER_URL") or DEFAULT_SERVER_URL,
            "token": environ.get("GITHUB_TOKEN") or None,
            "event_name": environ.get("GITHUB_EVENT_NAME"),
            "pr_number": number if type(number) is int and number > 0 else None,
            "head_sha": head.get("sha") or environ.get("GITHUB_SHA"),
            "base_sha": base.get("sha"),
            "head_branch": head_branch if isinstance(head_branch, str) else None,
            "head_owner": head_owner if isinstance(head_owner, str) else None,
            "run_id": environ.get("GITHUB_RUN_ID"),
            "labels": labels,
            "label_actor": actor if isinstance(actor, str) else None,
            "is_fork": bool(head_repo and repo_name and head_repo != repo_name),
            "step_summary": environ.get("GITHUB_STEP_SUMMARY") or None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as err:
            from perfgate._validation import describe_validation_error

            raise InputError(f"the GitHub context: {describe_validation_error(err)}") from None


def _list(mapping: Mapping[str, Any], key: str) -> list[Any]:
    value = mapping.get(key)
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    """An event field that should be a string: anything else counts as absent."""
    return value if isinstance(value, str) and value else None


def _dict(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = mapping.get(key)
    return value if isinstance(value, dict) else {}


def read_event(path: Path) -> dict[str, Any]:
    from perfgate.results._readers import read_regular_file

    try:
        data = json.loads(read_regular_file(path, MAX_EVENT_BYTES))
    except FileNotFoundError:
        raise InputError(f"{path}: event file not found (GITHUB_EVENT_PATH)") from None
    except (OSError, ValueError) as err:  # UnicodeDecodeError and JSONDecodeError included
        raise InputError(f"{path}: cannot read the event file ({err})") from None
    except RecursionError:
        raise InputError(f"{path}: cannot read the event file (nested too deeply)") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: the event file is not a JSON object")
    return data
