"""VPC planning as plain data: subnet CIDRs, subnet tags and the flow-log IAM documents.

The subnet plan itself (layout, `plan_subnets`, `NetworkPlanError`) lives in
derive/network.py, below the config model that checks it; it is re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from derive.network import NetworkPlanError as NetworkPlanError
from derive.network import SubnetPair as SubnetPair
from derive.network import plan_subnets as plan_subnets

from .iam import POLICY_VERSION, service_trust_policy

FLOW_LOGS_SERVICE = "vpc-flow-logs.amazonaws.com"


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
