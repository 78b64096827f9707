"""An environment's shared cluster: network, EKS, add-ons and (optionally) Kafka.

The platform stack owns one; a customer on the dedicated-cluster tier owns one of its
own, built by the same component.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Optional

import pulumi

from stackconfig.platform import AddonsConfig, ClusterConfig, KafkaClusterConfig, NetworkConfig, ObservabilityConfig

from .aws_load_balancer_controller import AwsLoadBalancerController, AwsLoadBalancerControllerArgs
from .cluster_access import ClusterAccess
from .eks_cluster import EksCluster, EksClusterArgs
from .external_secrets_operator import ExternalSecretsOperator, ExternalSecretsOperatorArgs
from .ingress_nginx import IngressNginx, IngressNginxArgs
from .karpenter import Karpenter, KarpenterArgs
from .keda import Keda, KedaArgs
from .metrics_server import MetricsServer, MetricsServerArgs
from .msk_cluster import MskCluster, MskClusterArgs
from .network import Network, NetworkArgs
from .observability import Observability, ObservabilityArgs

# MSK places brokers in two or three client subnets (standard brokers).
MSK_MAX_AZS = 3


@dataclass(frozen=True)
class PlatformArgs:
    cluster_name: str
    region: str
    network: NetworkConfig
    cluster: ClusterConfig
    addons: AddonsConfig
    kafka: Optional[KafkaClusterConfig]
    protect: bool
    # Provider default tags do not reach instances launched from a launch template;
    # the node group repeats them there.
    tags: Mapping[str, str] = field(default_factory=dict)
    _: KW_ONLY
    # The KEDA customer roles this cluster's operator may assume
    # (builders.customer_iam.keda_role_name_pattern).
    keda_customer_role_name_pattern: str
    # Metrics and alerting; `environment` names its account/region-unique resources
    # (the platform's environment, or the dedicated-tier customer).
    observability: Optional[ObservabilityConfig] = None
    environment: str = ""


class Platform(pulumi.ComponentResource):
    access: ClusterAccess
    vpc_cidr: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    kafka: Optional[MskCluster]
    ingress_classes: list[str]

    def __init__(self, name: str, args: PlatformArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:platform:Platform", name, None, opts)
        network, eks = self._network_and_cluster(name, args)
        self.karpenter = self._karpenter(name, args, eks)
        # The ALB controller's webhook must run before anything creates a Service or an
        # Ingress, and must outlive them on destroy so it can delete the load balancers.
        alb = AwsLoadBalancerController(
            f"{name}-alb-controller",
            AwsLoadBalancerControllerArgs(
                cluster_name=eks.access.cluster_name,
                region=args.region,
                vpc_id=network.vpc_id,
                oidc_provider_arn=eks.access.oidc_provider_arn,
                oidc_provider_url=eks.access.oidc_provider_url,
                depends_on=eks.ready,
            ),
            pulumi.ResourceOptions(parent=self, provider=eks.provider),
        )
        after_alb = [*eks.ready, alb.release]
        keda, external_secrets, metrics = self._operators(name, args, eks, after_alb)
        self.keda_operator_role_arn = keda.operator_role_arn
        self.ingress_classes = ["alb"]
        # What a dedicated-tier customer's objects wait for: CRDs, webhooks and the
        # ingress controllers (an nginx Ingress needs the controller's admission webhook).
        self.addon_releases: list[pulumi.Resource] = [
            alb.release, keda.release, external_secrets.release, metrics.release,
            # A dedicated-tier customer's pods need Karpenter's nodes; its objects must
            # also be deleted before the NodePool, so their nodes drain last.
            self.karpenter.node_pool,
        ]
        if args.addons.ingress_nginx.enabled:
            nginx = IngressNginx(
                f"{name}-ingress-nginx",
                IngressNginxArgs(replicas=args.addons.ingress_nginx.replicas, depends_on=after_alb),
                pulumi.ResourceOptions(parent=self, provider=eks.provider),
            )
            self.ingress_classes.append("nginx")
            self.addon_releases.append(nginx.release)
        self.observability = self._observability(name, args, network, eks, after_alb)
        if self.observability is not None:
            self.addon_releases.append(self.observability.release)
        self.kafka = self._kafka(name, args, network, eks)
        self.access = eks.access
        self.vpc_cidr = network.vpc_cidr
        self.private_subnet_cidrs = network.private_subnet_cidrs
        self.public_subnet_cidrs = network.public_subnet_cidrs
        self.kubeconfig = eks.kubeconfig
        self.provider = eks.provider
        self.register_outputs(self.outputs())

    def _network_and_cluster(self, name: str, args: PlatformArgs) -> tuple[Network, EksCluster]:
        child = pulumi.ResourceOptions(parent=self)
        network = Network(
            f"{name}-network",
            NetworkArgs(config=args.network, cluster_name=args.cluster_name, protect=args.protect),
            child,
        )
        eks = EksCluster(
            f"{name}-eks",
            EksClusterArgs(
                cluster_name=args.cluster_name,
                config=args.cluster,
                region=args.region,
                vpc_id=network.vpc_id,
                private_subnet_ids=network.private_subnet_ids,
                protect=args.protect,
                tags=args.tags,
            ),
            child,
        )
        return network, eks

    def _karpenter(self, name: str, args: PlatformArgs, eks: EksCluster) -> Karpenter:
        # Nodes for customer workloads. Its NodePool depends on its controller release, so
        # on destroy the NodePool goes first and Karpenter terminates its own nodes while
        # it still runs; the release, the cluster and the VPC go after.
        return Karpenter(
            f"{name}-karpenter",
            KarpenterArgs(
                cluster_name=args.cluster_name,
                eks_cluster_name=eks.access.cluster_name,
                region=args.region,
                node_pool=args.cluster.node_pool,
                oidc_provider_arn=eks.access.oidc_provider_arn,
                oidc_provider_url=eks.access.oidc_provider_url,
                node_security_group_id=eks.access.node_security_group_id,
                existing_private_subnet_ids=list(args.network.private_subnet_ids)
                if args.network.mode == "existing" else [],
                tags=args.tags,
                depends_on=eks.ready,
            ),
            pulumi.ResourceOptions(parent=self, provider=eks.provider),
        )

    def _operators(
        self, name: str, args: PlatformArgs, eks: EksCluster, after_alb: list[pulumi.Resource]
    ) -> tuple[Keda, ExternalSecretsOperator, MetricsServer]:
        on_cluster = pulumi.ResourceOptions(parent=self, provider=eks.provider)
        keda = Keda(
            f"{name}-keda",
            KedaArgs(
                cluster_name=args.cluster_name,
                oidc_provider_arn=eks.access.oidc_provider_arn,
                oidc_provider_url=eks.access.oidc_provider_url,
                depends_on=after_alb,
                customer_role_name_pattern=args.keda_customer_role_name_pattern,
            ),
            on_cluster,
        )
        external_secrets = ExternalSecretsOperator(
            f"{name}-external-secrets", ExternalSecretsOperatorArgs(depends_on=after_alb), on_cluster
        )
        metrics = MetricsServer(f"{name}-metrics-server", MetricsServerArgs(depends_on=after_alb), on_cluster)
        return keda, external_secrets, metrics

    def _observability(
        self, name: str, args: PlatformArgs, network: Network, eks: EksCluster, after_alb: list[pulumi.Resource]
    ) -> Optional[Observability]:
        if args.observability is None or not args.observability.enabled:
            return None
        return Observability(
            f"{name}-observability",
            ObservabilityArgs(
                environment=args.environment or name,
                region=args.region,
                config=args.observability,
                cluster_name=eks.access.cluster_name,
                cluster_arn=eks.cluster.arn,
                subnet_ids=network.private_subnet_ids,
                cluster_security_group_id=eks.access.node_security_group_id,
                protect=args.protect,
                depends_on=after_alb,
            ),
            pulumi.ResourceOptions(parent=self, provider=eks.provider),
        )

    def _kafka(self, name: str, args: PlatformArgs, network: Network, eks: EksCluster) -> Optional[MskCluster]:
        if args.kafka is None:
            return None
        zones = min(args.network.availability_zones, MSK_MAX_AZS)
        if args.network.mode == "existing":
            zones = min(len(args.network.private_subnet_ids), MSK_MAX_AZS)
        return MskCluster(
            f"{name}-kafka",
            MskClusterArgs(
                cluster_name=args.cluster_name,
                config=args.kafka,
                vpc_id=network.vpc_id,
                subnet_ids=network.private_subnet_ids,
                client_security_group_ids={"cluster": eks.access.node_security_group_id},
                availability_zones=zones,
                protect=args.protect,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def outputs(self) -> dict[str, Any]:
        """The platform stack's exports: the contract customer stacks read."""
        outputs: dict[str, Any] = {
            **self.access.outputs(),
            "vpcCidr": self.vpc_cidr,
            "privateSubnetCidrs": self.private_subnet_cidrs,
            "publicSubnetCidrs": self.public_subnet_cidrs,
            "kubeconfig": self.kubeconfig,
            "ingressClasses": self.ingress_classes,
            # Customer stacks' `datafly-keda-<environment>-<customer>` roles trust this principal.
            "kedaOperatorRoleArn": self.keda_operator_role_arn,
        }
        if self.observability is not None:
            outputs.update({
                # Customer stacks send their CloudWatch alarms here.
                "alertsTopicArn": self.observability.alerts_topic_arn,
                "prometheusWorkspaceArn": self.observability.workspace_arn,
                "prometheusEndpoint": self.observability.workspace_endpoint,
            })
        if self.kafka is not None:
            outputs.update({
                "kafkaClusterArn": self.kafka.cluster_arn,
                "kafkaClusterName": self.kafka.cluster_name,
                "kafkaBootstrapBrokersIam": self.kafka.bootstrap_brokers_iam,
            })
        return outputs
