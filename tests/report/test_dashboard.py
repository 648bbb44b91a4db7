"""report/_dashboard.py: the history site, self-contained, escaped, and drawn in a
real browser (headless Chromium, when installed)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from perfgate import Config
from perfgate.history._analysis import analyse, drift_since, series_from_history
from perfgate.report._dashboard import build_dashboard, page_name, recent_movement
from perfgate.report._history import HistoryEntry
from tests.conftest import chromium, history_entries

HOSTILE = '"><script>alert(1)</script><a href="https://evil.example">x</a>'
START = datetime(2026, 3, 1, tzinfo=UTC)


def _history(names: dict[str, list[float]], unit: str) -> list[HistoryEntry]:
    return history_entries(names, unit, START)


@pytest.fixture
def series():
    steady = [1e6] * 60
    stepped = [1e6] * 30 + [1.05e6] * 30
    recent = [1e6] * 55 + [1.2e6] * 5
    entries = _history(
        {"tests/b.py::test_steady:instructions": steady,
         "tests/b.py::test_stepped:instructions": stepped,
         HOSTILE: recent},
        "instructions",
    )  # fmt: skip
    return analyse(series_from_history(entries), Config())


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _elements(path: Path) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.tags


def test_an_index_and_a_page_per_benchmark_most_moved_first(series, tmp_path):
    written = build_dashboard(series, tmp_path, title="demo", repo_url="https://example.test/o/r")
    assert len(written) == 4
    index = _elements(tmp_path / "index.html")
    links = [a["href"] for tag, a in index if tag == "a"]
    # The +20% of the last five commits first; the others did not move lately (by name).
    assert links == [f"b/{page_name(n)}" for n in (HOSTILE, "tests/b.py::test_steady:instructions",
                                                    "tests/b.py::test_stepped:instructions")]  # fmt: skip
    assert all((tmp_path / link).is_file() for link in links)


def test_a_page_marks_each_step_and_links_every_commit(series, tmp_path):
    build_dashboard(series, tmp_path, title="demo", repo_url="https://example.test/o/r")
    page = tmp_path / "b" / page_name("tests/b.py::test_stepped:instructions")
    elements = _elements(page)
    circles = [a for tag, a in elements if tag == "circle"]
    assert len(circles) == 60
    commit_links = [
        a["href"] for tag, a in elements if tag == "a" and "/commit/" in (a["href"] or "")
    ]
    assert f"https://example.test/o/r/commit/{30:040x}" in commit_links
    steps = [a for tag, a in elements if tag == "line" and "step" in (a.get("class") or "")]
    assert len(steps) == 1
    assert "slower" in (steps[0]["class"] or "")
    text = page.read_text(encoding="utf-8")
    assert "+5.0%" in text
    assert "<script" not in text
    assert "http" not in text.replace("https://example.test", "")  # nothing external


def test_hostile_names_stay_text(series, tmp_path):
    build_dashboard(series, tmp_path, title="<b>t</b>", repo_url=None)
    for path in [tmp_path / "index.html", tmp_path / "b" / page_name(HOSTILE)]:
        text = path.read_text(encoding="utf-8")
        assert "<script>" not in text
        assert "&lt;script&gt;" in text
        assert not any(a.get("href", "").startswith("https://evil") for _, a in _elements(path))
    assert page_name(HOSTILE).endswith(".html")
    assert "/" not in page_name("a/b/c::d[../../x]")


def test_drift_goes_in_the_index_when_asked(series, tmp_path):
    drifts = {s.name: d for s in series if (d := drift_since(s, f"{0:040x}")) is not None}
    build_dashboard(series, tmp_path, title="demo", repo_url=None, drifts=drifts)
    text = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "Since reference" in text
    assert "+20.0%" in text


def test_recent_movement_is_the_steps_of_the_last_ten_commits(series):
    by_name = {s.name: s for s in series}
    assert recent_movement(by_name[HOSTILE]) == pytest.approx(1.2)  # a step 5 commits ago
    assert recent_movement(by_name["tests/b.py::test_stepped:instructions"]) == 1.0  # 30 ago
    assert recent_movement(by_name["tests/b.py::test_steady:instructions"]) == 1.0
    assert recent_movement(by_name[HOSTILE].model_copy(update={"points": []})) is None


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not installed")
def test_it_renders_in_headless_chromium(series, tmp_path):
    build_dashboard(series, tmp_path / "site", title="demo", repo_url="https://example.test/o/r")
    page = tmp_path / "site" / "b" / page_name("tests/b.py::test_stepped:instructions")
    dom = chromium(tmp_path / "p1", "--dump-dom", page.as_uri())
    assert dom.count("<circle") == 60
    assert 'class="step slower"' in dom
    shot = tmp_path / "shot.png"
    chromium(tmp_path / "p2", "--window-size=1100,700", f"--screenshot={shot}", page.as_uri())
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert shot.stat().st_size > 15_000  # a blank page is a few kB; this one has a chart
