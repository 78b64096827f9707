"""Tests for offline.check.kubernetes: schema layer, metadata rules and semantic rules."""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# The repo root is not an installed package; make `offline` importable however pytest is invoked.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from offline.check.kubernetes import (  # noqa: E402
    Violation,
    crd_index,
    crd_json_schema,
    label_value_error,
    parse_quantity,
    validate_objects,
)

K8S = "1.35"
NS = "customer-acme"

Obj = dict[str, Any]


# ------------------------------------------------------------------ fixtures


def deployment(name: str = "event-processor", namespace: str = NS) -> Obj:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "saas-platform"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": {"pulumi.com/skipAwait": "true"},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "serviceAccountName": name,
                    "restartPolicy": "Always",
                    "containers": [
                        {
                            "name": "app",
                            "image": f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{name}:1.4.2",
                            "imagePullPolicy": "IfNotPresent",
                            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                            "env": [
                                {"name": "KAFKA_TOPIC", "value": f"{namespace}.events"},
                                {
                                    "name": "DB_PASSWORD",
                                    "valueFrom": {"secretKeyRef": {"name": f"{name}-db", "key": "password"}},
                                },
                            ],
                            "resources": {
                                "requests": {"cpu": "250m", "memory": "512Mi"},
                                "limits": {"cpu": "1", "memory": "1Gi"},
                            },
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10},
                            "securityContext": {
                                "runAsNonRoot": True,
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }
                    ],
                },
            },
        },
    }


def scaled_object(name: str = "event-processor", namespace: str = NS) -> Obj:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicaCount": 1,
            "maxReplicaCount": 20,
            "pollingInterval": 15,
            "cooldownPeriod": 120,
            "triggers": [
                {
                    "type": "kafka",
                    "metadata": {
                        "bootstrapServers": "b-1.msk.eu-west-1.amazonaws.com:9098",
                        "consumerGroup": name,
                        "topic": f"{namespace}.events",
                        "lagThreshold": "10000",
                        "activationLagThreshold": "100",
                        "offsetResetPolicy": "latest",
                    },
                    "authenticationRef": {"name": "kafka-msk-iam"},
                },
                {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}},
            ],
        },
    }


def trigger_authentication(namespace: str = NS) -> Obj:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": "kafka-msk-iam", "namespace": namespace},
        "spec": {"podIdentity": {"provider": "aws"}},
    }


def secret_store(namespace: str = NS) -> Obj:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": {"name": "aws-secrets-manager", "namespace": namespace},
        "spec": {
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "region": "eu-west-1",
                    "auth": {"jwt": {"serviceAccountRef": {"name": "external-secrets"}}},
                }
            }
        },
    }


def external_secret(name: str = "event-processor-db", namespace: str = NS) -> Obj:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "aws-secrets-manager", "kind": "SecretStore"},
            "target": {"name": name, "creationPolicy": "Owner"},
            "data": [
                {
                    "secretKey": "password",
                    "remoteRef": {"key": f"{namespace}/{name}", "property": "password"},
                }
            ],
        },
    }


def namespace(name: str = NS) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"tenant": name}}}


def service(name: str = "event-processor", namespace: str = NS) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def ingress(namespace: str = NS) -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": "api",
            "namespace": namespace,
            "annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"},
        },
        "spec": {
            "ingressClassName": "alb",
            "rules": [
                {
                    "host": "acme.example.com",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "event-processor", "port": {"name": "http"}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def platform_objects() -> list[Obj]:
    """A realistic plan: cluster-wide objects plus a slice per tenant (~60 objects)."""
    objects: list[Obj] = [
        {
            "apiVersion": "external-secrets.io/v1",
            "kind": "ClusterSecretStore",
            "metadata": {"name": "aws-parameter-store"},
            "spec": {
                "provider": {
                    "aws": {
                        "service": "ParameterStore",
                        "region": "eu-west-1",
                        "auth": {
                            "jwt": {"serviceAccountRef": {"name": "external-secrets", "namespace": "external-secrets"}}
                        },
                    }
                }
            },
        },
        {
            "apiVersion": "keda.sh/v1alpha1",
            "kind": "ClusterTriggerAuthentication",
            "metadata": {"name": "aws-pod-identity"},
            "spec": {"podIdentity": {"provider": "aws"}},
        },
        {
            "apiVersion": "elbv2.k8s.aws/v1beta1",
            "kind": "IngressClassParams",
            "metadata": {"name": "alb"},
            "spec": {"scheme": "internet-facing", "group": {"name": "saas-platform"}, "ipAddressType": "ipv4"},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "IngressClass",
            "metadata": {"name": "alb"},
            "spec": {
                "controller": "ingress.k8s.aws/alb",
                "parameters": {"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": "alb"},
            },
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "saas-platform:tenant-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]}],
        },
    ]
    for tenant in ("customer-acme", "customer-globex", "customer-initech", "customer-umbrella"):
        objects += [
            namespace(tenant),
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": "compute", "namespace": tenant},
                "spec": {"hard": {"requests.cpu": "8", "requests.memory": "16Gi", "limits.memory": "32Gi"}},
            },
            {
                "apiVersion": "v1",
                "kind": "LimitRange",
                "metadata": {"name": "defaults", "namespace": tenant},
                "spec": {
                    "limits": [
                        {
                            "type": "Container",
                            "default": {"cpu": "500m", "memory": "512Mi"},
                            "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                            "max": {"cpu": "4", "memory": "8Gi"},
                        }
                    ]
                },
            },
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {
                    "name": "event-processor",
                    "namespace": tenant,
                    "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/ep"},
                },
            },
            secret_store(tenant),
            trigger_authentication(tenant),
            external_secret("event-processor-db", tenant),
            deployment("event-processor", tenant),
            scaled_object("event-processor", tenant),
            deployment("api", tenant),
            service("api", tenant),
            ingress(tenant),
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": "api", "namespace": tenant},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "api"}}},
            },
            {
                "apiVersion": "elbv2.k8s.aws/v1beta1",
                "kind": "TargetGroupBinding",
                "metadata": {"name": "api", "namespace": tenant},
                "spec": {
                    "serviceRef": {"name": "api", "port": 80},
                    "targetGroupARN": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/abc",
                    "targetType": "ip",
                },
            },
        ]
    return objects


def mutate(base: Obj, change: Callable[[Obj], Any]) -> Obj:
    obj = copy.deepcopy(base)
    change(obj)
    return obj


def _container(obj: Obj, index: int = 0) -> dict[str, Any]:
    container: dict[str, Any] = obj["spec"]["template"]["spec"]["containers"][index]
    return container


# ---------------------------------------------------------------- valid input


@pytest.mark.parametrize(
    "objects",
    [
        pytest.param([deployment()], id="deployment"),
        pytest.param([scaled_object()], id="scaledobject-kafka-cpu"),
        pytest.param([external_secret()], id="externalsecret-v1"),
        pytest.param([secret_store()], id="secretstore-aws-jwt"),
        pytest.param([namespace(), service(), ingress(), trigger_authentication()], id="misc-core-and-keda"),
        pytest.param(platform_objects(), id="platform-bundle"),
    ],
)
def test_valid_objects_have_no_violations(objects: list[Obj]) -> None:
    assert validate_objects(objects, K8S) == []


def test_platform_bundle_is_realistic_size() -> None:
    assert 55 <= len(platform_objects()) <= 70


# -------------------------------------------------------------- invalid input

DEP = "apps/v1 Deployment customer-acme/event-processor"
SO = "keda.sh/v1alpha1 ScaledObject customer-acme/event-processor"


def _del(path: list[str | int]) -> Callable[[Obj], None]:
    def change(obj: Obj) -> None:
        cur: Any = obj
        for key in path[:-1]:
            cur = cur[key]
        del cur[path[-1]]

    return change


def _set(path: list[str | int], value: Any) -> Callable[[Obj], None]:
    def change(obj: Obj) -> None:
        cur: Any = obj
        for key in path[:-1]:
            cur = cur[key]
        cur[path[-1]] = value

    return change


CONTAINER: list[str | int] = ["spec", "template", "spec", "containers", 0]
TRIGGER0: list[str | int] = ["spec", "triggers", 0, "metadata"]

INVALID_CASES = [
    # (id, object, expected violation obj label, expected path, message substring)
    ("container-missing-name", mutate(deployment(), _del([*CONTAINER, "name"])),
     DEP, "spec.template.spec.containers[0]", '"name"'),
    ("unknown-field-strict", mutate(deployment(), _set([*CONTAINER, "imagePullPolcy"], "Always")),
     DEP, "spec.template.spec.containers[0].imagePullPolcy", 'unknown field "imagePullPolcy"'),
    ("wrong-type-replicas", mutate(deployment(), _set(["spec", "replicas"], "2")),
     DEP, "spec.replicas", "must be of type integer"),
    ("bad-quantity-1GB", mutate(deployment(), _set([*CONTAINER, "resources", "requests", "memory"], "1GB")),
     DEP, "spec.template.spec.containers[0].resources.requests.memory", 'invalid quantity "1GB"'),
    ("bad-quantity-abc", mutate(deployment(), _set([*CONTAINER, "resources", "limits", "cpu"], "abc")),
     DEP, "spec.template.spec.containers[0].resources.limits.cpu", 'invalid quantity "abc"'),
    ("negative-quantity", mutate(deployment(), _set([*CONTAINER, "resources", "requests", "cpu"], "-1")),
     DEP, "spec.template.spec.containers[0].resources.requests.cpu", "greater than or equal to 0"),
    ("request-above-limit", mutate(deployment(), _set([*CONTAINER, "resources", "requests", "memory"], "2Gi")),
     DEP, "spec.template.spec.containers[0].resources.requests.memory", 'request "2Gi" exceeds limit "1Gi"'),
    ("bad-image-pull-policy", mutate(deployment(), _set([*CONTAINER, "imagePullPolicy"], "Sometimes")),
     DEP, "spec.template.spec.containers[0].imagePullPolicy", 'unsupported value "Sometimes"'),
    ("bad-port-protocol", mutate(deployment(), _set([*CONTAINER, "ports", 0, "protocol"], "tcp")),
     DEP, "spec.template.spec.containers[0].ports[0].protocol", 'unsupported value "tcp"'),
    ("port-out-of-range", mutate(deployment(), _set([*CONTAINER, "ports", 0, "containerPort"], 70000)),
     DEP, "spec.template.spec.containers[0].ports[0].containerPort", "port 70000 out of range"),
    ("bad-strategy", mutate(deployment(), _set(["spec", "strategy"], {"type": "BlueGreen"})),
     DEP, "spec.strategy.type", 'unsupported value "BlueGreen"'),
    ("bad-restart-policy", mutate(deployment(), _set(["spec", "template", "spec", "restartPolicy"], "Never")),
     DEP, "spec.template.spec.restartPolicy", 'Deployment pods must use "Always"'),
    ("container-name-not-dns-label", mutate(deployment(), _set([*CONTAINER, "name"], "App_1")),
     DEP, "spec.template.spec.containers[0].name", "not a DNS-1123 label"),
    ("duplicate-container-name",
     mutate(deployment(), lambda o: o["spec"]["template"]["spec"]["containers"].append(
         {"name": "app", "image": "busybox"})),
     DEP, "spec.template.spec.containers[1].name", 'duplicate container name "app"'),
    ("selector-mismatch",
     mutate(deployment(), _set(["spec", "selector", "matchLabels"], {"app.kubernetes.io/name": "other"})),
     DEP, "spec.template.metadata.labels", "selector does not match template labels"),
    ("bad-label-value", mutate(deployment(), _set(["metadata", "labels", "tier"], "backend!")),
     DEP, "metadata.labels.tier", 'label value "backend!"'),
    ("label-value-too-long", mutate(deployment(), _set(["metadata", "labels", "tier"], "x" * 64)),
     DEP, "metadata.labels.tier", "no more than 63 characters"),
    ("bad-label-key", mutate(deployment(), _set(["metadata", "labels", "Example.com/tier"], "a")),
     DEP, 'metadata.labels["Example.com/tier"]', "prefix"),
    ("bad-name", mutate(deployment(), _set(["metadata", "name"], "Event_Processor")),
     "apps/v1 Deployment customer-acme/Event_Processor", "metadata.name", "DNS-1123 subdomain"),
    ("namespaced-without-namespace", mutate(deployment(), _del(["metadata", "namespace"])),
     "apps/v1 Deployment event-processor", "metadata", 'missing required field "namespace"'),
    ("namespace-with-namespace", mutate(namespace(), _set(["metadata", "namespace"], "default")),
     "v1 Namespace default/customer-acme", "metadata.namespace", "cluster-scoped"),
    ("cluster-scoped-cr-with-namespace",
     {"apiVersion": "keda.sh/v1alpha1", "kind": "ClusterTriggerAuthentication",
      "metadata": {"name": "aws", "namespace": NS}, "spec": {"podIdentity": {"provider": "aws"}}},
     "keda.sh/v1alpha1 ClusterTriggerAuthentication customer-acme/aws", "metadata.namespace", "cluster-scoped"),
    ("namespace-name-not-label", mutate(namespace(), _set(["metadata", "name"], "customer.acme")),
     "v1 Namespace customer.acme", "metadata.name", "DNS-1123 label"),
    ("service-type", mutate(service(), _set(["spec", "type"], "Internal")),
     "v1 Service customer-acme/event-processor", "spec.type", 'unsupported value "Internal"'),
    ("service-port-range", mutate(service(), _set(["spec", "ports", 0, "port"], 0)),
     "v1 Service customer-acme/event-processor", "spec.ports[0].port", "out of range"),
    ("ingress-path-type", mutate(ingress(), _set(["spec", "rules", 0, "http", "paths", 0, "pathType"], "Regex")),
     "networking.k8s.io/v1 Ingress customer-acme/api", "spec.rules[0].http.paths[0].pathType", 'unsupported value "Regex"'),
    ("unknown-kind",
     {"apiVersion": "apps/v2", "kind": "Foo", "metadata": {"name": "foo", "namespace": NS}},
     "apps/v2 Foo customer-acme/foo", "", "no schema for apps/v2 Foo in Kubernetes 1.35"),
    ("scaledobject-numeric-lag-threshold", mutate(scaled_object(), _set([*TRIGGER0, "lagThreshold"], 10000)),
     SO, "spec.triggers[0].metadata.lagThreshold", "must be of type string, got integer 10000"),
    ("scaledobject-min-above-max", mutate(scaled_object(), _set(["spec", "minReplicaCount"], 30)),
     SO, "spec.minReplicaCount", "minReplicaCount (30) must not be greater than maxReplicaCount (20)"),
    ("scaledobject-min-above-default-max",
     mutate(scaled_object(), lambda o: (o["spec"].pop("maxReplicaCount"), o["spec"].update(minReplicaCount=101))),
     SO, "spec.minReplicaCount", "maxReplicaCount (100, the default)"),
    ("scaledobject-idle-not-below-min", mutate(scaled_object(), _set(["spec", "idleReplicaCount"], 1)),
     SO, "spec.idleReplicaCount", "idleReplicaCount (1) must be less than minReplicaCount (1)"),
    ("kafka-missing-bootstrap", mutate(scaled_object(), _del([*TRIGGER0, "bootstrapServers"])),
     SO, "spec.triggers[0].metadata", '"bootstrapServers"'),
    ("kafka-missing-consumer-group", mutate(scaled_object(), _del([*TRIGGER0, "consumerGroup"])),
     SO, "spec.triggers[0].metadata", '"consumerGroup"'),
    ("kafka-lag-not-integer", mutate(scaled_object(), _set([*TRIGGER0, "lagThreshold"], "10k")),
     SO, "spec.triggers[0].metadata.lagThreshold", "positive integer string"),
    ("kafka-activation-not-below-lag", mutate(scaled_object(), _set([*TRIGGER0, "activationLagThreshold"], "10000")),
     SO, "spec.triggers[0].metadata.activationLagThreshold", "must be less than lagThreshold"),
    ("cpu-bad-metric-type", mutate(scaled_object(), _set(["spec", "triggers", 1, "metricType"], "Value")),
     SO, "spec.triggers[1].metricType", 'unsupported value "Value"'),
    ("cpu-missing-metric-type", mutate(scaled_object(), _del(["spec", "triggers", 1, "metricType"])),
     SO, "spec.triggers[1]", '"metricType"'),
    ("cpu-value-not-integer", mutate(scaled_object(), _set(["spec", "triggers", 1, "metadata", "value"], "70%")),
     SO, "spec.triggers[1].metadata.value", "integer percentage"),
    ("so-unknown-field", mutate(scaled_object(), _set(["spec", "minReplicas"], 1)),
     SO, "spec.minReplicas", 'unknown field "minReplicas"'),
    ("so-missing-scale-target", mutate(scaled_object(), _del(["spec", "scaleTargetRef"])),
     SO, "spec", 'missing required field "scaleTargetRef"'),
    ("externalsecret-v1beta1", mutate(external_secret(), _set(["apiVersion"], "external-secrets.io/v1beta1")),
     "external-secrets.io/v1beta1 ExternalSecret customer-acme/event-processor-db", "apiVersion",
     "served versions: external-secrets.io/v1"),
    ("externalsecret-bad-enum", mutate(external_secret(), _set(["spec", "secretStoreRef", "kind"], "Store")),
     "external-secrets.io/v1 ExternalSecret customer-acme/event-processor-db", "spec.secretStoreRef.kind",
     'unsupported value "Store"'),
    ("secretstore-missing-region", mutate(secret_store(), _del(["spec", "provider", "aws", "region"])),
     "external-secrets.io/v1 SecretStore customer-acme/aws-secrets-manager", "spec.provider.aws",
     'missing required field "region"'),
    ("secretstore-unknown-auth-field",
     mutate(secret_store(), _set(["spec", "provider", "aws", "auth", "jwt", "serviceAccount"], "x")),
     "external-secrets.io/v1 SecretStore customer-acme/aws-secrets-manager",
     "spec.provider.aws.auth.jwt.serviceAccount", "unknown field"),
    ("cr-unknown-metadata-field", mutate(secret_store(), _set(["metadata", "lables"], {"a": "b"})),
     "external-secrets.io/v1 SecretStore customer-acme/aws-secrets-manager", "metadata.lables", "unknown field"),
    ("limitrange-order",
     {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "d", "namespace": NS},
      "spec": {"limits": [{"type": "Container", "defaultRequest": {"cpu": "2"}, "default": {"cpu": "1"}}]}},
     "v1 LimitRange customer-acme/d", "spec.limits[0].defaultRequest.cpu", "greater than default"),
    ("resourcequota-bad-quantity",
     {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q", "namespace": NS},
      "spec": {"hard": {"requests.memory": "16GB"}}},
     "v1 ResourceQuota customer-acme/q", 'spec.hard["requests.memory"]', 'invalid quantity "16GB"'),
]


@pytest.mark.parametrize(
    ("obj", "label", "path", "message"),
    [pytest.param(obj, label, path, message, id=case_id) for case_id, obj, label, path, message in INVALID_CASES],
)
def test_invalid_object_is_reported(obj: Obj, label: str, path: str, message: str) -> None:
    violations = validate_objects([obj], K8S)
    matching = [v for v in violations if v.obj == label and v.path == path and message in v.message]
    assert matching, "\n".join(str(v) for v in violations) or "no violations"


@pytest.mark.parametrize(
    ("obj", "expected_count"),
    [
        pytest.param(mutate(deployment(), _del([*CONTAINER, "name"])), 1, id="missing-name-only"),
        pytest.param(mutate(scaled_object(), _set([*TRIGGER0, "lagThreshold"], 10000)), 1, id="numeric-lag-only"),
        pytest.param(mutate(external_secret(), _set(["apiVersion"], "external-secrets.io/v1beta1")), 1,
                     id="unserved-version-only"),
    ],
)
def test_single_fault_gives_single_violation(obj: Obj, expected_count: int) -> None:
    # One mistake must not cascade into follow-up noise from other layers.
    violations = validate_objects([obj], K8S)
    assert len(violations) == expected_count, "\n".join(map(str, violations))


def test_all_errors_are_reported_not_just_the_first() -> None:
    def break_things(obj: Obj) -> None:
        container = _container(obj)
        del container["name"]
        container["bogus"] = True
        obj["spec"]["replicas"] = "two"

    paths = {v.path for v in validate_objects([mutate(deployment(), break_things)], K8S)}
    assert {
        "spec.replicas",
        "spec.template.spec.containers[0]",
        "spec.template.spec.containers[0].bogus",
    } <= paths


def test_duplicate_objects_are_reported() -> None:
    violations = validate_objects([deployment(), service(), deployment()], K8S)
    assert [v.message for v in violations if "duplicate object" in v.message] == [
        "duplicate object: object #0 has the same group, kind, namespace and name"
    ]


def test_same_name_in_other_namespace_or_kind_is_not_a_duplicate() -> None:
    objects = [deployment(), deployment(namespace="customer-globex"), service()]
    assert validate_objects(objects, K8S) == []


def test_non_mapping_and_unidentifiable_objects() -> None:
    violations = validate_objects([["not", "a", "dict"], {"kind": "Pod"}], K8S)  # type: ignore[list-item]
    assert [str(v) for v in violations] == [
        "object #0: : expected a mapping, got array",
        "object #1: : missing or invalid apiVersion; cannot identify the object",
    ]


def test_violation_str_and_ordering() -> None:
    v = Violation("v1 Service ns/a", "spec.type", "bad")
    assert str(v) == "v1 Service ns/a: spec.type: bad"
    assert sorted([Violation("b", "", "x"), v]) == [Violation("b", "", "x"), v]


@pytest.mark.parametrize("version", ["1.20", "2.0", "banana", "", "1.99"])
def test_unsupported_kubernetes_version_raises(version: str) -> None:
    with pytest.raises(ValueError, match=r"supported.*1\.35"):
        validate_objects([deployment()], version)


@pytest.mark.parametrize("version", ["1.35", "v1.35", "1.35.2", "1.33"])
def test_version_spellings_accepted(version: str) -> None:
    assert validate_objects([deployment()], version) == []


def test_vendored_crds_convert_to_valid_json_schema() -> None:
    index = crd_index()
    assert {("keda.sh", "ScaledObject"), ("external-secrets.io", "ExternalSecret"),
            ("elbv2.k8s.aws", "TargetGroupBinding")} <= set(index)
    for crd in index.values():
        for version in crd.versions.values():
            if version.served:  # unserved versions are never validated against
                jsonschema.Draft202012Validator.check_schema(crd_json_schema(version.schema))


def test_nullable_and_preserve_unknown_fields_conversion() -> None:
    schema = crd_json_schema({
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "maybe": {"type": "string", "nullable": True},
                    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "port": {"x-kubernetes-int-or-string": True},
                },
            }
        },
    })
    spec = schema["properties"]["spec"]
    assert spec["additionalProperties"] is False
    assert spec["properties"]["maybe"]["type"] == ["string", "null"]
    assert "additionalProperties" not in spec["properties"]["free"]
    assert spec["properties"]["port"]["anyOf"] == [{"type": "integer"}, {"type": "string"}]
    assert set(schema["properties"]) >= {"apiVersion", "kind", "metadata", "spec"}


# --------------------------------------------------------------- quantities


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250m", "1/4"), ("1Gi", str(2**30)), ("0.5", "1/2"), ("1e3", "1000"), ("1E-2", "1/100"),
        ("1.", "1"), (".5", "1/2"), ("+2k", "2000"), ("100n", "1/10000000"), ("-1", "-1"), ("1E", str(10**18)),
        ("1GB", None), ("abc", None), ("", None), (".", None), ("1e", None), ("1 Gi", None), ("1gi", None),
        ("1ki", None), ("1e1.5", None), ("1.2.3", None), ("\uff11", None), ("1e99999", None),
    ],
)
def test_parse_quantity_examples(text: str, expected: str | None) -> None:
    result = parse_quantity(text)
    assert (None if result is None else str(result)) == expected


# Independent statement of the grammar (k8s.io/apimachinery/pkg/api/resource/quantity.go).
QUANTITY_GRAMMAR = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE](?P<exp>[+-]?[0-9]+))?"
)

_quantity_pieces = st.lists(
    st.sampled_from(["0", "1", "9", "12", ".", "+", "-", "e", "E", "Ki", "Mi", "Gi", "m", "k", "M", "G",
                     "i", "n", "u", "B", " ", "x", "5"]),
    max_size=6,
).map("".join)


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(_quantity_pieces, st.text(alphabet="0123456789.+-eEKMGTPimnuk", max_size=8)))
def test_quantity_parser_agrees_with_grammar(text: str) -> None:
    match = QUANTITY_GRAMMAR.fullmatch(text)
    expected = bool(match) and (match is None or match["exp"] is None or abs(int(match["exp"])) <= 1000)
    assert (parse_quantity(text) is not None) == expected


_label_values = st.from_regex(re.compile(r"\A(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?\Z"))


@settings(max_examples=200, deadline=None, database=None)
@given(_label_values)
def test_valid_label_values_always_pass(value: str) -> None:
    assert label_value_error(value) is None
    labelled = mutate(namespace(), _set(["metadata", "labels", "generated"], value))
    assert validate_objects([labelled], K8S) == []


# ------------------------------------------------------- inlined references


def _published_validator(obj: Obj) -> Any:
    """The object's schema as published, every reference resolved by jsonschema."""
    from offline.check.kubernetes.crds import crd_groups
    from offline.check.kubernetes.objects import split_api_version
    from offline.check.kubernetes.schemas import _core_registry, core_schema

    group, version = split_api_version(obj["apiVersion"])
    if group in crd_groups():
        schema = crd_json_schema(crd_index()[(group, obj["kind"])].versions[version].schema)
        return jsonschema.Draft202012Validator(schema, registry=_core_registry(K8S))
    found = core_schema(K8S, obj["apiVersion"], obj["kind"])
    assert found is not None
    return jsonschema.Draft202012Validator(found[0], registry=found[1])


def _inlined_validator(obj: Obj) -> Any:
    from offline.check.kubernetes.crds import _crd_validator, crd_groups
    from offline.check.kubernetes.objects import split_api_version
    from offline.check.kubernetes.schemas import _core_validator

    group, version = split_api_version(obj["apiVersion"])
    if group in crd_groups():
        return _crd_validator(group, version, obj["kind"], K8S)
    return _core_validator(K8S, obj["apiVersion"], obj["kind"])


def _issues(validator: Any, obj: Obj) -> list[Any]:
    from offline.check.kubernetes.wording import describe_schema_error

    return [issue for error in validator.iter_errors(obj) for issue in describe_schema_error(error)]


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            found += _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            found += _paths(sub, (*prefix, index))
    return found


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70000) | st.floats(allow_nan=False) | st.text(max_size=12)
    | st.sampled_from(["TCP", "Always", "100m", "1Gi", "ClusterIP", "-1", "a" * 70]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["name", "port", "image", "x", "value", "protocol", "key"]), inner, max_size=3),
    max_leaves=8)


def test_inlined_schemas_cover_every_kind_the_bundle_uses_and_reference_nothing_they_can_inline() -> None:
    for obj in platform_objects():
        inlined = _inlined_validator(obj).schema
        assert _issues(_inlined_validator(obj), obj) == [] == _issues(_published_validator(obj), obj)
        # What remains a reference is a recursive one (JSONSchemaProps), made absolute.
        remaining = [p for p in _paths(inlined) if p and p[-1] == "$ref"]
        for path in remaining:
            node: Any = inlined
            for part in path:
                node = node[part]
            assert node.startswith("https://kubernetes.io/api/_definitions.json#/$defs/"), node


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_inlined_references_report_exactly_what_the_published_schemas_report(data: st.DataObject) -> None:
    obj = copy.deepcopy(data.draw(st.sampled_from(platform_objects()), label="object"))
    inlined, published = _inlined_validator(obj), _published_validator(obj)
    path = data.draw(st.sampled_from(_paths(obj)[1:]), label="path")
    parent: Any = obj
    for part in path[:-1]:
        parent = parent[part]
    if data.draw(st.booleans(), label="delete") and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(_JSON_VALUES, label="value")
    assert _issues(inlined, obj) == _issues(published, obj)
