"""Render a :class:`~perfgate.verdict._comparison.Comparison` as text, markdown or JSON.

Text and markdown come from jinja2 templates (``perfgate/report/templates``); a
``template_dir`` in the configuration may replace any of them by file name.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from perfgate._errors import ConfigError
from perfgate.report._format import (
    clip,
    format_change,
    format_ci,
    format_delta,
    format_pct,
    format_value,
    html_text,
    is_hex_sha,
    markdown_cell,
    plain,
)
from perfgate.results._model import ResultsFile
from perfgate.verdict._comparison import Comparison

__all__ = ["COMMENT_TEMPLATE", "ReportFormat", "render", "render_template"]


class ReportFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"
    JSON = "json"
    HTML = "html"


_TEMPLATE_FOR = {ReportFormat.TEXT: "report.txt.j2", ReportFormat.MARKDOWN: "report.md.j2"}
COMMENT_TEMPLATE = "comment.md.j2"


def _environment(template_dir: Path | None) -> SandboxedEnvironment:
    loaders: list[jinja2.BaseLoader] = [jinja2.PackageLoader("perfgate.report", "templates")]
    if template_dir is not None:
        if not template_dir.is_dir():
            raise ConfigError(f"template_dir {template_dir}: no such directory")
        loaders.insert(0, jinja2.FileSystemLoader(template_dir))
    # Sandboxed: a template from template_dir (configuration, perhaps from a pull
    # request) cannot reach Python internals, so it cannot run code.
    env = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # HTML templates escape everything; markdown and text escape explicitly (md / plain).
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
    )
    env.filters.update(
        md=markdown_cell, plain=plain, pct=format_pct, change=format_change, value=format_value,
        clip=clip, delta=format_delta,
    )  # fmt: skip
    env.globals.update(ci=format_ci, md=markdown_cell, plain=plain, html=html_text)
    env.tests["hexsha"] = is_hex_sha
    return env


def render(
    comparison: Comparison,
    fmt: ReportFormat,
    *,
    template_dir: Path | None = None,
    baseline: ResultsFile | None = None,
    current: ResultsFile | None = None,
) -> str:
    """The report in ``fmt``; user templates in ``template_dir`` take precedence.
    The HTML report plots the samples of ``baseline`` and ``current`` when given."""
    if fmt is ReportFormat.JSON:
        return comparison.to_json()
    if fmt is ReportFormat.HTML:
        from perfgate.report._html import render_html

        return render_html(comparison, baseline, current, template_dir=template_dir)
    return render_template(_TEMPLATE_FOR[fmt], template_dir, c=comparison)


def render_template(name: str, template_dir: Path | None, **context: Any) -> str:
    """Render one of the report templates (built-in, or the user's by the same name)."""
    env = _environment(template_dir)
    try:
        return env.get_template(name).render(**context)
    except jinja2.exceptions.SecurityError as err:
        raise ConfigError(f"report template {name}: not allowed in a template: {err}") from None
    except jinja2.TemplateError as err:
        where = (
            f" ({err.filename}:{err.lineno})" if isinstance(err, jinja2.TemplateSyntaxError) else ""
        )
        raise ConfigError(f"report template {name}{where}: {err}") from None
