"""Offline checks run by the plan against rendered (mocked) Pulumi output, and the plan's
report (resource tree, summary and the deploy-time estimate, offline/report/deploy_time.py).

The folders follow the plan's pipeline; offline/plan.py (the CLI, `python -m offline.plan`)
ties them together:

- run/: read the stack file and run the program under mocks (stackfile, safe_yaml,
  runner, fabricate, fabricators/).
- check/: the plan rules (checks, PLAN_RULES), kubernetes/, cel, aws_constraints,
  cfn_mapping, behaviour, policy_check, capacity, fleet_checks.
- report/: the plan's artefacts (artefacts) and the deploy-time estimate (deploy_time,
  creation_times.yaml).
- fixtures/: data read by plan.py.

Layer (.importlinter): offline may import policies, components, builders, stackconfig
and derive; only fleet and tools (above it) may import offline.
"""
