"""Ordinary pytest-benchmark tests: perfgate captures them without any change."""

import random

import pytest
import textkit

_rng = random.Random(42)
_VOCABULARY = ["".join(_rng.choices("abcdefghij", k=_rng.randint(3, 8))) for _ in range(1500)]
TEXT = " ".join(_rng.choice(_VOCABULARY) for _ in range(6000))


def test_unique_words(benchmark):
    result = benchmark(textkit.unique_words, TEXT)
    assert len(result) > 1000


@pytest.mark.parametrize("n", [10, 100])
def test_top_words(benchmark, n):
    assert len(benchmark(textkit.top_words, TEXT, n)) == n


class TestWrap:
    def test_wrap(self, benchmark):
        assert benchmark(textkit.wrap, TEXT, 72)
