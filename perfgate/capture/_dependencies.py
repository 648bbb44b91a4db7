"""What instruction counts depend on, recorded beside them.

A count is exact for one interpreter build, one set of libraries and one
valgrind; change any and the same code counts differently. The counting
process records its Python (version, implementation, build, compiler) and
the version of every installed distribution whose modules it had imported by
the end; the parent adds valgrind's version and the CPU flags that change
code paths. The judge warns, by name, about each that differs between
baseline and current (``verdict/_compare.py``).
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Final

__all__ = ["DEPENDENCIES_KEY", "instruction_dependencies", "record_dependencies"]

DEPENDENCIES_KEY: Final = "instruction_dependencies"
"""The key of a run's ``environment`` that holds these."""
FILE_NAME: Final = "dependencies.json"
# CPU features that libraries and the interpreter pick code paths by.
CODE_PATH_FLAGS: Final = frozenset(
    {"sse4_1", "sse4_2", "avx", "avx2", "avx512f", "avx512bw", "avx512vl", "fma", "bmi1", "bmi2",
     "popcnt", "aes", "sha_ni", "asimd", "sve", "sve2"}
)  # fmt: skip


def _imported_distributions() -> dict[str, str]:
    top_level = {name.partition(".")[0] for name in list(sys.modules)}
    found: dict[str, str] = {}
    for module, distributions in metadata.packages_distributions().items():
        if module in top_level:
            for name in distributions:
                try:
                    found[name] = metadata.version(name)
                except metadata.PackageNotFoundError:
                    continue
    return dict(sorted(found.items()))


def record_dependencies(out_dir: Path) -> None:
    """In the counting process, at its end: write what its counts depend on."""
    facts = {
        "python": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_build": " ".join(platform.python_build()),
        "python_compiler": platform.python_compiler(),
        "packages": _imported_distributions(),
    }
    (out_dir / FILE_NAME).write_text(json.dumps(facts), encoding="utf-8")


def _valgrind_version() -> str | None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    try:
        done = subprocess.run([valgrind, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def _cpu_flags() -> list[str] | None:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return sorted(set(value.split()) & CODE_PATH_FLAGS)
    return None


def instruction_dependencies(out_dirs: Sequence[Path]) -> dict[str, Any]:
    """The counting processes' records, merged, with valgrind and the CPU flags."""
    merged: dict[str, Any] = {}
    packages: dict[str, str] = {}
    for out_dir in out_dirs:
        try:
            facts = json.loads((out_dir / FILE_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        packages.update(facts.pop("packages", {}))
        merged.update(facts)
    if not merged:
        return {}
    merged["packages"] = dict(sorted(packages.items()))
    merged["valgrind"] = _valgrind_version()
    merged["cpu_flags"] = _cpu_flags()
    return merged
