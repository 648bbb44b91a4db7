"""One way to say what pydantic refused, on one line, for every reader and the config."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["describe_validation_error", "parse_json_lines"]

_Model = TypeVar("_Model", bound=BaseModel)


def _location(loc: tuple[int | str, ...]) -> str:
    where = ""
    for part in loc:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The (nested) model that holds the field at ``loc``."""
    current = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(part)
        if field is None:
            break
        inner: Any = field.annotation
        for candidate in (inner, *getattr(inner, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
    return current


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def describe_validation_error(err: ValidationError, model: type[BaseModel] | None = None) -> str:
    """The first problem of a pydantic error, on one line, with its location.

    Unknown keys (``extra="forbid"``) are all listed by name, with the keys that
    ``model`` (the top-level model validated) knows at that place."""
    errors = err.errors()
    first = errors[0]
    if first["type"] == "extra_forbidden" and model is not None:
        unknown = [e["loc"] for e in errors if e["type"] == "extra_forbidden"]
        known = ", ".join(_model_at(model, first["loc"]).model_fields)
        names = ", ".join(repr(_location(loc)) for loc in unknown)
        return _CONTROL.sub("?", f"unknown key {names} (known keys: {known})")
    where = _location(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {err.error_count() - 1} more problems)" if err.error_count() > 1 else ""
    text = f"{where}: {message}{more}" if where else f"{message}{more}"
    # Keys and values come from the input: no newline or control character may
    # split the one-line message.
    return _CONTROL.sub("?", text)


def parse_json_lines(
    lines: Iterable[str], model: type[_Model], where: str, warn: Callable[[str], None]
) -> list[_Model]:
    """Every valid line of a JSON-lines file as ``model``; each bad line is skipped
    with one warning naming ``where`` and the line number, and blank lines are ignored."""
    found = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            found.append(model.model_validate_json(line))
        except ValidationError as err:
            warn(f"{where}:{number}: skipped a bad line ({describe_validation_error(err)})")
    return found
