"""VPC planning as plain data: subnet CIDRs, subnet tags and the flow-log IAM documents.

Subnet layout (VPC prefix /p, shown for a /16):

    slot 0..5   private subnets, one per AZ index      /p+3   (/19, 8,192 addresses)
    slot 6      public subnets, split eight ways      /p+6   (/22, 1,024 addresses)
    slot 7      unused, kept for a future tier (e.g. database or intra subnets)

A slot is one eighth of the VPC. Private subnets are large because the EKS VPC CNI
gives every pod a VPC address; public subnets only hold NAT gateways and load
balancers. The layout is sized for the most AZs the config allows (six), so the CIDR
of AZ index i never depends on how many AZs are in use: raising `availabilityZones`
adds subnets and never re-numbers (and so replaces) the existing ones.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .iam import POLICY_VERSION, service_trust_policy

MAX_AZS = 6
# An AWS VPC CIDR block must lie between /16 and /28, and so must a subnet's.
# https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html
LARGEST_VPC_PREFIX = 16
SMALLEST_SUBNET_PREFIX = 28
_SLOT_BITS = 3  # eight slots
_PUBLIC_SLOT = 6
_PUBLIC_BITS = 3  # eight public subnets in the public slot

FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"


class NetworkPlanError(ValueError):
    """The VPC CIDR cannot hold the requested subnets."""


@dataclass(frozen=True)
class SubnetPair:
    az_index: int
    private_cidr: str
    public_cidr: str


def plan_subnets(vpc_cidr: str, az_count: int) -> list[SubnetPair]:
    """The private and public subnet CIDRs for AZ indexes 0..az_count-1."""
    try:
        vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    except ValueError as exc:
        raise NetworkPlanError(f"VPC CIDR {vpc_cidr!r} is not an IPv4 network: {exc}") from None
    if not 1 <= az_count <= MAX_AZS:
        raise NetworkPlanError(f"availability zone count must be 1..{MAX_AZS}, got {az_count}")
    if vpc.prefixlen < LARGEST_VPC_PREFIX:
        raise NetworkPlanError(
            f"VPC CIDR {vpc} is larger than AWS allows; use a prefix of /{LARGEST_VPC_PREFIX} "
            "or longer (e.g. 10.0.0.0/16)"
        )
    private_prefix = vpc.prefixlen + _SLOT_BITS
    public_prefix = private_prefix + _PUBLIC_BITS
    if public_prefix > SMALLEST_SUBNET_PREFIX:
        largest_ok = SMALLEST_SUBNET_PREFIX - _SLOT_BITS - _PUBLIC_BITS
        raise NetworkPlanError(
            f"VPC CIDR {vpc} is too small for {az_count} availability zones: each AZ gets a "
            f"private /{private_prefix} and a public /{public_prefix} subnet, and AWS subnets "
            f"can be no smaller than /{SMALLEST_SUBNET_PREFIX}; use a /{largest_ok} or larger VPC CIDR"
        )
    slots = list(vpc.subnets(new_prefix=private_prefix))
    publics = list(slots[_PUBLIC_SLOT].subnets(new_prefix=public_prefix))
    return [
        SubnetPair(az_index=i, private_cidr=str(slots[i]), public_cidr=str(publics[i]))
        for i in range(az_count)
    ]


def pick_zones(names: Sequence[str], count: int) -> list[str]:
    """The first `count` zones, in the order the region lists them (stable across runs)."""
    if len(names) < count:
        raise NetworkPlanError(
            f"the region offers {len(names)} availability zones ({', '.join(names)}); "
            f"{count} were requested"
        )
    return list(names[:count])


def subnet_tags(cluster_name: str, tier: Literal["public", "private"], name: str) -> dict[str, str]:
    """Tags the AWS Load Balancer Controller uses to discover subnets: internet-facing
    load balancers go to `elb` subnets, internal ones to `internal-elb` subnets.
    https://docs.aws.amazon.com/eks/latest/userguide/network-load-balancing.html"""
    role = "kubernetes.io/role/elb" if tier == "public" else "kubernetes.io/role/internal-elb"
    tags = {
        "Name": name,
        role: "1",
        f"kubernetes.io/cluster/{cluster_name}": "shared",
    }
    if tier == "private":
        # Karpenter launches nodes into the subnets its EC2NodeClass selects by this tag:
        # the private ones only (builders/karpenter.py).
        tags["karpenter.sh/discovery"] = cluster_name
    return tags


def arn_scope(arn: str) -> tuple[str, str, str]:
    """(partition, region, account) of an ARN."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1], parts[3], parts[4]


def flow_log_trust_policy(partition: str, region: str, account_id: str) -> dict[str, Any]:
    """Only VPC Flow Logs, acting for flow logs in this account and region, may assume the
    role; the source conditions close the confused-deputy hole AWS documents for it.
    https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html"""
    policy = service_trust_policy(FLOW_LOGS_SERVICE)
    policy["Statement"][0]["Condition"] = {
        "StringEquals": {"aws:SourceAccount": account_id},
        "ArnLike": {"aws:SourceArn": f"arn:{partition}:ec2:{region}:{account_id}:vpc-flow-log/*"},
    }
    return policy


def flow_log_policy(log_group_arn: str) -> dict[str, Any]:
    """Publish to one log group. The program creates the group (with its retention), so
    the role needs no logs:CreateLogGroup, and nothing outside this group."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "PublishFlowLogs",
                "Effect": "Allow",
                "Action": [
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:DescribeLogGroups",
                    "logs:DescribeLogStreams",
                ],
                "Resource": [log_group_arn, f"{log_group_arn}:log-stream:*"],
            }
        ],
    }
