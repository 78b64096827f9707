"""Plain data for the EKS cluster: log types, managed-policy lists, add-on configuration,
access entries and IAM documents. No Pulumi here; components/eks_cluster.py registers it.
`node_ami_type` lives in derive/eks.py (the config model checks it) and is re-exported here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from derive.eks import node_ami_type as node_ami_type

from .iam import POLICY_VERSION

# Every control-plane log stream. api/audit/authenticator are the security record (who
# did what, who got in); controllerManager/scheduler are what you need when a rollout
# or scaling event misbehaves. CloudWatch bills per GB ingested, and retention is bounded
# by config.log_retention_days, so all five are worth keeping.
CLUSTER_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")

# The control plane's and the nodes' AWS-managed policies, keyed by short name: the short
# name is the attachment's child-name suffix, so the list can be reordered or extended
# without replacing attachments.
CLUSTER_MANAGED_POLICIES = ("AmazonEKSClusterPolicy",)
NODE_MANAGED_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryReadOnly",
)

CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"

# Audience of the projected service-account tokens that IRSA exchanges with STS.
IRSA_AUDIENCE = "sts.amazonaws.com"

# KMS actions the cluster role needs on the secrets key when the key policy is the
# default one (account root + IAM policies): the same set terraform-aws-modules/eks grants
# in its cluster-encryption policy.
CLUSTER_KMS_ACTIONS = ("kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey")


def partition_for_region(region: str) -> str:
    """The ARN partition a region lives in (AWS-managed policy ARNs embed it)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    if region.startswith("us-iso-"):
        return "aws-iso"
    if region.startswith("us-isob-"):
        return "aws-iso-b"
    return "aws"


def managed_policy_arn(policy: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::aws:policy/{policy}"


def managed_policy_arns(policies: Iterable[str], partition: str = "aws") -> dict[str, str]:
    """Short name -> ARN, in a stable (sorted) order."""
    return {policy: managed_policy_arn(policy, partition) for policy in sorted(policies)}


def cluster_access_policy_arn(policy: str, partition: str = "aws") -> str:
    return f"arn:{partition}:eks::aws:cluster-access-policy/{policy}"


def kms_alias_name(cluster_name: str) -> str:
    return f"alias/{cluster_name}-eks-secrets"


def cluster_log_group_name(cluster_name: str) -> str:
    """The name EKS itself writes control-plane logs to; creating it first keeps its
    retention under our control (EKS would otherwise create it with no expiry)."""
    return f"/aws/eks/{cluster_name}/cluster"


@dataclass(frozen=True)
class AdminAccessEntry:
    key: str
    principal_arn: str


def principal_key(principal_arn: str) -> str:
    """A short, stable id for a principal, for child names: independent of where the ARN
    sits in the config list, so reordering the list replaces nothing."""
    return hashlib.sha256(principal_arn.encode()).hexdigest()[:8]


def admin_access_entries(role_arns: Sequence[str]) -> list[AdminAccessEntry]:
    """One entry per distinct role ARN, sorted by key (duplicates would collide on URN)."""
    entries = {principal_key(arn): AdminAccessEntry(principal_key(arn), arn) for arn in role_arns}
    return [entries[key] for key in sorted(entries)]


def vpc_cni_configuration() -> str:
    """configurationValues for the vpc-cni managed add-on: turn on the network policy
    agent so Kubernetes NetworkPolicies are enforced (the add-on's schema wants the
    string "true", not a boolean).
    https://docs.aws.amazon.com/eks/latest/userguide/cni-network-policy-configure.html"""
    return json.dumps({"enableNetworkPolicy": "true"})


def oidc_issuer_host_path(issuer: str) -> str:
    """`oidc.eks.<region>.amazonaws.com/id/<ID>`: the form IRSA trust-policy condition
    keys and the IAM OIDC provider ARN use."""
    return issuer.removeprefix("https://")


def cluster_kms_policy(key_arn: str) -> dict[str, Any]:
    """Inline policy letting the cluster role use (only) its secrets key."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Action": list(CLUSTER_KMS_ACTIONS),
                "Resource": key_arn,
            }
        ],
    }


def node_tags(cluster_name: str, tags: dict[str, str]) -> dict[str, str]:
    """Tags for node instances and volumes. The provider's default_tags do not reach
    instances an Auto Scaling group launches, so the launch template carries them."""
    return {**tags, "Name": f"{cluster_name}-node"}


def cidr_key(cidr: str) -> str:
    """`10.8.0.0/16` -> `10-8-0-0-16`: a child-name suffix that follows the CIDR itself."""
    return cidr.replace(".", "-").replace("/", "-")
