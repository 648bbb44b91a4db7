"""The public API is exactly these names; a change here is an interface change."""

from __future__ import annotations

import perfgate

EXPECTED = {
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
}


def test_exported_names_are_pinned():
    assert set(perfgate.__all__) == EXPECTED
    assert set(perfgate._EXPORTS) == EXPECTED


def test_every_exported_name_resolves_and_is_public():
    for name in perfgate.__all__:
        value = getattr(perfgate, name)
        module = getattr(value, "__module__", "perfgate._version")
        assert module.startswith("perfgate"), name


def test_errors_share_one_base():
    for name in (
        "ConfigError", "GitError", "InputError", "PublishError", "ReadOnlyTokenError",
        "SchemaVersionError", "WriteError",
    ):  # fmt: skip
        assert issubclass(getattr(perfgate, name), perfgate.PerfgateError)
