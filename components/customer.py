"""Everything one customer runs: the per-tenant component.

    <name>-k8s         the Kubernetes provider (from the platform's outputs)
    <name>-data        KMS key, secrets, PostgreSQL, Redis, Kafka access, IAM roles
    <name>-ns          the namespace
    <name>-cert        ACM certificate (with ingress.route53ZoneId)
    <name>-workloads   isolation, secrets sync, migrations, services, Ingress, autoscalers
    <name>-dns         alias records for the hosts (with ingress.route53ZoneId)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from builders.ingress import HOST_ROLES, alb_group_name
from builders.services import CATALOGUE, consumed_topic, consumer_group
from stackconfig import TenantConfig

from .cluster_access import ClusterAccess
from .customer_alarms import ConsumerLag, CustomerAlarms, CustomerAlarmsArgs
from .customer_certificate import CustomerCertificate, CustomerCertificateArgs
from .customer_data_plane import CustomerDataPlane, CustomerDataPlaneArgs, SharedKafka
from .customer_dns_records import CustomerDnsRecords, CustomerDnsRecordsArgs
from .customer_namespace import CustomerNamespace, CustomerNamespaceArgs
from .customer_workloads import CustomerWorkloads, CustomerWorkloadsArgs
from .kubernetes_provider import kubernetes_provider


@dataclass(frozen=True)
class PlatformServices:
    """What the customer uses from the platform besides the cluster itself."""

    vpc_cidr: pulumi.Input[str]
    # The subnets the customer's ALB lives in (public or private, by its scheme).
    load_balancer_cidrs: pulumi.Input[Sequence[str]]
    shared_kafka: Optional[SharedKafka]
    keda_operator_role_arn: Optional[pulumi.Input[str]]
    availability_zones: int = 3


@dataclass(frozen=True)
class CustomerArgs:
    config: TenantConfig
    region: str
    cluster: ClusterAccess
    platform: PlatformServices
    # The provider of a cluster this stack owns (dedicated tier); a customer on the
    # shared platform builds its own from the platform's outputs.
    kubernetes_provider: Optional[k8s.Provider] = None
    # The add-on releases of a cluster this stack owns: custom resources need their
    # CRDs and webhooks, and Ingresses must be deleted while the ALB controller runs.
    cluster_ready: Sequence[pulumi.Resource] = ()
    # `datafly-<environment>-<customer>`, the name of its alarms and dashboard, and the
    # environment's alerts topic their actions publish to (none: alarms without actions).
    alarm_prefix: Optional[pulumi.Input[str]] = None
    alarm_actions: pulumi.Input[Sequence[str]] = ()


class Customer(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: CustomerArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:tenant:Customer", name, None, opts)
        config = args.config
        provider = args.kubernetes_provider or kubernetes_provider(
            f"{name}-k8s", args.cluster, pulumi.ResourceOptions(parent=self)
        )
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        data = self._data_plane(name, args)
        if config.alarms.enabled and args.alarm_prefix is not None:
            self._alarms(name, args, args.alarm_prefix, data)
        ns = CustomerNamespace(f"{name}-ns", CustomerNamespaceArgs(customer=config.name, alb=config.ingress.class_name == "alb"), k8s_opts)
        hosts = [config.host(role) for role in HOST_ROLES]
        zone = config.ingress.route53_zone_id
        certificate = (
            CustomerCertificate(f"{name}-cert", CustomerCertificateArgs(zone_id=zone, hosts=hosts),
                                pulumi.ResourceOptions(parent=self))
            if zone is not None else None
        )
        workloads = self._workloads(
            name, args, data, certificate, [ns, *args.cluster_ready], k8s_opts
        )
        if zone is not None:
            assert isinstance(workloads.ingress, k8s.networking.v1.Ingress)
            CustomerDnsRecords(
                f"{name}-dns",
                CustomerDnsRecordsArgs(zone_id=zone, hosts=hosts, ingress=workloads.ingress),
                pulumi.ResourceOptions(parent=self),
            )
        self.namespace = ns.name
        self.data = data
        self.hosts = hosts
        self.register_outputs({"namespace": self.namespace, "hosts": hosts, **data.outputs()})

    def _data_plane(self, name: str, args: CustomerArgs) -> CustomerDataPlane:
        keda = args.config.autoscaling.metrics_provider == "keda"
        return CustomerDataPlane(
            f"{name}-data",
            CustomerDataPlaneArgs(
                config=args.config,
                region=args.region,
                vpc_id=args.cluster.vpc_id,
                private_subnet_ids=args.cluster.private_subnet_ids,
                cluster_security_group_id=args.cluster.node_security_group_id,
                oidc_provider_arn=args.cluster.oidc_provider_arn,
                oidc_provider_url=args.cluster.oidc_provider_url,
                shared_kafka=args.platform.shared_kafka,
                keda_operator_role_arn=args.platform.keda_operator_role_arn if keda else None,
                availability_zones=args.platform.availability_zones,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _alarms(self, name: str, args: CustomerArgs, prefix: pulumi.Input[str], data: CustomerDataPlane) -> None:
        config = args.config
        CustomerAlarms(
            f"{name}-alarms",
            CustomerAlarmsArgs(
                prefix=prefix,
                region=args.region,
                thresholds=config.alarms.thresholds,
                alarm_actions=args.alarm_actions,
                db_instance=data.postgres_identifier,
                cache_nodes=data.redis_member_clusters,
                cache_node_count=config.redis.num_nodes,
                kafka_cluster_name=data.kafka_cluster_name,
                kafka_broker_count=data.kafka_broker_count,
                consumer_lag=[
                    ConsumerLag(svc.name, group, topic)
                    for svc in CATALOGUE
                    if (group := consumer_group(data.topic_prefix, svc.key)) is not None
                    and (topic := consumed_topic(data.topic_prefix, svc.key)) is not None
                ],
                alb_ingress_group=alb_group_name(config) if config.ingress.class_name == "alb" else None,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _workloads(
        self,
        name: str,
        args: CustomerArgs,
        data: CustomerDataPlane,
        certificate: Optional[CustomerCertificate],
        depends_on: list[pulumi.Resource],
        k8s_opts: pulumi.ResourceOptions,
    ) -> CustomerWorkloads:
        return CustomerWorkloads(
            f"{name}-workloads",
            CustomerWorkloadsArgs(
                config=args.config,
                region=args.region,
                vpc_cidr=args.platform.vpc_cidr,
                load_balancer_cidrs=args.platform.load_balancer_cidrs,
                data=data.endpoints,
                certificate_arn=certificate.certificate_arn if certificate is not None else None,
                depends_on=depends_on,
            ),
            k8s_opts,
        )
