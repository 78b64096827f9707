"""Cluster add-ons: the pinned Helm charts and the values each is installed with.

Every chart version lives in exactly one `ChartSpec` constant below. KEDA, External
Secrets and the AWS Load Balancer Controller install the CRDs whose schemas the offline
plan validates custom resources against (schemas/SOURCES.md); their versions must move
together with those files, which tests/test_addons.py enforces.

Values are plain data. Keys were checked against each chart's `values.yaml` (and, for
External Secrets, its `values.schema.json`); a misspelt key is silently ignored by Helm,
so the tests pin the exact structure.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .labels import MANAGED_BY, PART_OF
from .yaml_text import safe_load_all


@dataclass(frozen=True)
class ChartSpec:
    chart: str
    repository: str
    version: str
    # The application release the chart version ships; the CRD schemas are vendored
    # from this tag.
    app_version: str


# kedacore/charts `keda/Chart.yaml`: chart and app versions move in lockstep
# (https://github.com/kedacore/charts, `version: 2.20.2`, `appVersion: 2.20.2`).
KEDA_CHART = ChartSpec(
    chart="keda",
    repository="https://kedacore.github.io/charts",
    version="2.20.2",
    app_version="2.20.2",
)

# external-secrets/external-secrets `deploy/charts/external-secrets/Chart.yaml`: the chart
# is released with the operator, `version: X` / `appVersion: vX`
# (https://github.com/external-secrets/external-secrets/tree/v2.9.0/deploy/charts/external-secrets).
EXTERNAL_SECRETS_CHART = ChartSpec(
    chart="external-secrets",
    repository="https://charts.external-secrets.io",
    version="2.9.0",
    app_version="v2.9.0",
)

# aws/eks-charts `stable/aws-load-balancer-controller`: from controller v3.0.0 on the chart
# version equals the controller version (v2.x shipped as chart 1.x); chart 3.5.0 ships
# appVersion v3.5.0 (https://github.com/aws/eks-charts, automated release PRs
# "aws-load-balancer-controller v3.x.y Automated Release").
AWS_LOAD_BALANCER_CONTROLLER_CHART = ChartSpec(
    chart="aws-load-balancer-controller",
    repository="https://aws.github.io/eks-charts",
    version="3.5.0",
    app_version="v3.5.0",
)

# kubernetes-sigs/metrics-server `charts/metrics-server/Chart.yaml`: chart 3.13.0 ships
# metrics-server v0.8.0 (https://github.com/kubernetes-sigs/metrics-server/releases/tag/metrics-server-helm-chart-3.13.0).
METRICS_SERVER_CHART = ChartSpec(
    chart="metrics-server",
    repository="https://kubernetes-sigs.github.io/metrics-server/",
    version="3.13.0",
    app_version="0.8.0",
)

# prometheus-community/helm-charts `charts/kube-state-metrics/Chart.yaml` at tag
# kube-state-metrics-8.4.0: `version: 8.4.0`, `appVersion: 2.20.0`
# (https://github.com/prometheus-community/helm-charts/releases/tag/kube-state-metrics-8.4.0).
KUBE_STATE_METRICS_CHART = ChartSpec(
    chart="kube-state-metrics",
    repository="https://prometheus-community.github.io/helm-charts",
    version="8.4.0",
    app_version="2.20.0",
)

# kubernetes/ingress-nginx `charts/ingress-nginx/Chart.yaml`: chart 4.15.1 ships controller
# v1.15.1 (https://github.com/kubernetes/ingress-nginx/releases/tag/helm-chart-4.15.1).
# Fixes for CVE-2025-1974 ("IngressNightmare") landed in 1.11.5/1.12.1, well below this.
INGRESS_NGINX_CHART = ChartSpec(
    chart="ingress-nginx",
    repository="https://kubernetes.github.io/ingress-nginx",
    version="4.15.1",
    app_version="1.15.1",
)


# ---------------------------------------------------------------------------
# Namespaces and names
# ---------------------------------------------------------------------------

KEDA_NAMESPACE = "keda"
EXTERNAL_SECRETS_NAMESPACE = "external-secrets"
INGRESS_NGINX_NAMESPACE = "ingress-nginx"
# The ALB controller and metrics-server are cluster infrastructure that EKS itself
# expects in kube-system (metrics-server registers the `metrics.k8s.io` APIService).
KUBE_SYSTEM = "kube-system"

AWS_LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT = "aws-load-balancer-controller"
EXTERNAL_SECRETS_SERVICE_ACCOUNT = "external-secrets"
# The KEDA chart's default operator service account (`serviceAccount.operator.name`,
# kedacore/charts keda/README.md); the operator's IRSA trust policy names it, so the
# values leave it at the default rather than risk a rename the trust does not follow.
KEDA_OPERATOR_SERVICE_ACCOUNT = "keda-operator"
INGRESS_NGINX_CLASS = "nginx"
ALB_INGRESS_CLASS = "alb"

IRSA_ROLE_ANNOTATION = "eks.amazonaws.com/role-arn"


def addon_namespace(name: str, pod_security: str) -> dict[str, Any]:
    """An add-on's own namespace with Pod Security Admission labels. `enforce` is the
    level the chart's pods are known to meet; `audit`/`warn` always report against
    `restricted` so drift towards it stays visible."""
    labels = {
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "app.kubernetes.io/component": "addon",
        "pod-security.kubernetes.io/enforce": pod_security,
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "latest",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
    }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _resources(cpu_request: str, memory_request: str, cpu_limit: str, memory_limit: str) -> dict[str, Any]:
    return {
        "requests": {"cpu": cpu_request, "memory": memory_request},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


# A PodDisruptionBudget that still lets a node drain when two replicas run.
_PDB_MIN_ONE = {"minAvailable": 1}

# The controllers run on the system node group (tainted CriticalAddonsOnly, labelled
# datafly.io/node-role=system; builders/karpenter.py): they tolerate the taint and
# select the label, so none lands on a node Karpenter may consolidate away, and the
# customer nodes hold customer pods only. Same keys in every chart below.
# `CriticalAddonsOnly` is the taint the Karpenter chart and the EKS CoreDNS add-on
# tolerate by default.
SYSTEM_NODE_LABEL_KEY = "datafly.io/node-role"
SYSTEM_NODE_LABEL_VALUE = "system"
SYSTEM_TAINT_KEY = "CriticalAddonsOnly"
SYSTEM_TAINT_VALUE = "true"
SYSTEM_TAINT_EFFECT = "NoSchedule"
SYSTEM_NODE_SELECTOR = {SYSTEM_NODE_LABEL_KEY: SYSTEM_NODE_LABEL_VALUE}
SYSTEM_TOLERATIONS = [{"key": SYSTEM_TAINT_KEY, "operator": "Exists", "effect": SYSTEM_TAINT_EFFECT}]


def _on_system_nodes(**extra_selector: str) -> dict[str, Any]:
    return {
        "nodeSelector": {**extra_selector, **SYSTEM_NODE_SELECTOR},
        "tolerations": [dict(t) for t in SYSTEM_TOLERATIONS],
    }


# ---------------------------------------------------------------------------
# KEDA
# ---------------------------------------------------------------------------


def keda_values(operator_role_arn: str) -> dict[str, Any]:
    """Two replicas per KEDA deployment: only one operator is leader and only one metrics
    adapter serves, but a second copy turns a node loss into a failover instead of every
    ScaledObject (and, through the `external.metrics.k8s.io` APIService, every HPA on
    external metrics) stalling until rescheduling.

    `operator_role_arn` is the operator's IRSA role; the chart writes it as the
    `eks.amazonaws.com/role-arn` annotation on the `keda-operator` service account
    (kedacore/charts `keda/templates/manager/serviceaccount.yaml`). Only the operator
    queries scalers (the metrics adapter asks the operator over gRPC), so only its
    service account carries an AWS identity."""
    components = ("operator", "metricServer", "webhooks")
    return {
        "crds": {"install": True},
        "operator": {"replicaCount": 2},
        "metricsServer": {"replicaCount": 2},
        "webhooks": {"enabled": True, "replicaCount": 2},
        "podDisruptionBudget": {c: dict(_PDB_MIN_ONE) for c in components},
        "resources": {
            "operator": _resources("100m", "128Mi", "1", "1000Mi"),
            "metricServer": _resources("100m", "128Mi", "1", "1000Mi"),
            "webhooks": _resources("10m", "32Mi", "100m", "128Mi"),
        },
        "podSecurityContext": {
            c: {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}} for c in components
        },
        "securityContext": {
            c: {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "readOnlyRootFilesystem": True,
                "seccompProfile": {"type": "RuntimeDefault"},
            }
            for c in components
        },
        # The environment's AMP scraper reads the operator's scaler metrics (scaler errors,
        # lag) and the metrics adapter's availability (builders/observability.py); the
        # webhooks' endpoint has nothing the alerts use.
        "prometheus": {
            "operator": {"enabled": True},
            "metricServer": {"enabled": True},
            "webhooks": {"enabled": False},
        },
        # The operator's own role can do nothing but assume the per-customer
        # `datafly-keda-<environment>-<customer>` roles; a customer's TriggerAuthentication names its
        # role in `podIdentity.roleArn` and the operator assumes it for that scaler.
        "podIdentity": {"aws": {"irsa": {"enabled": True, "roleArn": operator_role_arn}}},
        # Top-level: the operator, metrics adapter and webhooks alike.
        **_on_system_nodes(),
    }


# ---------------------------------------------------------------------------
# External Secrets Operator
# ---------------------------------------------------------------------------


def external_secrets_values() -> dict[str, Any]:
    """The controller has no AWS access of its own: its service account carries no IRSA
    annotation, so a SecretStore that names no role gets nothing. Each tenant's namespaced
    SecretStore authenticates with that tenant's own role.

    Cluster-scoped kinds are switched off in the controller, not just forbidden by RBAC:
    a ClusterSecretStore (or ClusterExternalSecret, ClusterPushSecret, ClusterGenerator)
    would let one object serve secrets into any namespace, which is exactly the
    cross-tenant path the platform must not have. The CRDs stay installed so such an
    object is inert rather than an unknown kind, and the schemas match the vendored ones.
    PushSecret is off as well: the platform only reads secrets; writing back into AWS
    Secrets Manager is not a capability tenants get.
    """
    security_context = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    return {
        "installCRDs": True,
        "replicaCount": 2,
        # Two controllers reconciling the same ExternalSecret race each other's writes.
        "leaderElect": True,
        "processClusterStore": False,
        "processClusterExternalSecret": False,
        "processClusterPushSecret": False,
        "processClusterGenerator": False,
        "processPushSecret": False,
        "processSecretStore": True,
        "serviceAccount": {"create": True, "name": EXTERNAL_SECRETS_SERVICE_ACCOUNT},
        "podDisruptionBudget": {"enabled": True, **_PDB_MIN_ONE},
        "resources": _resources("50m", "128Mi", "500m", "512Mi"),
        "securityContext": security_context,
        "serviceMonitor": {"enabled": False},
        "webhook": {
            "create": True,
            # failurePolicy is Fail: with the webhook down no ExternalSecret can be
            # created or changed, so it runs as two replicas with a PDB.
            "replicaCount": 2,
            "podDisruptionBudget": {"enabled": True, **_PDB_MIN_ONE},
            "resources": _resources("10m", "32Mi", "200m", "128Mi"),
            "securityContext": security_context,
            **_on_system_nodes(),
        },
        "certController": {
            "create": True,
            "resources": _resources("10m", "32Mi", "200m", "128Mi"),
            "securityContext": security_context,
            **_on_system_nodes(),
        },
        **_on_system_nodes(),
    }


# ---------------------------------------------------------------------------
# AWS Load Balancer Controller
# ---------------------------------------------------------------------------


# The chart keeps its CRDs in `crds/`, which Helm installs on first install and never
# upgrades (https://helm.sh/docs/chart_best_practices/custom_resource_definitions/), so a
# chart upgrade would run a new controller against old CRD schemas. The program installs
# them itself from the chart's own file at the pinned version and installs the chart
# with `skip_crds`. Vendored byte-identical: aws/eks-charts
# `stable/aws-load-balancer-controller/crds/crds.yaml`@v3.5.0 (schemas/SOURCES.md). The
# chart's `crds/gateway-crds.yaml` (gateway.k8s.aws) is not installed: the Gateway API
# feature gates are off by default and the platform uses Ingresses only.
# KEDA and External Secrets do not share the problem: both charts render their CRDs from
# `templates/` (kedacore/charts `keda/templates/crds/`@v2.20.2, external-secrets
# `deploy/charts/external-secrets/templates/crds/`@v2.9.0, behind `crds.install` /
# `installCRDs`), so Helm upgrades them with the release.
AWS_LOAD_BALANCER_CONTROLLER_CRDS = (
    Path(__file__).resolve().parent.parent / "schemas" / "charts" / "aws-load-balancer-controller" / "crds.yaml"
)


def aws_load_balancer_controller_crds() -> list[dict[str, Any]]:
    """The chart's CustomResourceDefinitions, in file order (a copy the caller may change)."""
    return copy.deepcopy(list(_aws_load_balancer_controller_crds()))


@functools.cache
def _aws_load_balancer_controller_crds() -> tuple[dict[str, Any], ...]:
    # Parsed once per process: the program installs them and a plan check compares them.
    docs = safe_load_all(AWS_LOAD_BALANCER_CONTROLLER_CRDS.read_text(encoding="utf-8"))
    return tuple(doc for doc in docs if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition")


def aws_load_balancer_controller_values(
    cluster_name: str, region: str, vpc_id: str, role_arn: str
) -> dict[str, Any]:
    """`region` and `vpcId` are given explicitly: the controller would otherwise read them
    from IMDS, which pods cannot reach (the nodes' IMDSv2 hop limit is 1).

    The Service mutating webhook is off. It only stamps `loadBalancerClass` onto every
    new `type: LoadBalancer` Service, and with its failurePolicy `Fail` a controller
    outage would block Service writes cluster-wide, tenant namespaces included. The one
    LoadBalancer Service the platform runs (ingress-nginx) opts in explicitly with
    `service.beta.kubernetes.io/aws-load-balancer-type: external`.
    """
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "replicaCount": 2,
        "serviceAccount": {
            "create": True,
            "name": AWS_LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
            "annotations": {IRSA_ROLE_ANNOTATION: role_arn},
        },
        "enableServiceMutatorWebhook": False,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "ingressClass": ALB_INGRESS_CLASS,
        "createIngressClassResource": True,
        "resources": _resources("50m", "128Mi", "500m", "512Mi"),
        **_on_system_nodes(),
    }


# ---------------------------------------------------------------------------
# metrics-server
# ---------------------------------------------------------------------------


def metrics_server_values() -> dict[str, Any]:
    """Two replicas: the `metrics.k8s.io` APIService backs every CPU/memory HPA and
    `kubectl top`; with one replica a node drain pauses all resource-based scaling."""
    return {
        "replicas": 2,
        "podDisruptionBudget": {"enabled": True, **_PDB_MIN_ONE},
        "resources": _resources("100m", "200Mi", "1", "500Mi"),
        "metrics": {"enabled": False},
        "serviceMonitor": {"enabled": False},
        **_on_system_nodes(),
    }


# ---------------------------------------------------------------------------
# ingress-nginx
# ---------------------------------------------------------------------------

# An internet-facing NLB provisioned by the AWS Load Balancer Controller (not the legacy
# in-tree cloud provider, which would make a Classic ELB), routing straight to pod IPs.
NLB_SERVICE_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-type": "external",
    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
}


def ingress_nginx_values(replicas: int) -> dict[str, Any]:
    """Snippet annotations stay off (the chart default since 4.9, pinned here): on a
    shared cluster they let any tenant that can write an Ingress inject nginx config
    into the controller that serves every tenant."""
    controller: dict[str, Any] = {
        "replicaCount": replicas,
        "ingressClass": INGRESS_NGINX_CLASS,
        "ingressClassResource": {
            "name": INGRESS_NGINX_CLASS,
            "enabled": True,
            "default": False,
            "controllerValue": "k8s.io/ingress-nginx",
        },
        "watchIngressWithoutClass": False,
        "allowSnippetAnnotations": False,
        "service": {"type": "LoadBalancer", "annotations": dict(NLB_SERVICE_ANNOTATIONS)},
        # The admission webhook's certificate Jobs too.
        "admissionWebhooks": {"enabled": True, "patch": _on_system_nodes(**{"kubernetes.io/os": "linux"})},
        "metrics": {"enabled": False},
        "resources": _resources("100m", "256Mi", "1", "1Gi"),
        # The chart's default selector is kubernetes.io/os: linux; keep it.
        **_on_system_nodes(**{"kubernetes.io/os": "linux"}),
    }
    # The chart renders a PDB from minAvailable only when more than one replica runs; a
    # PDB of 1 over a single replica would block every node drain.
    if replicas > 1:
        controller["minAvailable"] = 1
    return {"controller": controller}
