"""The callgrind helper is built on first use, and every way it cannot be built
is one line and a fallback, never a crash."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from perfgate.capture import _callgrind
from perfgate.capture._callgrind import helper_library

needs_compiler = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler")
needs_compiler_and_header = pytest.mark.skipif(
    shutil.which("cc") is None or not Path("/usr/include/valgrind/callgrind.h").is_file(),
    reason="needs cc and valgrind's callgrind.h",
)


@needs_compiler_and_header
def test_builds_once_into_the_cache_then_reuses_it(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    first, how = helper_library()
    assert how == "built"
    assert first is not None
    assert first.is_file()
    again, how_again = helper_library()
    assert (again, how_again) == (first, "cached")
    assert not [p for p in (tmp_path / "perfgate").iterdir() if p.is_dir()]  # no scratch left


def test_a_missing_source_is_a_reason_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.setattr(_callgrind, "SOURCE", tmp_path / "_callgrind_helper.c")
    helper, why = helper_library()
    assert helper is None
    assert "source is missing" in why
    assert "\n" not in why


def test_no_compiler_is_a_reason(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("CC", "no-such-compiler-anywhere")
    helper, why = helper_library()
    assert helper is None
    assert why == "no C compiler (cc) to build the callgrind helper"


def _reason_only(prefix: str) -> None:
    helper, why = helper_library()
    assert helper is None
    assert why.startswith(prefix)
    assert "\n" not in why


@needs_compiler
def test_an_unwritable_cache_is_a_reason(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", encoding="utf-8")  # the cache would have to live under a file
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    monkeypatch.setenv("CC", "cc")
    _reason_only("the callgrind helper could not be built in ")


@needs_compiler
def test_a_failing_build_names_the_first_compiler_line(tmp_path, monkeypatch):
    source = tmp_path / "_callgrind_helper.c"
    source.write_text("#include <no/such/header.h>\n", encoding="utf-8")
    monkeypatch.setattr(_callgrind, "SOURCE", source)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    _reason_only("the callgrind helper did not build (")
