# perfgate's own tasks. Every target installs what it needs into .venv first
# (idempotently: reinstalls only when pyproject.toml changes).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.perfgate-installed

# make perf-baseline: how many separate pytest processes make the baseline.
PERF_RUNS ?= 3
PERF_BASELINE ?= baselines/perfgate.json
PERF_ARGS ?= -q -p no:cacheprovider --benchmark-enable --benchmark-max-time=0.5
PERF_DIR := .perfgate

# A project's environment as perfgate meets it: pytest and pytest-benchmark only
# (setuptools to install perfgate into it without build isolation). The capture
# tests install perfgate there with --no-deps and prove nothing else comes along.
CAPTURE_VENV ?= .venv-capture
CAPTURE_STAMP := $(CAPTURE_VENV)/.perfgate-capture-env

.PHONY: install capture-env valgrind test test-matrix test-suite lint demo perf-baseline perf-check accuracy accuracy-live fuzz reliability clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "perfgate needs Python >= 3.11 (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(STAMP)

# setuptools as new as pyproject.toml's build requirement (SPDX license expressions).
$(CAPTURE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(CAPTURE_VENV)
	$(CAPTURE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check --upgrade \
	  pytest pytest-benchmark 'setuptools>=77' wheel
	touch $@

capture-env: $(CAPTURE_STAMP)

# Instruction mode needs valgrind. Install Debian's when missing and possible
# (as root); otherwise say so: the instruction-mode tests are then skipped.
valgrind:
	@command -v valgrind >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; } || \
	  echo "valgrind is not installed (apt-get install valgrind): instruction-mode tests will be skipped"

test: install capture-env valgrind
	PERFGATE_CAPTURE_PYTHON=$(CURDIR)/$(CAPTURE_VENV)/bin/python $(BIN)/python -m pytest tests --benchmark-disable
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-matrix

# Every other Python the classifiers name (pyproject.toml), where this machine
# has it: pythonX.Y on PATH, pyenv's versions, or a build in /opt/pythonX.Y (the
# first that runs). Each gets its own .venv-X.Y and .venv-capture-X.Y and the
# whole suite; a missing one is named, never silently passed
# (tests/test_packaging.py keeps MATRIX equal to the classifiers).
MATRIX ?= 3.12 3.13
PYENV_ROOT ?= $(HOME)/.pyenv
test-matrix:
	@for v in $(MATRIX); do \
	  py=; for c in $$(command -v python$$v) $$(ls -d $(PYENV_ROOT)/versions/$$v.*/bin/python$$v 2>/dev/null | sort -V -r) /opt/python$$v/bin/python$$v; do \
	    if [ -x "$$c" ] && "$$c" -c 'import sys' >/dev/null 2>&1; then py=$$c; break; fi; \
	  done; \
	  if [ -z "$$py" ]; then echo "test-matrix: Python $$v is not on this machine: not tested"; continue; fi; \
	  echo "test-matrix: Python $$v ($$py)"; \
	  $(MAKE) --no-print-directory test-suite PYTHON=$$py VENV=.venv-$$v CAPTURE_VENV=.venv-capture-$$v || exit 1; \
	done

test-suite: install capture-env valgrind
	PERFGATE_CAPTURE_PYTHON=$(CURDIR)/$(CAPTURE_VENV)/bin/python $(BIN)/python -m pytest tests --benchmark-disable -q

lint: install
	$(BIN)/ruff check perfgate tests examples accuracy reliability
	$(BIN)/ruff format --check perfgate tests examples accuracy reliability
	$(BIN)/mypy

demo: install
	$(BIN)/python examples/run_demo.py

# Measure perfgate's own benchmarks in $(PERF_RUNS) separate processes and merge
# them into the committed baseline (written atomically).
perf-baseline: install
	rm -rf $(PERF_DIR)/baseline && mkdir -p $(PERF_DIR)/baseline
	for i in $$(seq 1 $(PERF_RUNS)); do \
	  $(BIN)/python -m pytest tests/benchmarks $(PERF_ARGS) --perfgate-output $(PERF_DIR)/baseline/run-$$i.json || exit 1; \
	done
	$(BIN)/perfgate merge -o $(PERF_BASELINE) $(PERF_DIR)/baseline/run-*.json
	$(BIN)/perfgate history add $(PERF_BASELINE)

# Measure again the same way and gate against the committed baseline.
perf-check: install
	rm -rf $(PERF_DIR)/current && mkdir -p $(PERF_DIR)/current
	for i in $$(seq 1 $(PERF_RUNS)); do \
	  $(BIN)/python -m pytest tests/benchmarks $(PERF_ARGS) --perfgate-output $(PERF_DIR)/current/run-$$i.json || exit 1; \
	done
	$(BIN)/perfgate merge -o $(PERF_DIR)/current.json $(PERF_DIR)/current/run-*.json
	$(BIN)/perfgate compare $(PERF_BASELINE) $(PERF_DIR)/current.json --format json --output $(PERF_DIR)/report.json; \
	  status=$$?; \
	  $(BIN)/perfgate compare $(PERF_BASELINE) $(PERF_DIR)/current.json --format markdown --output $(PERF_DIR)/report.md; \
	  $(BIN)/perfgate compare $(PERF_BASELINE) $(PERF_DIR)/current.json; exit $$status

# The accuracy harness: collect real runs of the workload suite on this machine
# (quiet, and with a busy neighbour), score perfgate and other tools' rules on
# the same A/A and A/B pairs, measure instruction mode on the same workloads,
# and write docs/accuracy.md. About 8 minutes.
ACCURACY_PROCESSES ?= 24
ACCURACY_DRAWS ?= 200
accuracy: install valgrind
	rm -rf accuracy/data
	$(BIN)/python accuracy/collect.py --processes $(ACCURACY_PROCESSES) --out accuracy/data
	cd accuracy && ../$(BIN)/python instructions.py --runs 2 --out data
	$(BIN)/python accuracy/score.py --data accuracy/data --draws $(ACCURACY_DRAWS)

# Live A/B: the real `perfgate ab` on a 10-benchmark suite with known changes,
# quiet and busy, for each schedule (accuracy/live_ab.py), then the page again.
# About 75 minutes; run it on an otherwise idle machine.
LIVE_REPETITIONS ?= 3
accuracy-live: install
	rm -rf accuracy/data-live
	$(BIN)/python accuracy/live_ab.py --config alternate --repetitions $(LIVE_REPETITIONS)
	$(BIN)/python accuracy/live_ab.py --config duet --repetitions 2
	$(BIN)/python accuracy/live_ab.py --config alternate-unpinned --repetitions 1
	$(BIN)/python accuracy/live_ab.py --config process --repetitions 1
	$(BIN)/python accuracy/score.py --data accuracy/data --draws $(ACCURACY_DRAWS)

# Mutation fuzzing of every reader, FUZZ_MINUTES per reader (7 readers), and the
# fault trials that write docs/reliability.md (about 15 minutes; needs root for
# the full-disk tmpfs).
FUZZ_MINUTES ?= 10
fuzz: install
	$(BIN)/python reliability/fuzz.py --minutes $(FUZZ_MINUTES)

reliability: install
	$(BIN)/python reliability/faults.py --out docs/reliability.md

clean:
	rm -rf $(VENV) $(CAPTURE_VENV) .venv-3.* .venv-capture-3.* $(PERF_DIR) build *.egg-info
