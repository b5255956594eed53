# Two commands do everything on a fresh machine with Python 3.11+:
#   make run    the gateway on http://127.0.0.1:8000 (embedded PostgreSQL + Redis, demo data)
#   make test   the whole test suite
# Each creates .venv and installs the project into it first, when needed.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test lint format bench bench-scaleout bench-stages wrk clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,embedded]"
	@rm -f $(VENV)/.installed-*
	@touch $@

run: $(STAMP)
	$(BIN)/gateway serve

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict gateway
	$(BIN)/mypy --strict tests
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks (README "Benchmarks"): about 10 minutes; BENCH_ARGS="--smoke" for a tiny run.
# wrk comes from Debian when it can be installed here (root or password-less sudo);
# otherwise the Python load generator stands in and the report says so.
bench: $(STAMP) wrk
	@$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[dev,embedded,bench]"
	$(BIN)/python -m bench $(BENCH_ARGS)

# Two gateways on a primary + hot standby and a Redis Cluster, against the same two on one
# PostgreSQL and one Redis, loaded at once (README "Scaling out"): about 6 minutes;
# SCALEOUT_ARGS="--smoke" for a run of about a minute.
bench-scaleout: $(STAMP) wrk
	$(BIN)/python -m bench.scaleout $(SCALEOUT_ARGS)

wrk:
	@command -v wrk >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo -n"; fi; \
		{ $$SUDO apt-get install -y -qq wrk >/dev/null 2>&1 || { $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq wrk; }; } \
		|| echo "bench: could not install wrk; using the Python load generator" >&2; }

# What each stage of the request pipeline costs (README "Benchmarks"): about 2 minutes,
# in-process, on real PostgreSQL and Redis; STAGES_ARGS="--smoke" for a check in seconds.
bench-stages: $(STAMP)
	$(BIN)/python -m bench.pipeline_stages $(STAGES_ARGS)

clean:
	rm -rf $(VENV) .gateway build *.egg-info
