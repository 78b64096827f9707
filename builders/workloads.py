"""Deployments, Services, ServiceAccounts, PodDisruptionBudgets and the migrations Job
of one customer, as plain Kubernetes objects (no resource registration)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Optional

from pulumi import Input

from stackconfig import TenantConfig
from stackconfig.workloads import GatewayServiceConfig

from .database_users import APP_USER_SQL
from .external_secrets import vendor_keys
from .labels import common_labels
from .namespace import namespace_name
from .services import (
    APP_SECRET_NAME,
    CATALOGUE,
    MIGRATIONS_NAME,
    MIGRATIONS_SERVICE_KEY,
    ServiceSpec,
    app_secret_name,
    consumed_topic,
    consumer_group,
    exposed,
    image,
    is_autoscaled,
    max_replicas,
    migrations_image,
    service_config,
)
from .services import (
    spec as service_spec,
)

RUN_AS = 10001
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
# Regional STS: the global endpoint is a cross-region dependency and is not reachable
# from every region (KEDA's AWS docs recommend it for `identityOwner: workload` too).
STS_REGIONAL_ANNOTATION = "eks.amazonaws.com/sts-regional-endpoints"
TMP_SIZE_LIMIT = "256Mi"
ALB_HEALTHCHECK_ANNOTATION = "alb.ingress.kubernetes.io/healthcheck-path"

# Env vars the program sets on Kafka clients; user env may not override them because
# KEDA's lag trigger and the IAM policy's topic prefix depend on the same values.
KAFKA_TOPIC_PREFIX_ENV = "KAFKA_TOPIC_PREFIX"
KAFKA_CONSUMER_GROUP_ENV = "KAFKA_CONSUMER_GROUP"
KAFKA_TOPIC_ENV = "KAFKA_TOPIC"

# The migrations Job's name carries the release, so Pulumi replaces it (runs it again)
# on every release and leaves it alone in between. The default command assumes the
# management-api image takes `migrate up` and exits 0 when the schema is current, so a
# re-run is harmless; `migrations.command`/`args` override it.
JOB_NAME_MAX = 63
# pulumi-kubernetes awaits a Job until it is Complete (or Failed), for 10 minutes unless
# told otherwise (provider/pkg/await/job.go `DefaultJobTimeoutMins = 10`); the
# `pulumi.com/timeoutSeconds` annotation overrides that when no customTimeouts are set
# (provider/pkg/metadata/overrides.go `TimeoutDuration`), pulumi/pulumi-kubernetes@v4.34.2.
# A Job with activeDeadlineSeconds of 900-1800 s would otherwise fail `pulumi up` while
# the migrations still run. No `ttlSecondsAfterFinished`: the TTL controller would delete
# the finished Job, a `pulumi refresh` would then drop it from state and the next `up`
# would run the migrations again; the per-release name replaces it on the next release.
PULUMI_TIMEOUT_ANNOTATION = "pulumi.com/timeoutSeconds"
CREDENTIALS_VERSION_ANNOTATION = "datafly.io/database-credentials-version"
APP_USER_INIT_NAME = "db-app-user"
APP_USER_SQL_CONFIG_MAP = "db-app-user-sql"
APP_USER_SQL_FILE = "app-user.sql"
# A pod behind a load balancer keeps serving for a while after it is told to stop: the
# ALB (or ingress-nginx) learns of the removed endpoint only after the Endpoints update
# propagates and deregistration starts, and requests sent meanwhile would hit a closed
# port. The Kubernetes `sleep` preStop action needs no shell or `sleep` binary in the
# image (PodLifecycleSleepAction: beta and on by default since 1.30, GA in 1.34; every
# Kubernetes version the config accepts, 1.32+, serves it). The grace period must cover
# the sleep plus the application's own shutdown, or the kubelet kills it mid-request.
PRESTOP_SLEEP_SECONDS = 15
TERMINATION_GRACE_SECONDS = PRESTOP_SLEEP_SECONDS + 30
MIGRATIONS_WAIT_MARGIN_SECONDS = 120


def selector_labels(customer: str, name: str) -> dict[str, str]:
    # Selectors are immutable on Deployments: only labels that never change.
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": customer}


def _labels(config: TenantConfig, svc: ServiceSpec) -> dict[str, str]:
    return common_labels(config.name, component=svc.component, name=svc.name)


def _metadata(config: TenantConfig, name: str, labels: dict[str, str],
              annotations: Optional[Mapping[str, Input[str]]] = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace_name(config.name), "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    return meta


def pod_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "fsGroup": RUN_AS,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": RUN_AS,
        "runAsGroup": RUN_AS,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _secret_env(config: TenantConfig, name: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": app_secret_name(config), "key": name}}}


def _env(config: TenantConfig, svc: ServiceSpec, kafka_topic_prefix: str) -> list[dict[str, Any]]:
    cfg = service_config(config, svc.key)
    program: dict[str, str] = {}
    if isinstance(cfg, GatewayServiceConfig):
        program["CORS_ORIGINS"] = ",".join(cfg.cors_origins)
        if cfg.cookie_domain is not None:
            program["COOKIE_DOMAIN"] = cfg.cookie_domain
    if svc.kafka_client:
        program[KAFKA_TOPIC_PREFIX_ENV] = kafka_topic_prefix
    group = consumer_group(kafka_topic_prefix, svc.key)
    topic = consumed_topic(kafka_topic_prefix, svc.key)
    if group is not None and topic is not None:
        program[KAFKA_CONSUMER_GROUP_ENV] = group
        program[KAFKA_TOPIC_ENV] = topic
    for name in cfg.env:
        if name in program:
            raise ValueError(
                f"services.{svc.key}.env.{name}: is set by the program ({program[name]!r}); remove it"
            )
    env = [{"name": k, "value": v} for k, v in sorted(cfg.env.items())]
    env += [{"name": k, "value": v} for k, v in program.items()]
    env += [_secret_env(config, name) for name in svc.secret_env]
    if svc.vendor_egress:
        env += [_secret_env(config, key) for key in vendor_keys(config)]
    return env


def _probe(path: str, port_name: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port_name, "scheme": "HTTP"},
        "periodSeconds": period,
        "timeoutSeconds": 2,
        "failureThreshold": failures,
    }


def _container(config: TenantConfig, svc: ServiceSpec, kafka_topic_prefix: str) -> dict[str, Any]:
    cfg = service_config(config, svc.key)
    res = cfg.resources
    return {
        "name": svc.name,
        "image": image(config, svc.key),
        "imagePullPolicy": config.image.pull_policy,
        "ports": [{"name": svc.port_name, "containerPort": svc.container_port, "protocol": "TCP"}],
        "env": _env(config, svc, kafka_topic_prefix),
        "resources": {
            "requests": {"cpu": res.requests.cpu, "memory": res.requests.memory},
            "limits": {"cpu": res.limits.cpu, "memory": res.limits.memory},
        },
        # A startup probe keeps liveness from killing a slow first start (migrations
        # run in their own Job, but cold JIT/connection pools still take seconds).
        "startupProbe": _probe(cfg.probes.readiness_path, svc.port_name, 5, 24),
        "readinessProbe": _probe(cfg.probes.readiness_path, svc.port_name, 10, 3),
        "livenessProbe": _probe(cfg.probes.liveness_path, svc.port_name, 20, 3),
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        **({"lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}}} if svc.port is not None else {}),
    }


def _topology_spread(selector: dict[str, str]) -> list[dict[str, Any]]:
    # ScheduleAnyway for both: the reference node group is 2–5 t3.medium nodes, and at
    # peak (dozens of pods) one node is routinely out of room; DoNotSchedule on hostname
    # would then leave pods Pending even though other nodes have capacity, and zones
    # may be fewer than replicas. Spreading stays a strong scoring preference, and the
    # PDB bounds what a drain may take at once. `pod-template-hash` restricts the skew
    # count to the current ReplicaSet so a rollout spreads the new pods too.
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(selector)},
            "matchLabelKeys": ["pod-template-hash"],
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def service_account(config: TenantConfig, svc: ServiceSpec, aws_role_arns: Mapping[str, Input[str]]) -> dict[str, Any]:
    """Each AWS-using service has its own role (trusting only its own account)."""
    annotations = (
        {IRSA_ANNOTATION: aws_role_arns[svc.key], STS_REGIONAL_ANNOTATION: "true"} if svc.needs_aws else None
    )
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _metadata(config, svc.name, _labels(config, svc), annotations),
        "automountServiceAccountToken": svc.needs_aws,
    }


def _template_annotations(config: TenantConfig, svc: ServiceSpec) -> dict[str, Any]:
    """A credentials rotation changes the pod template of every database client, so the
    same `pulumi up` that set the new password (the Job, which they depend on) rolls
    them onto it: environment variables are read only when a container starts."""
    if "DATABASE_URL" not in svc.secret_env or not manages_app_user(config):
        return {}
    return {"annotations": {CREDENTIALS_VERSION_ANNOTATION: str(config.postgres.app_credentials_version)}}


def deployment(config: TenantConfig, svc: ServiceSpec, kafka_topic_prefix: str) -> dict[str, Any]:
    labels = _labels(config, svc)
    selector = selector_labels(config.name, svc.name)
    spec: dict[str, Any] = {}
    # An autoscaler owns the replica count; a value here would reset it on every update.
    if not is_autoscaled(config, svc.key):
        spec["replicas"] = service_config(config, svc.key).replicas
    spec.update({
        "revisionHistoryLimit": 5,
        "selector": {"matchLabels": selector},
        # Never below the desired count during a rollout: add one, then remove one.
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}},
        "template": {
            "metadata": {"labels": labels, **_template_annotations(config, svc)},
            "spec": {
                "serviceAccountName": svc.name,
                **({"terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS} if svc.port is not None else {}),
                "automountServiceAccountToken": svc.needs_aws,
                "enableServiceLinks": False,
                "securityContext": pod_security_context(),
                "topologySpreadConstraints": _topology_spread(selector),
                "containers": [_container(config, svc, kafka_topic_prefix)],
                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}}],
            },
        },
    })
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _metadata(config, svc.name, labels),
        "spec": spec,
    }


def service(config: TenantConfig, svc: ServiceSpec) -> dict[str, Any]:
    if svc.port is None or svc.service_name is None:
        raise ValueError(f"{svc.name} has no port and so no Service")
    annotations = None
    if config.ingress.class_name == "alb":
        # Per-Service health check: Service annotations take precedence over the
        # Ingress's, and each backend has its own readiness path.
        annotations = {ALB_HEALTHCHECK_ANNOTATION: service_config(config, svc.key).probes.readiness_path}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(config, svc.service_name, _labels(config, svc), annotations),
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(config.name, svc.name),
            "ports": [{"name": "http", "port": svc.port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def pod_disruption_budget(config: TenantConfig, svc: ServiceSpec) -> Optional[dict[str, Any]]:
    """maxUnavailable 1 for a service that can run more than one replica; None else (a
    budget on a single replica either blocks every drain or protects nothing)."""
    if max_replicas(config, svc.key) <= 1:
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _metadata(config, svc.name, _labels(config, svc)),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector_labels(config.name, svc.name)},
            # A crash-looping pod must not block node drains.
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def service_accounts(config: TenantConfig, aws_role_arns: Mapping[str, Input[str]]) -> list[dict[str, Any]]:
    return [service_account(config, svc, aws_role_arns) for svc in CATALOGUE]


def deployments(config: TenantConfig, kafka_topic_prefix: str) -> list[dict[str, Any]]:
    return [deployment(config, svc, kafka_topic_prefix) for svc in CATALOGUE]


def services(config: TenantConfig) -> list[dict[str, Any]]:
    return [service(config, svc) for svc in exposed()]


def pod_disruption_budgets(config: TenantConfig) -> list[dict[str, Any]]:
    return [pdb for svc in CATALOGUE if (pdb := pod_disruption_budget(config, svc)) is not None]


def workloads(
    config: TenantConfig, *, aws_role_arns: Mapping[str, Input[str]], kafka_topic_prefix: str
) -> list[dict[str, Any]]:
    """ServiceAccounts, Deployments, Services and PDBs, in that order."""
    return [
        *service_accounts(config, aws_role_arns),
        *deployments(config, kafka_topic_prefix),
        *services(config),
        *pod_disruption_budgets(config),
    ]


def release_hash(config: TenantConfig) -> str:
    digests = ",".join(
        f"{key}={config.image.digest(key) or ''}" for key in (*(svc.key for svc in CATALOGUE), "migrations")
    )
    text = config.image.tag + "@" + digests
    return hashlib.sha256(text.encode()).hexdigest()[:10]


def migrations_job_name(config: TenantConfig) -> str:
    """`db-migrate-v1-2-0`: readable for operators, unique per release. A digest-pinned
    release adds a short hash, since the same tag may be re-pushed."""
    slug = re.sub(r"[^a-z0-9-]+", "-", config.image.tag.lower()).strip("-") or "release"
    suffix = f"-{release_hash(config)[:8]}" if config.image.pinned else ""
    # A credentials rotation must run the Job again (it sets the new password).
    version = config.postgres.app_credentials_version
    suffix += f"-c{version}" if version > 1 else ""
    room = JOB_NAME_MAX - len(MIGRATIONS_NAME) - 1 - len(suffix)
    return f"{MIGRATIONS_NAME}-{slug[:room].rstrip('-')}{suffix}"


def migrations_wait_seconds(config: TenantConfig) -> int:
    """How long `pulumi up` waits for the Job: its whole deadline plus the time before
    the deadline clock starts counting (scheduling, image pull)."""
    return config.migrations.active_deadline_seconds + MIGRATIONS_WAIT_MARGIN_SECONDS


def migrations_labels(config: TenantConfig) -> dict[str, str]:
    return common_labels(config.name, component="migrations", name=MIGRATIONS_NAME)


def manages_app_user(config: TenantConfig) -> bool:
    """The program creates the services' database login, unless the services read a
    Kubernetes Secret the customer manages (its DATABASE_URL is the customer's)."""
    return app_secret_name(config) == APP_SECRET_NAME


def migrations_secret_name(config: TenantConfig) -> str:
    """The Job's own Secret (see builders/external_secrets.py), named like the Job."""
    return migrations_job_name(config)


def app_user_sql_config_map(config: TenantConfig) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": _metadata(config, APP_USER_SQL_CONFIG_MAP, migrations_labels(config)),
        "data": {APP_USER_SQL_FILE: APP_USER_SQL},
    }


def _app_user_init_container(config: TenantConfig, database_host: Input[str], database_port: Input[str],
                             resources: dict[str, Any]) -> dict[str, Any]:
    secret = migrations_secret_name(config)
    keys = ("PGUSER", "PGPASSWORD", "APP_DATABASE_USER", "APP_DATABASE_PASSWORD_VERIFIER")
    return {
        "name": APP_USER_INIT_NAME,
        "image": config.migrations.database_client_image,
        "imagePullPolicy": config.image.pull_policy,
        "command": ["psql", "--no-psqlrc", "--file", f"/sql/{APP_USER_SQL_FILE}"],
        "env": [
            {"name": "PGHOST", "value": database_host},
            {"name": "PGPORT", "value": database_port},
            {"name": "PGDATABASE", "value": config.postgres.database_name},
            # The parameter group forces TLS (rds.force_ssl).
            {"name": "PGSSLMODE", "value": "require"},
            # Nowhere writable but /tmp (read-only root filesystem).
            {"name": "HOME", "value": "/tmp"},
            *({"name": k, "valueFrom": {"secretKeyRef": {"name": secret, "key": k}}} for k in keys),
        ],
        "resources": resources,
        "securityContext": container_security_context(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"},
                         {"name": "sql", "mountPath": "/sql", "readOnly": True}],
    }


def migrations_job(
    config: TenantConfig, *, database_host: Input[str] = "", database_port: Input[str] = "5432"
) -> dict[str, Any]:
    """The schema migration for this release, run before the services roll out. With
    the program's own secrets, an init container first (re)creates the services'
    least-privilege login as the master user (builders/database_users.py), and the
    migrations run as the master user; the services never do."""
    api_cfg = service_config(config, MIGRATIONS_SERVICE_KEY)
    res = api_cfg.resources
    labels = migrations_labels(config)
    resources = {
        "requests": {"cpu": res.requests.cpu, "memory": res.requests.memory},
        "limits": {"cpu": res.limits.cpu, "memory": res.limits.memory},
    }
    own = manages_app_user(config)
    database_url = (
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": migrations_secret_name(config),
                                                                "key": "DATABASE_URL"}}}
        if own else _secret_env(config, "DATABASE_URL")
    )
    init = [_app_user_init_container(config, database_host, database_port, resources)] if own else []
    volumes: list[dict[str, Any]] = [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}}]
    if own:
        volumes.append({"name": "sql", "configMap": {"name": APP_USER_SQL_CONFIG_MAP}})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(config, migrations_job_name(config), labels,
                              {PULUMI_TIMEOUT_ANNOTATION: str(migrations_wait_seconds(config))}),
        "spec": {
            "backoffLimit": config.migrations.backoff_limit,
            "activeDeadlineSeconds": config.migrations.active_deadline_seconds,
            "template": {
                # Karpenter never consolidates, drifts or expires a node while this pod
                # runs there: a migration killed halfway leaves the schema between two
                # releases (karpenter.sh/do-not-disrupt, Karpenter v1.14 disruption docs).
                "metadata": {"labels": labels, "annotations": {"karpenter.sh/do-not-disrupt": "true"}},
                "spec": {
                    "restartPolicy": "Never",
                    # The API's account: same image, no token, no AWS access needed.
                    "serviceAccountName": service_spec(MIGRATIONS_SERVICE_KEY).name,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": pod_security_context(),
                    **({"initContainers": init} if init else {}),
                    "containers": [{
                        "name": MIGRATIONS_NAME,
                        "image": migrations_image(config),
                        "imagePullPolicy": config.image.pull_policy,
                        "command": list(config.migrations.command),
                        "args": list(config.migrations.args),
                        "env": [database_url],
                        "resources": resources,
                        "securityContext": container_security_context(),
                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": volumes,
                },
            },
        },
    }
