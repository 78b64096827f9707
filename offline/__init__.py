"""Offline checks run by the plan against rendered (mocked) Pulumi output, and the plan's
report (resource tree, summary and the deploy-time estimate, offline/deploy_time.py).

Layer (.importlinter): offline may import policies, components, builders, stackconfig
and derive; only fleet and tools (above it) may import offline.
"""
