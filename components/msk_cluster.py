"""An MSK (Kafka) cluster reachable only with IAM auth over TLS: the platform's shared
cluster, or a customer's dedicated one."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from builders.msk import IAM_PORT, cluster_uuid, kafka_client_policy, server_properties
from stackconfig.platform import KafkaClusterConfig

# MSK cluster names: letters, digits and '-', starting with a letter, at most 64.
_CLUSTER_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,63}$")
_ROLE = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class MskClusterArgs:
    cluster_name: str
    config: KafkaClusterConfig
    vpc_id: pulumi.Input[str]
    # One subnet per AZ, in AZ order; the first `availability_zones` are used.
    subnet_ids: pulumi.Input[Sequence[str]]
    # Security groups allowed to reach the brokers, keyed by a stable role name
    # (e.g. "cluster", "nodes"): each becomes its own ingress rule named after the role,
    # so adding or removing one never renames (and so replaces) the others.
    client_security_group_ids: Mapping[str, pulumi.Input[str]]
    availability_zones: int
    protect: bool

    def __post_init__(self) -> None:
        if not _CLUSTER_NAME.fullmatch(self.cluster_name):
            raise ValueError(
                f"MSK cluster name {self.cluster_name!r} must start with a letter and use only "
                "letters, digits and '-', at most 64 characters"
            )
        # Standard brokers take exactly two or three client subnets in distinct AZs
        # (https://docs.aws.amazon.com/msk/latest/developerguide/msk-create-cluster.html).
        if self.availability_zones not in (2, 3):
            raise ValueError(
                f"an MSK cluster spans 2 or 3 availability zones, got {self.availability_zones}"
            )
        if not self.client_security_group_ids:
            raise ValueError("at least one client security group must be allowed to reach the brokers")
        for role in self.client_security_group_ids:
            if not _ROLE.fullmatch(role):
                raise ValueError(f"client security group role {role!r} must be a lowercase DNS label")

    @property
    def broker_count(self) -> int:
        return self.config.brokers_per_az * self.availability_zones


class MskCluster(pulumi.ComponentResource):
    cluster_arn: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    cluster_uuid: pulumi.Output[str]
    bootstrap_brokers_iam: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]

    def __init__(self, name: str, args: MskClusterArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:aws:MskCluster", name, None, opts)
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)

        security_group = self._broker_security_group(name, args)
        key = aws.kms.Key(
            f"{name}-key",
            description=f"MSK {args.cluster_name} encryption at rest",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=stateful,
        )
        # Broker application logs (server.log), not topic data; topic retention is
        # `log.retention.hours` in the broker configuration.
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-broker-logs",
            name=f"/aws/msk/{args.cluster_name}/broker",
            retention_in_days=config.log_retention_days,
            opts=stateful,
        )
        # A server_properties edit is an in-place update that adds a revision; the
        # cluster then rolls its brokers onto `latest_revision`.
        configuration = aws.msk.Configuration(
            f"{name}-config",
            name=args.cluster_name,
            kafka_versions=[config.kafka_version],
            server_properties=server_properties(args.broker_count),
            description=f"Broker settings for {args.cluster_name}",
            opts=child,
        )
        cluster = self._cluster(name, args, security_group, key, log_group, configuration)
        self._storage_autoscaling(name, cluster, config.max_storage_gib)

        self.cluster_arn = cluster.arn
        self.cluster_name = cluster.cluster_name
        # Broker IDs are 1..broker_count: the "Broker ID" dimension of per-broker metrics.
        self.broker_count = args.broker_count
        self.cluster_uuid = cluster.arn.apply(cluster_uuid)
        self.bootstrap_brokers_iam = cluster.bootstrap_brokers_sasl_iam
        self.security_group_id = security_group.id
        self.kms_key_arn = key.arn
        self.log_group_name = log_group.name
        self.register_outputs(
            {
                "clusterArn": self.cluster_arn,
                "clusterName": self.cluster_name,
                "clusterUuid": self.cluster_uuid,
                "bootstrapBrokersIam": self.bootstrap_brokers_iam,
                "securityGroupId": self.security_group_id,
                "kmsKeyArn": self.kms_key_arn,
                "logGroupName": self.log_group_name,
            }
        )

    def _broker_security_group(self, name: str, args: MskClusterArgs) -> aws.ec2.SecurityGroup:
        child = pulumi.ResourceOptions(parent=self)
        # Changing a cluster's security groups replaces the cluster, so this group's
        # own replace-triggering inputs (vpc, description) stay fixed and the client
        # list lives in separate rule resources that change without touching it. No
        # egress rules: the brokers only answer connections, and the provider removes
        # the allow-all egress AWS adds to a new group.
        security_group = aws.ec2.SecurityGroup(
            f"{name}-brokers",
            vpc_id=args.vpc_id,
            description=f"MSK brokers of {args.cluster_name}: IAM-authenticated TLS clients only",
            tags={"Name": f"{args.cluster_name}-msk-brokers"},
            opts=child,
        )
        for role, client_group in sorted(args.client_security_group_ids.items()):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-ingress-{role}",
                security_group_id=security_group.id,
                referenced_security_group_id=client_group,
                ip_protocol="tcp",
                from_port=IAM_PORT,
                to_port=IAM_PORT,
                description=f"Kafka SASL/IAM over TLS from {role}",
                opts=child,
            )
        return security_group

    def _cluster(
        self,
        name: str,
        args: MskClusterArgs,
        security_group: aws.ec2.SecurityGroup,
        key: aws.kms.Key,
        log_group: aws.cloudwatch.LogGroup,
        configuration: aws.msk.Configuration,
    ) -> aws.msk.Cluster:
        config = args.config
        subnets = pulumi.Output.from_input(args.subnet_ids).apply(
            lambda ids: _client_subnets(list(ids), args.availability_zones)
        )

        # MSK replaces the whole cluster (losing every topic) when the name, client
        # subnets, security groups, at-rest KMS key or in-cluster encryption change;
        # `protect` turns such a plan into an error instead. Version, broker count
        # (up only), instance type, storage (up only), auth and configuration change
        # in place. Storage autoscaling grows the volumes behind the program's back, so
        # the configured size is only the size at creation (ignore_changes below).
        return aws.msk.Cluster(
            f"{name}-cluster",
            cluster_name=args.cluster_name,
            kafka_version=config.kafka_version,
            number_of_broker_nodes=args.broker_count,
            broker_node_group_info=aws.msk.ClusterBrokerNodeGroupInfoArgs(
                instance_type=config.broker_instance_type,
                client_subnets=subnets,
                security_groups=[security_group.id],
                storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoArgs(
                    ebs_storage_info=aws.msk.ClusterBrokerNodeGroupInfoStorageInfoEbsStorageInfoArgs(
                        volume_size=config.storage_gib,
                    ),
                ),
            ),
            encryption_info=aws.msk.ClusterEncryptionInfoArgs(
                encryption_at_rest_kms_key_arn=key.arn,
                encryption_in_transit=aws.msk.ClusterEncryptionInfoEncryptionInTransitArgs(
                    client_broker="TLS",
                    in_cluster=True,
                ),
            ),
            # IAM only: identities are the workloads' IRSA roles, and access is the
            # topic-prefix policy from builders.msk; no SCRAM secrets or certificates
            # to rotate, no anonymous listener.
            client_authentication=aws.msk.ClusterClientAuthenticationArgs(
                sasl=aws.msk.ClusterClientAuthenticationSaslArgs(iam=True, scram=False),
                unauthenticated=False,
            ),
            configuration_info=aws.msk.ClusterConfigurationInfoArgs(
                arn=configuration.arn,
                revision=configuration.latest_revision,
            ),
            logging_info=aws.msk.ClusterLoggingInfoArgs(
                broker_logs=aws.msk.ClusterLoggingInfoBrokerLogsArgs(
                    cloudwatch_logs=aws.msk.ClusterLoggingInfoBrokerLogsCloudwatchLogsArgs(
                        enabled=True,
                        log_group=log_group.name,
                    ),
                ),
            ),
            # Consumer lag per topic and partition (MaxOffsetLag, SumOffsetLag) is what
            # the operators watch and what KEDA scales on; DEFAULT has no lag metrics.
            enhanced_monitoring="PER_TOPIC_PER_PARTITION",
            opts=pulumi.ResourceOptions.merge(
                pulumi.ResourceOptions(parent=self, protect=args.protect),
                pulumi.ResourceOptions(
                    ignore_changes=["brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"]
                ),
            ),
        )

    def _storage_autoscaling(self, name: str, cluster: aws.msk.Cluster, max_storage_gib: int) -> None:
        child = pulumi.ResourceOptions(parent=self)
        # Broker storage autoscaling: grow volumes at 60% utilisation up to the ceiling.
        # https://docs.aws.amazon.com/msk/latest/developerguide/msk-autoexpand.html
        storage_target = aws.appautoscaling.Target(
            f"{name}-storage-target",
            service_namespace="kafka",
            scalable_dimension="kafka:broker-storage:VolumeSize",
            resource_id=cluster.arn,
            min_capacity=1,
            max_capacity=max_storage_gib,
            opts=child,
        )
        aws.appautoscaling.Policy(
            f"{name}-storage-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=storage_target.service_namespace,
            scalable_dimension=storage_target.scalable_dimension,
            resource_id=storage_target.resource_id,
            target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=60,
                predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type="KafkaBrokerStorageUtilization",
                ),
                # MSK cannot shrink volumes.
                disable_scale_in=True,
            ),
            opts=child,
        )

    def client_policy_json(self, topic_prefix: Optional[str]) -> pulumi.Output[str]:
        """The IAM policy (JSON) for a customer's workloads on this cluster; see
        `builders.msk.kafka_client_policy`."""
        return self.cluster_arn.apply(lambda arn: json.dumps(kafka_client_policy(arn, topic_prefix)))


def _client_subnets(subnet_ids: list[str], availability_zones: int) -> list[str]:
    # The broker count is a multiple of the subnet count, so exactly one subnet per AZ.
    if len(subnet_ids) < availability_zones:
        raise ValueError(
            f"MSK needs {availability_zones} subnets (one per AZ), got {len(subnet_ids)}"
        )
    return subnet_ids[:availability_zones]
