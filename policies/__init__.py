"""The Datafly Signal guardrails: a Pulumi CrossGuard policy pack.

`POLICIES` holds the policy objects; the Pulumi CLI runs them through `__main__.py`
(`pulumi preview --policy-pack policies`) and the offline plan calls the same objects'
validate functions (offline/check/policy_check.py). Importing this package never starts the
policy server.

Layer (.importlinter): policies may import builders, stackconfig and derive, never
components (side by side), offline, fleet or tools; offline, fleet and tools may import
policies.
"""

from __future__ import annotations

from pulumi_policy import Policy

from . import aws, karpenter, kubernetes, stack
from ._util import PolicyInfo, Registry

PACK_NAME = "datafly-guardrails"
PACK_DESCRIPTION = "Datafly Signal on AWS: data stores, EKS, IAM, workloads and tenant isolation"

_REGISTRY = Registry()
aws.register(_REGISTRY)
kubernetes.register(_REGISTRY)
karpenter.register(_REGISTRY)
stack.register(_REGISTRY)

POLICIES: tuple[Policy, ...] = tuple(_REGISTRY.policies)
POLICY_INFO: dict[str, PolicyInfo] = dict(_REGISTRY.info)

__all__ = ["PACK_NAME", "PACK_DESCRIPTION", "POLICIES", "POLICY_INFO", "PolicyInfo"]
