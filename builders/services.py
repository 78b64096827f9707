"""The service catalogue: the six Datafly Signal services and what each one needs.

Everything the manifest builders (workloads, isolation, ingress, autoscaling) need to
know about a service that is *not* a per-customer setting lives here, keyed by the
service keys of ``stackconfig.workloads.SERVICE_DEFAULTS``.

Communication matrix (what the NetworkPolicies in ``builders.isolation`` allow)
------------------------------------------------------------------------------

Only three services listen on an application port (the platform documentation lists
ports only for them); the others are Kafka/Redis/PostgreSQL clients with a local health
port (8081) for kubelet probes only, so nothing in the cluster may call them.

==================  =========================================  =========================
service             accepts traffic from                       talks to
==================  =========================================  =========================
ingestion-gateway   ingress controller → 8080                  Kafka (produce), Redis,
                                                               PostgreSQL, AWS (443)
event-processor     nobody                                     Kafka (consume/produce),
                                                               Redis, PostgreSQL, AWS
delivery-workers    nobody                                     Kafka (consume), Redis,
                                                               PostgreSQL, AWS + vendor
                                                               APIs (443)
identity-hub        nobody                                     Redis, PostgreSQL
management-api      ingress controller → 8084,                 Redis, PostgreSQL
                    management-ui → 8084
management-ui       ingress controller → 3000                  management-api 8084
db-migrate (Job)    nobody                                     PostgreSQL
==================  =========================================  =========================

Every pod may also resolve names (kube-dns, 53/UDP+TCP). Browsers call the management
API on its public host, so the only in-cluster service-to-service hop is the UI's
server side calling the API. Events flow gateway → Kafka → processor → Kafka →
workers; nothing calls a worker directly, which is what lets KEDA scale them freely.

AWS access: MSK uses IAM authentication, so every Kafka client signs its SASL handshake
with AWS credentials from IRSA and therefore needs a projected service account token
and the `eks.amazonaws.com/role-arn` annotation. The other services get no token
(`automountServiceAccountToken: false`): they never call the Kubernetes or AWS APIs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Optional

from stackconfig import TenantConfig
from stackconfig.workloads import SERVICE_DEFAULTS, ServiceAutoscaling, ServiceConfig

# The Kubernetes Secret that External Secrets keeps in sync (builders.external_secrets).
APP_SECRET_NAME = "datafly-secrets"


def app_secret_name(config: TenantConfig) -> str:
    """The Kubernetes Secret the services read: the one External Secrets writes, or the
    customer's own (`secrets.existing.kubernetesSecret`)."""
    existing = config.secrets.existing
    if existing is not None and existing.kubernetes_secret is not None:
        return existing.kubernetes_secret
    return APP_SECRET_NAME

# Non-HTTP workers expose probes on this port (`/healthz/ready`, `/healthz/live` by
# default, from the service's `probes` config). Probes on every container are a policy
# requirement; an exec probe would need a shell and tooling in the image.
HEALTH_PORT = 8081

SecretEnv = Literal["DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS", "JWT_SECRET", "ENCRYPTION_KEY"]
SECRET_ENV_NAMES: tuple[SecretEnv, ...] = (
    "DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS", "JWT_SECRET", "ENCRYPTION_KEY",
)

_BACKEND_SECRETS: tuple[SecretEnv, ...] = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")


@dataclass(frozen=True)
class ServiceSpec:
    key: str  # camelCase config key, e.g. "ingestionGateway"
    name: str  # Kubernetes name of the Deployment, ServiceAccount, container
    component: str  # app.kubernetes.io/component
    port: Optional[int]  # application port, None for workers without one
    secret_env: tuple[SecretEnv, ...]  # env vars taken from APP_SECRET_NAME
    kafka_producer: bool
    kafka_consumer_group: Optional[str]  # suffix after the customer's topic prefix
    kafka_topic: Optional[str]  # topic it consumes, suffix after the topic prefix
    calls: tuple[str, ...] = ()  # keys of services it calls in the cluster
    vendor_egress: bool = False  # calls third-party HTTPS APIs

    @property
    def service_name(self) -> Optional[str]:
        return f"{self.name}-svc" if self.port is not None else None

    @property
    def container_port(self) -> int:
        return self.port if self.port is not None else HEALTH_PORT

    @property
    def port_name(self) -> str:
        return "http" if self.port is not None else "health"

    @property
    def kafka_client(self) -> bool:
        return self.kafka_producer or self.kafka_consumer_group is not None

    @property
    def needs_aws(self) -> bool:
        # MSK IAM authentication is the only AWS API the services use.
        return self.kafka_client

    @property
    def uses_datastores(self) -> bool:
        return "DATABASE_URL" in self.secret_env or "REDIS_URL" in self.secret_env

    @property
    def snake(self) -> str:
        return "".join("_" + c.lower() if c.isupper() else c for c in self.key)


CATALOGUE: tuple[ServiceSpec, ...] = (
    ServiceSpec(
        key="ingestionGateway", name="ingestion-gateway", component="gateway", port=8080,
        secret_env=(*_BACKEND_SECRETS, "KAFKA_BROKERS"),
        kafka_producer=True, kafka_consumer_group=None, kafka_topic=None,
    ),
    ServiceSpec(
        key="eventProcessor", name="event-processor", component="processor", port=None,
        secret_env=(*_BACKEND_SECRETS, "KAFKA_BROKERS"),
        kafka_producer=True, kafka_consumer_group="event-processor", kafka_topic="events.raw",
    ),
    ServiceSpec(
        key="deliveryWorkers", name="delivery-workers", component="delivery", port=None,
        secret_env=(*_BACKEND_SECRETS, "KAFKA_BROKERS"),
        kafka_producer=False, kafka_consumer_group="delivery-workers", kafka_topic="events.processed",
        vendor_egress=True,
    ),
    ServiceSpec(
        key="identityHub", name="identity-hub", component="identity", port=None,
        secret_env=(*_BACKEND_SECRETS, "ENCRYPTION_KEY"),
        kafka_producer=False, kafka_consumer_group=None, kafka_topic=None,
    ),
    ServiceSpec(
        key="managementApi", name="management-api", component="api", port=8084,
        secret_env=_BACKEND_SECRETS,
        kafka_producer=False, kafka_consumer_group=None, kafka_topic=None,
    ),
    ServiceSpec(
        # The UI verifies session tokens server-side and reads everything else through
        # the API, so it gets neither database nor cache credentials.
        key="managementUi", name="management-ui", component="ui", port=3000,
        secret_env=("JWT_SECRET",),
        kafka_producer=False, kafka_consumer_group=None, kafka_topic=None,
        calls=("managementApi",),
    ),
)

BY_KEY: dict[str, ServiceSpec] = {spec.key: spec for spec in CATALOGUE}
assert tuple(BY_KEY) == tuple(SERVICE_DEFAULTS), "catalogue must list every configured service, in order"

# The migrations Job: runs the management-api image (it owns the schema).
MIGRATIONS_NAME = "db-migrate"
MIGRATIONS_SERVICE_KEY = "managementApi"


def spec(key: str) -> ServiceSpec:
    try:
        return BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown service {key!r}; known: {', '.join(BY_KEY)}") from None


def exposed() -> tuple[ServiceSpec, ...]:
    """Services with a Kubernetes Service (and an Ingress backend)."""
    return tuple(s for s in CATALOGUE if s.port is not None)


def aws_service_accounts() -> tuple[str, ...]:
    """Service accounts that assume the customer's workload IAM role (IRSA trust)."""
    return tuple(s.name for s in CATALOGUE if s.needs_aws)


def service_config(config: TenantConfig, key: str) -> ServiceConfig:
    result: ServiceConfig = getattr(config.services, spec(key).snake)
    return result


def autoscaling_config(config: TenantConfig, key: str) -> ServiceAutoscaling:
    result: ServiceAutoscaling = getattr(config.autoscaling, spec(key).snake)
    return result


def is_autoscaled(config: TenantConfig, key: str) -> bool:
    """An autoscaler owns this service's replica count (`metricsProvider: none` turns
    every autoscaler off)."""
    return autoscaling_config(config, key).enabled and config.autoscaling.metrics_provider != "none"


def max_replicas(config: TenantConfig, key: str) -> int:
    """Most replicas the service runs outside a rollout: the autoscaler's ceiling when
    autoscaled, else the fixed replica count."""
    if is_autoscaled(config, key):
        return autoscaling_config(config, key).max_replicas
    return service_config(config, key).replicas


def consumer_group(kafka_topic_prefix: str, key: str) -> Optional[str]:
    group = spec(key).kafka_consumer_group
    return None if group is None else f"{kafka_topic_prefix}{group}"


def consumed_topic(kafka_topic_prefix: str, key: str) -> Optional[str]:
    topic = spec(key).kafka_topic
    return None if topic is None else f"{kafka_topic_prefix}{topic}"


def image(config: TenantConfig, key: str) -> str:
    ref = f"{config.image.registry}/{spec(key).name}:{config.image.tag}"
    digest = config.image.digest(key)
    return f"{ref}@{digest}" if digest else ref


def migrations_image(config: TenantConfig) -> str:
    """`migrations.image` pinned by `image.digests.migrations`, or by default the
    management-api image of the release (and so its digest)."""
    if config.migrations.image is None:
        return image(config, MIGRATIONS_SERVICE_KEY)
    digest = config.image.digest("migrations")
    return f"{config.migrations.image}@{digest}" if digest else config.migrations.image
