# Datafly Signal on AWS. Every target sets up what it needs: a fresh clone needs
# only python3 (3.11+) and the package registry.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
STACK ?=
OUT ?= out

.PHONY: help venv plan plan-all test lint typecheck docs snapshots tenant promote bench clean

help:
	@echo "make plan STACK=<name>   offline plan of one stack (writes out/<name>/)"
	@echo "make plan-all            offline plan of every stacks/Pulumi.*.yaml, on every core"
	@echo "make test                type check and the whole test suite"
	@echo "make docs                regenerate docs/configuration.md, docs/policies.md and the README policy table"
	@echo "make snapshots           re-render tests/snapshots/ (review the diff)"
	@echo "make tenant NAME=<customer> DOMAIN=<domain> [VALUES=<helm values file>]"
	@echo "                         onboard a customer: writes stacks/Pulumi.<customer>.yaml"
	@echo "make promote TAG=<tag> STACKS=\"a b\" [DRY_RUN=1]"
	@echo "                         promote a release (Pulumi Automation API; DRY_RUN=1 plans offline)"
	@echo "make bench               plan time and memory against the SDK floor, 1 to 200 stacks (docs/benchmark.*)"

# Re-install when a requirements file changes; the stamp records the last good install.
$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

# checkov pins packages (packaging<24, boto3, ...) that conflict with the Pulumi SDK's,
# so it lives in a virtualenv of its own; tests/test_scanners.py runs it from there.
CHECKOV_VENV := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
$(CHECKOV_STAMP): scanners/requirements-checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || $(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r scanners/requirements-checkov.txt
	@touch $(CHECKOV_STAMP)

venv: $(STAMP) $(CHECKOV_STAMP)

# The environment sets PYTHONDONTWRITEBYTECODE=1, so without this every plan would
# compile the project's modules again (the SDKs' bytecode is written by pip at install).
# compileall rewrites only what changed since; make reruns it only when a source did.
PACKAGES := __main__.py components builders stackconfig derive offline policies fleet tools
COMPILED := $(VENV)/.compiled
$(COMPILED): $(STAMP) $(shell find $(PACKAGES) -name '*.py' -not -path '*/__pycache__/*' 2>/dev/null)
	@$(PY) -m compileall -q -j0 $(PACKAGES) >/dev/null
	@touch $(COMPILED)

# make exits 2 whenever a recipe fails, whatever the command's own code; so the plan's
# code and its meaning are printed here, and `$(PY) -m offline.plan` returns them itself.
PLAN_FAILED = { rc=$$?; case $$rc in 1) m="validation or mandatory-policy violations";; \
	2) m="bad configuration or stack file";; 3) m="the program failed (a bug)";; *) m="unexpected";; esac; \
	echo "make $@: the plan exited $$rc ($$m); make itself exits 2 on any failure," \
	"run $(PY) -m offline.plan $(1) for the plan's own exit code" >&2; exit $$rc; }

plan: $(COMPILED)
	@test -n "$(STACK)" || { echo "usage: make plan STACK=<name> (stacks: $$(ls stacks | sed -n 's/^Pulumi\.\(.*\)\.yaml$$/\1/p' | tr '\n' ' '))"; exit 2; }
	$(PY) -m offline.plan $(STACK) --out $(OUT) || $(call PLAN_FAILED,$(STACK))

plan-all: $(COMPILED)
	$(PY) -m offline.plan --all --out $(OUT) || $(call PLAN_FAILED,--all)

typecheck: $(STAMP)
	$(PY) -m mypy

lint: $(STAMP) typecheck
	$(VENV)/bin/ruff check .

# One worker per core. Work stealing, not xdist's default chunks of consecutive tests: those
# would hand every shard of the fuzz properties (tests/test_config.py) to one worker.
test: $(COMPILED) $(CHECKOV_STAMP) lint
	$(PY) -m pytest -n auto --dist worksteal

# Each page is written to a temporary file and renamed only when its generator succeeded,
# so a failure never leaves an empty or half-written page behind.
docs: $(STAMP)
	$(PY) -m tools.config_docs > docs/configuration.md.tmp && mv docs/configuration.md.tmp docs/configuration.md \
		|| { rm -f docs/configuration.md.tmp; exit 1; }
	$(PY) -m policies.docs > docs/policies.md.tmp && mv docs/policies.md.tmp docs/policies.md \
		|| { rm -f docs/policies.md.tmp; exit 1; }
	$(PY) -m policies.docs --readme

snapshots: $(STAMP)
	$(PY) -m tools.snapshots

tenant: $(STAMP)
	@test -n "$(NAME)" -a -n "$(DOMAIN)" || { echo "usage: make tenant NAME=<customer> DOMAIN=<domain> [VALUES=<helm values file>]"; exit 2; }
	$(PY) -m fleet.onboard $(NAME) $(DOMAIN) $(if $(VALUES),--values $(VALUES))

promote: $(STAMP)
	@test -n "$(TAG)" -a -n "$(STACKS)" || { echo "usage: make promote TAG=<tag> STACKS=\"<stack> ...\" [DRY_RUN=1]"; exit 2; }
	$(PY) -m fleet.promote $(TAG) $(STACKS) $(if $(DRY_RUN),--dry-run)

bench: $(COMPILED)
	$(PY) -m fleet.bench

clean:
	rm -rf out .pytest_cache .mypy_cache .hypothesis
