# Datafly Signal on AWS. Every target sets up what it needs: a fresh clone needs
# only python3 (3.11+) and the package registry.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACK ?=

.PHONY: help venv plan plan-all test lint typecheck docs snapshots clean

help:
	@echo "make plan STACK=<name>   offline plan of one stack (writes out/<name>/)"
	@echo "make plan-all            offline plan of every stacks/Pulumi.*.yaml"
	@echo "make test                type check and the whole test suite"
	@echo "make docs                regenerate docs/configuration.md from the config models"
	@echo "make snapshots           re-render tests/snapshots/ (review the diff)"

# Re-install when a requirements file changes; the stamp records the last good install.
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

plan: $(STAMP)
	@test -n "$(STACK)" || { echo "usage: make plan STACK=<name> (stacks: $$(ls stacks | sed -n 's/^Pulumi\.\(.*\)\.yaml$$/\1/p' | tr '\n' ' '))"; exit 2; }
	$(PY) -m offline.plan $(STACK)

plan-all: $(STAMP)
	$(PY) -m offline.plan --all

typecheck: $(STAMP)
	$(PY) -m mypy

lint: $(STAMP) typecheck
	$(VENV)/bin/ruff check .

test: $(STAMP) lint
	$(PY) -m pytest

docs: $(STAMP)
	$(PY) -m tools.config_docs > docs/configuration.md

snapshots: $(STAMP)
	$(PY) -m tools.snapshots

clean:
	rm -rf out .pytest_cache .mypy_cache .hypothesis
