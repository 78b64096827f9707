"""What one customer owns in AWS: its KMS key and secrets, PostgreSQL, Redis, Kafka
access (or its own MSK cluster) and the IAM roles its pods assume."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from builders.customer_iam import (
    customer_kafka_policy,
    customer_topic_prefix,
    kafka_lag_reader_policy,
    keda_role_name,
    secrets_reader_policy,
)
from builders.external_secrets import SECRET_STORE_SERVICE_ACCOUNT
from builders.iam import role_trust_policy
from builders.namespace import namespace_name
from builders.services import CATALOGUE, consumed_topic
from stackconfig import TenantConfig
from stackconfig.platform import KafkaClusterConfig

from .customer_secrets import CustomerSecrets, CustomerSecretsArgs
from .irsa_role import IrsaRole, IrsaRoleArgs
from .msk_cluster import MskCluster, MskClusterArgs
from .postgres import Postgres, PostgresArgs
from .redis import Redis, RedisArgs

# MSK standard brokers take two or three client subnets.
MSK_MAX_AZS = 3


@dataclass(frozen=True)
class SharedKafka:
    cluster_arn: pulumi.Input[str]
    bootstrap_brokers: pulumi.Input[str]
    # The "Cluster Name" dimension of the customer's consumer-lag alarms.
    cluster_name: Optional[pulumi.Input[str]] = None


@dataclass(frozen=True)
class DataPlaneEndpoints:
    """What the customer's workloads get from its data plane: where PostgreSQL, Redis
    and Kafka answer, and the secrets and IAM roles that reach them."""

    kafka_bootstrap_brokers: pulumi.Input[str]
    kafka_topic_prefix: str
    service_role_arns: Mapping[str, pulumi.Input[str]]
    secrets_reader_role_arn: pulumi.Input[str]
    app_secret_arn: Optional[pulumi.Input[str]]
    redis_secret_arn: pulumi.Input[str]
    database_master_secret_arn: pulumi.Input[str]
    # The services' own login (components/postgres.py); they never use the master user.
    database_app_secret_arn: pulumi.Input[str]
    database_address: pulumi.Input[str]
    database_port: pulumi.Input[int]
    redis_address: pulumi.Input[str]
    redis_port: pulumi.Input[int]
    keda_role_arn: Optional[pulumi.Input[str]]


@dataclass(frozen=True)
class CustomerDataPlaneArgs:
    config: TenantConfig
    region: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    # The security group EKS attaches to nodes and pods: the only client of the stores.
    cluster_security_group_id: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    # The platform's MSK cluster (kafka.mode shared); None for a dedicated cluster.
    shared_kafka: Optional[SharedKafka]
    # The KEDA operator's role, which assumes the customer's lag-reader role; None when
    # the customer does not scale with KEDA.
    keda_operator_role_arn: Optional[pulumi.Input[str]]
    # Availability zones of the VPC's private subnets (for a dedicated MSK cluster).
    availability_zones: int = 3


class CustomerDataPlane(pulumi.ComponentResource):
    def __init__(self, name: str, args: CustomerDataPlaneArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:tenant:CustomerDataPlane", name, None, opts)
        config = args.config
        secrets, postgres, redis = self._stores(name, args)
        self.topic_prefix = customer_topic_prefix(config.name)
        kafka, cluster_arn, self.kafka_bootstrap_brokers = self._kafka(name, args)
        # What the customer's alarms and dashboard watch (components/customer_alarms.py).
        self.postgres_identifier = postgres.identifier
        self.redis_member_clusters = redis.member_clusters
        self.kafka_cluster_name, self.kafka_broker_count = _watched_kafka(kafka, args.shared_kafka)

        secrets_reader = self._secrets_reader(name, args, secrets, postgres)
        self.service_role_arns = self._service_roles(name, args, cluster_arn)
        self.keda_role_arn = self._keda_role(name, args, cluster_arn)

        self.kms_key_arn = secrets.kms_key_arn
        self.app_secret_arn = secrets.secret_arn
        self.redis_secret_arn = secrets.redis_secret_arn
        self.database_master_secret_arn = postgres.master_user_secret_arn
        self.database_app_secret_arn = postgres.app_user_secret_arn
        self.database_address = postgres.address
        self.database_port = postgres.port
        self.database_name = config.postgres.database_name
        self.redis_address = redis.address
        self.redis_port = redis.port
        self.secrets_reader_role_arn = secrets_reader.arn
        self.kafka_cluster_arn = pulumi.Output.from_input(cluster_arn)
        self.topics = sorted(
            t for t in (consumed_topic(self.topic_prefix, svc.key) for svc in CATALOGUE) if t is not None
        )
        self.endpoints = self._endpoints()
        self.register_outputs(self.outputs())

    def _endpoints(self) -> DataPlaneEndpoints:
        """The hand-off to the customer's workloads (CustomerWorkloadsArgs.data)."""
        return DataPlaneEndpoints(
            kafka_bootstrap_brokers=self.kafka_bootstrap_brokers,
            kafka_topic_prefix=self.topic_prefix,
            service_role_arns=self.service_role_arns,
            secrets_reader_role_arn=self.secrets_reader_role_arn,
            app_secret_arn=self.app_secret_arn,
            redis_secret_arn=self.redis_secret_arn,
            database_master_secret_arn=self.database_master_secret_arn,
            database_app_secret_arn=self.database_app_secret_arn,
            database_address=self.database_address,
            database_port=self.database_port,
            redis_address=self.redis_address,
            redis_port=self.redis_port,
            keda_role_arn=self.keda_role_arn,
        )

    def _stores(self, name: str, args: CustomerDataPlaneArgs) -> tuple[CustomerSecrets, Postgres, Redis]:
        config = args.config
        customer = config.name
        child = pulumi.ResourceOptions(parent=self)
        secrets = CustomerSecrets(
            f"{name}-secrets", CustomerSecretsArgs.from_config(customer, config.secrets, config.protect,
                                                            environment=config.environment), child
        )
        postgres = Postgres(
            f"{name}-postgres",
            PostgresArgs(
                customer=customer,
                config=config.postgres,
                vpc_id=args.vpc_id,
                subnet_ids=args.private_subnet_ids,
                client_security_group_id=args.cluster_security_group_id,
                kms_key_arn=secrets.kms_key_arn,
                protect=config.protect,
                environment=config.environment,
            ),
            child,
        )
        redis = Redis(
            f"{name}-redis",
            RedisArgs(
                customer=customer,
                config=config.redis,
                vpc_id=args.vpc_id,
                subnet_ids=args.private_subnet_ids,
                client_security_group_id=args.cluster_security_group_id,
                kms_key_arn=secrets.kms_key_arn,
                auth_token=secrets.redis_auth_token,
                protect=config.protect,
                environment=config.environment,
            ),
            child,
        )
        return secrets, postgres, redis

    def _kafka(
        self, name: str, args: CustomerDataPlaneArgs
    ) -> tuple[Optional[MskCluster], pulumi.Input[str], pulumi.Output[str]]:
        """The customer's own MSK cluster (kafka.mode dedicated) or the platform's; returns
        the dedicated cluster (None when shared), the cluster ARN and the bootstrap brokers."""
        config = args.config
        if config.kafka.mode == "dedicated":
            kafka = MskCluster(
                f"{name}-kafka",
                MskClusterArgs(
                    cluster_name=config.resource_name,
                    config=config.kafka.cluster or KafkaClusterConfig(),
                    vpc_id=args.vpc_id,
                    subnet_ids=args.private_subnet_ids,
                    client_security_group_ids={"cluster": args.cluster_security_group_id},
                    availability_zones=min(args.availability_zones, MSK_MAX_AZS),
                    protect=config.protect,
                ),
                pulumi.ResourceOptions(parent=self),
            )
            return kafka, kafka.cluster_arn, kafka.bootstrap_brokers_iam
        if args.shared_kafka is None:
            raise ValueError(f"customer {config.name}: kafka.mode is shared but the platform exports no Kafka cluster")
        return None, args.shared_kafka.cluster_arn, pulumi.Output.from_input(args.shared_kafka.bootstrap_brokers)

    def _secrets_reader(
        self, name: str, args: CustomerDataPlaneArgs, secrets: CustomerSecrets, postgres: Postgres
    ) -> IrsaRole:
        customer = args.config.name
        # The External Secrets SecretStore's role: read the customer's secrets, the
        # RDS-managed master secret and decrypt with their keys, nothing else.
        reader_policy = pulumi.Output.all(
            secrets.reader_secret_arns, postgres.master_user_secret_arn, secrets.reader_kms_key_arns,
            postgres.app_user_secret_arn,
        ).apply(lambda v: json.dumps(secrets_reader_policy([*v[0], v[1], v[3]], v[2], args.region), sort_keys=True))
        return IrsaRole(
            f"{name}-secrets-reader",
            IrsaRoleArgs(
                namespace=namespace_name(customer),
                service_account=SECRET_STORE_SERVICE_ACCOUNT,
                oidc_provider_arn=args.oidc_provider_arn,
                oidc_provider_url=args.oidc_provider_url,
                policy=reader_policy,
                description=f"External Secrets store of customer {customer}",
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _service_roles(
        self, name: str, args: CustomerDataPlaneArgs, cluster_arn: pulumi.Input[str]
    ) -> dict[str, pulumi.Output[str]]:
        customer = args.config.name
        mode = args.config.kafka.mode
        # One role per AWS-using service, so each trusts exactly its own account.
        kafka_policy = pulumi.Output.from_input(cluster_arn).apply(
            lambda arn: json.dumps(customer_kafka_policy(customer, arn, mode), sort_keys=True)
        )
        service_role_arns: dict[str, pulumi.Output[str]] = {}
        for svc in CATALOGUE:
            if not svc.needs_aws:
                continue
            role = IrsaRole(
                f"{name}-{svc.name}",
                IrsaRoleArgs(
                    namespace=namespace_name(customer),
                    service_account=svc.name,
                    oidc_provider_arn=args.oidc_provider_arn,
                    oidc_provider_url=args.oidc_provider_url,
                    policy=kafka_policy,
                    description=f"{svc.name} of customer {customer}: Kafka under {self.topic_prefix}",
                ),
                pulumi.ResourceOptions(parent=self),
            )
            service_role_arns[svc.key] = role.arn
        return service_role_arns

    def _keda_role(
        self, name: str, args: CustomerDataPlaneArgs, cluster_arn: pulumi.Input[str]
    ) -> Optional[pulumi.Output[str]]:
        if args.keda_operator_role_arn is None:
            return None
        customer = args.config.name
        child = pulumi.ResourceOptions(parent=self)
        topic_prefix = self.topic_prefix
        keda_role = aws.iam.Role(
            f"{name}-keda",
            name=keda_role_name(args.config.environment, customer),
            description=f"KEDA reads the consumer lag of customer {customer}",
            assume_role_policy=pulumi.Output.from_input(args.keda_operator_role_arn).apply(
                lambda arn: json.dumps(role_trust_policy(arn), sort_keys=True)
            ),
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-keda-policy",
            role=keda_role.id,
            policy=pulumi.Output.from_input(cluster_arn).apply(
                lambda arn: json.dumps(kafka_lag_reader_policy(arn, topic_prefix), sort_keys=True)
            ),
            opts=child,
        )
        return keda_role.arn

    def outputs(self) -> dict[str, Any]:
        return {
            "databaseAddress": self.database_address,
            "databasePort": self.database_port,
            "databaseMasterSecretArn": self.database_master_secret_arn,
            "databaseAppSecretArn": self.database_app_secret_arn,
            "redisAddress": self.redis_address,
            "appSecretArn": self.app_secret_arn,
            "kmsKeyArn": self.kms_key_arn,
            "kafkaClusterArn": self.kafka_cluster_arn,
            "kafkaBootstrapBrokers": self.kafka_bootstrap_brokers,
            "kafkaTopicPrefix": self.topic_prefix,
            "kafkaTopics": self.topics,
            "secretsReaderRoleArn": self.secrets_reader_role_arn,
            "serviceRoleArns": self.service_role_arns,
            "kedaRoleArn": self.keda_role_arn,
        }


def _watched_kafka(
    kafka: Optional[MskCluster], shared_kafka: Optional[SharedKafka]
) -> tuple[Optional[pulumi.Output[str]], int]:
    """The Kafka cluster name and broker count the customer's alarms watch."""
    if kafka is not None:
        return kafka.cluster_name, kafka.broker_count
    if shared_kafka is not None and shared_kafka.cluster_name is not None:
        # The platform's brokers and their disks are the platform's; the customer's
        # consumer groups on them are the customer's.
        return pulumi.Output.from_input(shared_kafka.cluster_name), 0
    return None, 0
