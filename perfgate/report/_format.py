"""Turn numbers and untrusted text into report text.

These are the jinja2 filters of the report templates. Benchmark names,
reasons and anything else read from results files are untrusted (they may come
from a fork's artifacts): :func:`markdown_cell` makes them inert in markdown
and HTML, :func:`html_text` in the HTML report, :func:`plain` on a terminal.
"""

from __future__ import annotations

import html
import re
from typing import Final

from markupsafe import Markup, escape

__all__ = [
    "clip",
    "format_change",
    "format_ci",
    "format_pct",
    "format_value",
    "html_text",
    "is_hex_sha",
    "markdown_cell",
    "plain",
]

_TIME_UNITS: Final = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))
# Characters that start markdown constructs inside a table cell or inline text.
_MD_SPECIAL: Final = re.compile(r"([\\`*_\[\]|~!#<>])")
_MENTION: Final = re.compile(r"@(?=\w)")
_ISSUE_REF: Final = re.compile(r"#(?=\d)")
# GitHub turns bare URLs into links: break the scheme so that none is live.
_URL: Final = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*):(?=//)")
_WWW: Final = re.compile(r"(?i)\bwww\.")
# C0/C1 controls, and the bidirectional overrides and isolates that can make
# text read differently from what it is (Trojan Source, CVE-2021-42574).
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Invisible, so the text reads the same, but GitHub no longer links it.
_WORD_JOINER: Final = "\u2060"


def markdown_cell(text: object) -> str:
    """Escape untrusted text for a GitHub markdown table cell or inline span.

    Newlines become spaces (a cell is one line), HTML is escaped, markdown
    punctuation (including ``|`` and backticks) is backslash-escaped, and
    ``@mention`` / ``#123`` references and bare URLs (``https://``, ``www.``)
    are broken with an invisible joiner, so nothing pings, links or loads.
    """
    value = re.sub(r"\s*[\r\n]+\s*", " ", str(text))
    value = _CONTROL.sub("", value)
    value = html.escape(value, quote=False)
    value = _MD_SPECIAL.sub(r"\\\1", value)
    value = _MENTION.sub("@" + _WORD_JOINER, value)
    value = _URL.sub(lambda m: m.group(1) + ":" + _WORD_JOINER, value)
    value = _WWW.sub("www" + _WORD_JOINER + ".", value)
    return _ISSUE_REF.sub("#" + _WORD_JOINER, value)


def is_hex_sha(text: object) -> bool:
    """A git object name (4 to 64 hexadecimal digits), safe to show as code."""
    return isinstance(text, str) and re.fullmatch(r"[0-9a-fA-F]{4,64}", text) is not None


def plain(text: object) -> str:
    """Make untrusted text safe for a terminal: one line, no control characters."""
    return _CONTROL.sub("?", re.sub(r"[\r\n]+", " ", str(text)))


def html_text(text: object) -> Markup:
    """Make untrusted text inert in HTML: :func:`plain`, then every markup
    character escaped. The shared macros (``macros.j2``) are compiled without
    autoescaping, so the HTML report passes this as their ``esc``."""
    return escape(plain(text))


def format_value(value: float | None, unit: str) -> str:
    """A measured value with a readable unit: ``1.23 ms``, ``1,234,567 instructions``."""
    if value is None:
        return "-"
    if unit == "s":
        if abs(value) >= 1000:
            return f"{value:,.0f} s"
        for scale, suffix in _TIME_UNITS:
            # Judge the unit on the value as it will print: 999.7 µs prints as 1 ms.
            if abs(float(f"{value:.3g}")) >= scale or scale == _TIME_UNITS[-1][0]:
                return f"{value / scale:.3g} {suffix}"
    if float(value).is_integer() or abs(value) >= 1000:
        return f"{value:,.0f} {unit}"
    return f"{value:,.4g} {unit}"


def format_delta(value: float | None) -> str:
    """A signed count, compact: ``+1.23M``, ``-4.5k``, ``+12``."""
    if value is None:
        return "-"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:+.3g}{suffix}"
    return f"{value:+.0f}"


def format_pct(ratio: float | None) -> str:
    """A ratio as a signed percent change: 1.234 → ``+23.4%``."""
    if ratio is None:
        return "-"
    return f"{(ratio - 1) * 100:+.1f}%"


# Changes this large read better as a factor than as a percent.
_FACTOR_FROM: Final = 2.0


def _large(ratio: float) -> bool:
    return ratio >= _FACTOR_FROM or ratio <= 1 / _FACTOR_FROM


def _factor(ratio: float) -> str:
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.3g}×"


def format_change(ratio: float | None) -> str:
    """A change as people read it: small ones as percents (``+12.3%``), large
    ones as factors of the baseline (``4.00×`` slower, ``0.25×`` = 4 times faster)."""
    if ratio is None:
        return "-"
    return _factor(ratio) if _large(ratio) else format_pct(ratio)


def format_ci(low: float | None, high: float | None) -> str:
    """A ratio interval as changes: ``-2.0% to +3.5%``, or ``1.80× to 8.70×``
    when either end is a large change (both ends then as factors)."""
    if low is None or high is None:
        return "-"
    if low == high:
        return "exact"
    if _large(low) or _large(high):
        return f"{_factor(low)} to {_factor(high)}"
    return f"{format_pct(low)} to {format_pct(high)}"


def clip(text: str, limit: int | None) -> str:
    """``text`` shortened to ``limit`` characters with an ellipsis (``None``: as is)."""
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"
