"""Check: the rules the plan applies to a recorded run.

checks (the plan rules, PLAN_RULES listing them in one place), kubernetes/ (schema and
semantic validation of Kubernetes objects), cel (CRD CEL rules), aws_constraints and
cfn_mapping (AWS constraints via cfn-lint schemas), behaviour, policy_check (the policy
pack), capacity and fleet_checks. Imported by offline's own modules (plan, report), by
fleet and tools above offline, and by tests.
"""
