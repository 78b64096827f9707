"""MSK plain data: broker `server.properties` and the IAM policy a customer's workloads
get to reach their topics (IAM access control, no Kafka ACLs)."""

from __future__ import annotations

import re
from typing import Any, Optional

from .iam import POLICY_VERSION

# Topics are created explicitly by the services (auto-creation is off), so this only
# applies to a topic created without a partition count. 12 matches the largest
# autoscaling ceiling (deliveryWorkers, 12 replicas): a consumer group cannot use more
# consumers than partitions, so fewer would silently cap scale-out.
DEFAULT_PARTITIONS = 12

# Kafka's own default (7 days). Topic data retention is a broker setting and has
# nothing to do with `logRetentionDays`, which is how long CloudWatch keeps the
# brokers' *application* logs.
DEFAULT_TOPIC_RETENTION_HOURS = 168

IAM_PORT = 9098

_CLUSTER_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kafka:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):"
    r"cluster/(?P<name>[^/]+)/(?P<uuid>[^/]+)$"
)

# IAM wildcards and the ARN path separator would let a prefix reach other tenants'
# topics; Kafka topic names are [a-zA-Z0-9._-] anyway.
_TOPIC_PREFIX = re.compile(r"^[A-Za-z0-9._-]+$")


def replication_factor(brokers: int) -> int:
    return min(3, brokers)


def min_insync_replicas(brokers: int) -> int:
    # RF 3 / min ISR 2 survives one broker (one AZ) down while still acknowledging
    # `acks=all` writes; with fewer brokers, min ISR 2 would stop all writes on the
    # first broker restart (MSK patches brokers one at a time).
    return 2 if brokers >= 3 else 1


def server_properties(brokers: int, topic_retention_hours: int = DEFAULT_TOPIC_RETENTION_HOURS) -> str:
    """Broker configuration for an MSK cluster of `brokers` brokers, in the
    `server.properties` text format `aws.msk.Configuration` takes."""
    if brokers < 1:
        raise ValueError(f"a cluster needs at least one broker, got {brokers}")
    if topic_retention_hours < 1:
        raise ValueError(f"topic retention must be at least one hour, got {topic_retention_hours}")
    rf = replication_factor(brokers)
    isr = min_insync_replicas(brokers)
    properties = {
        # A typo in a topic name must fail, not create a stray single-purpose topic
        # outside the tenant's naming scheme.
        "auto.create.topics.enable": "false",
        "default.replication.factor": str(rf),
        "min.insync.replicas": str(isr),
        "num.partitions": str(DEFAULT_PARTITIONS),
        "log.retention.hours": str(topic_retention_hours),
        # An out-of-sync replica becoming leader silently drops acknowledged events.
        "unclean.leader.election.enable": "false",
        # Internal topics must be as durable as the data topics they track.
        "offsets.topic.replication.factor": str(rf),
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": str(isr),
    }
    return "".join(f"{key}={value}\n" for key, value in properties.items())


def parse_cluster_arn(cluster_arn: str) -> dict[str, str]:
    """`arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>` → its parts."""
    match = _CLUSTER_ARN.fullmatch(cluster_arn)
    if match is None:
        raise ValueError(f"not an MSK cluster ARN: {cluster_arn!r}")
    return match.groupdict()


def cluster_uuid(cluster_arn: str) -> str:
    return parse_cluster_arn(cluster_arn)["uuid"]


def _sub_resource_arn(cluster_arn: str, kind: str) -> str:
    # Topic and group ARNs share the cluster's `<name>/<uuid>` path, so deriving them
    # from the cluster ARN pins the policy to this cluster instance (a recreated
    # cluster of the same name gets a new uuid and is not reachable with an old policy).
    parse_cluster_arn(cluster_arn)
    head, _, path = cluster_arn.partition(":cluster/")
    return f"{head}:{kind}/{path}/"


def topic_arn_prefix(cluster_arn: str) -> str:
    return _sub_resource_arn(cluster_arn, "topic")


def group_arn_prefix(cluster_arn: str) -> str:
    return _sub_resource_arn(cluster_arn, "group")


def kafka_client_policy(cluster_arn: str, topic_prefix: Optional[str]) -> dict[str, Any]:
    """What a customer's workloads may do on the cluster, under IAM access control.

    `topic_prefix` (e.g. `acme.`) confines topics and consumer groups on the shared
    cluster to the customer's own; `None` (a dedicated cluster) grants every topic and
    group of that one cluster. Actions and their required companions are from
    https://docs.aws.amazon.com/msk/latest/developerguide/kafka-actions.html.
    """
    if topic_prefix is not None and not _TOPIC_PREFIX.fullmatch(topic_prefix):
        raise ValueError(
            f"topic prefix {topic_prefix!r} must be non-empty and use only letters, digits, '.', '_' and '-'"
        )
    pattern = f"{topic_prefix or ''}*"
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "Cluster",
                "Effect": "Allow",
                "Action": [
                    "kafka-cluster:Connect",
                    "kafka-cluster:DescribeCluster",
                    # Kafka 3.x producers are idempotent by default; without this
                    # they fail with a cluster authorization error.
                    "kafka-cluster:WriteDataIdempotently",
                ],
                "Resource": cluster_arn,
            },
            {
                "Sid": "Topics",
                "Effect": "Allow",
                "Action": [
                    "kafka-cluster:CreateTopic",
                    "kafka-cluster:DescribeTopic",
                    "kafka-cluster:DescribeTopicDynamicConfiguration",
                    "kafka-cluster:ReadData",
                    "kafka-cluster:WriteData",
                ],
                "Resource": topic_arn_prefix(cluster_arn) + pattern,
            },
            {
                "Sid": "ConsumerGroups",
                "Effect": "Allow",
                "Action": ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
                "Resource": group_arn_prefix(cluster_arn) + pattern,
            },
        ],
    }
