"""Run: read a stack file and run the Pulumi program under mocks.

stackfile (reading and placing stack files, with safe_yaml), runner (the program under
Pulumi mocks, recorded as a PlanRun), fabricate and fabricators/ (plausible outputs for
resources and data sources). Imported by offline's own modules (plan, check, report),
by fleet and tools above offline, and by tests.
"""
