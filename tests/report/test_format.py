"""Escaping untrusted text and formatting numbers."""

from __future__ import annotations

import pytest

from perfgate.report._format import format_ci, format_pct, format_value, markdown_cell, plain


@pytest.mark.parametrize(
    ("raw", "must_not_contain"),
    [
        ("a|b", "a|b"),
        ("`code`", "`code`"),
        ("<script>alert(1)</script>", "<script>"),
        ("hi @octocat", "@octocat"),
        ("fixes #123", "#123"),
        ("line\nbreak", "\n"),
        ("[link](http://x)", "[link]"),
        ("**bold**", "**bold**"),
    ],
)
def test_markdown_cell_neutralises(raw, must_not_contain):
    assert must_not_contain not in markdown_cell(raw)


def test_markdown_cell_keeps_the_text_readable():
    assert markdown_cell("tests/test_a.py::test_x[1-2]") == "tests/test\\_a.py::test\\_x\\[1-2\\]"
    assert markdown_cell("a & b") == "a &amp; b"
    # A URL stays readable (the same slashes), only unlinked.
    assert markdown_cell("see https://evil.example") == "see https:\u2060//evil.example"


def test_plain_strips_terminal_escapes():
    assert plain("evil\x1b[31mred\nline") == "evil?[31mred line"


def test_values():
    assert format_value(1.234e-3, "s") == "1.23 ms"
    assert format_value(4.5e-7, "s") == "450 ns"
    assert format_value(2.5, "s") == "2.5 s"
    assert format_value(155320066, "instructions") == "155,320,066 instructions"
    assert format_value(None, "s") == "-"


def test_percentages():
    assert format_pct(1.234) == "+23.4%"
    assert format_pct(0.9) == "-10.0%"
    assert format_ci(0.98, 1.03) == "-2.0% to +3.0%"
    assert format_ci(1.0, 1.0) == "exact"
    assert format_pct(None) == "-"
