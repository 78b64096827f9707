"""The platform stack (``datafly:platform``, one per environment) and the cluster parts
it shares with a customer that owns a dedicated cluster: network, EKS cluster and its
node group and Karpenter NodePool, add-ons, MSK cluster settings and observability.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Optional

from pydantic import BeforeValidator, Field, StrictBool, model_validator

from derive.eks import node_ami_type
from derive.network import NetworkPlanError, plan_subnets

from .base import Model, check_tags, field_error, unique
from .types import (
    DEFAULT_KUBERNETES_VERSION,
    Cidr,
    CpuQuantity,
    CustomerName,
    DnsLabel,
    EnvironmentName,
    KubernetesVersion,
    LogRetentionDays,
    MemoryQuantity,
    RoleArn,
    SubnetId,
    VpcId,
)


class NetworkConfig(Model):
    """The VPC the cluster and data stores live in."""

    mode: Literal["create", "existing"] = Field(
        "create", description="`create` a VPC, or adopt an `existing` one by id."
    )
    cidr: Cidr = Field("10.0.0.0/16", description="VPC CIDR block (mode create).")
    availability_zones: int = Field(
        3, ge=2, le=6, description="Availability zones to spread subnets over (mode create)."
    )
    nat_gateways: Literal["perAz", "single"] = Field(
        "perAz",
        description="One NAT gateway per AZ (resilient) or a `single` one (cheaper).",
    )
    flow_log_retention_days: LogRetentionDays = Field(
        90, description="CloudWatch retention of VPC flow logs, in days."
    )
    vpc_id: Optional[VpcId] = Field(None, description="Existing VPC id (mode existing).")
    private_subnet_ids: list[SubnetId] = Field(
        default_factory=list, description="Existing private subnet ids (mode existing)."
    )
    public_subnet_ids: list[SubnetId] = Field(
        default_factory=list, description="Existing public subnet ids (mode existing)."
    )

    @model_validator(mode="after")
    def _mode_fields(self) -> "NetworkConfig":
        unique("privateSubnetIds", self.private_subnet_ids)
        unique("publicSubnetIds", self.public_subnet_ids)
        if self.mode == "existing":
            if self.vpc_id is None:
                raise field_error("vpcId", None, "required when mode is existing")
            if len(self.private_subnet_ids) < 2:
                raise field_error(
                    "privateSubnetIds",
                    self.private_subnet_ids,
                    "at least 2 subnets in different AZs are required when mode is existing",
                )
        elif self.vpc_id is not None or self.private_subnet_ids or self.public_subnet_ids:
            raise field_error(
                "vpcId", self.vpc_id, "only allowed when mode is existing"
            )
        else:
            # The subnet plan the Network component will build: a CIDR too small for the
            # AZ count is refused here, before anything is registered.
            try:
                plan_subnets(self.cidr, self.availability_zones)
            except NetworkPlanError as exc:
                raise field_error("cidr", self.cidr, str(exc)) from None
        return self


class NodeGroupConfig(Model):
    """The managed system node group, for the cluster's controllers only.

    Tainted `CriticalAddonsOnly` and labelled `datafly.io/node-role: system`, it runs
    Karpenter, KEDA, External Secrets, the ALB controller, metrics-server, ingress-nginx
    and CoreDNS; customer workloads run on the nodes Karpenter launches (`nodePool`)."""

    instance_types: list[str] = Field(
        default_factory=lambda: ["t3.medium"], min_length=1, description="EC2 instance types."
    )
    capacity_type: Literal["ON_DEMAND", "SPOT"] = Field("ON_DEMAND", description="EC2 capacity type.")
    desired_size: int = Field(3, ge=1, le=100, description="Nodes at creation.")
    # Two: Karpenter's two replicas require distinct nodes (the chart's podAntiAffinity)
    # spread over zones, and the system node group is the one place they can run.
    min_size: int = Field(2, ge=2, le=100, description="Fewest nodes (at least 2, one per Karpenter replica).")
    max_size: int = Field(5, ge=1, le=100, description="Most nodes.")
    disk_size_gib: int = Field(50, ge=20, le=1000, description="Root volume size (gp3), GiB.")

    @model_validator(mode="after")
    def _sizes(self) -> "NodeGroupConfig":
        unique("instanceTypes", self.instance_types)
        try:
            node_ami_type(self.instance_types)
        except ValueError as exc:
            raise field_error("instanceTypes", self.instance_types, str(exc)) from None
        if not self.min_size <= self.desired_size <= self.max_size:
            raise field_error(
                "desiredSize",
                self.desired_size,
                f"must lie between minSize {self.min_size} and maxSize {self.max_size}",
            )
        return self


# Karpenter `karpenter.sh/capacity-type` values (kubernetes-sigs/karpenter
# pkg/apis/v1/labels.go at v1.14.1).
CapacityType = Literal["on-demand", "spot"]
Architecture = Literal["amd64", "arm64"]
InstanceCategory = Literal["c", "m", "r"]
InstanceSize = Literal["large", "xlarge", "2xlarge", "4xlarge"]


def _on_demand() -> list[CapacityType]:
    return ["on-demand"]


def _amd64() -> list[Architecture]:
    return ["amd64"]


def _categories() -> list[InstanceCategory]:
    return ["c", "m", "r"]


def _sizes() -> list[InstanceSize]:
    return ["large", "xlarge", "2xlarge"]


def _whole_cpus(value: Any) -> Any:
    # `cpu: 48` is a count of vCPUs, unambiguous unlike a float tag; accept it.
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


NodePoolCpu = Annotated[CpuQuantity, BeforeValidator(_whole_cpus)]


class NodePoolLimits(Model):
    """The most node capacity Karpenter may launch for customers (NodePool `spec.limits`).

    Counted over the nodes' capacity, not the pods' requests: the plan's capacity table
    shows what pods can use at these limits."""

    cpu: NodePoolCpu = Field("64", description="Total vCPUs of all Karpenter nodes, e.g. `64`.")
    memory: MemoryQuantity = Field("256Gi", description="Total memory of all Karpenter nodes, e.g. `256Gi`.")


class NodePoolConfig(Model):
    """The Karpenter NodePool customer workloads run on (and its EC2NodeClass)."""

    limits: NodePoolLimits = Field(default_factory=NodePoolLimits)
    capacity_types: list[CapacityType] = Field(
        default_factory=_on_demand, min_length=1,
        description="`on-demand` (default); add `spot` to opt in (Karpenter then prefers spot).",
    )
    architectures: list[Architecture] = Field(
        default_factory=_amd64, min_length=1, description="CPU architectures."
    )
    instance_categories: list[InstanceCategory] = Field(
        default_factory=_categories, min_length=1,
        description="EC2 categories: compute (c), general purpose (m), memory (r).",
    )
    instance_families: list[str] = Field(
        default_factory=lambda: ["c6i", "c7i", "m6i", "m7i", "r6i", "r7i"], min_length=1,
        description="EC2 families (each in one of instanceCategories and architectures).",
    )
    instance_sizes: list[InstanceSize] = Field(
        default_factory=_sizes, min_length=1, description="EC2 sizes."
    )
    consolidate_after: str = Field(
        "5m", pattern=r"^(([0-9]+(s|m|h))+|Never)$",
        description="How long a node stays underutilized or empty before consolidation.",
    )
    disruption_budget_nodes: str = Field(
        "10%", pattern=r"^((100|[0-9]{1,2})%|[0-9]+)$",
        description="Most nodes Karpenter disrupts at once (voluntary disruption), e.g. `10%` or `1`.",
    )
    expire_after: str = Field(
        "720h", pattern=r"^(([0-9]+(s|m|h))+|Never)$",
        description="Node lifetime before Karpenter replaces it (fresh AMI and patches).",
    )

    @model_validator(mode="after")
    def _families(self) -> "NodePoolConfig":
        for index, family in enumerate(self.instance_families):
            match = re.fullmatch(r"([a-z]+)([0-9]+)([a-z]*)", family)
            if match is None or match.group(1) not in self.instance_categories:
                raise field_error(
                    f"instanceFamilies.{index}", family,
                    f"must be a family of one of instanceCategories {self.instance_categories}",
                )
            arch = "arm64" if "g" in match.group(3) else "amd64"
            if arch not in self.architectures:
                raise field_error(
                    f"instanceFamilies.{index}", family,
                    f"is {arch}; add {arch} to architectures or drop the family",
                )
        return self


# The widest range the public API endpoint may admit per entry.
MIN_PUBLIC_ACCESS_PREFIX = 16


class ClusterConfig(Model):
    """The EKS cluster."""

    name: Optional[DnsLabel] = Field(
        None, description="Cluster name; defaults to `datafly-<environment>` (platform) or `datafly-<environment>-<customer>` (dedicated)."
    )
    kubernetes_version: KubernetesVersion = Field(
        DEFAULT_KUBERNETES_VERSION,
        description="EKS Kubernetes version; the offline validators use the same one.",
    )
    public_access_cidrs: list[Cidr] = Field(
        default_factory=list,
        description="CIDRs allowed to reach the public API endpoint; empty turns it off.",
    )
    private_access_cidrs: list[Cidr] = Field(
        default_factory=list,
        description=(
            "CIDRs (VPN, CI runners, peered networks) allowed to reach the private API endpoint "
            "on 443 through the cluster security group; a private-only cluster needs at least one."
        ),
    )
    admin_role_arns: list[RoleArn] = Field(
        min_length=1,
        description=(
            "IAM roles granted cluster admin via access entries (at least one: with API "
            "authentication and no creator bootstrap, nobody else can reach the cluster)."
        ),
    )
    log_retention_days: LogRetentionDays = Field(
        90, description="Retention of control-plane logs, in days."
    )
    node_group: NodeGroupConfig = Field(default_factory=NodeGroupConfig)
    node_pool: NodePoolConfig = Field(default_factory=NodePoolConfig)

    @model_validator(mode="after")
    def _no_open_endpoint(self) -> "ClusterConfig":
        for index, cidr in enumerate(self.public_access_cidrs):
            # Not just /0: 0.0.0.0/1 plus 128.0.0.0/1 opens it as widely.
            if int(cidr.rsplit("/", 1)[1]) < MIN_PUBLIC_ACCESS_PREFIX:
                raise field_error(
                    f"publicAccessCidrs.{index}",
                    cidr,
                    "must not open the API endpoint to the whole internet; list your "
                    f"office or VPN CIDRs (each /{MIN_PUBLIC_ACCESS_PREFIX} or narrower), "
                    "or leave empty for a private endpoint",
                )
        unique("publicAccessCidrs", self.public_access_cidrs)
        unique("privateAccessCidrs", self.private_access_cidrs)
        unique("adminRoleArns", self.admin_role_arns)
        if not self.public_access_cidrs and not self.private_access_cidrs:
            # The private endpoint admits only what the cluster security group admits, and
            # EKS gives that group no rule for anything outside the cluster: Helm and every
            # Kubernetes object of `pulumi up` would time out
            # (https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html).
            raise field_error(
                "privateAccessCidrs", None,
                "required when publicAccessCidrs is empty: the API endpoint is then private-only and "
                "nothing outside the VPC can reach it; list the VPN, CI runner or peered CIDRs "
                "that deploy, or set publicAccessCidrs",
            )
        return self


class IngressNginxConfig(Model):
    enabled: bool = Field(False, description="Install ingress-nginx (for `className: nginx`).")
    replicas: int = Field(2, ge=1, le=10, description="Controller replicas.")


class AddonsConfig(Model):
    """Cluster add-ons; versions are pinned in code, not here."""

    ingress_nginx: IngressNginxConfig = Field(default_factory=IngressNginxConfig)


class KafkaClusterConfig(Model):
    """An MSK cluster (IAM auth, TLS only)."""

    kafka_version: str = Field(
        "3.8.x", pattern=r"^[0-9]+\.[0-9]+\.([0-9]+|x)(\.tiered)?$", description="MSK Kafka version."
    )
    broker_instance_type: str = Field(
        "kafka.m7g.large", pattern=r"^kafka\.[a-z0-9]+\.[a-z0-9]+$", description="Broker instance type."
    )
    brokers_per_az: int = Field(1, ge=1, le=10, description="Brokers in each availability zone.")
    storage_gib: int = Field(100, ge=1, le=16384, description="EBS storage per broker at creation, GiB.")
    max_storage_gib: int = Field(
        1000, ge=1, le=16384, description="Storage autoscaling ceiling per broker, GiB."
    )
    log_retention_days: LogRetentionDays = Field(30, description="Broker log retention, days.")

    @model_validator(mode="after")
    def _storage(self) -> "KafkaClusterConfig":
        if self.max_storage_gib < self.storage_gib:
            raise field_error(
                "maxStorageGib", self.max_storage_gib, f"must be at least storageGib {self.storage_gib}"
            )
        return self


class SharedKafkaConfig(KafkaClusterConfig):
    mode: Literal["shared", "none"] = Field(
        "shared",
        description=(
            "`shared`: the environment's MSK cluster, which customers with `kafka.mode: shared` "
            "use under their topic prefix; `none`: no shared cluster (every customer dedicated)."
        ),
    )


class AlertSubscription(Model):
    """Who hears the environment's alerts (an SNS subscription of its alerts topic)."""

    protocol: Literal["email", "https"] = Field(description="SNS protocol: `email` or `https`.")
    endpoint: str = Field(
        pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+|https://[^\s]+)$",
        description="An email address (protocol email) or an `https://` URL (protocol https).",
    )
    customers: list[CustomerName] = Field(
        default_factory=list,
        description="Only these customers' Prometheus alerts (an SNS filter policy on the `customer` "
        "message attribute); empty: every alert, CloudWatch alarms included.",
    )

    @model_validator(mode="after")
    def _endpoint_matches_protocol(self) -> "AlertSubscription":
        if (self.protocol == "https") != self.endpoint.startswith("https://"):
            raise field_error("endpoint", self.endpoint, f"does not fit protocol {self.protocol}")
        return self


class ObservabilityConfig(Model):
    """Metrics (AMP workspace and managed scraper), alert rules, and their SNS alerts topic."""

    enabled: bool = Field(True, description="Create the workspace, scraper, rules and alerts topic.")
    scrape_interval_seconds: int = Field(
        60, ge=15, le=300, description="Scrape interval; AMP bills per ingested sample (README, Cost)."
    )
    query_logging: bool = Field(False, description="Send AMP query logs to a CloudWatch log group.")
    query_log_retention_days: LogRetentionDays = Field(30, description="Query log retention, days.")
    runbook_base_url: str = Field(
        "https://github.com/datafly/signal-infrastructure/blob/main",
        pattern=r"^https://[^\s]+$",
        description="Where this repository is browsed; alerts link to `<base>/docs/runbooks.md#<alert>`.",
    )
    subscriptions: list[AlertSubscription] = Field(
        default_factory=list, description="SNS subscriptions of the alerts topic (email, https)."
    )


class PlatformConfig(Model):
    """`datafly:platform` — one per environment."""

    environment: EnvironmentName = Field(description="Environment name, e.g. `prod`.")
    protect: StrictBool = Field(True, description="Protect stateful resources from deletion.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags added to every AWS resource.")

    @model_validator(mode="after")
    def _tags(self) -> Any:
        check_tags(self.tags)
        return self
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    cluster: ClusterConfig
    addons: AddonsConfig = Field(default_factory=AddonsConfig)
    kafka: SharedKafkaConfig = Field(default_factory=SharedKafkaConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)
