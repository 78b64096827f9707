"""The stack configuration: one pydantic model tree, validated once in ``__main__.py``.

Keys are camelCase, as Pulumi users write them in ``stacks/Pulumi.<stack>.yaml``; the
Python attributes are snake_case. Defaults come from the Datafly Signal platform
documentation (the service table, autoscaling ranges and EKS reference sizing).

Two roles share one project: a ``platform`` stack per environment (``datafly:platform``)
owns the shared cluster and add-ons; a ``tenant`` stack per customer (``datafly:tenant``)
owns that customer's data stores, secrets, IAM roles and workloads.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, model_validator
from pydantic.alias_generators import to_camel

from derive.eks import node_ami_type
from derive.names import ACM_COMMON_NAME_MAX, REPLICATION_GROUP_ID_MAX, customer_resource_name
from derive.network import NetworkPlanError, plan_subnets

from .aws_data import cache_engine_versions, cache_node_types, rds_instance_classes
from .types import (
    DEFAULT_KUBERNETES_VERSION,
    AcmCertificateArn,
    Cidr,
    CpuQuantity,
    CustomerName,
    DnsLabel,
    Domain,
    EncryptionKeySecret,
    EnvironmentName,
    EnvName,
    ImageDigest,
    ImageTag,
    JwtSecret,
    KmsKeyArn,
    KubernetesVersion,
    LogRetentionDays,
    MemoryQuantity,
    PostgresVersion,
    Region,
    RoleArn,
    Secret,
    SecretArn,
    StackName,
    SubnetId,
    VpcId,
)


class Model(BaseModel):
    """Base for every config group: unknown keys are errors, values are immutable, and
    types are strict: YAML's `true` is not the replica count 1, `1.5` is not an int and
    `"3"` is not a number (pydantic's lax mode would coerce all three)."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
    )


# ---------------------------------------------------------------------------
# Shared building blocks
# ---------------------------------------------------------------------------


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
        _unique("privateSubnetIds", self.private_subnet_ids)
        _unique("publicSubnetIds", self.public_subnet_ids)
        if self.mode == "existing":
            if self.vpc_id is None:
                raise _field_error("vpcId", None, "required when mode is existing")
            if len(self.private_subnet_ids) < 2:
                raise _field_error(
                    "privateSubnetIds",
                    self.private_subnet_ids,
                    "at least 2 subnets in different AZs are required when mode is existing",
                )
        elif self.vpc_id is not None or self.private_subnet_ids or self.public_subnet_ids:
            raise _field_error(
                "vpcId", self.vpc_id, "only allowed when mode is existing"
            )
        else:
            # The subnet plan the Network component will build: a CIDR too small for the
            # AZ count is refused here, before anything is registered.
            try:
                plan_subnets(self.cidr, self.availability_zones)
            except NetworkPlanError as exc:
                raise _field_error("cidr", self.cidr, str(exc)) from None
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
        _unique("instanceTypes", self.instance_types)
        try:
            node_ami_type(self.instance_types)
        except ValueError as exc:
            raise _field_error("instanceTypes", self.instance_types, str(exc)) from None
        if not self.min_size <= self.desired_size <= self.max_size:
            raise _field_error(
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
                raise _field_error(
                    f"instanceFamilies.{index}", family,
                    f"must be a family of one of instanceCategories {self.instance_categories}",
                )
            arch = "arm64" if "g" in match.group(3) else "amd64"
            if arch not in self.architectures:
                raise _field_error(
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
                raise _field_error(
                    f"publicAccessCidrs.{index}",
                    cidr,
                    "must not open the API endpoint to the whole internet; list your "
                    f"office or VPN CIDRs (each /{MIN_PUBLIC_ACCESS_PREFIX} or narrower), "
                    "or leave empty for a private endpoint",
                )
        _unique("publicAccessCidrs", self.public_access_cidrs)
        _unique("privateAccessCidrs", self.private_access_cidrs)
        _unique("adminRoleArns", self.admin_role_arns)
        if not self.public_access_cidrs and not self.private_access_cidrs:
            # The private endpoint admits only what the cluster security group admits, and
            # EKS gives that group no rule for anything outside the cluster: Helm and every
            # Kubernetes object of `pulumi up` would time out
            # (https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html).
            raise _field_error(
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
            raise _field_error(
                "maxStorageGib", self.max_storage_gib, f"must be at least storageGib {self.storage_gib}"
            )
        return self


# ---------------------------------------------------------------------------
# Platform stack
# ---------------------------------------------------------------------------


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
            raise _field_error("endpoint", self.endpoint, f"does not fit protocol {self.protocol}")
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


class AlarmThresholds(Model):
    """CloudWatch alarm thresholds of a customer's data stores (defaults in docs/runbooks.md)."""

    rds_cpu_percent: int = Field(80, ge=1, le=100, description="RDS CPUUtilization, percent (5-minute average).")
    rds_free_storage_gib: int = Field(5, ge=1, le=65536, description="RDS FreeStorageSpace below this, GiB.")
    rds_freeable_memory_mib: int = Field(128, ge=16, le=1048576, description="RDS FreeableMemory below this, MiB.")
    rds_connections: int = Field(80, ge=1, le=100000, description="RDS DatabaseConnections above this.")
    cache_cpu_percent: int = Field(80, ge=1, le=100, description="ElastiCache EngineCPUUtilization, percent.")
    cache_memory_percent: int = Field(
        80, ge=1, le=100, description="ElastiCache DatabaseMemoryUsagePercentage, percent."
    )
    cache_evictions: int = Field(100, ge=1, le=100000000, description="ElastiCache Evictions per 5 minutes.")
    kafka_disk_used_percent: int = Field(
        80, ge=1, le=100, description="Dedicated MSK KafkaDataLogsDiskUsed, percent, per broker."
    )
    kafka_consumer_lag: int = Field(
        100000, ge=1, le=1000000000,
        description="MSK SumOffsetLag of a consumer group on its topic (10 minutes).",
    )


class AlarmsConfig(Model):
    """A customer's CloudWatch alarms and dashboard; actions go to the environment's alerts topic."""

    enabled: bool = Field(True, description="Create the customer's CloudWatch alarms and dashboard.")
    thresholds: AlarmThresholds = Field(default_factory=AlarmThresholds)


class PlatformConfig(Model):
    """`datafly:platform` — one per environment."""

    environment: EnvironmentName = Field(description="Environment name, e.g. `prod`.")
    protect: StrictBool = Field(True, description="Protect stateful resources from deletion.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags added to every AWS resource.")

    @model_validator(mode="after")
    def _tags(self) -> Any:
        _check_tags(self.tags)
        return self
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    cluster: ClusterConfig
    addons: AddonsConfig = Field(default_factory=AddonsConfig)
    kafka: SharedKafkaConfig = Field(default_factory=SharedKafkaConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)


# ---------------------------------------------------------------------------
# Tenant stack
# ---------------------------------------------------------------------------

ServiceKey = Literal[
    "ingestionGateway", "eventProcessor", "deliveryWorkers", "identityHub", "managementApi", "managementUi"
]

# The documented defaults, per service: replicas, requests, limits (memory, cpu).
SERVICE_DEFAULTS: dict[str, dict[str, Any]] = {
    "ingestionGateway": {"replicas": 2, "requests": ("256Mi", "250m"), "limits": ("512Mi", "500m")},
    "eventProcessor": {"replicas": 2, "requests": ("512Mi", "500m"), "limits": ("1Gi", "1000m")},
    "deliveryWorkers": {"replicas": 2, "requests": ("256Mi", "250m"), "limits": ("512Mi", "500m")},
    "identityHub": {"replicas": 1, "requests": ("128Mi", "100m"), "limits": ("256Mi", "250m")},
    "managementApi": {"replicas": 1, "requests": ("256Mi", "250m"), "limits": ("512Mi", "500m")},
    "managementUi": {"replicas": 1, "requests": ("128Mi", "100m"), "limits": ("256Mi", "250m")},
}

# Documented autoscaling ranges; services not listed run a fixed replica count.
AUTOSCALING_DEFAULTS: dict[str, dict[str, Any]] = {
    "ingestionGateway": {"enabled": True, "minReplicas": 2, "maxReplicas": 10},
    "eventProcessor": {
        "enabled": True, "minReplicas": 2, "maxReplicas": 8,
        "lagThreshold": 10000, "activationLagThreshold": 1000,
    },
    "deliveryWorkers": {
        "enabled": True, "minReplicas": 2, "maxReplicas": 12,
        "lagThreshold": 10000, "activationLagThreshold": 1000,
    },
    "identityHub": {"enabled": False, "minReplicas": 1, "maxReplicas": 1},
    "managementApi": {"enabled": False, "minReplicas": 1, "maxReplicas": 1},
    "managementUi": {"enabled": False, "minReplicas": 1, "maxReplicas": 1},
}

# The services that consume Kafka topics, and so have a consumer lag to scale on.
KAFKA_CONSUMERS = ("eventProcessor", "deliveryWorkers")

RESERVED_ENV = frozenset(
    {"DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS", "JWT_SECRET", "ENCRYPTION_KEY",
     "CORS_ORIGINS", "COOKIE_DOMAIN", "KAFKA_TOPIC_PREFIX", "KAFKA_CONSUMER_GROUP", "KAFKA_TOPIC"}
)


def _quantity_value(quantity: str) -> float:
    suffixes = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
                "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    for suffix in sorted(suffixes, key=len, reverse=True):
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * suffixes[suffix]
    return float(quantity)


class ResourceAmounts(Model):
    memory: MemoryQuantity = Field(description="Memory, e.g. `256Mi`.")
    cpu: CpuQuantity = Field(description="CPU, e.g. `250m`.")


class Resources(Model):
    requests: ResourceAmounts
    limits: ResourceAmounts

    @model_validator(mode="after")
    def _requests_within_limits(self) -> "Resources":
        for resource in ("memory", "cpu"):
            request = getattr(self.requests, resource)
            limit = getattr(self.limits, resource)
            if _quantity_value(request) > _quantity_value(limit):
                raise _field_error(
                    f"requests.{resource}", request, f"must not exceed limits.{resource} {limit}"
                )
        return self


class Probes(Model):
    readiness_path: str = Field("/healthz/ready", pattern=r"^/", description="HTTP readiness probe path.")
    liveness_path: str = Field("/healthz/live", pattern=r"^/", description="HTTP liveness probe path.")


class ServiceConfig(Model):
    replicas: int = Field(ge=0, le=100, description="Replicas when not autoscaled.")
    env: dict[EnvName, str] = Field(
        default_factory=dict,
        description="Extra environment variables (connection settings and secrets are set by the program).",
    )
    resources: Resources
    probes: Probes = Field(default_factory=Probes)

    @model_validator(mode="after")
    def _no_reserved_env(self) -> "ServiceConfig":
        for name in self.env:
            if name in RESERVED_ENV:
                raise _field_error(
                    f"env.{name}", self.env[name],
                    "is set by the program from the customer's secrets and config; remove it",
                )
        return self


class GatewayServiceConfig(ServiceConfig):
    cors_origins: list[str] = Field(
        default_factory=list,
        description="Origins allowed to send events (`CORS_ORIGINS`), e.g. `https://www.acme.com`.",
    )
    cookie_domain: Optional[str] = Field(
        None, pattern=r"^\.?[a-z0-9.-]+$", description="`COOKIE_DOMAIN`, e.g. `.acme.com`."
    )

    @model_validator(mode="after")
    def _origins(self) -> "GatewayServiceConfig":
        for index, origin in enumerate(self.cors_origins):
            # An origin is scheme://host[:port] and nothing else (RFC 6454); a browser never
            # sends a path, `*` or a wildcard host, so such an entry would match no request.
            if not _HTTPS_ORIGIN.fullmatch(origin):
                raise _field_error(
                    f"corsOrigins.{index}", origin,
                    "must be an https origin without a trailing slash, e.g. https://www.acme.com",
                )
        _unique("corsOrigins", self.cors_origins)
        return self


def _service_defaults(key: str) -> dict[str, Any]:
    spec = SERVICE_DEFAULTS[key]
    return {
        "replicas": spec["replicas"],
        "resources": {
            "requests": {"memory": spec["requests"][0], "cpu": spec["requests"][1]},
            "limits": {"memory": spec["limits"][0], "cpu": spec["limits"][1]},
        },
    }


def _merge(defaults: dict[str, Any], given: Any) -> Any:
    """Overlay user values on documented defaults, key by key, so a stack that sets
    only `replicas` keeps the service's documented resources."""
    if not isinstance(given, dict):
        return given
    merged = copy.deepcopy(defaults)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _with_defaults(data: Any, defaults: dict[str, dict[str, Any]]) -> Any:
    """Each per-service group starts from that service's documented defaults."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return data  # the model reports the wrong type with its key path
    return {**data, **{key: _merge(value, data.get(key, {})) for key, value in defaults.items()}}


class Services(Model):
    """Per-service settings, keyed as in the platform's Helm values."""

    ingestion_gateway: GatewayServiceConfig
    event_processor: ServiceConfig
    delivery_workers: ServiceConfig
    identity_hub: ServiceConfig
    management_api: ServiceConfig
    management_ui: ServiceConfig

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        return _with_defaults(data, {key: _service_defaults(key) for key in SERVICE_DEFAULTS})


class ServiceAutoscaling(Model):
    enabled: bool = Field(description="Scale this service with KEDA/HPA.")
    min_replicas: int = Field(ge=0, le=100, description="Fewest replicas.")
    max_replicas: int = Field(ge=1, le=100, description="Most replicas.")
    target_cpu_utilization_percentage: int = Field(
        70, ge=10, le=100, alias="targetCPUUtilizationPercentage",
        description="Average CPU utilisation to hold, percent of requests.",
    )
    lag_threshold: Optional[int] = Field(
        None, ge=1, description="Kafka consumer lag per replica that adds a replica."
    )
    activation_lag_threshold: Optional[int] = Field(
        None, ge=0, description="Lag above which scaling from the minimum starts."
    )

    @model_validator(mode="after")
    def _ranges(self) -> "ServiceAutoscaling":
        if self.min_replicas > self.max_replicas:
            raise _field_error(
                "minReplicas", self.min_replicas, f"must not exceed maxReplicas {self.max_replicas}"
            )
        if self.activation_lag_threshold is not None:
            if self.lag_threshold is None:
                raise _field_error(
                    "activationLagThreshold", self.activation_lag_threshold,
                    "needs lagThreshold to be set",
                )
            if self.activation_lag_threshold >= self.lag_threshold:
                raise _field_error(
                    "activationLagThreshold", self.activation_lag_threshold,
                    f"must be below lagThreshold {self.lag_threshold}",
                )
        return self


class PrometheusScaling(Model):
    """Consumer lag read from the customer's Prometheus by KEDA's `prometheus` scaler."""

    server_address: Optional[str] = Field(
        None, pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$",
        description=(
            "Prometheus HTTP API KEDA queries, e.g. `http://prometheus.monitoring.svc:9090` "
            "(required with metricsProvider prometheus when a service has a lagThreshold)."
        ),
    )
    lag_metric_name: str = Field(
        "kafka_consumergroup_lag",
        pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$",
        description="Prometheus metric carrying consumer lag, labelled `consumergroup` (kafka-exporter's name).",
    )


class Autoscaling(Model):
    metrics_provider: Literal["keda", "prometheus", "none"] = Field(
        "keda",
        description=(
            "`keda`: KEDA ScaledObjects on CPU and Kafka lag read from MSK; `prometheus`: KEDA "
            "ScaledObjects on CPU and Kafka lag queried from your Prometheus; `none`: fixed replicas. "
            "Either way KEDA drives the HPAs: its metrics server owns the cluster's only "
            "external.metrics.k8s.io APIService, so no other adapter can serve external metrics."
        ),
    )
    prometheus: PrometheusScaling = Field(default_factory=PrometheusScaling)
    polling_interval: int = Field(15, ge=5, le=300, description="KEDA polling interval, seconds.")
    cooldown_period: int = Field(
        60, ge=0, le=3600,
        description=(
            "Seconds of low load before replicas are removed: the HPA scale-down stabilization "
            "window (and KEDA's cooldown before scaling to zero)."
        ),
    )
    ingestion_gateway: ServiceAutoscaling
    event_processor: ServiceAutoscaling
    delivery_workers: ServiceAutoscaling
    identity_hub: ServiceAutoscaling
    management_api: ServiceAutoscaling
    management_ui: ServiceAutoscaling

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        return _with_defaults(data, AUTOSCALING_DEFAULTS)

    @model_validator(mode="after")
    def _prometheus_server(self) -> "Autoscaling":
        if self.metrics_provider != "prometheus" or self.prometheus.server_address is not None:
            return self
        for key in AUTOSCALING_DEFAULTS:
            scaling: ServiceAutoscaling = getattr(self, _snake(key))
            if scaling.enabled and scaling.lag_threshold is not None:
                raise _field_error(
                    "prometheus.serverAddress", None,
                    f"required with metricsProvider prometheus: {key} scales on Kafka lag "
                    "(lagThreshold), which KEDA queries from this Prometheus",
                )
        return self


class ImageDigests(Model):
    """`sha256:` digests, one per image repository."""

    ingestion_gateway: Optional[ImageDigest] = Field(None, description="ingestion-gateway image digest.")
    event_processor: Optional[ImageDigest] = Field(None, description="event-processor image digest.")
    delivery_workers: Optional[ImageDigest] = Field(None, description="delivery-workers image digest.")
    identity_hub: Optional[ImageDigest] = Field(None, description="identity-hub image digest.")
    management_api: Optional[ImageDigest] = Field(None, description="management-api image digest.")
    management_ui: Optional[ImageDigest] = Field(None, description="management-ui image digest.")
    migrations: Optional[ImageDigest] = Field(
        None, description="Digest of the migrations image (`migrations.image`, default the management-api image)."
    )

    @model_validator(mode="after")
    def _distinct(self) -> "ImageDigests":
        seen: dict[str, str] = {}
        for name in ("ingestion_gateway", "event_processor", "delivery_workers", "identity_hub",
                     "management_api", "management_ui"):
            value = getattr(self, name)
            if value is None:
                continue
            key = to_camel(name)
            if value in seen:
                raise _field_error(
                    key, value,
                    f"is also the digest of {seen[value]}; a digest names one image, so two "
                    "service images cannot share it",
                )
            seen[value] = key
        return self


class ImageConfig(Model):
    registry: str = Field(
        "ghcr.io/datafly", pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$",
        description="Registry and path; images are `<registry>/<service>:<tag>`.",
    )
    tag: ImageTag = Field(description="Release tag (required; `latest` is refused).")
    # A digest names exactly one image (one manifest), so one digest cannot pin six
    # repositories: each service image, and the migrations image, has its own.
    digests: ImageDigests = Field(
        default_factory=lambda: ImageDigests.model_validate({}),
        description="Optional digests pinning the tag, one per image (`<service>` and `migrations`).",
    )
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="Kubernetes imagePullPolicy."
    )

    @model_validator(mode="before")
    @classmethod
    def _one_digest_per_image(cls, data: Any) -> Any:
        if isinstance(data, dict) and "digest" in data:
            raise _field_error(
                "digest", data["digest"],
                "a digest names exactly one image; pin each image under digests.<service> "
                "(ingestionGateway, ..., managementUi) and digests.migrations",
            )
        return data

    def digest(self, key: str) -> Optional[str]:
        """The digest pinning image `key` (a service key or `migrations`), if any."""
        result: Optional[str] = getattr(self.digests, _snake(key))
        return result

    @property
    def pinned(self) -> bool:
        return any(getattr(self.digests, name) for name in ImageDigests.model_fields)


class IngressHosts(Model):
    data: Optional[Domain] = Field(None, description="Event collection host; default `data.<domain>`.")
    app: Optional[Domain] = Field(None, description="Management UI host; default `app.<domain>`.")
    api: Optional[Domain] = Field(None, description="Management API host; default `api.<domain>`.")


class IngressTls(Model):
    certificate_arns: list[AcmCertificateArn] = Field(
        default_factory=list,
        description="ACM certificates for the ALB; empty lets the controller discover them by host.",
    )
    secret_name: Optional[DnsLabel] = Field(
        None, description="Kubernetes TLS secret for the nginx class."
    )


class IngressConfig(Model):
    class_name: Literal["alb", "nginx"] = Field("alb", description="Ingress class.")
    route53_zone_id: Optional[str] = Field(
        None, pattern=r"^Z[A-Z0-9]{1,31}$",
        description="Hosted zone for the hosts: the stack then issues a DNS-validated ACM certificate and alias records.",
    )
    scheme: Literal["internet-facing", "internal"] = Field(
        "internet-facing", description="ALB scheme (browsers post events to the data host)."
    )
    hosts: IngressHosts = Field(default_factory=IngressHosts)
    tls: IngressTls = Field(default_factory=IngressTls)

    @model_validator(mode="after")
    def _tls_for_class(self) -> "IngressConfig":
        _unique("tls.certificateArns", self.tls.certificate_arns)
        if self.class_name == "nginx" and self.tls.secret_name is None:
            raise _field_error(
                "tls.secretName", None, "required when className is nginx (TLS for all hosts)"
            )
        if self.class_name == "alb" and self.tls.secret_name is not None:
            raise _field_error(
                "tls.secretName", self.tls.secret_name,
                "only for className nginx; the ALB terminates TLS with ACM certificates",
            )
        if self.route53_zone_id is not None and (self.class_name != "alb" or self.tls.certificate_arns):
            raise _field_error(
                "route53ZoneId", self.route53_zone_id,
                "issues the ALB's certificate itself: only with className alb and no tls.certificateArns",
            )
        return self


class MigrationsConfig(Model):
    """The database migrations Job that runs before every release's Deployments."""

    image: Optional[str] = Field(
        None, description="Image to run; default the management-api image of the release."
    )
    command: list[str] = Field(
        default_factory=lambda: ["migrate"], min_length=1, description="Container command."
    )
    args: list[str] = Field(default_factory=lambda: ["up"], description="Container arguments.")
    database_client_image: str = Field(
        "public.ecr.aws/docker/library/postgres:17.6-alpine",
        pattern=r"^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$",
        description=(
            "Image with psql 15 or newer the Job's init container uses to create the services' "
            "database login (pin a digest in production)."
        ),
    )
    backoff_limit: int = Field(2, ge=0, le=10, description="Retries before the Job fails.")
    active_deadline_seconds: int = Field(900, ge=60, le=86400, description="Time limit for the Job.")

    @model_validator(mode="before")
    @classmethod
    def _no_ttl(cls, data: Any) -> Any:
        # pulumi-kubernetes reads a Job that the TTL controller deleted as gone, so a
        # `pulumi refresh` drops it from state and the next `up` runs the migrations
        # again (provider/pkg/await/job.go Read: a 404 marks the resource deleted).
        if isinstance(data, dict) and "ttlSecondsAfterFinished" in data:
            raise _field_error(
                "ttlSecondsAfterFinished", data["ttlSecondsAfterFinished"],
                "is no longer supported: a Job the TTL controller deletes is recreated (and the "
                "migrations re-run) by the next refresh and up; the finished Job is kept until "
                "the next release replaces it",
            )
        return data


class PlatformReference(Model):
    stack: StackName = Field(
        description="The platform stack to run on, `<organization>/datafly/<stack>`."
    )


class DedicatedClusterConfig(Model):
    """A customer that owns its own cluster (silo tier) instead of the platform's."""

    network: NetworkConfig = Field(default_factory=NetworkConfig)
    cluster: ClusterConfig
    addons: AddonsConfig = Field(default_factory=AddonsConfig)
    observability: ObservabilityConfig = Field(default_factory=ObservabilityConfig)


class TenantKafkaConfig(Model):
    mode: Literal["shared", "dedicated"] = Field(
        "shared",
        description="`shared`: the platform's MSK with topic-prefix isolation; `dedicated`: own MSK.",
    )
    cluster: Optional[KafkaClusterConfig] = Field(
        None, description="MSK settings for mode dedicated (defaults apply when omitted)."
    )

    @model_validator(mode="after")
    def _cluster_for_mode(self) -> "TenantKafkaConfig":
        if self.mode == "shared" and self.cluster is not None:
            raise _field_error("cluster", "{...}", "only allowed when mode is dedicated")
        return self


class PostgresConfig(Model):
    engine_version: PostgresVersion = Field(
        "16.13", description="PostgreSQL version, 16 or newer, that RDS still creates (e.g. 16.13, 17.6)."
    )
    instance_class: str = Field(
        "db.t4g.medium", pattern=r"^db\.[a-z0-9]+\.[a-z0-9]+$", description="RDS instance class."
    )
    allocated_storage_gib: int = Field(20, ge=20, le=65536, description="Initial gp3 storage, GiB.")
    max_allocated_storage_gib: int = Field(
        100, ge=20, le=65536, description="Storage autoscaling ceiling, GiB."
    )
    multi_az: bool = Field(False, description="Standby in a second AZ.")
    backup_retention_days: int = Field(7, ge=7, le=35, description="Automated backup retention.")
    database_name: str = Field("datafly", pattern=r"^[a-z][a-z0-9_]{0,62}$", description="Database name.")
    app_credentials_version: int = Field(
        1, ge=1, le=1000000,
        description=(
            "Version of the services' own database password; raise it by one to rotate it "
            "(the other of two alternating users gets a new password, then the services roll)."
        ),
    )

    @model_validator(mode="after")
    def _storage(self) -> "PostgresConfig":
        # RDS storage autoscaling: "the maximum storage threshold must be at least 10%
        # more than the current allocated storage"
        # (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html).
        minimum = math.ceil(self.allocated_storage_gib * 11 / 10)
        if self.max_allocated_storage_gib < minimum:
            raise _field_error(
                "maxAllocatedStorageGib", self.max_allocated_storage_gib,
                f"must be at least 1.1 x allocatedStorageGib {self.allocated_storage_gib}, i.e. {minimum} "
                "(RDS storage autoscaling)",
            )
        return self


class RedisConfig(Model):
    engine: Literal["redis", "valkey"] = Field("redis", description="Cache engine.")
    engine_version: str = Field("7.1", pattern=r"^[0-9]+\.[0-9]+$", description="Engine version.")
    node_type: str = Field(
        "cache.t4g.small", pattern=r"^cache\.[a-z0-9]+\.[a-z0-9]+$", description="Node type."
    )
    num_nodes: int = Field(1, ge=1, le=6, description="Nodes; more than 1 enables failover.")
    snapshot_retention_days: int = Field(1, ge=0, le=35, description="Daily snapshots kept.")

    @model_validator(mode="after")
    def _engine_version(self) -> "RedisConfig":
        # ElastiCache offers Redis OSS up to 7.1 and Valkey from 7.2 on (cfn-lint's data).
        offered = cache_engine_versions(self.engine)
        if self.engine_version not in offered:
            raise _field_error(
                "engineVersion", self.engine_version,
                f"ElastiCache offers {self.engine} only as {', '.join(offered)}",
            )
        return self


class ExistingSecrets(Model):
    """Secrets the customer already manages (the Helm chart's `existingSecret`)."""

    secret_arn: Optional[SecretArn] = Field(
        None,
        description="Secrets Manager secret with the app keys (JWT_SECRET, ENCRYPTION_KEY, ...), synced by External Secrets.",
    )
    kms_key_arn: Optional[KmsKeyArn] = Field(None, description="KMS key that encrypts `secretArn`.")
    kubernetes_secret: Optional[DnsLabel] = Field(
        None, description="A Kubernetes Secret in the customer's namespace the services read directly."
    )

    @model_validator(mode="after")
    def _one_source(self) -> "ExistingSecrets":
        if (self.secret_arn is None) == (self.kubernetes_secret is None):
            raise _field_error("secretArn", self.secret_arn, "set exactly one of secretArn or kubernetesSecret")
        if self.kms_key_arn is not None and self.secret_arn is None:
            raise _field_error("kmsKeyArn", self.kms_key_arn, "only with secretArn")
        return self


class SecretsConfig(Model):
    refresh_interval: str = Field(
        "1h", pattern=r"^([0-9]+(s|m|h))+$", description="How often External Secrets re-reads Secrets Manager."
    )
    existing: Optional[ExistingSecrets] = Field(
        None, description="Use a secret the customer already manages; nothing is generated."
    )
    jwt_secret: Optional[JwtSecret] = Field(
        None, description="Carry over an existing JWT secret (secure value); generated when unset."
    )
    encryption_key: Optional[EncryptionKeySecret] = Field(
        None, description="Carry over an existing 32-byte hex key (secure value); generated when unset."
    )
    vendor_credentials: dict[DnsLabel, Secret] = Field(
        default_factory=dict, description="Delivery vendor credentials (secure values)."
    )

    @model_validator(mode="after")
    def _existing_excludes_values(self) -> "SecretsConfig":
        if self.existing is not None and (
            self.jwt_secret or self.encryption_key or self.vendor_credentials
        ):
            raise _field_error(
                "existing", "{...}", "cannot be combined with jwtSecret, encryptionKey or vendorCredentials"
            )
        return self


class TenantConfig(Model):
    """`datafly:tenant` — one per customer."""

    name: CustomerName = Field(description="Customer id; the namespace is `customer-<name>`.")
    environment: EnvironmentName = Field(
        description=(
            "Environment the customer runs in (the platform stack's `environment`); every AWS "
            "name unique per account or region carries it, `datafly-<environment>-<name>`."
        )
    )
    domain: Domain = Field(description="Customer domain; hosts default to data/app/api.<domain>.")
    protect: StrictBool = Field(True, description="Protect stateful resources from deletion.")
    tags: dict[str, str] = Field(default_factory=dict, description="Tags added to every AWS resource.")

    @model_validator(mode="after")
    def _tags(self) -> Any:
        _check_tags(self.tags)
        return self
    platform: Optional[PlatformReference] = Field(
        None, description="Run on a shared platform stack (exclusive with dedicatedCluster)."
    )
    dedicated_cluster: Optional[DedicatedClusterConfig] = Field(
        None, description="Own a dedicated cluster (exclusive with platform)."
    )
    kafka: TenantKafkaConfig = Field(default_factory=TenantKafkaConfig)
    postgres: PostgresConfig = Field(default_factory=PostgresConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    secrets: SecretsConfig = Field(default_factory=SecretsConfig)
    image: ImageConfig
    services: Services = Field(default_factory=lambda: Services.model_validate({}))
    ingress: IngressConfig = Field(default_factory=IngressConfig)
    autoscaling: Autoscaling = Field(default_factory=lambda: Autoscaling.model_validate({}))
    migrations: MigrationsConfig = Field(default_factory=MigrationsConfig)
    alarms: AlarmsConfig = Field(default_factory=AlarmsConfig)

    @model_validator(mode="after")
    def _cluster_source(self) -> "TenantConfig":
        if (self.platform is None) == (self.dedicated_cluster is None):
            raise _field_error(
                "platform", None, "set exactly one of platform (shared cluster) or dedicatedCluster"
            )
        if self.kafka.mode == "shared" and self.dedicated_cluster is not None:
            raise _field_error(
                "kafka.mode", "shared",
                "a dedicated-cluster customer has no platform MSK to share; use dedicated",
            )
        provider = self.autoscaling.metrics_provider
        for key in SERVICE_DEFAULTS:
            scaling: ServiceAutoscaling = getattr(self.autoscaling, _snake(key))
            service: ServiceConfig = getattr(self.services, _snake(key))
            if scaling.lag_threshold is not None and key not in KAFKA_CONSUMERS:
                raise _field_error(
                    f"autoscaling.{key}.lagThreshold", scaling.lag_threshold,
                    "only for services that consume Kafka (" + ", ".join(KAFKA_CONSUMERS) + ")",
                )
            if scaling.enabled and scaling.min_replicas == 0 and not (
                provider in ("keda", "prometheus") and scaling.lag_threshold is not None
            ):
                raise _field_error(
                    f"autoscaling.{key}.minReplicas", 0,
                    "scaling to zero needs a KEDA Kafka lag trigger (CPU cannot wake a service with no pods)",
                )
            autoscaled = scaling.enabled and self.autoscaling.metrics_provider != "none"
            if autoscaled and not scaling.min_replicas <= service.replicas <= scaling.max_replicas:
                raise _field_error(
                    f"services.{key}.replicas", service.replicas,
                    f"must lie within autoscaling.{key} minReplicas {scaling.min_replicas} "
                    f"and maxReplicas {scaling.max_replicas}",
                )
        return self

    @model_validator(mode="after")
    def _migrations_digest(self) -> "TenantConfig":
        # Without migrations.image the Job runs the management-api image, which has the
        # management-api digest: a different one would name another image.
        pinned = self.image.digests
        if (self.migrations.image is None and pinned.migrations is not None
                and pinned.migrations != pinned.management_api):
            raise _field_error(
                "image.digests.migrations", pinned.migrations,
                "the migrations Job runs the management-api image (migrations.image is unset), "
                "so it is pinned by image.digests.managementApi; remove this or set migrations.image",
            )
        return self

    @model_validator(mode="after")
    def _names_and_hosts(self) -> "TenantConfig":
        resource_name = customer_resource_name(self.environment, self.name)
        if len(resource_name) > REPLICATION_GROUP_ID_MAX:
            raise _field_error(
                "name", self.name,
                f"with environment {self.environment!r} names the RDS instance and ElastiCache group "
                f"{resource_name!r}, {len(resource_name)} characters; ElastiCache allows at most "
                f"{REPLICATION_GROUP_ID_MAX}: shorten the name or the environment",
            )
        seen: dict[str, str] = {}
        for role in ("data", "app", "api"):
            host = self.host(role)
            if host in seen:
                raise _field_error(
                    f"ingress.hosts.{role}", host,
                    f"equals ingress.hosts.{seen[host]}: each host routes to a different service",
                )
            seen[host] = role
            if not _within(host, self.domain):
                raise _field_error(
                    f"ingress.hosts.{role}", host, f"must be {self.domain} or a host under it (the customer's domain)"
                )
        data_host = self.host("data")
        if self.ingress.route53_zone_id is not None and len(data_host) > ACM_COMMON_NAME_MAX:
            # The issued certificate's Common Name is the data host; ACM refuses a domain
            # name over 64 characters there (alternative names may be longer)
            # (https://docs.aws.amazon.com/acm/latest/APIReference/API_RequestCertificate.html).
            raise _field_error(
                "ingress.hosts.data", data_host,
                f"is the Common Name of the certificate this stack issues; ACM allows at most "
                f"{ACM_COMMON_NAME_MAX} characters ({len(data_host)} here): set a shorter ingress.hosts.data",
            )
        cookie = self.services.ingestion_gateway.cookie_domain
        if cookie is not None:
            bare = cookie.removeprefix(".")
            # A browser keeps the cookie only when the data host domain-matches it
            # (RFC 6265 section 5.3); beyond that it must stay within the customer's domain
            # (or a parent of it that is not a top-level domain).
            parent_of_domain = _within(self.domain, bare) and "." in bare
            if not _within(data_host, bare) or not (_within(bare, self.domain) or parent_of_domain):
                raise _field_error(
                    "services.ingestionGateway.cookieDomain", cookie,
                    f"must be the customer's domain .{self.domain} (or a domain between it and the data "
                    f"host {data_host}); a browser drops a cookie for any other domain",
                )
        return self

    @property
    def resource_name(self) -> str:
        """`datafly-<environment>-<name>`: the base of every AWS name unique per account
        or region (RDS, ElastiCache, MSK, KMS alias, secrets, KEDA role)."""
        return customer_resource_name(self.environment, self.name)

    @property
    def namespace(self) -> str:
        return f"customer-{self.name}"

    def host(self, role: Literal["data", "app", "api"]) -> str:
        return getattr(self.ingress.hosts, role) or f"{role}.{self.domain}"


def _snake(camel: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in camel)


# ---------------------------------------------------------------------------
# The whole stack
# ---------------------------------------------------------------------------


class StackConfig(BaseModel):
    """Every config key this program reads, by its full Pulumi key."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    region: Region = Field(alias="aws:region", description="AWS region of the stack.")
    platform: Optional[PlatformConfig] = Field(None, alias="datafly:platform")
    tenant: Optional[TenantConfig] = Field(None, alias="datafly:tenant")

    @model_validator(mode="after")
    def _one_role(self) -> "StackConfig":
        if (self.platform is None) == (self.tenant is None):
            raise _field_error(
                "datafly:tenant", None,
                "set exactly one of datafly:platform (an environment) or datafly:tenant (a customer)",
            )
        return self

    @model_validator(mode="after")
    def _offered_in_region(self) -> "StackConfig":
        """What AWS offers differs per region: the orderable tables of cfn-lint's data."""
        if self.tenant is None:
            return self
        instance_class = self.tenant.postgres.instance_class
        classes = rds_instance_classes(self.region, "postgres")
        if classes is not None and instance_class not in classes:
            raise _field_error(
                "datafly:tenant.postgres.instanceClass", instance_class,
                f"is not an RDS for PostgreSQL instance class orderable in {self.region} "
                f"(e.g. {', '.join(_close(instance_class, classes))})",
            )
        node_type = self.tenant.redis.node_type
        node_types = cache_node_types(self.region)
        if node_types is not None and node_type not in node_types:
            raise _field_error(
                "datafly:tenant.redis.nodeType", node_type,
                f"is not an ElastiCache node type offered in {self.region} "
                f"(e.g. {', '.join(_close(node_type, node_types))})",
            )
        return self

    @property
    def role(self) -> Literal["platform", "tenant"]:
        return "platform" if self.platform is not None else "tenant"

    @property
    def kubernetes_version(self) -> str:
        if self.platform is not None:
            return self.platform.cluster.kubernetes_version
        assert self.tenant is not None
        if self.tenant.dedicated_cluster is not None:
            return self.tenant.dedicated_cluster.cluster.kubernetes_version
        return DEFAULT_KUBERNETES_VERSION


class FieldError(ValueError):
    """A cross-field rule that names the sub-key it is about, relative to the model."""

    def __init__(self, path: str, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.value = value
        self.reason = reason


# Set by the program on every AWS resource (components/stack.py): ownership and cost
# allocation must not be relabelled from a stack file.
RESERVED_TAG_KEYS = ("managed-by", "app", "stack", "environment", "datafly:tenant")


def _check_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        if key in RESERVED_TAG_KEYS:
            raise _field_error(f"tags.{key}", value, "is set by the program on every resource; "
                               f"reserved keys: {', '.join(RESERVED_TAG_KEYS)}")
        if key.lower().startswith("aws:") or not 1 <= len(key) <= 128 or len(value) > 256:
            raise _field_error(f"tags.{key}", value, "AWS tag keys are 1-128 characters, not starting "
                               "with aws:, and values at most 256 characters")


def _field_error(path: str, value: Any, reason: str) -> FieldError:
    return FieldError(path, value, reason)


_HTTPS_ORIGIN = re.compile(
    r"^https://([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:[0-9]{1,5})?$"
)


def _within(host: str, domain: str) -> bool:
    """`host` is `domain` or a name under it."""
    return host == domain or host.endswith("." + domain)


def _unique(path: str, values: Sequence[Any]) -> None:
    for index, value in enumerate(values):
        if value in values[:index]:
            raise _field_error(f"{path}.{index}", value, f"duplicates {path}.{list(values).index(value)}")


def _close(value: str, offered: frozenset[str]) -> list[str]:
    """A few offered values of the same family (`db.t4g.*`), else the first few."""
    family = value.rsplit(".", 1)[0] + "."
    same = sorted(v for v in offered if v.startswith(family))
    return (same or sorted(offered))[:6]
