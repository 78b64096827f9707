"""The customer's namespace."""

from __future__ import annotations

from typing import Any

from .labels import common_labels

# Pod Security Admission: enforce the `restricted` profile, and warn/audit at the same
# level so a violation is visible before it blocks a rollout.
PSA_LEVEL = "restricted"
PSA_VERSION = "latest"


def namespace_name(customer: str) -> str:
    return f"customer-{customer}"


def namespace(customer: str) -> dict[str, Any]:
    labels = common_labels(customer, component="tenant", name="datafly-signal")
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = PSA_LEVEL
        labels[f"pod-security.kubernetes.io/{mode}-version"] = PSA_VERSION
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace_name(customer), "labels": labels},
    }
