"""The tenant stack (``datafly:tenant``, one per customer): which cluster it runs on, its
data stores (Kafka, PostgreSQL, Redis), secrets, ingress and alarms, and the rules that
tie those to its workloads (``workloads.py``).
"""

from __future__ import annotations

import math
from typing import Any, Literal, Optional

from pydantic import Field, StrictBool, model_validator

from derive.names import ACM_COMMON_NAME_MAX, REPLICATION_GROUP_ID_MAX, customer_resource_name

from .aws_data import cache_engine_versions
from .base import Model, check_tags, field_error, snake, unique
from .platform import AddonsConfig, ClusterConfig, KafkaClusterConfig, NetworkConfig, ObservabilityConfig
from .types import (
    AcmCertificateArn,
    CustomerName,
    DnsLabel,
    Domain,
    EncryptionKeySecret,
    EnvironmentName,
    JwtSecret,
    KmsKeyArn,
    PostgresVersion,
    Secret,
    SecretArn,
    StackName,
)
from .workloads import (
    KAFKA_CONSUMERS,
    SERVICE_DEFAULTS,
    Autoscaling,
    ImageConfig,
    MigrationsConfig,
    ServiceAutoscaling,
    ServiceConfig,
    Services,
)


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
        unique("tls.certificateArns", self.tls.certificate_arns)
        if self.class_name == "nginx" and self.tls.secret_name is None:
            raise field_error(
                "tls.secretName", None, "required when className is nginx (TLS for all hosts)"
            )
        if self.class_name == "alb" and self.tls.secret_name is not None:
            raise field_error(
                "tls.secretName", self.tls.secret_name,
                "only for className nginx; the ALB terminates TLS with ACM certificates",
            )
        if self.route53_zone_id is not None and (self.class_name != "alb" or self.tls.certificate_arns):
            raise field_error(
                "route53ZoneId", self.route53_zone_id,
                "issues the ALB's certificate itself: only with className alb and no tls.certificateArns",
            )
        return self


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
            raise field_error("cluster", "{...}", "only allowed when mode is dedicated")
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
            raise field_error(
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
            raise field_error(
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
            raise field_error("secretArn", self.secret_arn, "set exactly one of secretArn or kubernetesSecret")
        if self.kms_key_arn is not None and self.secret_arn is None:
            raise field_error("kmsKeyArn", self.kms_key_arn, "only with secretArn")
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
            raise field_error(
                "existing", "{...}", "cannot be combined with jwtSecret, encryptionKey or vendorCredentials"
            )
        return self


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
        check_tags(self.tags)
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
            raise field_error(
                "platform", None, "set exactly one of platform (shared cluster) or dedicatedCluster"
            )
        if self.kafka.mode == "shared" and self.dedicated_cluster is not None:
            raise field_error(
                "kafka.mode", "shared",
                "a dedicated-cluster customer has no platform MSK to share; use dedicated",
            )
        provider = self.autoscaling.metrics_provider
        for key in SERVICE_DEFAULTS:
            scaling: ServiceAutoscaling = getattr(self.autoscaling, snake(key))
            service: ServiceConfig = getattr(self.services, snake(key))
            if scaling.lag_threshold is not None and key not in KAFKA_CONSUMERS:
                raise field_error(
                    f"autoscaling.{key}.lagThreshold", scaling.lag_threshold,
                    "only for services that consume Kafka (" + ", ".join(KAFKA_CONSUMERS) + ")",
                )
            if scaling.enabled and scaling.min_replicas == 0 and not (
                provider in ("keda", "prometheus") and scaling.lag_threshold is not None
            ):
                raise field_error(
                    f"autoscaling.{key}.minReplicas", 0,
                    "scaling to zero needs a KEDA Kafka lag trigger (CPU cannot wake a service with no pods)",
                )
            autoscaled = scaling.enabled and self.autoscaling.metrics_provider != "none"
            if autoscaled and not scaling.min_replicas <= service.replicas <= scaling.max_replicas:
                raise field_error(
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
            raise field_error(
                "image.digests.migrations", pinned.migrations,
                "the migrations Job runs the management-api image (migrations.image is unset), "
                "so it is pinned by image.digests.managementApi; remove this or set migrations.image",
            )
        return self

    @model_validator(mode="after")
    def _names_and_hosts(self) -> "TenantConfig":
        resource_name = customer_resource_name(self.environment, self.name)
        if len(resource_name) > REPLICATION_GROUP_ID_MAX:
            raise field_error(
                "name", self.name,
                f"with environment {self.environment!r} names the RDS instance and ElastiCache group "
                f"{resource_name!r}, {len(resource_name)} characters; ElastiCache allows at most "
                f"{REPLICATION_GROUP_ID_MAX}: shorten the name or the environment",
            )
        seen: dict[str, str] = {}
        for role in ("data", "app", "api"):
            host = self.host(role)
            if host in seen:
                raise field_error(
                    f"ingress.hosts.{role}", host,
                    f"equals ingress.hosts.{seen[host]}: each host routes to a different service",
                )
            seen[host] = role
            if not _within(host, self.domain):
                raise field_error(
                    f"ingress.hosts.{role}", host, f"must be {self.domain} or a host under it (the customer's domain)"
                )
        data_host = self.host("data")
        if self.ingress.route53_zone_id is not None and len(data_host) > ACM_COMMON_NAME_MAX:
            # The issued certificate's Common Name is the data host; ACM refuses a domain
            # name over 64 characters there (alternative names may be longer)
            # (https://docs.aws.amazon.com/acm/latest/APIReference/API_RequestCertificate.html).
            raise field_error(
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
                raise field_error(
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


def _within(host: str, domain: str) -> bool:
    """`host` is `domain` or a name under it."""
    return host == domain or host.endswith("." + domain)
