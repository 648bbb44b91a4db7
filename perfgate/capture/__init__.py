"""Capture: what runs inside the project's own environment.

The pytest plugin's session, the ``perf_run`` fixture, the instruments (wall
time, instruction counts, counters) and the results writer. Everything under
this folder imports only the standard library, pytest and pytest-benchmark
(``tests/test_architecture.py`` enforces it), so installing perfgate's plugin
never moves a project's own pins of pydantic, numpy/scipy, jinja2 or PyGithub.
The results file, written with :mod:`json`, is the contract with the judge.
"""
