"""perfgate: a CI performance regression gate with verdicts you can trust.

The public API is what this module exports; everything in ``perfgate._*`` is
private and may change without notice.
"""

from __future__ import annotations

from perfgate._compare import compare
from perfgate._comparison import BenchmarkComparison, Comparison, SideInfo, Status, Verdict
from perfgate._config import Config, Override, load_config
from perfgate._errors import (
    ConfigError,
    InputError,
    PerfgateError,
    SchemaVersionError,
    WriteError,
)
from perfgate._readers import load_results, parse_results
from perfgate._render import ReportFormat, render
from perfgate._results import Benchmark, Environment, Kind, ResultsFile, Run, Summary
from perfgate._stats import NoiseSource, RatioEstimate
from perfgate._storage import merge_results, save_results
from perfgate._version import __version__

__all__ = [
    "Benchmark",
    "BenchmarkComparison",
    "Comparison",
    "Config",
    "ConfigError",
    "Environment",
    "InputError",
    "Kind",
    "NoiseSource",
    "Override",
    "PerfgateError",
    "RatioEstimate",
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
