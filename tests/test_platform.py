"""The platform stack as a whole: composition order, providers, protection, tags and the
outputs contract customer stacks rely on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.cluster_access import OUTPUT_NAMES
from components.stack import deploy_platform
from offline import plan
from offline.run.runner import PlanRun
from offline.run.stackfile import ROOT
from stackconfig import PlatformConfig
from tests.harness import of_type, one, run

ADMIN = "arn:aws:iam::123456789012:role/platform-admin"
RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.fixture(scope="module")
def platform_plan() -> PlanRun:
    result = plan.Planner().plan("platform")
    assert result.exit_code == plan.EXIT_OK, result.problems + [str(v) for v in result.violations]
    assert result.run is not None
    return result.run


def plan_platform(**overrides: Any) -> PlanRun:
    config = PlatformConfig.model_validate({"environment": "test", "cluster": {"adminRoleArns": [ADMIN], "privateAccessCidrs": ["10.200.0.0/16"]}, **overrides})
    return run(lambda: deploy_platform("us-east-1", config), stack="test")


def test_addons_wait_for_nodes_and_the_alb_webhook(platform_plan: PlanRun) -> None:
    alb = one(platform_plan, RELEASE, "prod-alb-controller-release")
    nodes = one(platform_plan, "aws:eks/nodeGroup:NodeGroup", "prod-eks-nodes")
    assert nodes.urn in alb.dependencies
    for name in ("prod-keda-release", "prod-external-secrets-release", "prod-metrics-server-release",
                 "prod-ingress-nginx-release"):
        release = one(platform_plan, RELEASE, name)
        assert alb.urn in release.dependencies, name
        assert nodes.urn in release.dependencies, name


def test_kubernetes_objects_use_only_the_cluster_provider(platform_plan: PlanRun) -> None:
    providers = of_type(platform_plan, "pulumi:providers:kubernetes")
    assert [p.name for p in providers] == ["prod-eks-k8s"]
    kubernetes = [r for r in platform_plan.resources if r.type.startswith("kubernetes:")]
    assert kubernetes and all(r.provider == providers[0].urn for r in kubernetes)
    aws_provider = one(platform_plan, "pulumi:providers:aws", "aws")
    assert all(r.provider == aws_provider.urn for r in platform_plan.resources
               if r.custom and r.type.startswith("aws:"))


def test_stateful_resources_are_protected(platform_plan: PlanRun) -> None:
    for type_ in ("aws:kms/key:Key", "aws:eks/cluster:Cluster", "aws:msk/cluster:Cluster", "aws:ec2/vpc:Vpc"):
        for resource in of_type(platform_plan, type_):
            assert resource.protect, resource.name


def test_every_aws_resource_is_tagged_through_the_provider(platform_plan: PlanRun) -> None:
    provider = one(platform_plan, "pulumi:providers:aws", "aws")
    tags = json.loads(provider.inputs["defaultTags"])["tags"]
    assert tags == {"managed-by": "pulumi", "app": "datafly-signal", "stack": "platform",
                    "environment": "prod", "cost-center": "platform"}


def test_outputs_are_the_contract_customer_stacks_read(platform_plan: PlanRun) -> None:
    assert set(OUTPUT_NAMES) <= set(platform_plan.outputs)
    assert platform_plan.outputs["kubeconfig"].secret
    assert platform_plan.outputs["kubernetesVersion"].value == "1.35"
    assert platform_plan.outputs["ingressClasses"].value == ["alb", "nginx"]
    assert platform_plan.outputs["kafkaBootstrapBrokersIam"].value.count(":9098") == 3
    # What customer `datafly-keda-<environment>-<customer>` roles trust: the KEDA operator's IRSA role.
    keda_role = one(platform_plan, "aws:iam/role:Role", "prod-keda-operator-role")
    assert platform_plan.outputs["kedaOperatorRoleArn"].value.startswith(
        "arn:aws:iam::123456789012:role/prod-keda-operator-role-"
    )
    assert one(platform_plan, RELEASE, "prod-keda-release").inputs["values"]["podIdentity"] == {
        "aws": {"irsa": {"enabled": True, "roleArn": platform_plan.outputs["kedaOperatorRoleArn"].value}}
    }
    assert keda_role.parent == one(platform_plan, "datafly:addons:Keda", "prod-keda").urn
    assert not any(o.secret for k, o in platform_plan.outputs.items() if k != "kubeconfig")


def test_fixture_for_external_platforms_matches_the_contract(platform_plan: PlanRun) -> None:
    fixture = json.loads((ROOT / "offline" / "fixtures" / "platform-external.json").read_text())
    assert set(fixture["outputs"]) == set(platform_plan.outputs)


@pytest.mark.parametrize(("overrides", "msk", "nginx"), [
    ({}, 1, 0),
    ({"kafka": {"mode": "none"}}, 0, 0),
    ({"addons": {"ingressNginx": {"enabled": True}}}, 1, 1),
])
def test_optional_parts(overrides: dict[str, Any], msk: int, nginx: int) -> None:
    plan_run = plan_platform(**overrides)
    assert len(of_type(plan_run, "aws:msk/cluster:Cluster")) == msk
    assert len(of_type(plan_run, "datafly:addons:IngressNginx")) == nginx
    assert ("kafkaClusterArn" in plan_run.outputs) == bool(msk)


def test_unprotected_platform_protects_nothing() -> None:
    plan_run = plan_platform(protect=False)
    assert not any(r.protect for r in plan_run.resources)


def test_the_stack_reference_fixture_answers_what_the_platform_exports(platform_plan: PlanRun) -> None:
    fixture = json.loads((ROOT / "offline" / "fixtures" / "platform-external.json").read_text())
    assert set(fixture["outputs"]) == set(platform_plan.outputs)
    assert set(fixture["secretOutputNames"]) == {k for k, v in platform_plan.outputs.items() if v.secret}
