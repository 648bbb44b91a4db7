"""Verdict: pure statistics, the verdict engine and adaptive confirmation."""
