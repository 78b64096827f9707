"""Report: what the plan writes out.

artefacts (resource tree, summary and the other plan artefacts) and deploy_time (the
deploy-time estimate, from creation_times.yaml). Imported by offline's own modules
(plan, check), by fleet and tools above offline, and by tests.
"""
