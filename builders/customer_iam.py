"""IAM policy documents for one customer's workloads, as plain dicts.

Every statement names exact resources: a customer's roles must never reach another
customer's secrets, keys or topics, so there is no `Resource: "*"` and no wildcard
action anywhere here (the only wildcard is the Kafka topic pattern, confined to the
customer's prefix by builders.msk).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal, Optional

from .iam import POLICY_VERSION
from .msk import group_arn_prefix, kafka_client_policy, topic_arn_prefix

_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@!-]+$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]$")


def secrets_reader_policy(secret_arns: Sequence[str], kms_key_arns: Sequence[str], region: str) -> dict[str, Any]:
    """Read exactly these secrets, and decrypt with exactly these keys only when
    Secrets Manager asks on the caller's behalf (`kms:ViaService`), so the role cannot
    use the customer key to decrypt anything else directly.

    `kms_key_arns` may be empty: a secret encrypted with the AWS managed
    `aws/secretsmanager` key needs no IAM grant on the key."""
    if not secret_arns:
        raise ValueError("a secrets reader needs at least one secret ARN")
    if not _REGION.fullmatch(region):
        raise ValueError(f"not an AWS region: {region!r}")
    for arn in secret_arns:
        if not _SECRET_ARN.fullmatch(arn):
            raise ValueError(f"not a full Secrets Manager secret ARN (no wildcards): {arn!r}")
    for arn in kms_key_arns:
        if not _KMS_KEY_ARN.fullmatch(arn):
            raise ValueError(f"not a KMS key ARN (aliases and wildcards are refused): {arn!r}")
    statements: list[dict[str, Any]] = [
        {
            "Sid": "ReadSecrets",
            "Effect": "Allow",
            "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
            "Resource": sorted(set(secret_arns)),
        }
    ]
    if kms_key_arns:
        statements.append(
            {
                "Sid": "DecryptSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": sorted(set(kms_key_arns)),
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}


def customer_topic_prefix(customer: str) -> str:
    """Topics and consumer groups of `customer` on a shared cluster: `<customer>.`"""
    return f"{customer}."


def customer_kafka_policy(
    customer: str, cluster_arn: str, mode: Literal["shared", "dedicated"]
) -> dict[str, Any]:
    """The customer's Kafka client policy: confined to its topic prefix on the
    platform's shared cluster, the whole cluster when the cluster is its own."""
    prefix = customer_topic_prefix(customer) if mode == "shared" else None
    return kafka_client_policy(cluster_arn, prefix)


def kafka_lag_reader_policy(cluster_arn: str, topic_prefix: str) -> dict[str, Any]:
    """What KEDA needs to compute one customer's consumer lag, and nothing more:
    ListOffsets needs DescribeTopic, OffsetFetch needs DescribeGroup
    (https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html)."""
    pattern = f"{topic_prefix}*"
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {"Sid": "Cluster", "Effect": "Allow",
             "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"], "Resource": cluster_arn},
            {"Sid": "Topics", "Effect": "Allow", "Action": ["kafka-cluster:DescribeTopic"],
             "Resource": topic_arn_prefix(cluster_arn) + pattern},
            {"Sid": "Groups", "Effect": "Allow", "Action": ["kafka-cluster:DescribeGroup"],
             "Resource": group_arn_prefix(cluster_arn) + pattern},
        ],
    }


KEDA_ROLE_NAME_PREFIX = "datafly-keda-"


def keda_role_name(environment: str, customer: str) -> str:
    """`datafly-keda-<environment>-<customer>`: IAM role names are unique per account, and
    one account may hold the same customer in two environments."""
    return f"{KEDA_ROLE_NAME_PREFIX}{environment}-{customer}"


def keda_role_name_pattern(environment: str, customer: Optional[str] = None) -> str:
    """The role names a KEDA operator may assume: every customer's of its environment
    (`datafly-keda-<environment>-*`, a shared platform), or exactly one customer's (a
    dedicated cluster)."""
    return keda_role_name(environment, customer) if customer is not None else f"{KEDA_ROLE_NAME_PREFIX}{environment}-*"
