"""Register a rendered Kubernetes object (a plain dict from `builders/`) as the typed
pulumi-kubernetes resource of its kind, or as a CustomResource."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

_TYPED: dict[tuple[str, str], Any] = {
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("v1", "LimitRange"): k8s.core.v1.LimitRange,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("networking.k8s.io/v1", "Ingress"): k8s.networking.v1.Ingress,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
}


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def resource_name(prefix: str, obj: Mapping[str, Any]) -> str:
    """`<prefix>-<kind>-<name>`: unique within a namespace, and stable as long as the
    object's kind and name are."""
    return f"{prefix}-{str(obj['kind']).lower()}-{obj['metadata']['name']}"


def register(name: str, obj: Mapping[str, Any], opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
    fields = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    typed = _TYPED.get((api_version, kind))
    if typed is not None:
        # Top-level fields are keyword arguments; nested maps go to the API as written
        # (camelCase), which is also what the offline validators checked.
        resource: pulumi.CustomResource = typed(name, opts=opts, **{_snake(k): v for k, v in fields.items()})
        return resource
    return k8s.apiextensions.CustomResource(name, api_version=api_version, kind=kind, opts=opts, **fields)
