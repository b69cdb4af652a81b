# projector: every target sets up .venv itself when it is missing.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# An editable install by a path entry, not setuptools' import hook: with the hook, a script
# beside a clone named projector/ imports the clone's root as an empty namespace package.
EDITABLE := --config-settings editable_mode=compat
SCENARIO ?= default
ARGS ?=
TRENDS_ARGS ?=
BENCH_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help install project plots report trends test test-all bench lint format clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  variables: SCENARIO=$(SCENARIO) (a name in scenarios/ or a path), ARGS='--paths 1000 ...', TRENDS_ARGS='--dataset PATH --cutoff DATE ...', BENCH_ARGS='--huge 10000000'"

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# the pinned CPU build of torch first (this disk has it), so the measure extra never pulls CUDA
	$(PY) -m pip install --quiet 'torch==2.13.0' && $(PY) -m pip install --quiet $(EDITABLE) -e '.[plot,studies,dask,dev,measure,explore]' \
	  || { echo "torch 2.13.0 (CPU) not installable here: the measure tests will skip"; \
	       $(PY) -m pip install --quiet $(EDITABLE) -e '.[plot,studies,dask,dev,explore]'; }
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install projector with all its extras and dev tools

project: $(STAMP) ## run SCENARIO (default: default) -> results/<name>/
	$(PY) -m projector project $(SCENARIO) $(ARGS)

plots: $(STAMP) ## fan chart of SCENARIO's result (runs it first if missing or made from other inputs)
	$(PY) -m projector project $(SCENARIO) --reuse --force --plot $(ARGS)

report: $(STAMP) ## HTML report of SCENARIO -> results/<name>/report.html (runs it first if missing or stale)
	$(PY) -m projector project $(SCENARIO) --reuse --force --quiet
	$(PY) -m projector report $(SCENARIO)

trends: $(STAMP) ## historical trends of the bundled data (Three Eras) -> results/trends/
	$(PY) -m projector trends $(TRENDS_ARGS)

test: $(STAMP) ## run the test suite (fast tests; the slow ones run in test-all)
	$(PY) -m pytest -q

test-all: $(STAMP) ## every test, including the slow ones
	$(PY) -m pytest -q -m ''

bench: $(STAMP) ## kernels against their twins; 100,000 paths end to end; the main kernel against its floor; cold commands before/after
	$(PY) benchmarks/bench_kernels.py $(BENCH_ARGS)
	$(PY) benchmarks/bench_core.py

lint: $(STAMP) ## ruff (lint and format check) and mypy
	$(VENV)/bin/ruff check projector tests benchmarks
	$(VENV)/bin/ruff format --check projector tests benchmarks
	$(VENV)/bin/mypy projector

format: $(STAMP) ## apply ruff's formatter and safe fixes
	$(VENV)/bin/ruff format projector tests benchmarks
	$(VENV)/bin/ruff check --fix projector tests benchmarks

clean: ## remove the venv, caches and generated results
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .hypothesis build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find results -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
