"""What AWS itself would refuse or collide on, judged over whole offline plans: EC2's
description alphabet on every security group and rule, and physical names that are
unique per account or region carrying the environment."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline import plan
from offline.run.runner import PlanRun, ProgramConfigError, StackOutput, run_program
from offline.run.stackfile import ROOT, read_stack, stack_names
from stackconfig.aws_data import security_group_description_ok, security_group_description_pattern

# Every pulumi-aws type that carries an EC2 security group or rule description, and
# where: the group's own `description`, inline `ingress`/`egress` rule descriptions,
# and the standalone rule resources.
SECURITY_GROUP_TYPES = {
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
}


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> plan.Planner:
    return plan.Planner(out_dir=tmp_path_factory.mktemp("out"))


def _run(planner: plan.Planner, stack: str) -> PlanRun:
    result = planner.plan(stack)
    assert result.exit_code == plan.EXIT_OK, result.problems + [str(v) for v in result.violations]
    assert result.run is not None
    return result.run


def _descriptions(run: PlanRun) -> Iterator[tuple[str, str]]:
    for resource in run.resources:
        if resource.type not in SECURITY_GROUP_TYPES:
            continue
        inputs = resource.inputs
        if "description" in inputs:
            yield resource.name, inputs["description"]
        for direction in ("ingress", "egress"):
            for index, rule in enumerate(inputs.get(direction) or []):
                if "description" in rule:
                    yield f"{resource.name}.{direction}[{index}]", rule["description"]


def test_the_description_rule_is_ec2s() -> None:
    # The pattern is read from the CloudFormation registry schema (cfn-lint's data),
    # AWS::EC2::SecurityGroup.GroupDescription; spot-check that it is the documented set.
    assert security_group_description_pattern().fullmatch("a-zA-Z0-9 ._-:/()#,@[]+=&;{}!$*")
    for bad in ("customer's", "naïve", "tab\there", "50%", 'a "quote"', "<b>", "a|b", "~", "?"):
        assert not security_group_description_ok(bad), bad
    assert not security_group_description_ok("x" * 256)


@pytest.mark.parametrize("stack", stack_names())
def test_every_security_group_and_rule_description_is_accepted_by_ec2(planner: plan.Planner, stack: str) -> None:
    descriptions = list(_descriptions(_run(planner, stack)))
    assert descriptions, "the stack registers security groups, so this test must see descriptions"
    bad = [(name, text) for name, text in descriptions if not security_group_description_ok(text)]
    assert bad == []


def test_the_platform_admits_its_private_access_cidrs_on_443(planner: plan.Planner) -> None:
    run = _run(planner, "platform")
    rules = sorted((r.name, r.inputs["cidrIpv4"], r.inputs["fromPort"], r.inputs["toPort"], r.inputs["ipProtocol"])
                   for r in run.resources
                   if r.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule" and "-api-access-" in r.name)
    assert rules == [
        ("prod-eks-api-access-10-200-0-0-16", "10.200.0.0/16", 443, 443, "tcp"),
        ("prod-eks-api-access-10-201-8-0-24", "10.201.8.0/24", 443, 443, "tcp"),
    ]
    # The group EKS creates for the cluster (an output of the cluster, fabricated offline).
    groups = {r.inputs["securityGroupId"] for r in run.resources if "-api-access-" in r.name}
    assert len(groups) == 1 and groups.pop().startswith("sg-")
    eks = next(r for r in run.resources if r.type == "aws:eks/cluster:Cluster")
    assert all(eks.urn in r.dependencies for r in run.resources if "-api-access-" in r.name)
    provider = next(r for r in run.resources if r.type == "pulumi:providers:kubernetes" and r.name == "prod-eks-k8s")
    api_rules = {r.urn for r in run.resources if "-api-access-" in r.name}
    assert api_rules <= set(provider.dependencies)


# --- physical names unique per account or region --------------------------------------

# Inputs that name a resource in its account or region (not a reference to another).
NAME_INPUTS = {
    "aws:iam/role:Role": ("name",),
    "aws:kms/alias:Alias": ("name",),
    "aws:secretsmanager/secret:Secret": ("name",),
    "aws:rds/instance:Instance": ("identifier", "finalSnapshotIdentifier"),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("replicationGroupId",),
    "aws:cloudwatch/logGroup:LogGroup": ("name",),
    "aws:msk/cluster:Cluster": ("clusterName",),
    "aws:msk/configuration:Configuration": ("name",),
    "aws:eks/cluster:Cluster": ("name",),
}


def physical_names(run: PlanRun) -> set[str]:
    names = set()
    for resource in run.resources:
        for key in NAME_INPUTS.get(resource.type, ()):
            value: Any = resource.inputs.get(key)
            if isinstance(value, str) and value:
                names.add(f"{resource.type.split(':')[1].split('/')[0]}:{value}")
    return names


def _project(tmp_path: Path) -> Path:
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    return tmp_path


def _write(root: Path, stack: str, config: dict[str, Any]) -> None:
    (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))


def _stack_config(stack: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
    return config


@pytest.mark.parametrize(("customer", "expected"), [
    # acme scales with KEDA (its lag-reader role); globex has its own MSK cluster.
    ("acme", {"rds:datafly-prod-acme", "kms:alias/datafly-prod-acme", "iam:datafly-keda-prod-acme",
              "secretsmanager:datafly/prod/acme/app", "elasticache:datafly-prod-acme"}),
    ("globex", {"rds:datafly-prod-globex", "msk:datafly-prod-globex", "elasticache:datafly-prod-globex"}),
])
def test_the_same_customer_in_two_environments_of_one_account_shares_no_name(
        tmp_path: Path, customer: str, expected: set[str]) -> None:
    root = _project(tmp_path)
    platform = _stack_config("platform")
    cluster = {k: v for k, v in platform["datafly:platform"]["cluster"].items() if k != "name"}
    staging = {**platform, "datafly:platform": {**platform["datafly:platform"], "environment": "staging",
                                                "cluster": cluster}}
    _write(root, "platform", platform)
    _write(root, "platform-staging", staging)
    prod = _stack_config(customer)
    _write(root, customer, prod)
    # Staging answers on its own hosts: two load balancers cannot share one DNS name.
    domain = f"staging.{prod['datafly:tenant']['domain']}"
    ingress = {**prod["datafly:tenant"].get("ingress", {}),
               "hosts": {role: f"{role}.{domain}" for role in ("data", "app", "api")}}
    tenant = {**prod["datafly:tenant"], "environment": "staging", "domain": domain, "ingress": ingress,
              "platform": {"stack": "datafly/datafly/platform-staging"}}
    _write(root, f"{customer}-staging", {**prod, "datafly:tenant": tenant})
    planner = plan.Planner(root, tmp_path / "out")
    first, second = physical_names(_run(planner, customer)), physical_names(_run(planner, f"{customer}-staging"))
    assert expected <= first
    assert {name.replace("prod", "staging") for name in expected} <= second
    assert first & second == set()
    # The two platforms themselves are apart too, and neither shares a name with a customer.
    platforms = physical_names(_run(planner, "platform")), physical_names(_run(planner, "platform-staging"))
    assert platforms[0] & platforms[1] == set()
    assert (platforms[0] | platforms[1]) & (first | second) == set()


def test_a_dedicated_customer_named_like_an_environment_shares_no_name_with_it(tmp_path: Path) -> None:
    root = _project(tmp_path)
    _write(root, "platform", _stack_config("platform"))
    initech = _stack_config("initech")
    # Same account and region as the prod platform, and named after its environment.
    _write(root, "prod", {**initech, "aws:region": "us-east-1",
                          "datafly:tenant": {**initech["datafly:tenant"], "name": "prod", "domain": "prod.example"}})
    planner = plan.Planner(root, tmp_path / "out")
    environment, customer = physical_names(_run(planner, "platform")), physical_names(_run(planner, "prod"))
    assert "eks:datafly-prod" in environment and "eks:datafly-prod-prod" in customer
    assert environment & customer == set()


def test_the_keda_operator_may_assume_only_its_environments_customer_roles(planner: plan.Planner) -> None:
    run = _run(planner, "platform")
    policy = next(r for r in run.resources if r.type == "aws:iam/rolePolicy:RolePolicy"
                  and r.name.endswith("keda-operator-policy"))
    assert '"arn:aws:iam::123456789012:role/datafly-keda-prod-*"' in policy.inputs["policy"]
    acme_role = next(r for r in _run(planner, "acme").resources if r.type == "aws:iam/role:Role"
                     and r.name == "acme-data-keda")
    assert acme_role.inputs["name"] == "datafly-keda-prod-acme"


def test_pulumi_up_also_refuses_a_platform_in_another_region() -> None:
    # The plan refuses it before running; a real `pulumi up` learns the platform's
    # outputs only from the StackReference, so the program itself checks them too.
    stack = read_stack("acme")
    reference = "datafly/datafly/platform"
    outputs = dict(plan.Planner().reference_outputs(reference))
    outputs["region"] = StackOutput("eu-west-1", False)
    with pytest.raises(ProgramConfigError) as caught:
        run_program(stack, "us-east-1", {reference: outputs})
    assert [str(p) for p in caught.value.error.problems] == [
        "aws:region: got 'us-east-1'; must be the region of platform stack datafly/datafly/platform (eu-west-1): "
        "the customer's data stores live in the platform's VPC and reach its cluster privately",
    ]
