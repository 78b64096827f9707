"""A customer's Redis (or Valkey): an ElastiCache replication group, private,
TLS-required, AUTH-protected, encrypted at rest with the customer key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from builders.data_stores import REDIS_PORT, cache_engine_supported, data_store_identifier
from stackconfig.tenant import RedisConfig

from .client_security_group import client_security_group


@dataclass(frozen=True)
class RedisArgs:
    customer: str
    config: RedisConfig
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    client_security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    # The AUTH token, a secret Output (CustomerSecrets.redis_auth_token).
    auth_token: pulumi.Output[str]
    protect: bool
    _: KW_ONLY
    # Part of the replication group id (datafly-<environment>-<customer>), unique per
    # account and region.
    environment: str

    def __post_init__(self) -> None:
        cache_engine_supported(self.config.engine, self.config.engine_version)


class Redis(pulumi.ComponentResource):
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    security_group_id: pulumi.Output[str]

    def __init__(self, name: str, args: RedisArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:data:Redis", name, None, opts)
        config = args.config
        group_id = data_store_identifier(args.environment, args.customer)
        child = pulumi.ResourceOptions(parent=self)
        replicated = config.num_nodes > 1

        subnet_group = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            description=f"Private subnets of {group_id}",
            opts=child,
        )
        security_group = client_security_group(
            name,
            vpc_id=args.vpc_id,
            description=f"ElastiCache {group_id}: {config.engine} from the workloads of customer {args.customer} only",
            tag_name=f"{group_id}-{config.engine}",
            client_security_group_id=args.client_security_group_id,
            port=REDIS_PORT,
            rule_description=f"{config.engine} (TLS, AUTH) from the workloads of customer {args.customer}",
            opts=child,
        )

        # Replaced (emptied) on a change of replication_group_id, at-rest encryption,
        # KMS key or subnet group; `protect` turns that into an error. Engine version,
        # node type, node count and failover change in place. No parameter group is
        # named, so ElastiCache uses the default group of the engine version's family
        # (and moves to the new default on a major upgrade).
        auth_token: pulumi.Output[str] = pulumi.Output.secret(args.auth_token)
        group = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            replication_group_id=group_id,
            description=f"Datafly customer {args.customer} cache",
            engine=config.engine,
            engine_version=config.engine_version,
            node_type=config.node_type,
            num_cache_clusters=config.num_nodes,
            # Failover needs a replica to promote; Multi-AZ needs failover.
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            port=REDIS_PORT,
            subnet_group_name=subnet_group.name,
            security_group_ids=[security_group.id],
            at_rest_encryption_enabled=True,
            kms_key_id=args.kms_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=auth_token,
            snapshot_retention_limit=config.snapshot_retention_days,
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            tags={"datafly:customer": args.customer},
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )

        self.address = group.primary_endpoint_address
        self.port = group.port.apply(lambda port: port if port is not None else REDIS_PORT)
        self.security_group_id = security_group.id
        # The member nodes' CacheClusterIds: the dimension of ElastiCache's node metrics.
        self.member_clusters: pulumi.Output[Sequence[str]] = group.member_clusters
        self.register_outputs(
            {"address": self.address, "port": self.port, "securityGroupId": self.security_group_id}
        )
