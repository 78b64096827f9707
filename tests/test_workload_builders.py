"""The tenant manifest builders: workloads, isolation, ingress, autoscaling, secrets."""

from __future__ import annotations

import copy
import hashlib
import json
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import autoscaling, external_secrets, ingress, isolation, workloads
from builders.services import CATALOGUE, aws_service_accounts
from offline.check.kubernetes import validate_objects
from stackconfig import ConfigError, TenantConfig, load_config
from stackconfig.workloads import SERVICE_DEFAULTS

K8S = "1.35"
ROLES = {key: f"arn:aws:iam::123456789012:role/acme-{key}" for key in ("ingestionGateway", "eventProcessor", "deliveryWorkers")}
KEDA_ROLE = "arn:aws:iam::123456789012:role/datafly-keda-acme"
ESO_ROLE = "arn:aws:iam::123456789012:role/acme-external-secrets"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:datafly/acme-AbCdEf"
RDS_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-0123-XyZ"
DB_APP_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:datafly/acme/database-AbCdEf"
BOOTSTRAP = "b-1.msk.example:9098,b-2.msk.example:9098"
VPC = "10.0.0.0/16"
ALB_SUBNETS = ["10.0.192.0/24", "10.0.193.0/24", "10.0.194.0/24"]
TEMPLATES = external_secrets.connection_templates(
    database_host="datafly-acme.abc.us-east-1.rds.amazonaws.com", database_port=5432, database_name="datafly",
    redis_host="master.datafly-acme.abc.use1.cache.amazonaws.com", redis_port=6379, kafka_brokers=BOOTSTRAP,
)
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
DIGEST = "sha256:" + "ab" * 32
# One digest per image (a digest names one manifest); the Job runs the management-api one.
DIGESTS = {key: "sha256:" + f"{i:02x}" * 32 for i, key in enumerate(
    ("ingestionGateway", "eventProcessor", "deliveryWorkers", "identityHub", "managementApi", "managementUi"))}
IMAGE_DIGEST = {"ingestion-gateway": DIGESTS["ingestionGateway"], "event-processor": DIGESTS["eventProcessor"],
                "delivery-workers": DIGESTS["deliveryWorkers"], "identity-hub": DIGESTS["identityHub"],
                "management-api": DIGESTS["managementApi"], "management-ui": DIGESTS["managementUi"]}
PROMETHEUS = "http://prometheus.monitoring.svc:9090"

# stacks/Pulumi.acme.yaml, as data.
ACME: dict[str, Any] = {
    "name": "acme",
    "environment": "external",
    "domain": "acme.com",
    "platform": {"stack": "datafly/datafly/platform-external"},
    "image": {"registry": "ghcr.io/datafly", "tag": "v1.2.0", "pullPolicy": "IfNotPresent"},
    "services": {
        "ingestionGateway": {
            "replicas": 2,
            "corsOrigins": ["https://www.acme.com", "https://shop.acme.com"],
            "cookieDomain": ".acme.com",
        },
        "eventProcessor": {"replicas": 2},
        "deliveryWorkers": {"replicas": 3},
        "identityHub": {"replicas": 1},
        "managementApi": {"replicas": 1},
        "managementUi": {"replicas": 1},
    },
    "autoscaling": {"deliveryWorkers": {"minReplicas": 3, "maxReplicas": 12}},
    "ingress": {
        "className": "alb",
        "hosts": {"data": "data.acme.com", "app": "app.acme.com", "api": "api.acme.com"},
    },
}

# nginx + prometheus, default hosts, digest-pinned image, explicit certificate-free TLS.
GLOBEX: dict[str, Any] = {
    "name": "globex",
    "environment": "external",
    "domain": "globex.io",
    "platform": {"stack": "datafly/datafly/platform-external"},
    "image": {"tag": "v2.0.1", "digests": DIGESTS, "pullPolicy": "Always"},
    "ingress": {"className": "nginx", "tls": {"secretName": "globex-tls"}},
    "autoscaling": {"metricsProvider": "prometheus", "prometheus": {"serverAddress": PROMETHEUS}},
}


def tenant(data: dict[str, Any]) -> TenantConfig:
    config = load_config(
        {"aws:region": "us-east-1", "datafly:tenant": json.dumps(data)}, ["datafly:tenant"]
    ).tenant
    assert config is not None
    return config


def render_all(config: TenantConfig) -> list[dict[str, Any]]:
    prefix = f"{config.name}."
    return [
        *isolation.isolation(config, vpc_cidr=VPC, load_balancer_cidrs=ALB_SUBNETS),
        *external_secrets.external_secrets(
            config, secret_store_role_arn=ESO_ROLE, region="us-east-1", app_secret_arn=SECRET_ARN,
            redis_secret_arn=SECRET_ARN, database_app_secret_arn=DB_APP_SECRET_ARN, templates=TEMPLATES,
        ),
        workloads.migrations_job(config),
        *workloads.workloads(config, aws_role_arns=ROLES, kafka_topic_prefix=prefix),
        ingress.ingress(config),
        *autoscaling.autoscalers(
            config, kafka_bootstrap=BOOTSTRAP, kafka_topic_prefix=prefix, region="us-east-1", keda_role_arn=KEDA_ROLE
        ),
    ]


def by_kind(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == kind}


@pytest.fixture(scope="module")
def acme() -> TenantConfig:
    return tenant(ACME)


@pytest.fixture(scope="module")
def globex() -> TenantConfig:
    return tenant(GLOBEX)


@pytest.fixture(scope="module")
def acme_objs(acme: TenantConfig) -> list[dict[str, Any]]:
    return render_all(acme)


@pytest.fixture(scope="module")
def globex_objs(globex: TenantConfig) -> list[dict[str, Any]]:
    return render_all(globex)


# ----------------------------------------------------------------- schema validity


@pytest.mark.parametrize("data", [ACME, GLOBEX], ids=["acme-alb-keda", "globex-nginx-prometheus"])
def test_every_object_validates(data: dict[str, Any]) -> None:
    objs = render_all(tenant(data))
    assert validate_objects(objs, K8S) == []


def test_render_is_deterministic(acme: TenantConfig) -> None:
    assert json.dumps(render_all(acme)) == json.dumps(render_all(acme))


def test_every_object_is_in_the_customer_namespace(acme_objs: list[dict[str, Any]]) -> None:
    assert {o["metadata"]["namespace"] for o in acme_objs} == {"customer-acme"}
    assert all(o["metadata"]["labels"]["datafly.io/customer"] == "acme" for o in acme_objs)


def test_acme_object_inventory(acme_objs: list[dict[str, Any]]) -> None:
    kinds = [(o["kind"], o["metadata"]["name"]) for o in acme_objs]
    assert kinds == [
        ("ResourceQuota", "tenant-quota"),
        ("LimitRange", "tenant-limits"),
        ("NetworkPolicy", "default-deny"),
        ("NetworkPolicy", "allow-dns"),
        ("NetworkPolicy", "allow-ingestion-gateway"),
        ("NetworkPolicy", "allow-event-processor"),
        ("NetworkPolicy", "allow-delivery-workers"),
        ("NetworkPolicy", "allow-identity-hub"),
        ("NetworkPolicy", "allow-management-api"),
        ("NetworkPolicy", "allow-management-ui"),
        ("NetworkPolicy", "allow-db-migrate"),
        ("ServiceAccount", "external-secrets"),
        ("SecretStore", "customer-secrets"),
        ("ExternalSecret", "datafly-secrets"),
        ("Job", workloads.migrations_job_name(tenant(ACME))),
        *[("ServiceAccount", s.name) for s in CATALOGUE],
        *[("Deployment", s.name) for s in CATALOGUE],
        ("Service", "ingestion-gateway-svc"),
        ("Service", "management-api-svc"),
        ("Service", "management-ui-svc"),
        ("PodDisruptionBudget", "ingestion-gateway"),
        ("PodDisruptionBudget", "event-processor"),
        ("PodDisruptionBudget", "delivery-workers"),
        ("Ingress", "datafly"),
        ("TriggerAuthentication", "kafka-msk-iam"),
        ("ScaledObject", "ingestion-gateway"),
        ("ScaledObject", "event-processor"),
        ("ScaledObject", "delivery-workers"),
    ]


# -------------------------------------------------------------------- deployments


@pytest.mark.parametrize(
    "name,replicas",
    [
        ("ingestion-gateway", None),  # autoscaled 2–10: KEDA owns replicas
        ("event-processor", None),
        ("delivery-workers", None),
        ("identity-hub", 1),
        ("management-api", 1),
        ("management-ui", 1),
    ],
)
def test_replicas_omitted_exactly_for_autoscaled(
    acme_objs: list[dict[str, Any]], name: str, replicas: int | None
) -> None:
    spec = by_kind(acme_objs, "Deployment")[name]["spec"]
    assert spec.get("replicas") == replicas
    assert ("replicas" in spec) is (replicas is not None)


@pytest.mark.parametrize(
    "name,requests,limits",
    [
        ("ingestion-gateway", {"memory": "256Mi", "cpu": "250m"}, {"memory": "512Mi", "cpu": "500m"}),
        ("event-processor", {"memory": "512Mi", "cpu": "500m"}, {"memory": "1Gi", "cpu": "1000m"}),
        ("delivery-workers", {"memory": "256Mi", "cpu": "250m"}, {"memory": "512Mi", "cpu": "500m"}),
        ("identity-hub", {"memory": "128Mi", "cpu": "100m"}, {"memory": "256Mi", "cpu": "250m"}),
        ("management-api", {"memory": "256Mi", "cpu": "250m"}, {"memory": "512Mi", "cpu": "500m"}),
        ("management-ui", {"memory": "128Mi", "cpu": "100m"}, {"memory": "256Mi", "cpu": "250m"}),
    ],
)
def test_documented_resources_and_image(
    acme_objs: list[dict[str, Any]], name: str, requests: dict[str, str], limits: dict[str, str]
) -> None:
    (container,) = by_kind(acme_objs, "Deployment")[name]["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == {"requests": requests, "limits": limits}
    assert container["image"] == f"ghcr.io/datafly/{name}:v1.2.0"
    assert container["imagePullPolicy"] == "IfNotPresent"


def test_digest_pins_the_image(globex_objs: list[dict[str, Any]]) -> None:
    for name, dep in by_kind(globex_objs, "Deployment").items():
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        assert container["image"] == f"ghcr.io/datafly/{name}:v2.0.1@{IMAGE_DIGEST[name]}"
        assert container["imagePullPolicy"] == "Always"
    # prometheus/HPA also owns replicas: omitted for the autoscaled three.
    assert {n for n, d in by_kind(globex_objs, "Deployment").items() if "replicas" not in d["spec"]} == {
        "ingestion-gateway", "event-processor", "delivery-workers",
    }


SECRET_REF = {"name": "datafly-secrets"}


@pytest.mark.parametrize(
    "name,secret_names",
    [
        ("ingestion-gateway", ["DATABASE_URL", "REDIS_URL", "JWT_SECRET", "KAFKA_BROKERS"]),
        ("event-processor", ["DATABASE_URL", "REDIS_URL", "JWT_SECRET", "KAFKA_BROKERS"]),
        ("delivery-workers", ["DATABASE_URL", "REDIS_URL", "JWT_SECRET", "KAFKA_BROKERS"]),
        ("identity-hub", ["DATABASE_URL", "REDIS_URL", "JWT_SECRET", "ENCRYPTION_KEY"]),
        ("management-api", ["DATABASE_URL", "REDIS_URL", "JWT_SECRET"]),
        ("management-ui", ["JWT_SECRET"]),
    ],
)
def test_secret_env_comes_from_the_synced_secret(
    acme_objs: list[dict[str, Any]], name: str, secret_names: list[str]
) -> None:
    (container,) = by_kind(acme_objs, "Deployment")[name]["spec"]["template"]["spec"]["containers"]
    from_secret = [e for e in container["env"] if "valueFrom" in e]
    assert [e["name"] for e in from_secret] == secret_names
    for entry in from_secret:
        assert "value" not in entry
        assert entry["valueFrom"] == {"secretKeyRef": {**SECRET_REF, "key": entry["name"]}}


@pytest.mark.parametrize("data", [ACME, GLOBEX], ids=["acme", "globex"])
def test_no_secret_has_a_literal_value_anywhere(data: dict[str, Any]) -> None:
    secret_names = {"DATABASE_URL", "REDIS_URL", "KAFKA_BROKERS", "JWT_SECRET", "ENCRYPTION_KEY"}
    for obj in render_all(tenant(data)):
        if obj["kind"] not in ("Deployment", "Job"):
            continue
        for container in obj["spec"]["template"]["spec"]["containers"]:
            for entry in container.get("env", []):
                if entry["name"] in secret_names:
                    assert "value" not in entry, (obj["metadata"]["name"], entry)


def test_gateway_and_kafka_env(acme_objs: list[dict[str, Any]]) -> None:
    deps = by_kind(acme_objs, "Deployment")

    def plain(name: str) -> dict[str, str]:
        (container,) = deps[name]["spec"]["template"]["spec"]["containers"]
        return {e["name"]: e["value"] for e in container["env"] if "value" in e}

    assert plain("ingestion-gateway") == {
        "CORS_ORIGINS": "https://www.acme.com,https://shop.acme.com",
        "COOKIE_DOMAIN": ".acme.com",
        "KAFKA_TOPIC_PREFIX": "acme.",
    }
    assert plain("event-processor") == {
        "KAFKA_TOPIC_PREFIX": "acme.",
        "KAFKA_CONSUMER_GROUP": "acme.event-processor",
        "KAFKA_TOPIC": "acme.events.raw",
    }
    assert plain("management-api") == {}


def test_user_env_cannot_override_program_env() -> None:
    data = copy.deepcopy(ACME)
    data["services"]["eventProcessor"]["env"] = {"KAFKA_CONSUMER_GROUP": "other"}
    # The config refuses it with its key path, before any builder runs.
    with pytest.raises(ConfigError, match=r"datafly:tenant\.services\.eventProcessor\.env\.KAFKA_CONSUMER_GROUP"):
        tenant(data)


def test_user_env_is_rendered_sorted_first() -> None:
    data = copy.deepcopy(ACME)
    data["services"]["managementApi"]["env"] = {"LOG_LEVEL": "debug", "FEATURE_X": "on"}
    dep = workloads.deployment(tenant(data), CATALOGUE[4], "acme.")
    env = dep["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[:2] == [{"name": "FEATURE_X", "value": "on"}, {"name": "LOG_LEVEL", "value": "debug"}]


@pytest.mark.parametrize(
    "name,port_name,port",
    [
        ("ingestion-gateway", "http", 8080),
        ("event-processor", "health", 8081),
        ("delivery-workers", "health", 8081),
        ("identity-hub", "health", 8081),
        ("management-api", "http", 8084),
        ("management-ui", "http", 3000),
    ],
)
def test_ports_and_probes(acme_objs: list[dict[str, Any]], name: str, port_name: str, port: int) -> None:
    (container,) = by_kind(acme_objs, "Deployment")[name]["spec"]["template"]["spec"]["containers"]
    assert container["ports"] == [{"name": port_name, "containerPort": port, "protocol": "TCP"}]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz/ready", "port": port_name, "scheme": "HTTP"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz/live", "port": port_name, "scheme": "HTTP"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz/ready"


def test_pod_hardening(acme_objs: list[dict[str, Any]]) -> None:
    container_security = workloads.container_security_context()
    pods = [o["spec"]["template"]["spec"] for o in acme_objs if o["kind"] in ("Deployment", "Job")]
    assert len(pods) == 7
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["volumes"][0] == {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}
        # The Job also mounts the app-user script for its init container.
        assert pod["volumes"][1:] in ([], [{"name": "sql", "configMap": {"name": "db-app-user-sql"}}])
        for init in pod.get("initContainers", []):
            assert init["securityContext"] == container_security
        (container,) = pod["containers"]
        sc = container["securityContext"]
        assert sc["runAsNonRoot"] is True and sc["runAsUser"] == 10001
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
        assert container["volumeMounts"] == [{"name": "tmp", "mountPath": "/tmp"}]


def test_rollout_and_spread(acme_objs: list[dict[str, Any]]) -> None:
    for name, dep in by_kind(acme_objs, "Deployment").items():
        assert dep["spec"]["strategy"] == {
            "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        }
        selector = {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": "acme"}
        assert dep["spec"]["selector"] == {"matchLabels": selector}
        spread = dep["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert [(c["topologyKey"], c["whenUnsatisfiable"]) for c in spread] == [
            ("topology.kubernetes.io/zone", "ScheduleAnyway"),
            ("kubernetes.io/hostname", "ScheduleAnyway"),
        ]
        assert all(c["labelSelector"] == {"matchLabels": selector} for c in spread)


def test_service_accounts_token_and_irsa_only_for_kafka_clients(acme_objs: list[dict[str, Any]]) -> None:
    accounts = by_kind(acme_objs, "ServiceAccount")
    deps = by_kind(acme_objs, "Deployment")
    aws = set(aws_service_accounts())
    assert aws == {"ingestion-gateway", "event-processor", "delivery-workers"}
    for svc in CATALOGUE:
        account = accounts[svc.name]
        assert account["automountServiceAccountToken"] is (svc.name in aws)
        pod = deps[svc.name]["spec"]["template"]["spec"]
        assert pod["serviceAccountName"] == svc.name
        assert pod["automountServiceAccountToken"] is (svc.name in aws)
        if svc.name in aws:
            assert account["metadata"]["annotations"] == {
                "eks.amazonaws.com/role-arn": ROLES[svc.key],
                "eks.amazonaws.com/sts-regional-endpoints": "true",
            }
        else:
            assert "annotations" not in account["metadata"]


def test_services(acme_objs: list[dict[str, Any]], globex_objs: list[dict[str, Any]]) -> None:
    services = by_kind(acme_objs, "Service")
    assert {n: (s["spec"]["type"], s["spec"]["ports"][0]["port"]) for n, s in services.items()} == {
        "ingestion-gateway-svc": ("ClusterIP", 8080),
        "management-api-svc": ("ClusterIP", 8084),
        "management-ui-svc": ("ClusterIP", 3000),
    }
    assert services["management-ui-svc"]["spec"]["selector"] == {
        "app.kubernetes.io/name": "management-ui", "app.kubernetes.io/instance": "acme",
    }
    assert services["management-api-svc"]["metadata"]["annotations"] == {
        "alb.ingress.kubernetes.io/healthcheck-path": "/healthz/ready",
    }
    assert all("annotations" not in s["metadata"] for s in by_kind(globex_objs, "Service").values())


def test_pdbs_for_multi_replica_services_only(acme_objs: list[dict[str, Any]]) -> None:
    pdbs = by_kind(acme_objs, "PodDisruptionBudget")
    assert set(pdbs) == {"ingestion-gateway", "event-processor", "delivery-workers"}
    assert pdbs["delivery-workers"]["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"app.kubernetes.io/name": "delivery-workers", "app.kubernetes.io/instance": "acme"}},
        "unhealthyPodEvictionPolicy": "AlwaysAllow",
    }


# ---------------------------------------------------------------------- migrations


def test_migrations_job(acme: TenantConfig) -> None:
    job = workloads.migrations_job(acme)
    assert job["metadata"]["name"] == "db-migrate-v1-2-0"
    assert job["spec"]["backoffLimit"] == 2
    assert job["spec"]["activeDeadlineSeconds"] == 900
    # Kept until the next release replaces it; Pulumi waits out the whole deadline.
    assert "ttlSecondsAfterFinished" not in job["spec"]
    assert job["metadata"]["annotations"] == {"pulumi.com/timeoutSeconds": "1020"}
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["image"] == "ghcr.io/datafly/management-api:v1.2.0"
    assert (container["command"], container["args"]) == (["migrate"], ["up"])
    # The migrations run as the master user, from the Job's own per-release Secret.
    assert container["env"] == [
        {"name": "DATABASE_URL", "valueFrom": {"secretKeyRef": {"name": "db-migrate-v1-2-0", "key": "DATABASE_URL"}}}
    ]
    (init,) = pod["initContainers"]
    assert (init["name"], init["command"]) == ("db-app-user", ["psql", "--no-psqlrc", "--file", "/sql/app-user.sql"])
    assert {e["name"]: e.get("valueFrom", {}).get("secretKeyRef", {}).get("name") for e in init["env"]} == {
        "PGHOST": None, "PGPORT": None, "PGDATABASE": None, "PGSSLMODE": None, "HOME": None,
        "PGUSER": "db-migrate-v1-2-0", "PGPASSWORD": "db-migrate-v1-2-0",
        "APP_DATABASE_USER": "db-migrate-v1-2-0", "APP_DATABASE_PASSWORD_VERIFIER": "db-migrate-v1-2-0",
    }


_PINNED = ",".join(f"{k}={v}" for k, v in DIGESTS.items()) + ",migrations="


@pytest.mark.parametrize(("tag", "digests", "name"), [
    ("v1.2.0", None, "db-migrate-v1-2-0"),
    ("2024.10_rc1", None, "db-migrate-2024-10-rc1"),
    ("v1.2.0", DIGESTS, "db-migrate-v1-2-0-" + hashlib.sha256(("v1.2.0@" + _PINNED).encode()).hexdigest()[:8]),
    ("x" * 128, None, "db-migrate-" + "x" * 52),
])
def test_migrations_job_name_follows_the_release(tag: str, digests: dict[str, str] | None, name: str) -> None:
    data = copy.deepcopy(ACME)
    data["image"].update({"tag": tag, **({"digests": digests} if digests else {})})
    assert workloads.migrations_job_name(tenant(data)) == name
    assert len(name) <= 63


def test_migrations_job_takes_image_and_command_from_config() -> None:
    data = copy.deepcopy(ACME)
    data["migrations"] = {"image": "ghcr.io/datafly/migrator:v7", "command": ["/bin/migrate"], "args": [],
                          "backoffLimit": 0, "activeDeadlineSeconds": 120}
    job = workloads.migrations_job(tenant(data))
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert (container["image"], container["command"], container["args"]) == ("ghcr.io/datafly/migrator:v7", ["/bin/migrate"], [])
    assert (job["spec"]["backoffLimit"], job["spec"]["activeDeadlineSeconds"]) == (0, 120)


@pytest.mark.parametrize(
    "change",
    [{"tag": "v1.2.1"}, {"digests": {"managementUi": DIGEST}}],
    ids=["new-tag", "digest-pinned"],
)
def test_new_release_gets_a_new_job_name(acme: TenantConfig, change: dict[str, str]) -> None:
    data = copy.deepcopy(ACME)
    data["image"].update(change)
    assert workloads.migrations_job_name(tenant(data)) != workloads.migrations_job_name(acme)
    assert workloads.migrations_job_name(tenant(copy.deepcopy(ACME))) == workloads.migrations_job_name(acme)


# ------------------------------------------------------------------- quota & limits


def test_acme_quota_equals_hand_computed_sums(acme: TenantConfig) -> None:
    # Pods at their largest = max replicas (+1 rollout surge each) + 1 migration pod:
    #   gateway 10+1=11, processor 8+1=9, workers 12+1=13, hub 1+1=2, api 1+1=2,
    #   ui 1+1=2, db-migrate 1                                         -> 40 pods
    # requests.cpu   = 11*250 + 9*500 + 13*250 + 2*100 + 2*250 + 2*100 + 250
    #                = 2750 + 4500 + 3250 + 200 + 500 + 200 + 250      = 11650m
    # requests.mem   = 11*256 + 9*512 + 13*256 + 2*128 + 2*256 + 2*128 + 256
    #                = 2816 + 4608 + 3328 + 256 + 512 + 256 + 256      = 12032Mi
    # limits.cpu     = 11*500 + 9*1000 + 13*500 + 2*250 + 2*500 + 2*250 + 500
    #                = 5500 + 9000 + 6500 + 500 + 1000 + 500 + 500     = 23500m
    # limits.mem     = 11*512 + 9*1024 + 13*512 + 2*256 + 2*512 + 2*256 + 512
    #                = 5632 + 9216 + 6656 + 512 + 1024 + 512 + 512     = 24064Mi
    assert 11 * 250 + 9 * 500 + 13 * 250 + 2 * 100 + 2 * 250 + 2 * 100 + 250 == 11650
    assert 11 * 256 + 9 * 512 + 13 * 256 + 2 * 128 + 2 * 256 + 2 * 128 + 256 == 12032
    assert 11 * 500 + 9 * 1000 + 13 * 500 + 2 * 250 + 2 * 500 + 2 * 250 + 500 == 23500
    assert 11 * 512 + 9 * 1024 + 13 * 512 + 2 * 256 + 2 * 512 + 2 * 256 + 512 == 24064
    assert isolation.resource_quota(acme)["spec"]["hard"] == {
        "pods": "40",
        "requests.cpu": "11650m",
        "requests.memory": "12032Mi",
        "limits.cpu": "23500m",
        "limits.memory": "24064Mi",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }


def test_acme_limit_range(acme: TenantConfig) -> None:
    (limits,) = isolation.limit_range(acme)["spec"]["limits"]
    assert limits == {
        "type": "Container",
        "max": {"cpu": "1", "memory": "1Gi"},  # event-processor's limits, the largest
        "default": {"cpu": "250m", "memory": "256Mi"},  # hub/ui limits, the smallest
        "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
    }


@pytest.mark.parametrize(
    "text,value",
    [
        ("250m", Fraction(1, 4)), ("1", Fraction(1)), ("1.5", Fraction(3, 2)),
        ("1Gi", Fraction(2**30)), ("512Mi", Fraction(2**29)), ("1G", Fraction(10**9)),
        ("64k", Fraction(64000)),
    ],
)
def test_parse_quantity(text: str, value: Fraction) -> None:
    assert isolation.parse_quantity(text) == value


@pytest.mark.parametrize("bad", ["", "1x", "-1", "Mi", "1.2.3"])
def test_parse_quantity_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        isolation.parse_quantity(bad)


@pytest.mark.parametrize(
    "cpu,text", [(Fraction(13, 2), "6500m"), (Fraction(7), "7"), (Fraction(1, 10), "100m")]
)
def test_format_cpu(cpu: Fraction, text: str) -> None:
    assert isolation.format_cpu(cpu) == text


@pytest.mark.parametrize(
    "size,text",
    [(13 * 2**30, "13Gi"), (13312 * 2**20 + 2**20, "13313Mi"), (10**9, "1G"), (1500, "1500"), (0, "0")],
)
def test_format_memory(size: int, text: str) -> None:
    assert isolation.format_memory(Fraction(size)) == text


# -------------------------------------------------------------- network policies


def test_default_deny_and_dns(acme_objs: list[dict[str, Any]]) -> None:
    policies = by_kind(acme_objs, "NetworkPolicy")
    assert policies["default-deny"]["spec"] == {
        "podSelector": {}, "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": [],
    }
    assert policies["allow-dns"]["spec"]["egress"] == [{
        "to": [{
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }]


@pytest.mark.parametrize(
    "data,subnets,peers",
    [
        # The ALB's own subnets only: other customers' pods share the VPC's range.
        (ACME, ALB_SUBNETS, [{"ipBlock": {"cidr": c}} for c in ALB_SUBNETS]),
        # An adopted VPC that names no subnets of the ALB's kind: the VPC is all that is known.
        (ACME, [], [{"ipBlock": {"cidr": VPC}}]),
        (GLOBEX, ALB_SUBNETS, [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}]),
    ],
    ids=["alb-subnets", "alb-no-known-subnets", "nginx-namespace"],
)
def test_ingress_controller_reaches_exposed_ports_only(data: dict[str, Any], subnets: list[str],
                                                       peers: list[dict[str, Any]]) -> None:
    policies = by_kind(isolation.network_policies(tenant(data), vpc_cidr=VPC, load_balancer_cidrs=subnets),
                       "NetworkPolicy")
    for name, port in (("ingestion-gateway", 8080), ("management-api", 8084), ("management-ui", 3000)):
        first = policies[f"allow-{name}"]["spec"]["ingress"][0]
        assert first == {"from": peers, "ports": [{"protocol": "TCP", "port": port}]}
    for name in ("event-processor", "delivery-workers", "identity-hub", "db-migrate"):
        assert policies[f"allow-{name}"]["spec"]["ingress"] == []


def test_ui_to_api_and_egress_matrix(acme_objs: list[dict[str, Any]]) -> None:
    policies = by_kind(acme_objs, "NetworkPolicy")
    ui_pods = {"matchLabels": {"app.kubernetes.io/name": "management-ui", "app.kubernetes.io/instance": "acme"}}
    api_pods = {"matchLabels": {"app.kubernetes.io/name": "management-api", "app.kubernetes.io/instance": "acme"}}
    assert policies["allow-management-api"]["spec"]["ingress"][1] == {
        "from": [{"podSelector": ui_pods}], "ports": [{"protocol": "TCP", "port": 8084}],
    }
    assert policies["allow-management-ui"]["spec"]["egress"] == [
        {"to": [{"podSelector": api_pods}], "ports": [{"protocol": "TCP", "port": 8084}]},
    ]

    def egress_ports(name: str) -> list[tuple[str, list[int]]]:
        return [
            (
                json.dumps(rule["to"][0], sort_keys=True),
                [p["port"] for p in rule["ports"]],
            )
            for rule in policies[f"allow-{name}"]["spec"]["egress"]
        ]

    vpc = json.dumps({"ipBlock": {"cidr": VPC}})
    internet = json.dumps({"ipBlock": {"cidr": "0.0.0.0/0"}})
    assert egress_ports("delivery-workers") == [(vpc, [5432, 6379, 9098]), (internet, [443])]
    assert egress_ports("ingestion-gateway") == [(vpc, [5432, 6379, 9098]), (internet, [443])]
    assert egress_ports("identity-hub") == [(vpc, [5432, 6379])]
    assert egress_ports("management-api") == [(vpc, [5432, 6379])]
    assert egress_ports("db-migrate") == [(vpc, [5432])]


# ------------------------------------------------------------------------ ingress


def test_alb_ingress(acme_objs: list[dict[str, Any]]) -> None:
    ing = by_kind(acme_objs, "Ingress")["datafly"]
    assert ing["spec"]["ingressClassName"] == "alb"
    assert ing["metadata"]["annotations"] == {
        "alb.ingress.kubernetes.io/group.name": "customer-acme",
        "alb.ingress.kubernetes.io/healthcheck-path": "/healthz/ready",
        "alb.ingress.kubernetes.io/listen-ports": '[{"HTTP":80},{"HTTPS":443}]',
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/ssl-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "alb.ingress.kubernetes.io/ssl-redirect": "443",
        "alb.ingress.kubernetes.io/target-type": "ip",
    }
    assert ing["spec"]["tls"] == [{"hosts": ["data.acme.com", "app.acme.com", "api.acme.com"]}]

    def backend(name: str, port: int) -> dict[str, Any]:
        return {"service": {"name": name, "port": {"number": port}}}

    assert ing["spec"]["rules"] == [
        {"host": "data.acme.com", "http": {"paths": [
            {"path": "/v1", "pathType": "Prefix", "backend": backend("ingestion-gateway-svc", 8080)},
            {"path": "/d.js", "pathType": "Exact", "backend": backend("ingestion-gateway-svc", 8080)},
        ]}},
        {"host": "app.acme.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": backend("management-ui-svc", 3000)},
        ]}},
        {"host": "api.acme.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": backend("management-api-svc", 8084)},
        ]}},
    ]


def test_alb_certificates_and_internal_scheme() -> None:
    data = copy.deepcopy(ACME)
    other = CERT.replace("5555", "6666")
    data["ingress"]["scheme"] = "internal"
    data["ingress"]["tls"] = {"certificateArns": [CERT, other]}
    annotations = ingress.ingress(tenant(data))["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == f"{CERT},{other}"
    assert annotations["alb.ingress.kubernetes.io/scheme"] == "internal"


def test_nginx_ingress(globex_objs: list[dict[str, Any]]) -> None:
    ing = by_kind(globex_objs, "Ingress")["datafly"]
    assert ing["spec"]["ingressClassName"] == "nginx"
    assert "annotations" not in ing["metadata"]
    assert ing["spec"]["tls"] == [
        {"hosts": ["data.globex.io", "app.globex.io", "api.globex.io"], "secretName": "globex-tls"}
    ]
    assert [r["host"] for r in ing["spec"]["rules"]] == ["data.globex.io", "app.globex.io", "api.globex.io"]


# -------------------------------------------------------------------- autoscaling


def test_scaled_objects(acme_objs: list[dict[str, Any]]) -> None:
    scaled = by_kind(acme_objs, "ScaledObject")
    assert {n: (s["spec"]["minReplicaCount"], s["spec"]["maxReplicaCount"]) for n, s in scaled.items()} == {
        "ingestion-gateway": (2, 10), "event-processor": (2, 8), "delivery-workers": (3, 12),
    }
    workers = scaled["delivery-workers"]["spec"]
    assert workers["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "delivery-workers"}
    assert (workers["pollingInterval"], workers["cooldownPeriod"]) == (15, 60)
    cpu, lag = workers["triggers"]
    assert cpu == {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}}
    assert (lag["metadata"]["consumerGroup"], lag["metadata"]["topic"]) == ("acme.delivery-workers", "acme.events.processed")
    assert (lag["metadata"]["lagThreshold"], lag["metadata"]["activationLagThreshold"]) == ("10000", "1000")


def test_event_processor_lag_trigger(acme_objs: list[dict[str, Any]]) -> None:
    cpu, kafka = by_kind(acme_objs, "ScaledObject")["event-processor"]["spec"]["triggers"]
    assert cpu["type"] == "cpu"
    assert kafka == {
        "type": "kafka",
        "name": "consumer-lag",
        "metadata": {
            "bootstrapServers": BOOTSTRAP,
            "consumerGroup": "acme.event-processor",
            "topic": "acme.events.raw",
            "lagThreshold": "10000",
            "activationLagThreshold": "1000",
            "offsetResetPolicy": "latest",
            "sasl": "oauthbearer",
            "saslTokenProvider": "aws_msk_iam",
            "tls": "enable",
            "awsRegion": "us-east-1",
        },
        "authenticationRef": {"name": "kafka-msk-iam", "kind": "TriggerAuthentication"},
    }
    assert by_kind(acme_objs, "TriggerAuthentication")["kafka-msk-iam"]["spec"] == {
        "podIdentity": {"provider": "aws", "roleArn": KEDA_ROLE},
    }


def test_prometheus_scales_on_lag_through_keda_not_an_external_metric_hpa(globex_objs: list[dict[str, Any]]) -> None:
    # KEDA's metrics server owns external.metrics.k8s.io: an HPA's External metric would
    # never be served, so lag comes from KEDA's prometheus scaler.
    assert by_kind(globex_objs, "HorizontalPodAutoscaler") == {}
    assert by_kind(globex_objs, "TriggerAuthentication") == {}
    scaled = by_kind(globex_objs, "ScaledObject")
    assert {n: (s["spec"]["minReplicaCount"], s["spec"]["maxReplicaCount"]) for n, s in scaled.items()} == {
        "ingestion-gateway": (2, 10), "event-processor": (2, 8), "delivery-workers": (2, 12),
    }
    assert scaled["event-processor"]["spec"]["triggers"] == [
        {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}},
        {"type": "prometheus", "name": "consumer-lag", "metadata": {
            "serverAddress": PROMETHEUS,
            "query": 'sum(kafka_consumergroup_lag{consumergroup="globex.event-processor",topic="globex.events.raw"})',
            "threshold": "10000",
            "activationThreshold": "1000",
        }},
    ]
    assert [t["type"] for t in scaled["ingestion-gateway"]["spec"]["triggers"]] == ["cpu"]


def test_prometheus_lag_needs_a_server_address() -> None:
    data = copy.deepcopy(GLOBEX)
    del data["autoscaling"]["prometheus"]
    with pytest.raises(ConfigError, match=r"datafly:tenant\.autoscaling\.prometheus\.serverAddress: missing; "
                       "required with metricsProvider prometheus: eventProcessor scales on Kafka lag"):
        tenant(data)


@pytest.mark.parametrize("cooldown", [0, 60, 600])
def test_cooldown_is_the_hpa_scale_down_window(cooldown: int) -> None:
    # KEDA applies cooldownPeriod only when scaling to zero; above minReplicas the HPA's
    # stabilization window is what delays scale-down.
    data = copy.deepcopy(ACME)
    data["autoscaling"]["cooldownPeriod"] = cooldown
    for obj in by_kind(render_all(tenant(data)), "ScaledObject").values():
        assert obj["spec"]["cooldownPeriod"] == cooldown
        assert obj["spec"]["advanced"] == {"horizontalPodAutoscalerConfig": {"behavior": {
            "scaleDown": {"stabilizationWindowSeconds": cooldown}}}}


def test_metrics_provider_none_keeps_fixed_replicas() -> None:
    data = copy.deepcopy(ACME)
    data["autoscaling"]["metricsProvider"] = "none"
    objs = render_all(tenant(data))
    assert [o for o in objs if o["kind"] in ("ScaledObject", "HorizontalPodAutoscaler", "TriggerAuthentication")] == []
    replicas = {n: d["spec"]["replicas"] for n, d in by_kind(objs, "Deployment").items()}
    assert replicas == {"ingestion-gateway": 2, "event-processor": 2, "delivery-workers": 3,
                        "identity-hub": 1, "management-api": 1, "management-ui": 1}


def test_lag_threshold_needs_a_consumer() -> None:
    data = copy.deepcopy(ACME)
    data["autoscaling"]["ingestionGateway"] = {"lagThreshold": 500}
    with pytest.raises(ConfigError, match=r"datafly:tenant\.autoscaling\.ingestionGateway\.lagThreshold: got 500"):
        tenant(data)


def test_scale_to_zero_needs_a_lag_trigger() -> None:
    data = copy.deepcopy(ACME)
    data["autoscaling"]["ingestionGateway"] = {"minReplicas": 0, "maxReplicas": 12}
    data["services"]["ingestionGateway"]["replicas"] = 0
    with pytest.raises(ConfigError, match=r"datafly:tenant\.autoscaling\.ingestionGateway\.minReplicas: got 0"):
        tenant(data)


# ----------------------------------------------------------------- external secrets


def test_external_secrets(acme_objs: list[dict[str, Any]]) -> None:
    account = by_kind(acme_objs, "ServiceAccount")["external-secrets"]
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ESO_ROLE}
    store = by_kind(acme_objs, "SecretStore")["customer-secrets"]
    assert store["spec"] == {"provider": {"aws": {
        "service": "SecretsManager",
        "region": "us-east-1",
        "auth": {"jwt": {"serviceAccountRef": {"name": "external-secrets"}}},
    }}}
    secrets = by_kind(acme_objs, "ExternalSecret")
    assert list(secrets) == ["datafly-secrets"]
    app = secrets["datafly-secrets"]["spec"]
    assert app["refreshInterval"] == "1h"
    assert app["secretStoreRef"] == {"name": "customer-secrets", "kind": "SecretStore"}
    assert app["target"] == {
        "name": "datafly-secrets", "creationPolicy": "Owner", "deletionPolicy": "Retain",
        "template": {"engineVersion": "v2", "type": "Opaque", "data": TEMPLATES},
    }
    assert app["data"] == [
        # The services' own login, never the RDS master user (whose password RDS rotates).
        {"secretKey": "db_username", "remoteRef": {"key": DB_APP_SECRET_ARN, "property": "username"}},
        {"secretKey": "db_password", "remoteRef": {"key": DB_APP_SECRET_ARN, "property": "password"}},
        {"secretKey": "redis_auth_token", "remoteRef": {"key": SECRET_ARN, "property": "REDIS_AUTH_TOKEN"}},
        {"secretKey": "jwt_secret", "remoteRef": {"key": SECRET_ARN, "property": "JWT_SECRET"}},
        {"secretKey": "encryption_key", "remoteRef": {"key": SECRET_ARN, "property": "ENCRYPTION_KEY"}},
    ]


def test_connection_urls_are_templated_from_the_synced_credentials() -> None:
    assert TEMPLATES == {
        "DATABASE_URL": "postgresql://{{ .db_username | urlquery }}:{{ .db_password | urlquery }}"
                        "@datafly-acme.abc.us-east-1.rds.amazonaws.com:5432/datafly?sslmode=require",
        "REDIS_URL": "rediss://:{{ .redis_auth_token | urlquery }}@master.datafly-acme.abc.use1.cache.amazonaws.com:6379/0",
        "KAFKA_BROKERS": BOOTSTRAP,
        "JWT_SECRET": "{{ .jwt_secret }}",
        "ENCRYPTION_KEY": "{{ .encryption_key }}",
    }


def test_existing_kubernetes_secret_replaces_the_external_secret() -> None:
    data = copy.deepcopy(ACME)
    data["secrets"] = {"existing": {"kubernetesSecret": "acme-app"}}
    objs = render_all(tenant(data))
    assert by_kind(objs, "ExternalSecret") == {} and by_kind(objs, "SecretStore") == {}
    refs = {e["valueFrom"]["secretKeyRef"]["name"] for d in by_kind(objs, "Deployment").values()
            for c in d["spec"]["template"]["spec"]["containers"] for e in c["env"] if "valueFrom" in e}
    assert refs == {"acme-app"}


# --------------------------------------------------------------------- properties

_KEYS = list(SERVICE_DEFAULTS)


@st.composite
def tenants(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(ACME)
    data["services"] = {}
    data["autoscaling"] = {}
    for key in _KEYS:
        enabled = draw(st.booleans())
        low = draw(st.integers(1, 6))
        high = draw(st.integers(low, 20))
        replicas = draw(st.integers(low, high)) if enabled else draw(st.integers(0, 6))
        cpu_req = draw(st.integers(10, 2000))
        cpu_lim = draw(st.integers(cpu_req, 4000))
        mem_req = draw(st.integers(16, 4096))
        mem_lim = draw(st.integers(mem_req, 8192))
        service: dict[str, Any] = {
            "replicas": replicas,
            "resources": {
                "requests": {"cpu": f"{cpu_req}m", "memory": f"{mem_req}Mi"},
                "limits": {"cpu": f"{cpu_lim}m", "memory": f"{mem_lim}Mi"},
            },
        }
        data["services"][key] = service
        data["autoscaling"][key] = {"enabled": enabled, "minReplicas": low, "maxReplicas": high}
    data["services"]["ingestionGateway"].update(ACME["services"]["ingestionGateway"] | {
        "replicas": data["services"]["ingestionGateway"]["replicas"]
    })
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tenants())
def test_quota_always_fits_max_replicas(data: dict[str, Any]) -> None:
    config = tenant(data)
    hard = isolation.resource_quota(config)["spec"]["hard"]
    need = {"requests.cpu": Fraction(0), "requests.memory": Fraction(0),
            "limits.cpu": Fraction(0), "limits.memory": Fraction(0)}
    pods = 0
    for key in _KEYS:
        svc = data["services"][key]
        scaling = data["autoscaling"][key]
        count = scaling["maxReplicas"] if scaling["enabled"] else svc["replicas"]
        pods += count
        for kind in ("requests", "limits"):
            need[f"{kind}.cpu"] += count * isolation.parse_quantity(svc["resources"][kind]["cpu"])
            need[f"{kind}.memory"] += count * isolation.parse_quantity(svc["resources"][kind]["memory"])
    job = data["services"]["managementApi"]["resources"]
    for kind in ("requests", "limits"):
        need[f"{kind}.cpu"] += isolation.parse_quantity(job[kind]["cpu"])
        need[f"{kind}.memory"] += isolation.parse_quantity(job[kind]["memory"])
    assert int(hard["pods"]) >= pods + 1
    for name, amount in need.items():
        assert isolation.parse_quantity(hard[name]) >= amount, name
    # The LimitRange ceiling never exceeds the quota, and the pair is schema-valid.
    (limits,) = isolation.limit_range(config)["spec"]["limits"]
    assert isolation.parse_quantity(limits["max"]["cpu"]) <= isolation.parse_quantity(hard["limits.cpu"])
    assert isolation.parse_quantity(limits["max"]["memory"]) <= isolation.parse_quantity(hard["limits.memory"])
    assert validate_objects([isolation.resource_quota(config), isolation.limit_range(config)], K8S) == []

    scaled = autoscaling.autoscalers(
        config, kafka_bootstrap=BOOTSTRAP, kafka_topic_prefix="acme.", region="us-east-1", keda_role_arn=KEDA_ROLE
    )
    for obj in scaled:
        if obj["kind"] == "ScaledObject":
            assert 1 <= obj["spec"]["minReplicaCount"] <= obj["spec"]["maxReplicaCount"]
    deps = by_kind(workloads.deployments(config, "acme."), "Deployment")
    for svc in CATALOGUE:
        assert ("replicas" in deps[svc.name]["spec"]) is (not data["autoscaling"][svc.key]["enabled"])


# ------------------------------------------------------ issue 11: cluster behaviour


@pytest.mark.parametrize(("image", "message"), [
    ({"tag": "v1", "digest": DIGEST},
     "datafly:tenant.image.digest: got 'sha256:abab"),
    ({"tag": "v1", "digests": {"ingestionGateway": DIGEST, "managementUi": DIGEST}},
     "datafly:tenant.image.digests.managementUi: got 'sha256:abab"),
    ({"tag": "v1", "digests": {"managementApi": DIGESTS["managementApi"], "migrations": DIGEST}},
     "datafly:tenant.image.digests.migrations: got 'sha256:abab"),
], ids=["one-digest-for-all", "two-images-one-digest", "migrations-not-the-api-image"])
def test_one_digest_names_one_image(image: dict[str, Any], message: str) -> None:
    data = copy.deepcopy(ACME)
    data["image"] = image
    with pytest.raises(ConfigError, match="^" + message.replace(".", r"\.")):
        tenant(data)


def test_migrations_image_has_its_own_digest() -> None:
    data = copy.deepcopy(ACME)
    data["image"]["digests"] = {"managementApi": DIGESTS["managementApi"], "migrations": DIGEST}
    data["migrations"] = {"image": "ghcr.io/datafly/migrator:v7"}
    (container,) = workloads.migrations_job(tenant(data))["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"ghcr.io/datafly/migrator:v7@{DIGEST}"
    data["migrations"] = {}
    del data["image"]["digests"]["migrations"]
    (container,) = workloads.migrations_job(tenant(data))["spec"]["template"]["spec"]["containers"]
    assert container["image"] == f"ghcr.io/datafly/management-api:v1.2.0@{DIGESTS['managementApi']}"


def test_ttl_after_finished_is_refused() -> None:
    data = copy.deepcopy(ACME)
    data["migrations"] = {"ttlSecondsAfterFinished": 3600}
    with pytest.raises(ConfigError, match=r"^datafly:tenant\.migrations\.ttlSecondsAfterFinished: got 3600; "
                                          "is no longer supported"):
        tenant(data)


@pytest.mark.parametrize("deadline", [60, 900, 1800, 86400])
def test_pulumi_waits_out_the_migrations_deadline(deadline: int) -> None:
    data = copy.deepcopy(ACME)
    data["migrations"] = {"activeDeadlineSeconds": deadline}
    job = workloads.migrations_job(tenant(data))
    assert int(job["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) == deadline + 120


def test_exposed_services_drain_before_stopping(acme_objs: list[dict[str, Any]]) -> None:
    for name, dep in by_kind(acme_objs, "Deployment").items():
        pod = dep["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        if name in ("ingestion-gateway", "management-api", "management-ui"):
            assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 15}}}
            assert pod["terminationGracePeriodSeconds"] == 45
        else:  # nothing routes to the workers
            assert "lifecycle" not in container and "terminationGracePeriodSeconds" not in pod


@pytest.mark.parametrize(("alb", "labelled"), [(True, True), (False, False)])
def test_namespace_behind_the_alb_gets_readiness_gates(alb: bool, labelled: bool) -> None:
    from builders.namespace import namespace
    labels = namespace("acme", alb=alb)["metadata"]["labels"]
    assert (labels.get("elbv2.k8s.aws/pod-readiness-gate-inject") == "enabled") == labelled
