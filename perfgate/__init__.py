"""perfgate: a CI performance regression gate with verdicts you can trust.

The public API is what this module exports; everything in ``perfgate._*`` is
private and may change without notice. Names load lazily on first use, so
that pytest, which imports ``perfgate.plugin`` (and so this package) on every
run, does not pay for pydantic, scipy or jinja2 unless perfgate is switched on.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from perfgate._config import Config, Override, load_config
    from perfgate._errors import (
        ConfigError,
        GitError,
        InputError,
        PerfgateError,
        PublishError,
        ReadOnlyTokenError,
        SchemaVersionError,
        WriteError,
    )
    from perfgate._version import __version__
    from perfgate.report._render import ReportFormat, render
    from perfgate.results._model import Benchmark, Environment, Kind, ResultsFile, Run, Summary
    from perfgate.results._readers import load_results, parse_results
    from perfgate.results._storage import merge_results, save_results
    from perfgate.verdict._compare import compare
    from perfgate.verdict._comparison import (
        BenchmarkComparison,
        Comparison,
        SideInfo,
        Status,
        Verdict,
    )
    from perfgate.verdict._stats import NoiseSource, RatioEstimate

_EXPORTS: dict[str, str] = {
    "Benchmark": "perfgate.results._model",
    "BenchmarkComparison": "perfgate.verdict._comparison",
    "Comparison": "perfgate.verdict._comparison",
    "Config": "perfgate._config",
    "ConfigError": "perfgate._errors",
    "GitError": "perfgate._errors",
    "PublishError": "perfgate._errors",
    "ReadOnlyTokenError": "perfgate._errors",
    "Environment": "perfgate.results._model",
    "InputError": "perfgate._errors",
    "Kind": "perfgate.results._model",
    "NoiseSource": "perfgate.verdict._stats",
    "Override": "perfgate._config",
    "PerfgateError": "perfgate._errors",
    "RatioEstimate": "perfgate.verdict._stats",
    "ReportFormat": "perfgate.report._render",
    "ResultsFile": "perfgate.results._model",
    "Run": "perfgate.results._model",
    "SchemaVersionError": "perfgate._errors",
    "SideInfo": "perfgate.verdict._comparison",
    "Status": "perfgate.verdict._comparison",
    "Summary": "perfgate.results._model",
    "Verdict": "perfgate.verdict._comparison",
    "WriteError": "perfgate._errors",
    "__version__": "perfgate._version",
    "compare": "perfgate.verdict._compare",
    "load_config": "perfgate._config",
    "load_results": "perfgate.results._readers",
    "merge_results": "perfgate.results._storage",
    "parse_results": "perfgate.results._readers",
    "render": "perfgate.report._render",
    "save_results": "perfgate.results._storage",
}

__all__ = [
    "Benchmark",
    "BenchmarkComparison",
    "Comparison",
    "Config",
    "ConfigError",
    "Environment",
    "GitError",
    "InputError",
    "Kind",
    "NoiseSource",
    "Override",
    "PerfgateError",
    "PublishError",
    "RatioEstimate",
    "ReadOnlyTokenError",
    "ReportFormat",
    "ResultsFile",
    "Run",
    "SchemaVersionError",
    "SideInfo",
    "Status",
    "Summary",
    "Verdict",
    "WriteError",
    "__version__",
    "compare",
    "load_config",
    "load_results",
    "merge_results",
    "parse_results",
    "render",
    "save_results",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'perfgate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return [*__all__, "plugin"]
