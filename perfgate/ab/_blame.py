"""Who is at fault when a side's pytest fails: the error names it.

A side that fails because of its own code (a failing import, a broken test) is
the revision's failure, and perfgate says which revision. Two failures are not:
pytest rejecting its command line (the user put perfgate's options after
``--``), and perfgate's own capture code failing (a bug, exit 3). Both sides
and both ways of running them (process rounds, lock-step workers) go through
:func:`blame`.
"""

from __future__ import annotations

from perfgate._errors import InputError, InternalError
from perfgate.capture._child import Fault

__all__ = ["blame"]


def blame(side: str, fault: Fault | None) -> None:
    """Raise the error that names who is at fault when a side's pytest failed
    for a reason that is not the revision's: the command line (exit 2, with
    what ``--`` does) or perfgate itself (exit 3)."""
    if fault is None:
        return
    if fault.kind == "command-line":
        raise InputError(
            f"pytest rejected its arguments on the {side} side ({fault.detail}): everything "
            "after `--` goes to pytest; perfgate's own options (--base, --format, --output, "
            "--mode, ...) go before `--`"
        )
    raise InternalError(
        f"perfgate's own capture code failed on the {side} side ({fault.detail}): this is a "
        "bug in perfgate, not a failure of your revision"
    )
