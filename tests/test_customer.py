"""Customer stacks end to end: data plane, workloads and their ordering, isolation
between customers, secrets, and what a release bump may touch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline import plan
from offline.report import artefacts as report
from offline.run.runner import SECRET, PlanRun, Resource
from offline.run.stackfile import ROOT, stack_names
from tests.harness import of_type, one

JOB = "kubernetes:batch/v1:Job"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SNAPSHOT = ROOT / "tests" / "snapshots" / "acme-manifests.yaml"


def _plan(stack: str, root: Path = ROOT) -> PlanRun:
    result = plan.Planner(root).plan(stack)
    assert result.exit_code == plan.EXIT_OK, result.problems + [str(v) for v in result.violations]
    assert result.run is not None
    return result.run


@pytest.fixture(scope="module")
def acme() -> PlanRun:
    return _plan("acme")


@pytest.mark.parametrize("stack", stack_names())
def test_every_example_stack_plans_clean(stack: str) -> None:
    _plan(stack)


def test_acme_manifests_match_the_reviewed_snapshot(acme: PlanRun) -> None:
    rendered = report.render_yaml(report.kubernetes_objects(acme))
    assert rendered == SNAPSHOT.read_text(encoding="utf-8"), (
        "acme's manifests changed: review `git diff` after `make snapshots`"
    )


def test_migrations_run_before_any_deployment_rolls(acme: PlanRun) -> None:
    job = one(acme, JOB, "acme-workloads-migrations")
    assert job.inputs["metadata"]["name"] == "db-migrate-v1-2-0"
    deployments = of_type(acme, DEPLOYMENT)
    assert len(deployments) == 6
    assert all(job.urn in d.dependencies for d in deployments)
    secret = one(acme, "kubernetes:external-secrets.io/v1:ExternalSecret", "acme-workloads-externalsecret-datafly-secrets")
    job_secret = one(acme, "kubernetes:external-secrets.io/v1:ExternalSecret", "acme-workloads-migrations-secret")
    sql = one(acme, "kubernetes:core/v1:ConfigMap", "acme-workloads-app-user-sql")
    assert {secret.urn, job_secret.urn, sql.urn} <= set(job.dependencies)


def test_objects_wait_for_the_namespace_and_follow_the_rollout_order(acme: PlanRun) -> None:
    namespace = one(acme, "kubernetes:core/v1:Namespace")
    workloads = one(acme, "datafly:tenant:CustomerWorkloads")
    objects = [r for r in acme.resources if r.parent == workloads.urn]
    assert objects and all(namespace.urn in r.dependencies for r in objects)
    deployments = {d.urn for d in of_type(acme, DEPLOYMENT)}
    for scaled in of_type(acme, "kubernetes:keda.sh/v1alpha1:ScaledObject"):
        assert deployments <= set(scaled.dependencies)
    ingress = one(acme, "kubernetes:networking.k8s.io/v1:Ingress")
    assert {s.urn for s in of_type(acme, "kubernetes:core/v1:Service")} <= set(ingress.dependencies)


def test_autoscaled_deployments_leave_replicas_to_keda(acme: PlanRun) -> None:
    replicas = {d.inputs["metadata"]["name"]: d.inputs["spec"].get("replicas") for d in of_type(acme, DEPLOYMENT)}
    assert replicas == {"ingestion-gateway": None, "event-processor": None, "delivery-workers": None,
                        "identity-hub": 1, "management-api": 1, "management-ui": 1}


def test_irsa_roles_trust_exactly_one_service_account_each(acme: PlanRun) -> None:
    trusted = {}
    for role in of_type(acme, "aws:iam/role:Role"):
        policy = json.loads(role.inputs["assumeRolePolicy"])
        (statement,) = policy["Statement"]
        if statement["Action"] == "sts:AssumeRoleWithWebIdentity":
            conditions = statement["Condition"]["StringEquals"]
            subjects = [v for k, v in conditions.items() if k.endswith(":sub")]
            audiences = [v for k, v in conditions.items() if k.endswith(":aud")]
            assert audiences == ["sts.amazonaws.com"]
            (subject,) = subjects
            trusted[role.name] = subject
    assert trusted == {
        "acme-data-secrets-reader-role": "system:serviceaccount:customer-acme:external-secrets",
        "acme-data-ingestion-gateway-role": "system:serviceaccount:customer-acme:ingestion-gateway",
        "acme-data-event-processor-role": "system:serviceaccount:customer-acme:event-processor",
        "acme-data-delivery-workers-role": "system:serviceaccount:customer-acme:delivery-workers",
    }


def test_service_accounts_carry_their_own_roles(acme: PlanRun) -> None:
    roles = acme.outputs["serviceRoleArns"].value
    accounts = {a.inputs["metadata"]["name"]: a for a in of_type(acme, "kubernetes:core/v1:ServiceAccount")}
    for key, name in (("ingestionGateway", "ingestion-gateway"), ("eventProcessor", "event-processor"),
                      ("deliveryWorkers", "delivery-workers")):
        assert accounts[name].inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == roles[key]
        assert accounts[name].inputs["automountServiceAccountToken"] is True
    assert len(set(roles.values())) == 3
    reader = accounts["external-secrets"].inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert reader == acme.outputs["secretsReaderRoleArn"].value
    for name in ("identity-hub", "management-api", "management-ui"):
        assert "annotations" not in accounts[name].inputs["metadata"]
        assert accounts[name].inputs["automountServiceAccountToken"] is False


def _policies(plan_run: PlanRun) -> str:
    documents = [r.inputs.get("policy", "") for r in plan_run.resources if r.type == "aws:iam/rolePolicy:RolePolicy"]
    documents += [r.inputs.get("assumeRolePolicy", "") for r in of_type(plan_run, "aws:iam/role:Role")]
    return "\n".join(documents)


def test_two_customers_never_grant_each_other(acme: PlanRun) -> None:
    globex = _plan("globex")
    acme_policies, globex_policies = _policies(acme), _policies(globex)
    assert "globex" not in acme_policies and "acme" not in globex_policies
    # On the shared cluster acme is confined to its prefix; globex's own cluster is its alone.
    assert '"arn:aws:kafka:us-east-1:123456789012:topic/datafly-prod/' in acme_policies
    assert "/acme.*" in acme_policies
    assert "/datafly-prod/" not in globex_policies  # the shared cluster, by its ARN segment


def test_secrets_stay_secret_in_recorded_inputs() -> None:
    umbrella = _plan("umbrella")
    version = one(umbrella, "aws:secretsmanager/secretVersion:SecretVersion", "umbrella-data-secrets-app-version")
    assert version.inputs["secretString"] == SECRET
    redis = one(umbrella, "aws:elasticache/replicationGroup:ReplicationGroup")
    assert redis.inputs["authToken"] == SECRET
    document = json.dumps(report.plan_json(umbrella))
    assert not any(value in document for value in umbrella.stack.secret_values)
    assert "password" not in one(umbrella, "aws:rds/instance:Instance").inputs


def test_route53_zone_issues_the_certificate_and_alias_records() -> None:
    umbrella = _plan("umbrella")
    certificate = one(umbrella, "aws:acm/certificate:Certificate")
    assert (certificate.inputs["domainName"], certificate.inputs["subjectAlternativeNames"]) == (
        "data.umbrella.example", ["app.umbrella.example", "api.umbrella.example"])
    validation = one(umbrella, "aws:acm/certificateValidation:CertificateValidation")
    ingress = one(umbrella, "kubernetes:networking.k8s.io/v1:Ingress")
    assert validation.urn in ingress.dependencies
    annotations = ingress.inputs["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/certificate-arn"] == validation.inputs["certificateArn"]
    assert validation.inputs["certificateArn"].startswith("arn:aws:acm:us-east-1:123456789012:certificate/")
    records = {r.inputs["name"]: r for r in of_type(umbrella, "aws:route53/record:Record") if r.inputs["type"] == "A"}
    assert sorted(records) == ["api.umbrella.example", "app.umbrella.example", "data.umbrella.example"]
    for record in records.values():
        (alias,) = record.inputs["aliases"]
        assert alias["name"].endswith(".us-east-1.elb.amazonaws.com") and alias["evaluateTargetHealth"] is True
        assert ingress.urn in record.dependencies


def test_dedicated_tier_waits_for_its_own_addons() -> None:
    initech = _plan("initech")
    # The add-ons directly; Karpenter through its NodePool (which depends on its release),
    # so the customer's objects are deleted before the nodes they run on.
    releases = {r.urn for r in of_type(initech, "kubernetes:helm.sh/v3:Release") if "-karpenter-" not in r.name}
    node_pool = {r.urn for r in of_type(initech, "kubernetes:karpenter.sh/v1:NodePool")}
    custom = [r for r in initech.resources if r.type.startswith(("kubernetes:keda.sh", "kubernetes:external-secrets.io"))]
    assert custom and all(releases | node_pool <= set(r.dependencies) for r in custom)
    assert len(node_pool) == 1
    assert len(of_type(initech, "aws:msk/cluster:Cluster")) == 1


def _kubernetes_and_aws(plan_run: PlanRun) -> dict[str, Resource]:
    return {r.name: r for r in plan_run.resources if r.custom}


def test_a_release_bump_touches_only_the_deployments_and_the_migrations_job(acme: PlanRun, tmp_path: Path) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    stack_file = tmp_path / "stacks" / "Pulumi.acme.yaml"
    document: dict[str, Any] = yaml.safe_load(stack_file.read_text())
    document["config"]["datafly:tenant"]["image"]["tag"] = "v1.3.0"
    stack_file.write_text(yaml.safe_dump(document))
    bumped = _kubernetes_and_aws(_plan("acme", tmp_path))
    before = _kubernetes_and_aws(acme)
    assert set(bumped) == set(before)
    changed = sorted(name for name in before if before[name].inputs != bumped[name].inputs)
    # The Job's own Secret is named per release too (a fresh sync for every run).
    assert changed == sorted([*(d.name for d in of_type(acme, DEPLOYMENT)), "acme-workloads-migrations",
                              "acme-workloads-migrations-secret"])
    assert bumped["acme-workloads-migrations"].inputs["metadata"]["name"] == "db-migrate-v1-3-0"


def test_every_aws_resource_carries_the_customer_tag_through_the_provider(acme: PlanRun) -> None:
    provider = one(acme, "pulumi:providers:aws", "aws")
    assert json.loads(provider.inputs["defaultTags"])["tags"] == {
        "managed-by": "pulumi", "app": "datafly-signal", "stack": "acme", "datafly:tenant": "acme",
    }
    assert all(r.provider == provider.urn for r in acme.resources if r.custom and r.type.startswith("aws:"))


def test_a_dedicated_nginx_customer_waits_for_its_own_ingress_controller(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    stack_file = tmp_path / "stacks" / "Pulumi.initech.yaml"
    document: dict[str, Any] = yaml.safe_load(stack_file.read_text())
    tenant = document["config"]["datafly:tenant"]
    tenant["ingress"] = {"className": "nginx", "tls": {"secretName": "initech-tls"}}
    tenant["dedicatedCluster"].setdefault("addons", {})["ingressNginx"] = {"enabled": True}
    stack_file.write_text(yaml.safe_dump(document))
    initech = _plan("initech", tmp_path)
    nginx = one(initech, "kubernetes:helm.sh/v3:Release", "initech-cluster-ingress-nginx-release")
    (ingress,) = of_type(initech, "kubernetes:networking.k8s.io/v1:Ingress")
    assert nginx.urn in ingress.dependencies


def test_vendor_credentials_reach_the_delivery_workers_only() -> None:
    umbrella = _plan("umbrella")
    external = one(umbrella, "kubernetes:external-secrets.io/v1:ExternalSecret",
                   "umbrella-workloads-externalsecret-datafly-secrets")
    spec = external.inputs["spec"]
    vendor_entries = [e for e in spec["data"] if e["secretKey"].startswith("vendor_")]
    assert [(e["secretKey"], e["remoteRef"]["property"]) for e in vendor_entries] == [
        ("vendor_ga4", "VENDOR_GA4"), ("vendor_meta_capi", "VENDOR_META_CAPI")]
    assert {e["remoteRef"]["key"] for e in vendor_entries} == {
        e["remoteRef"]["key"] for e in spec["data"] if e["secretKey"] == "jwt_secret"}  # the app secret
    template = spec["target"]["template"]["data"]
    assert (template["VENDOR_GA4"], template["VENDOR_META_CAPI"]) == ("{{ .vendor_ga4 }}", "{{ .vendor_meta_capi }}")
    for deployment in of_type(umbrella, DEPLOYMENT):
        (container,) = deployment.inputs["spec"]["template"]["spec"]["containers"]
        vendor_env = [e["name"] for e in container["env"] if e["name"].startswith("VENDOR_")]
        expected = ["VENDOR_GA4", "VENDOR_META_CAPI"] if container["name"] == "delivery-workers" else []
        assert vendor_env == expected, container["name"]


def test_the_keda_lag_reader_is_assumed_only_by_the_keda_operator_and_only_describes(acme: PlanRun) -> None:
    platform = plan.Planner().plan("platform").run
    assert platform is not None
    role = one(acme, "aws:iam/role:Role", "acme-data-keda")
    assert role.inputs["name"] == "datafly-keda-prod-acme"  # the operator may assume datafly-keda-prod-* only
    assert json.loads(role.inputs["assumeRolePolicy"]) == {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": platform.outputs["kedaOperatorRoleArn"].value}}]}
    cluster = platform.outputs["kafkaClusterArn"].value
    prefix = cluster.replace(":cluster/", ":{kind}/") + "/acme.*"
    policy = json.loads(one(acme, "aws:iam/rolePolicy:RolePolicy", "acme-data-keda-policy").inputs["policy"])
    assert policy == {"Version": "2012-10-17", "Statement": [
        {"Sid": "Cluster", "Effect": "Allow", "Action": ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster"],
         "Resource": cluster},
        {"Sid": "Topics", "Effect": "Allow", "Action": ["kafka-cluster:DescribeTopic"],
         "Resource": prefix.format(kind="topic")},
        {"Sid": "Groups", "Effect": "Allow", "Action": ["kafka-cluster:DescribeGroup"],
         "Resource": prefix.format(kind="group")},
    ]}


@pytest.mark.parametrize(("scheme", "subnets"), [("internet-facing", "publicSubnetCidrs"),
                                                  ("internal", "privateSubnetCidrs")])
def test_only_the_albs_own_subnets_reach_the_exposed_pods(tmp_path: Path, scheme: str, subnets: str) -> None:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copytree(ROOT / "stacks", tmp_path / "stacks")
    stack_file = tmp_path / "stacks" / "Pulumi.acme.yaml"
    document: dict[str, Any] = yaml.safe_load(stack_file.read_text())
    document["config"]["datafly:tenant"]["ingress"]["scheme"] = scheme
    stack_file.write_text(yaml.safe_dump(document))
    planner = plan.Planner(tmp_path)
    acme_run, platform_run = planner.plan("acme").run, planner.plan("platform").run
    assert acme_run is not None and platform_run is not None
    expected = [{"ipBlock": {"cidr": cidr}} for cidr in platform_run.outputs[subnets].value]
    assert len(expected) == 3 and platform_run.outputs["vpcCidr"].value not in json.dumps(expected)
    for name in ("ingestion-gateway", "management-api", "management-ui"):
        policy = one(acme_run, "kubernetes:networking.k8s.io/v1:NetworkPolicy", f"acme-workloads-networkpolicy-allow-{name}")
        assert policy.inputs["spec"]["ingress"][0]["from"] == expected
