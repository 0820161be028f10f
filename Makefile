# The two commands a fresh machine needs: `make demo` and `make test`.
# Each does its own set-up first (scripts/setup.sh is idempotent).
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup setup-demo setup-test lint typecheck unit bench soak run clean flake fuzz

# The data sets the tools read (never shipped; `pinchpoint run` does not read them).
DATA ?= ../shared/data

demo: setup-demo
	$(BIN)/pinchpoint demo --data $(DATA)

run: setup
	$(BIN)/pinchpoint run

test: setup-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	# The 25 slowest tests are listed: CI must stay under 15 minutes on 2 cores.
	$(BIN)/python -m pytest -q -ra --durations=25

setup:
	@scripts/setup.sh run

setup-demo:
	@scripts/setup.sh demo

setup-test:
	@scripts/setup.sh test

# Not part of `make test`: the racing suites N times, each test's failure count printed.
N ?= 5
SUITES ?=
flake: setup-test
	$(BIN)/python scripts/flake.py --runs $(N) $(SUITES)

# Not part of `make test` (which runs the same fuzz targets bounded and derandomized):
# each fuzz target of the fault suite with 50x its examples, random, failures kept in
# var/hypothesis and replayed first next time.
fuzz: setup-test
	PINCHPOINT_FUZZ=long $(BIN)/python -m pytest -q -ra -m faults tests/faults/test_fuzz_*.py

bench:
	@scripts/setup.sh bench
	$(BIN)/python bench/run_all.py

# Not part of `make test` or `make bench`: 8 file cameras for 30 minutes with the operator and
# officers connected, memory/files/database sampled each minute (bench/bench_soak.py).
soak:
	@scripts/setup.sh bench
	$(BIN)/python bench/run_all.py soak

clean:
	rm -rf var tests/artifacts bench/results
