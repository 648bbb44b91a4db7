"""A tiny text toolkit: the demo project whose performance perfgate gates."""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"[a-z']+")


def words(text: str) -> list[str]:
    """Lower-cased words of ``text``."""
    return _WORD.findall(text.lower())


def unique_words(text: str) -> list[str]:
    """Distinct words in order of first appearance."""
    return list(dict.fromkeys(words(text)))  # perfgate-demo: fast path


def top_words(text: str, n: int) -> list[tuple[str, int]]:
    """The ``n`` most frequent words with their counts."""
    return Counter(words(text)).most_common(n)


def wrap(text: str, width: int) -> list[str]:
    """Greedy line wrapping at ``width`` characters."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines
