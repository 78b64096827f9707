"""Cluster add-ons: pinned charts, release options, values, the ALB controller's IRSA
role and the ordering between releases."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest

from builders import charts, iam
from builders.charts import (
    AWS_LOAD_BALANCER_CONTROLLER_CHART,
    EXTERNAL_SECRETS_CHART,
    INGRESS_NGINX_CHART,
    KEDA_CHART,
    METRICS_SERVER_CHART,
    ChartSpec,
)
from builders.customer_iam import keda_role_name, keda_role_name_pattern
from builders.iam_policies import AWS_LOAD_BALANCER_CONTROLLER_POLICY_FILE, aws_load_balancer_controller_policy
from builders.karpenter import KARPENTER_CHART, KARPENTER_CRD_CHART
from components.aws_load_balancer_controller import AwsLoadBalancerController, AwsLoadBalancerControllerArgs
from components.external_secrets_operator import ExternalSecretsOperator, ExternalSecretsOperatorArgs
from components.ingress_nginx import IngressNginx, IngressNginxArgs
from components.keda import CUSTOMER_ROLE_NAME_PREFIX, Keda, KedaArgs, customer_role_arn_pattern
from components.metrics_server import MetricsServer, MetricsServerArgs
from offline.run.runner import PlanRun, Resource
from tests.harness import children_of, of_type, one, run

ROOT = Path(__file__).resolve().parent.parent
RELEASE = "kubernetes:helm.sh/v3:Release"
NAMESPACE = "kubernetes:core/v1:Namespace"
OIDC_ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789"
OIDC_URL = "https://oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789"
OIDC_ISSUER = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789"
KUBECONFIG = json.dumps({
    "apiVersion": "v1", "kind": "Config", "current-context": "unit",
    "clusters": [{"name": "unit", "cluster": {"server": "https://unit.example"}}],
    "contexts": [{"name": "unit", "context": {"cluster": "unit", "user": "unit"}}],
    "users": [{"name": "unit", "user": {"token": "unit"}}],
})


def _all_addons() -> dict[str, Any]:
    aws_provider = aws.Provider("aws", region="eu-west-1")
    k8s_provider = k8s.Provider("k8s", kubeconfig=KUBECONFIG)
    opts = pulumi.ResourceOptions(providers=[aws_provider, k8s_provider])
    nodes = aws.ec2.Vpc("nodes", cidr_block="10.0.0.0/16", opts=pulumi.ResourceOptions(provider=aws_provider))
    alb = AwsLoadBalancerController(
        "alb",
        AwsLoadBalancerControllerArgs(
            cluster_name=pulumi.Output.from_input("datafly-prod"),
            region="eu-west-1",
            vpc_id=nodes.id,
            oidc_provider_arn=pulumi.Output.from_input(OIDC_ARN),
            oidc_provider_url=pulumi.Output.from_input(OIDC_URL),
            depends_on=[nodes],
        ),
        opts,
    )
    keda = Keda(
        "keda",
        KedaArgs(
            cluster_name="datafly-prod",
            oidc_provider_arn=pulumi.Output.from_input(OIDC_ARN),
            oidc_provider_url=pulumi.Output.from_input(OIDC_URL),
            depends_on=[nodes],
            customer_role_name_pattern="datafly-keda-prod-*",
        ),
        opts,
    )
    eso = ExternalSecretsOperator("eso", ExternalSecretsOperatorArgs(depends_on=[nodes]), opts)
    metrics = MetricsServer("metrics", MetricsServerArgs(depends_on=[nodes]), opts)
    nginx = IngressNginx("nginx", IngressNginxArgs(replicas=3, depends_on=[nodes, alb.release]), opts)
    return {
        "albStatus": alb.release.status,
        "kedaStatus": keda.release.status,
        "nginxNamespace": nginx.namespace,
        "esoReleaseId": eso.release.id,
        "metricsReleaseId": metrics.release.id,
        "albRoleArn": alb.role_arn,
        "kedaOperatorRoleArn": keda.operator_role_arn,
        "vpcId": nodes.id,
    }


@pytest.fixture(scope="module")
def plan() -> PlanRun:
    return run(_all_addons, region="eu-west-1")


def _component(plan: PlanRun, type_: str) -> Resource:
    return one(plan, type_)


def _values(plan: PlanRun, name: str) -> dict[str, Any]:
    values: dict[str, Any] = one(plan, RELEASE, name).inputs["values"]
    return values


# ---------------------------------------------------------------------------
# Releases
# ---------------------------------------------------------------------------

RELEASES = [
    # component type, release resource name, chart spec, release name, namespace
    ("datafly:addons:Keda", "keda-release", KEDA_CHART, "keda", "keda"),
    ("datafly:addons:ExternalSecretsOperator", "eso-release", EXTERNAL_SECRETS_CHART, "external-secrets", "external-secrets"),
    ("datafly:addons:AwsLoadBalancerController", "alb-release", AWS_LOAD_BALANCER_CONTROLLER_CHART,
     "aws-load-balancer-controller", "kube-system"),
    ("datafly:addons:MetricsServer", "metrics-release", METRICS_SERVER_CHART, "metrics-server", "kube-system"),
    ("datafly:addons:IngressNginx", "nginx-release", INGRESS_NGINX_CHART, "ingress-nginx", "ingress-nginx"),
]


@pytest.mark.parametrize("component_type,resource_name,spec,release_name,namespace", RELEASES)
def test_release_chart_and_options(
    plan: PlanRun, component_type: str, resource_name: str, spec: ChartSpec, release_name: str, namespace: str
) -> None:
    release = one(plan, RELEASE, resource_name)
    component = _component(plan, component_type)
    assert release.parent == component.urn
    assert release.provider is not None and release.provider.endswith("pulumi:providers:kubernetes::k8s")
    inputs = release.inputs
    assert {k: inputs[k] for k in (
        "name", "chart", "version", "repositoryOpts", "namespace", "atomic", "cleanupOnFail",
        "waitForJobs", "skipCrds", "timeout", "createNamespace", "maxHistory",
    )} == {
        "name": release_name,
        "chart": spec.chart,
        "version": spec.version,
        "repositoryOpts": {"repo": spec.repository},
        "namespace": namespace,
        "atomic": True,
        "cleanupOnFail": True,
        "waitForJobs": True,
        # The ALB controller's chart keeps its CRDs in crds/, which Helm never upgrades:
        # they are resources of the component instead (test_alb_controller_crds...).
        "skipCrds": spec is AWS_LOAD_BALANCER_CONTROLLER_CHART,
        "timeout": 600,
        "createNamespace": False,
        "maxHistory": 10,
    }
    # A depends_on passed in args reaches the release itself.
    assert one(plan, "aws:ec2/vpc:Vpc", "nodes").urn in release.dependencies


CRD = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"


@pytest.mark.parametrize("spec,chart,repository,version", [
    (KEDA_CHART, "keda", "https://kedacore.github.io/charts", "2.20.2"),
    (EXTERNAL_SECRETS_CHART, "external-secrets", "https://charts.external-secrets.io", "2.9.0"),
    (AWS_LOAD_BALANCER_CONTROLLER_CHART, "aws-load-balancer-controller", "https://aws.github.io/eks-charts", "3.5.0"),
    (METRICS_SERVER_CHART, "metrics-server", "https://kubernetes-sigs.github.io/metrics-server/", "3.13.0"),
    (INGRESS_NGINX_CHART, "ingress-nginx", "https://kubernetes.github.io/ingress-nginx", "4.15.1"),
    # OCI charts: the registry is part of `chart`, there is no repository.
    (KARPENTER_CHART, "oci://public.ecr.aws/karpenter/karpenter", "", "1.14.1"),
    (KARPENTER_CRD_CHART, "oci://public.ecr.aws/karpenter/karpenter-crd", "", "1.14.1"),
])
def test_pinned_charts(spec: ChartSpec, chart: str, repository: str, version: str) -> None:
    assert (spec.chart, spec.repository, spec.version) == (chart, repository, version)


@pytest.mark.parametrize("component_type,children", [
    ("datafly:addons:Keda", {
        (NAMESPACE, "keda-namespace"),
        ("aws:iam/role:Role", "keda-operator-role"),
        ("aws:iam/rolePolicy:RolePolicy", "keda-operator-policy"),
        (RELEASE, "keda-release"),
    }),
    ("datafly:addons:ExternalSecretsOperator", {(NAMESPACE, "eso-namespace"), (RELEASE, "eso-release")}),
    ("datafly:addons:IngressNginx", {(NAMESPACE, "nginx-namespace"), (RELEASE, "nginx-release")}),
    ("datafly:addons:MetricsServer", {(RELEASE, "metrics-release")}),
    ("datafly:addons:AwsLoadBalancerController", {
        ("aws:iam/role:Role", "alb-role"),
        ("aws:iam/policy:Policy", "alb-policy"),
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "alb-policy-attachment"),
        (RELEASE, "alb-release"),
        *((CRD, f"alb-crd-{name}") for name in (
            "albtargetcontrolconfigs", "globalaccelerators", "ingressclassparams", "targetgroupbindings")),
    }),
])
def test_component_children(plan: PlanRun, component_type: str, children: set[tuple[str, str]]) -> None:
    component = _component(plan, component_type)
    assert {(r.type, r.name) for r in children_of(plan, component)} == children


@pytest.mark.parametrize("namespace_resource,release_resource,name,enforce", [
    ("keda-namespace", "keda-release", "keda", "restricted"),
    ("eso-namespace", "eso-release", "external-secrets", "restricted"),
    ("nginx-namespace", "nginx-release", "ingress-nginx", "baseline"),
])
def test_addon_namespaces(plan: PlanRun, namespace_resource: str, release_resource: str, name: str, enforce: str) -> None:
    ns = one(plan, NAMESPACE, namespace_resource)
    labels = ns.inputs["metadata"]["labels"]
    assert ns.inputs["metadata"]["name"] == name
    assert labels["pod-security.kubernetes.io/enforce"] == enforce
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
    # The release is installed into (and deleted before) its namespace.
    assert ns.urn in one(plan, RELEASE, release_resource).dependencies


def test_no_namespace_created_for_kube_system(plan: PlanRun) -> None:
    assert sorted(r.inputs["metadata"]["name"] for r in of_type(plan, NAMESPACE)) == [
        "external-secrets", "ingress-nginx", "keda",
    ]


def test_release_status_fabricated(plan: PlanRun) -> None:
    assert plan.outputs["kedaStatus"].value == {
        "name": "keda", "namespace": "keda", "status": "deployed", "version": "2.20.2",
        "chart": "keda", "revision": 1,
    }
    assert plan.outputs["albStatus"].value["namespace"] == "kube-system"
    assert plan.outputs["nginxNamespace"].value == "ingress-nginx"


# ---------------------------------------------------------------------------
# Versions stay in step with the vendored CRD schemas
# ---------------------------------------------------------------------------


def _schema_versions() -> dict[str, str]:
    text = (ROOT / "schemas" / "SOURCES.md").read_text(encoding="utf-8")
    found: dict[str, set[str]] = {}
    for directory, version in re.findall(r"^\| `crds/([^/`]+)/[^`]+` \|.*?\| (v[0-9][^ ]*) → [0-9a-f]{40} \|", text, re.M):
        found.setdefault(directory, set()).add(version)
    assert all(len(v) == 1 for v in found.values()), f"one upstream version per project, got {found}"
    return {directory: versions.pop() for directory, versions in found.items()}


def test_sources_table_parsed() -> None:
    assert set(_schema_versions()) == {"keda", "external-secrets", "aws-load-balancer-controller", "karpenter"}


@pytest.mark.parametrize("directory,spec", [
    ("keda", KEDA_CHART),
    ("external-secrets", EXTERNAL_SECRETS_CHART),
    ("aws-load-balancer-controller", AWS_LOAD_BALANCER_CONTROLLER_CHART),
    ("karpenter", KARPENTER_CHART),
    ("karpenter", KARPENTER_CRD_CHART),
])
def test_chart_ships_the_vendored_crd_version(directory: str, spec: ChartSpec) -> None:
    vendored = _schema_versions()[directory]
    assert spec.app_version.removeprefix("v") == vendored.removeprefix("v")
    # These charts are versioned with their application (KEDA 2.20.2 → chart
    # 2.20.2; ESO v2.9.0 → 2.9.0; ALB controller v3.x → chart 3.x; Karpenter v1.14.1 →
    # charts karpenter and karpenter-crd 1.14.1).
    assert spec.version == vendored.removeprefix("v")


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


def test_keda_values(plan: PlanRun) -> None:
    values = _values(plan, "keda-release")
    role_arn = plan.outputs["kedaOperatorRoleArn"].value
    assert role_arn.startswith("arn:aws:iam::123456789012:role/keda-operator-role-")
    assert values == charts.keda_values(operator_role_arn=role_arn)
    assert values["crds"] == {"install": True}
    # The AMP scraper reads the operator and the metrics adapter (builders/observability.py).
    assert values["prometheus"] == {
        "operator": {"enabled": True}, "metricServer": {"enabled": True}, "webhooks": {"enabled": False}}
    for component in ("operator", "metricServer", "webhooks"):
        assert values["podSecurityContext"][component]["runAsNonRoot"] is True
        assert set(values["resources"][component]) == {"requests", "limits"}
        assert values["podDisruptionBudget"][component] == {"minAvailable": 1}
    assert values["resources"]["operator"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "1000Mi"},
    }
    # Only the operator's service account gets the role; no other identity is enabled.
    assert values["podIdentity"] == {"aws": {"irsa": {"enabled": True, "roleArn": role_arn}}}
    assert [v for _, v in _walk(values) if isinstance(v, str) and ":iam::" in v] == [role_arn]


def _walk(value: Any) -> list[tuple[str, Any]]:
    """Every (key, value) pair in a nested structure."""
    pairs: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            pairs.append((k, v))
            pairs.extend(_walk(v))
    elif isinstance(value, list):
        for item in value:
            pairs.extend(_walk(item))
    return pairs


def test_external_secrets_values(plan: PlanRun) -> None:
    values = _values(plan, "eso-release")
    assert values == charts.external_secrets_values()
    assert values["installCRDs"] is True
    assert values["webhook"]["create"] is True
    assert values["certController"]["create"] is True
    assert {k: values[k] for k in (
        "processClusterStore", "processClusterExternalSecret", "processClusterPushSecret",
        "processClusterGenerator", "processPushSecret", "processSecretStore",
    )} == {
        "processClusterStore": False, "processClusterExternalSecret": False, "processClusterPushSecret": False,
        "processClusterGenerator": False, "processPushSecret": False, "processSecretStore": True,
    }
    assert values["serviceAccount"] == {"create": True, "name": "external-secrets"}
    # No AWS identity anywhere: no IRSA annotation, no role ARN, no annotations at all.
    pairs = _walk(values)
    assert not [k for k, _ in pairs if k == "annotations" or "role-arn" in k]
    assert not [v for _, v in pairs if isinstance(v, str) and ":iam::" in v]


def test_external_secrets_operator_has_no_iam(plan: PlanRun) -> None:
    component = _component(plan, "datafly:addons:ExternalSecretsOperator")
    assert not [r for r in children_of(plan, component) if r.type.startswith("aws:")]


def test_aws_load_balancer_controller_values(plan: PlanRun) -> None:
    values = _values(plan, "alb-release")
    vpc_id = plan.outputs["vpcId"].value
    role_arn = plan.outputs["albRoleArn"].value
    assert vpc_id.startswith("vpc-")
    assert values == charts.aws_load_balancer_controller_values(
        cluster_name="datafly-prod", region="eu-west-1", vpc_id=vpc_id, role_arn=role_arn
    )
    assert {k: values[k] for k in ("clusterName", "region", "vpcId", "replicaCount", "enableServiceMutatorWebhook")} == {
        "clusterName": "datafly-prod", "region": "eu-west-1", "vpcId": vpc_id, "replicaCount": 2,
        "enableServiceMutatorWebhook": False,
    }
    assert values["serviceAccount"] == {
        "create": True,
        "name": "aws-load-balancer-controller",
        "annotations": {"eks.amazonaws.com/role-arn": role_arn},
    }
    assert values["podDisruptionBudget"] == {"maxUnavailable": 1}


def test_aws_load_balancer_controller_values_builder() -> None:
    assert charts.aws_load_balancer_controller_values("c", "us-east-2", "vpc-1", "arn:aws:iam::1:role/r") == {
        "clusterName": "c",
        "region": "us-east-2",
        "vpcId": "vpc-1",
        "replicaCount": 2,
        "serviceAccount": {
            "create": True,
            "name": "aws-load-balancer-controller",
            "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"},
        },
        "enableServiceMutatorWebhook": False,
        "podDisruptionBudget": {"maxUnavailable": 1},
        "ingressClass": "alb",
        "createIngressClassResource": True,
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        # On the system node group (tests/test_addons.py::test_every_addon_runs_on_system_nodes).
        "nodeSelector": {"datafly.io/node-role": "system"},
        "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}],
    }


def test_metrics_server_values(plan: PlanRun) -> None:
    values = _values(plan, "metrics-release")
    assert values == charts.metrics_server_values()
    assert values["replicas"] == 2
    assert values["podDisruptionBudget"] == {"enabled": True, "minAvailable": 1}


@pytest.mark.parametrize("replicas,pdb", [(1, None), (2, 1), (5, 1)])
def test_ingress_nginx_values(replicas: int, pdb: int | None) -> None:
    controller = charts.ingress_nginx_values(replicas)["controller"]
    assert controller["replicaCount"] == replicas
    assert controller.get("minAvailable") == pdb
    assert controller["ingressClassResource"] == {
        "name": "nginx", "enabled": True, "default": False, "controllerValue": "k8s.io/ingress-nginx",
    }
    assert controller["allowSnippetAnnotations"] is False
    assert controller["service"] == {
        "type": "LoadBalancer",
        "annotations": {
            "service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        },
    }


def test_ingress_nginx_release_values(plan: PlanRun) -> None:
    assert _values(plan, "nginx-release") == charts.ingress_nginx_values(3)


# ---------------------------------------------------------------------------
# ALB controller IAM and ordering
# ---------------------------------------------------------------------------


def test_alb_irsa_trust_policy(plan: PlanRun) -> None:
    role = one(plan, "aws:iam/role:Role", "alb-role")
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": OIDC_ARN},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{OIDC_ISSUER}:sub": "system:serviceaccount:kube-system:aws-load-balancer-controller",
                f"{OIDC_ISSUER}:aud": "sts.amazonaws.com",
            }},
        }],
    }
    assert role.provider is not None and role.provider.endswith("pulumi:providers:aws::aws")


def test_alb_policy_is_the_upstream_document(plan: PlanRun) -> None:
    policy = one(plan, "aws:iam/policy:Policy", "alb-policy")
    upstream = json.loads(AWS_LOAD_BALANCER_CONTROLLER_POLICY_FILE.read_text(encoding="utf-8"))
    assert json.loads(policy.inputs["policy"]) == upstream == aws_load_balancer_controller_policy()
    # IAM's managed-policy limit is 6,144 characters excluding whitespace.
    assert len(policy.inputs["policy"]) <= 6144


def test_alb_policy_attachment(plan: PlanRun) -> None:
    attachment = one(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "alb-policy-attachment")
    role = one(plan, "aws:iam/role:Role", "alb-role")
    policy = one(plan, "aws:iam/policy:Policy", "alb-policy")
    assert attachment.inputs["policyArn"].startswith("arn:aws:iam:")
    assert {role.urn, policy.urn} <= set(attachment.dependencies)


def test_alb_controller_crds_are_the_pinned_charts_and_precede_the_release(plan: PlanRun) -> None:
    from builders.charts import aws_load_balancer_controller_crds
    release = one(plan, RELEASE, "alb-release")
    for crd in aws_load_balancer_controller_crds():
        resource = one(plan, CRD, "alb-crd-" + crd["metadata"]["name"].split(".", 1)[0])
        assert resource.inputs["spec"] == crd["spec"]
        assert resource.inputs["metadata"]["name"] == crd["metadata"]["name"]
        assert resource.retain_on_delete
        assert resource.urn in release.dependencies


def test_alb_release_depends_on_policy_attachment(plan: PlanRun) -> None:
    release = one(plan, RELEASE, "alb-release")
    attachment = one(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "alb-policy-attachment")
    role = one(plan, "aws:iam/role:Role", "alb-role")
    assert attachment.urn in release.dependencies
    assert role.urn in release.dependencies


def test_ingress_nginx_depends_on_alb_controller_release(plan: PlanRun) -> None:
    assert one(plan, RELEASE, "alb-release").urn in one(plan, RELEASE, "nginx-release").dependencies


@pytest.mark.parametrize("release", ["keda-release", "eso-release", "metrics-release"])
def test_other_addons_do_not_wait_for_the_alb_controller(plan: PlanRun, release: str) -> None:
    assert one(plan, RELEASE, "alb-release").urn not in one(plan, RELEASE, release).dependencies


# ---------------------------------------------------------------------------
# KEDA operator IAM: IRSA in, sts:AssumeRole on customer roles out
# ---------------------------------------------------------------------------


def test_keda_operator_irsa_trust_policy(plan: PlanRun) -> None:
    role = one(plan, "aws:iam/role:Role", "keda-operator-role")
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": OIDC_ARN},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                f"{OIDC_ISSUER}:sub": "system:serviceaccount:keda:keda-operator",
                f"{OIDC_ISSUER}:aud": "sts.amazonaws.com",
            }},
        }],
    }
    assert role.inputs["description"] == "KEDA operator of datafly-prod (IRSA, keda/keda-operator)"
    # Auto-named, so a replacement shows up as a new ARN in every customer stack.
    assert "name" not in role.inputs
    assert role.parent == _component(plan, "datafly:addons:Keda").urn
    assert role.provider is not None and role.provider.endswith("pulumi:providers:aws::aws")


def test_keda_operator_inline_policy_only_assumes_customer_roles(plan: PlanRun) -> None:
    policy = one(plan, "aws:iam/rolePolicy:RolePolicy", "keda-operator-policy")
    role = one(plan, "aws:iam/role:Role", "keda-operator-role")
    assert json.loads(policy.inputs["policy"]) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": "arn:aws:iam::123456789012:role/datafly-keda-prod-*",
        }],
    }
    assert policy.inputs["role"] == plan.outputs["kedaOperatorRoleArn"].value.rsplit("/", 1)[1]
    assert role.urn in policy.dependencies
    assert policy.parent == _component(plan, "datafly:addons:Keda").urn
    assert policy.provider is not None and policy.provider.endswith("pulumi:providers:aws::aws")


def test_keda_release_depends_on_operator_policy(plan: PlanRun) -> None:
    release = one(plan, RELEASE, "keda-release")
    assert one(plan, "aws:iam/rolePolicy:RolePolicy", "keda-operator-policy").urn in release.dependencies
    assert one(plan, "aws:iam/role:Role", "keda-operator-role").urn in release.dependencies


@pytest.mark.parametrize("oidc_arn,pattern", [
    (OIDC_ARN, "arn:aws:iam::123456789012:role/datafly-keda-prod-*"),
    ("arn:aws-cn:iam::210987654321:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/AB",
     "arn:aws-cn:iam::210987654321:role/datafly-keda-prod-*"),
    ("arn:aws-us-gov:iam::111122223333:oidc-provider/oidc.eks.us-gov-west-1.amazonaws.com/id/AB",
     "arn:aws-us-gov:iam::111122223333:role/datafly-keda-prod-*"),
])
def test_customer_role_arn_pattern_follows_the_oidc_provider(oidc_arn: str, pattern: str) -> None:
    assert customer_role_arn_pattern(oidc_arn, keda_role_name_pattern("prod")) == pattern


@pytest.mark.parametrize("bad", [
    "",
    "arn:aws:iam::123456789012:role/keda",
    "arn:aws:iam:::oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB",
    "arn:aws:sts::123456789012:oidc-provider/x",
    "oidc.eks.eu-west-1.amazonaws.com/id/AB",
])
def test_customer_role_arn_pattern_rejects_other_arns(bad: str) -> None:
    with pytest.raises(ValueError):
        customer_role_arn_pattern(bad, "datafly-keda-prod-*")


@pytest.mark.parametrize("environment,customer,matches", [
    ("prod", "acme", True),
    ("a" * 20, "a" * 20, False),  # another environment's role
    ("prod", "a" * 20, True),
])
def test_customer_role_names_fit_the_pattern_and_iam_limits(environment: str, customer: str, matches: bool) -> None:
    name = keda_role_name(environment, customer)
    assert name.startswith(CUSTOMER_ROLE_NAME_PREFIX)
    pattern = customer_role_arn_pattern(OIDC_ARN, keda_role_name_pattern("prod"))
    assert fnmatch.fnmatchcase(f"arn:aws:iam::123456789012:role/{name}", pattern) is matches
    assert len(name) <= 64  # IAM role name limit


def test_a_dedicated_clusters_operator_may_assume_its_customers_role_only() -> None:
    pattern = customer_role_arn_pattern(OIDC_ARN, keda_role_name_pattern("prod", "initech"))
    assert pattern == "arn:aws:iam::123456789012:role/datafly-keda-prod-initech"
    with pytest.raises(ValueError):
        customer_role_arn_pattern(OIDC_ARN, "admin-*")


def test_other_role_names_do_not_fit_the_pattern() -> None:
    pattern = customer_role_arn_pattern(OIDC_ARN, keda_role_name_pattern("prod"))
    for arn in ("arn:aws:iam::123456789012:role/datafly-keda",
                "arn:aws:iam::123456789012:role/datafly-keda-acme",
                "arn:aws:iam::123456789012:role/datafly-keda-staging-acme",
                "arn:aws:iam::123456789012:role/prod-keda-operator-role-abc1234",
                "arn:aws:iam::999999999999:role/datafly-keda-prod-acme"):
        assert not fnmatch.fnmatchcase(arn, pattern), arn


def test_assume_roles_policy_builder() -> None:
    assert iam.assume_roles_policy("arn:aws:iam::1:role/p-*") == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::1:role/p-*"}],
    }


def test_role_trust_policy_builder() -> None:
    assert iam.role_trust_policy("arn:aws:iam::1:role/keda-operator-role-x") == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::1:role/keda-operator-role-x"},
            "Action": "sts:AssumeRole",
        }],
    }


def test_keda_values_builder_sets_operator_irsa() -> None:
    values = charts.keda_values(operator_role_arn="arn:aws:iam::1:role/r")
    assert values["podIdentity"] == {"aws": {"irsa": {"enabled": True, "roleArn": "arn:aws:iam::1:role/r"}}}
    # The chart's default operator service account is what the trust policy names.
    assert "serviceAccount" not in values
    assert charts.KEDA_OPERATOR_SERVICE_ACCOUNT == "keda-operator"


SYSTEM = {"nodeSelector": {"datafly.io/node-role": "system"},
          "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists", "effect": "NoSchedule"}]}


@pytest.mark.parametrize("values, paths", [
    (charts.keda_values("arn:aws:iam::1:role/r"), [()]),
    (charts.external_secrets_values(), [(), ("webhook",), ("certController",)]),
    (charts.aws_load_balancer_controller_values("c", "r", "v", "a"), [()]),
    (charts.metrics_server_values(), [()]),
    (charts.ingress_nginx_values(2), [("controller",), ("controller", "admissionWebhooks", "patch")]),
])
def test_every_addon_runs_on_system_nodes(values: dict[str, Any], paths: list[tuple[str, ...]]) -> None:
    """Each chart's pods select the system label and tolerate its taint, at each key the
    chart reads for them (customer nodes stay for customer pods)."""
    for path in paths:
        node = values
        for key in path:
            node = node[key]
        assert {k: v for k, v in node["nodeSelector"].items() if k != "kubernetes.io/os"} == SYSTEM["nodeSelector"]
        assert node["tolerations"] == SYSTEM["tolerations"]
