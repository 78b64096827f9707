"""Offline checks run by the plan against rendered (mocked) Pulumi output."""
