"""What a customer's workloads run (part of ``datafly:tenant``): per-service settings,
autoscaling, images and the database migrations Job.

Each per-service group starts from the documented defaults (the service table and
autoscaling ranges of the Datafly Signal platform documentation), overlaid key by key.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Literal, Optional

from pydantic import Field, model_validator
from pydantic.alias_generators import to_camel

from .base import Model, field_error, snake, unique
from .types import CpuQuantity, EnvName, ImageDigest, ImageTag, MemoryQuantity

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
                raise field_error(
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
                raise field_error(
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
                raise field_error(
                    f"corsOrigins.{index}", origin,
                    "must be an https origin without a trailing slash, e.g. https://www.acme.com",
                )
        unique("corsOrigins", self.cors_origins)
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
            raise field_error(
                "minReplicas", self.min_replicas, f"must not exceed maxReplicas {self.max_replicas}"
            )
        if self.activation_lag_threshold is not None:
            if self.lag_threshold is None:
                raise field_error(
                    "activationLagThreshold", self.activation_lag_threshold,
                    "needs lagThreshold to be set",
                )
            if self.activation_lag_threshold >= self.lag_threshold:
                raise field_error(
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
            scaling: ServiceAutoscaling = getattr(self, snake(key))
            if scaling.enabled and scaling.lag_threshold is not None:
                raise field_error(
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
                raise field_error(
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
            raise field_error(
                "digest", data["digest"],
                "a digest names exactly one image; pin each image under digests.<service> "
                "(ingestionGateway, ..., managementUi) and digests.migrations",
            )
        return data

    def digest(self, key: str) -> Optional[str]:
        """The digest pinning image `key` (a service key or `migrations`), if any."""
        result: Optional[str] = getattr(self.digests, snake(key))
        return result

    @property
    def pinned(self) -> bool:
        return any(getattr(self.digests, name) for name in ImageDigests.model_fields)


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
            raise field_error(
                "ttlSecondsAfterFinished", data["ttlSecondsAfterFinished"],
                "is no longer supported: a Job the TTL controller deletes is recreated (and the "
                "migrations re-run) by the next refresh and up; the finished Job is kept until "
                "the next release replaces it",
            )
        return data


_HTTPS_ORIGIN = re.compile(
    r"^https://([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(:[0-9]{1,5})?$"
)
