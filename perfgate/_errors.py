"""Exceptions that perfgate raises for problems a user can cause and fix.

Every one of them derives from :class:`PerfgateError`. Library code raises them;
only the edges (the ``perfgate`` CLI and the pytest plugin) turn them into a
one-line message and an exit code (2 for the CLI, a pytest usage error in the
plugin). Anything else that escapes is a bug in perfgate.

Hierarchy::

    PerfgateError            base: a problem with input, configuration or usage
    ├── InputError           a file that is missing, unreadable, not JSON, or not results
    │   └── SchemaVersionError   a perfgate file written by an unknown schema version
    ├── ConfigError          an invalid ``[tool.perfgate]`` table
    ├── WriteError           a results file or report could not be written
    ├── GitError             a git command failed (unknown revision, no repository, no git)
    └── PublishError         GitHub refused a publish in a way retrying cannot fix
        └── ReadOnlyTokenError   the token cannot write (a fork's pull request)

This module is standard-library only: the capture side raises these too.
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "GitError",
    "InputError",
    "InternalError",
    "PerfgateError",
    "PublishError",
    "ReadOnlyTokenError",
    "SchemaVersionError",
    "WriteError",
]


class PerfgateError(Exception):
    """Base of every user-facing perfgate error. ``str(err)`` is a one-line message."""


class InternalError(PerfgateError):
    """A failure of perfgate's own code (exit 3), never the user's input or revision."""


class InputError(PerfgateError):
    """A results file (or other input) is missing, unreadable or invalid."""


class SchemaVersionError(InputError):
    """A perfgate file declares a schema version this perfgate cannot read."""


class ConfigError(PerfgateError):
    """The ``[tool.perfgate]`` configuration is invalid."""


class WriteError(PerfgateError):
    """An output file could not be written; the previous file is left intact."""


class GitError(PerfgateError):
    """A git command failed (unknown revision, not a repository, no git…)."""


class PublishError(PerfgateError):
    """GitHub refused a publish in a way retrying cannot fix."""


class ReadOnlyTokenError(PublishError):
    """The token cannot write (a fork's pull request, or missing permissions)."""
