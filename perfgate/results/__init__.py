"""Results: the validated model of a results file, and the readers that produce it
(perfgate's own files, pytest-benchmark JSON, orchestrator run records)."""
