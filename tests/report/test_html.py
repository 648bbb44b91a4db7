"""The HTML report: one self-contained file, hostile names inert, distributions drawn,
and it renders in a real browser (headless Chromium, when installed)."""

from __future__ import annotations

import re
import shutil

import pytest

from perfgate import Config, ReportFormat, compare, render
from perfgate.report._html import MAX_PLOTS
from tests.conftest import chromium

HOSTILE = '<script>alert(1)</script> @org "quoted" <img src=x onerror=alert(2)>'


@pytest.fixture
def sides(results):
    names = [f"tests/b.py::test_{i}" for i in range(5)] + [HOSTILE]
    runs = [1.0, 1.02, 0.99, 1.0, 1.01]
    base = results({n: [1e-3 * v for v in runs] for n in names}, commit="c" * 40)
    factor = {names[0]: 1.3, HOSTILE: 0.5}
    cur = results(
        {n: [1e-3 * v * factor.get(n, 1.0) for v in runs] for n in names}, commit="d" * 40, seed=2
    )
    return base, cur


def test_self_contained_escaped_and_with_both_sides_drawn(sides):
    base, cur = sides
    comparison = compare(base, cur, Config())
    html = render(comparison, ReportFormat.HTML, baseline=base, current=cur)
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html
    assert "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Nothing is fetched: no external URL in any src or href.
    assert not re.search(r'(src|href)="(?!#)', html)
    # The regression is plotted first, with a row of dots per side.
    first = html.index('<div class="plot"')
    assert "tests/b.py::test_0" in html[first : first + 400]
    assert html.count("<svg") == len(comparison.benchmarks)
    assert html.count("<circle") >= 2 * len(comparison.benchmarks) * 20


def test_plots_are_capped_for_large_suites(results):
    names = [f"t{i}" for i in range(MAX_PLOTS + 20)]
    base = results({n: [1e-3, 1.01e-3] for n in names}, samples=5)
    cur = results({n: [1e-3, 1.01e-3] for n in names}, samples=5, seed=1)
    html = render(compare(base, cur, Config()), ReportFormat.HTML, baseline=base, current=cur)
    assert html.count("<svg") == MAX_PLOTS
    assert html.count('<td class="name">') == len(names)  # the table keeps every benchmark


def test_without_results_it_is_the_table_only(sides):
    comparison = compare(*sides, Config())
    html = render(comparison, ReportFormat.HTML)
    assert "<svg" not in html
    assert "tests/b.py::test_0" in html


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_it_renders_in_headless_chromium(sides, tmp_path):
    base, cur = sides
    page = tmp_path / "report.html"
    page.write_text(
        render(compare(base, cur, Config()), ReportFormat.HTML, baseline=base, current=cur),
        encoding="utf-8",
    )
    shot = tmp_path / "shot.png"
    chromium(tmp_path / "profile", "--window-size=1200,1400", f"--screenshot={shot}", page.as_uri())
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG")
    assert len(data) > 20_000  # a blank page compresses to a few kB; this one has plots


# Every kind of injection the issue found in the uploaded artifact: a refresh,
# a link, a form, CSS, and a quote that would break out of an attribute.
INJECTION = (
    '"><meta http-equiv="refresh" content="0;url=https://evil.example">'
    '<a href="https://evil.example">x</a><form action="https://evil.example">'
    "<style>body{display:none}</style><img src=x onerror=alert(1)>"
)


def _everywhere(results, name: str):
    """A comparison with ``name`` wherever the report shows text from the file:
    the worst regression (headline, title, table, plot), side labels, commits
    that are not shas, warnings and units."""
    from perfgate.verdict._comparison import SideInfo

    names = ["tests/b.py::test_ok", name]
    base = results({n: [1e-3, 1.01e-3, 0.99e-3] for n in names}, seed=1)
    cur = results({"tests/b.py::test_ok": [1e-3, 1.01e-3, 0.99e-3], name: [3e-3] * 3}, seed=2)
    comparison = compare(base, cur, Config())
    comparison = comparison.model_copy(
        update={
            "baseline": SideInfo(label=name, commit=name, runs=3),
            "current": SideInfo(label=name, commit=name, runs=3),
            "warnings": [name],
        }
    )
    return comparison, base, cur


def _tags(html: str) -> list[tuple[str, tuple[str, ...]]]:
    """The page's elements in order, each with its attribute names."""
    from html.parser import HTMLParser

    seen: list[tuple[str, tuple[str, ...]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            seen.append((tag, tuple(sorted(key for key, _ in attrs))))

    Collect().feed(html)
    return seen


def test_a_hostile_name_in_every_place_adds_no_element(results):
    def page(name: str) -> str:
        comparison, base, cur = _everywhere(results, name)
        return render(comparison, ReportFormat.HTML, baseline=base, current=cur)

    hostile, benign = page(INJECTION), page("tests/b.py::test_slow")
    assert _tags(hostile) == _tags(benign)  # the same elements, in the same order
    assert "evil.example" in hostile  # shown, as text
    for tag in ('<meta http-equiv="refresh"', '<a href="https', "<form", "<img"):
        assert tag not in hostile
    title = hostile[hostile.index("<title>") : hostile.index("</title>")]
    assert "&lt;meta" in title  # the headline names the worst regression, escaped


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_in_the_browser_a_hostile_name_adds_no_element(results, tmp_path):
    """Chromium's own parse of the page (its DOM after loading) has the same
    elements as the benign page: nothing was injected, nothing navigated away."""

    def dom(name: str, tag: str) -> str:
        comparison, base, cur = _everywhere(results, name)
        page = tmp_path / f"{tag}.html"
        page.write_text(
            render(comparison, ReportFormat.HTML, baseline=base, current=cur), encoding="utf-8"
        )
        return chromium(tmp_path / f"profile-{tag}", "--dump-dom", page.as_uri())

    hostile, benign = dom(INJECTION, "hostile"), dom("tests/b.py::test_slow", "benign")
    assert [tag for tag, _ in _tags(hostile)] == [tag for tag, _ in _tags(benign)]
    assert "evil.example" in hostile
