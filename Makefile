# The two commands a fresh machine needs: `make demo` and `make test`.
# Each does its own set-up first (scripts/setup.sh is idempotent).
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test setup setup-test lint typecheck unit bench run clean

demo: setup
	$(BIN)/pinchpoint demo

run: setup
	$(BIN)/pinchpoint run

test: setup-test
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -ra

setup:
	@scripts/setup.sh run

setup-test:
	@scripts/setup.sh test

bench:
	@scripts/setup.sh bench
	$(BIN)/python bench/run_all.py

clean:
	rm -rf var tests/artifacts bench/results
