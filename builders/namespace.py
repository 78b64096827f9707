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


# With `target-type: ip` the ALB sends traffic straight to pod IPs, so a rollout may
# kill the old pod before the ALB has registered the new one as healthy. The controller's
# pod mutating webhook injects a readiness gate (`target-health.elbv2.k8s.aws/...`) into
# pods only in namespaces with this label (aws/eks-charts
# `stable/aws-load-balancer-controller/templates/webhook.yaml`@v3.5.0, `mpod.elbv2.k8s.aws`
# namespaceSelector), and a pod then turns Ready only once its target is healthy.
POD_READINESS_GATE_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"


def namespace(customer: str, *, alb: bool = True) -> dict[str, Any]:
    """`alb`: the namespace's services sit behind the ALB (ingress class `alb`)."""
    labels = common_labels(customer, component="tenant", name="datafly-signal")
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = PSA_LEVEL
        labels[f"pod-security.kubernetes.io/{mode}-version"] = PSA_VERSION
    if alb:
        labels[POD_READINESS_GATE_LABEL] = "enabled"
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespace_name(customer), "labels": labels},
    }
