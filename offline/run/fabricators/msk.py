"""Outputs for MSK clusters and configurations (KMS keys and log groups: common.py)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from offline.run.fabricate import Context, outputs_for


def _uuid(ctx: Context, *parts: str) -> str:
    # MSK appends a revision-like suffix to the uuid in every ARN it issues.
    return f"{uuid.UUID(ctx.hex(*parts, length=32))}-1"


@outputs_for("aws:msk/cluster:Cluster")
def msk_cluster(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    cluster_name = str(inputs.get("clusterName") or name)
    cluster_uuid = _uuid(ctx, "msk-cluster", name)
    brokers = int(inputs.get("numberOfBrokerNodes") or 3)
    host = f"{cluster_name}.{ctx.hex('msk-host', name, length=6)}.c2.kafka.{ctx.region}.amazonaws.com"

    def endpoints(prefix: str, count: int, port: int) -> str:
        return ",".join(f"{prefix}-{i}.{host}:{port}" for i in range(1, count + 1))

    return {
        "arn": ctx.arn("kafka", f"cluster/{cluster_name}/{cluster_uuid}"),
        "clusterUuid": cluster_uuid,
        "bootstrapBrokersSaslIam": endpoints("b", brokers, 9098),
        "currentVersion": "K" + ctx.hex("msk-version", name, length=13).upper(),
        "zookeeperConnectString": endpoints("z", 3, 2181),
        "zookeeperConnectStringTls": endpoints("z", 3, 2182),
    }


@outputs_for("aws:msk/configuration:Configuration")
def msk_configuration(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    config_name = str(inputs.get("name") or name)
    return {
        "arn": ctx.arn("kafka", f"configuration/{config_name}/{_uuid(ctx, 'msk-configuration', name)}"),
        "latestRevision": 1,
    }
