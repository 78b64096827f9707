"""The CrossGuard policy pack: each policy passes the recorded resources of the example
stacks and fails the same resources made insecure, and the offline evaluator reports
violations by policy, resource and reason."""

from __future__ import annotations

import copy
import io
import runpy
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi_aws as aws
import pytest
import yaml
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from offline import plan
from offline.check.kubernetes import Violation
from offline.check.policy_check import evaluate_policies
from offline.run.runner import SECRET, PlanRun, Resource
from offline.run.stackfile import ROOT, stack_names
from policies import POLICIES, POLICY_INFO, docs
from tests.harness import of_type, one

BY_NAME = {p.name: p for p in POLICIES}
DELETE = object()


@pytest.fixture(scope="module")
def plans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PlanRun]:
    planner = plan.Planner(out_dir=tmp_path_factory.mktemp("out"))
    runs = {}
    for stack in stack_names():
        result = planner.plan(stack)
        assert result.run is not None, result.problems
        runs[stack] = result.run
    return runs


# ---------------------------------------------------------------------- the pack itself


def test_the_pack_has_at_least_25_mandatory_policies_with_anchors() -> None:
    assert len(POLICIES) >= 25
    assert len(BY_NAME) == len(POLICIES)
    for policy in POLICIES:
        assert policy.enforcement_level == EnforcementLevel.MANDATORY, policy.name
        anchors = POLICY_INFO[policy.name].anchors
        assert anchors and f"[{anchors}]" in policy.description, policy.name
        assert any(a in anchors for a in ("CIS", "CKV", "AWS", "Kubernetes", "Datafly")), policy.name


def test_docs_table_is_generated_from_the_pack() -> None:
    expected = docs.render()
    assert (ROOT / "docs" / "policies.md").read_text(encoding="utf-8") == expected, (
        "docs/policies.md is stale: run `python -m policies.docs > docs/policies.md`"
    )
    assert all(f"| `{p.name}` |" in expected for p in POLICIES)


def test_readme_lists_every_policy_as_the_pack_defines_it() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert docs.readme_with_table(readme) == readme, (
        "README.md's policy table is stale: run `python -m policies.docs --readme`"
    )
    assert all(f"| `{p.name}` |" in readme for p in POLICIES)


def test_main_builds_no_pack_when_imported_and_loads_the_same_policies() -> None:
    # Run as anything but __main__ it must define the loader and return, not serve.
    namespace = runpy.run_path(str(ROOT / "policies" / "__main__.py"), run_name="policies_main")
    pack = namespace["_load_pack_package"]()
    assert [p.name for p in pack.POLICIES] == [p.name for p in POLICIES]
    manifest = (ROOT / "policies" / "PulumiPolicy.yaml").read_text(encoding="utf-8")
    assert "name: python" in manifest


# ---------------------------------------------------------------------- resource policies


def _patched(props: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    result = copy.deepcopy(props)
    node: Any = result
    for step in path[:-1]:
        if isinstance(node, dict) and step not in node:
            node[step] = {}
        node = node[step]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return result


def _problems(policy_name: str, resource_type: str, props: dict[str, Any], protect: bool = False) -> list[str]:
    policy = BY_NAME[policy_name]
    assert isinstance(policy, ResourceValidationPolicy)
    options = PolicyResourceOptions(protect, [], False, [], PolicyCustomTimeouts(0, 0, 0), [])
    args = ResourceValidationArgs(resource_type, props, "urn:pulumi:s::p::t::n", "n", options, None)
    found: list[str] = []
    policy.validate(args, lambda message, urn: found.append(message))
    return found


def _recorded(plans: dict[str, PlanRun], stack: str, resource_type: str, name: str | None = None) -> Resource:
    return one(plans[stack], resource_type, name) if name else of_type(plans[stack], resource_type)[0]


RDS = "aws:rds/instance:Instance"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
MSK = "aws:msk/cluster:Cluster"
EKS = "aws:eks/cluster:Cluster"
TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
NODES = "aws:eks/nodeGroup:NodeGroup"
NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CONTAINER: tuple[str | int, ...] = ("spec", "template", "spec", "containers", 0)
POD: tuple[str | int, ...] = ("spec", "template", "spec")
GATEWAY = "acme-workloads-deployment-ingestion-gateway"
WILD_POLICY = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}'
LOOSE_TRUST = (
    '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",'
    ' "Principal": {"Federated": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"},'
    ' "Condition": {"StringLike": {"oidc.eks.us-east-1.amazonaws.com/id/X:sub": "system:serviceaccount:*"}}}]}'
)

# policy, (stack, type, name of the recorded compliant resource), path, insecure value, expected reason
RESOURCE_CASES: list[tuple[str, tuple[str, str, str | None], tuple[str | int, ...], Any, str]] = [
    ("rds-not-public", ("acme", RDS, None), ("publiclyAccessible",), True, "publiclyAccessible is true"),
    ("rds-storage-encrypted", ("acme", RDS, None), ("storageEncrypted",), False, "storageEncrypted is not true"),
    ("rds-backup-retention", ("acme", RDS, None), ("backupRetentionPeriod",), 1, "at least 7 days"),
    ("rds-deletion-protection", ("acme", RDS, None), ("deletionProtection",), False, "deletionProtection is not true"),
    ("rds-postgres-version", ("acme", RDS, None), ("engineVersion",), "15.7", "below PostgreSQL 16"),
    ("rds-managed-master-password", ("acme", RDS, None), ("manageMasterUserPassword",), DELETE,
     "manageMasterUserPassword is not true"),
    ("elasticache-encryption-at-rest", ("acme", CACHE, None), ("atRestEncryptionEnabled",), False,
     "atRestEncryptionEnabled is not true"),
    ("elasticache-encryption-in-transit", ("acme", CACHE, None), ("transitEncryptionMode",), "preferred",
     "plaintext clients"),
    ("elasticache-auth", ("acme", CACHE, None), ("authToken",), DELETE, "neither authToken nor userGroupIds"),
    ("msk-tls-only", ("platform", MSK, None), ("encryptionInfo", "encryptionInTransit", "clientBroker"),
     "TLS_PLAINTEXT", "not \"TLS\""),
    ("msk-encryption-at-rest-cmk", ("platform", MSK, None), ("encryptionInfo", "encryptionAtRestKmsKeyArn"), DELETE,
     "AWS-managed key"),
    ("msk-iam-auth", ("platform", MSK, None), ("clientAuthentication", "unauthenticated"), True,
     "unauthenticated is true"),
    ("msk-broker-logs", ("platform", MSK, None), ("loggingInfo", "brokerLogs", "cloudwatchLogs", "enabled"), False,
     "no destination"),
    ("eks-secrets-encryption", ("platform", EKS, None), ("encryptionConfig",), DELETE, "does not encrypt secrets"),
    ("eks-control-plane-logs", ("platform", EKS, None), ("enabledClusterLogTypes",), ["api", "authenticator"],
     "lacks audit, controllerManager, scheduler"),
    # The config model refuses a /0 publicAccessCidrs, so the insecure cluster is a fixture.
    ("eks-endpoint-not-public", ("platform", EKS, None), ("vpcConfig", "endpointPublicAccess"), True,
     "public to 0.0.0.0/0"),
    ("eks-nodes-imdsv2", ("platform", TEMPLATE, None), ("metadataOptions", "httpTokens"), "optional",
     "IMDSv1 allowed"),
    ("eks-nodes-imdsv2", ("platform", NODES, None), ("launchTemplate",), DELETE, "no launch template"),
    ("iam-no-wildcard-actions", ("acme", "aws:iam/rolePolicy:RolePolicy", None), ("policy",), WILD_POLICY,
     "allows s3:*"),
    ("iam-no-wildcard-actions", ("platform", "aws:iam/policy:Policy", None), ("policy",),
     WILD_POLICY.replace('"s3:*"', '["ec2:Describe*", "*"]'), "allows *"),
    ("iam-irsa-trust-scoped", ("acme", "aws:iam/role:Role", "acme-data-event-processor-role"),
     ("assumeRolePolicy",), LOOSE_TRUST, "without StringEquals on :sub"),
    ("kms-key-rotation", ("acme", "aws:kms/key:Key", None), ("enableKeyRotation",), False,
     "enableKeyRotation is not true"),
    ("secretsmanager-cmk", ("acme", "aws:secretsmanager/secret:Secret", None), ("kmsKeyId",),
     "alias/aws/secretsmanager", "not a customer-managed KMS key"),
    ("k8s-resources-requests-limits", ("acme", DEPLOYMENT, GATEWAY), CONTAINER + ("resources", "limits"), DELETE,
     "resources.limits lacks cpu, memory"),
    ("k8s-probes", ("acme", DEPLOYMENT, GATEWAY), CONTAINER + ("readinessProbe",), DELETE, "no readinessProbe"),
    ("k8s-run-as-non-root", ("acme", DEPLOYMENT, GATEWAY), CONTAINER + ("securityContext", "runAsUser"), 0,
     "runAsUser is 0"),
    ("k8s-read-only-root-filesystem", ("acme", DEPLOYMENT, GATEWAY),
     CONTAINER + ("securityContext", "readOnlyRootFilesystem"), False, "readOnlyRootFilesystem is not true"),
    ("k8s-no-privilege-escalation", ("acme", DEPLOYMENT, GATEWAY),
     CONTAINER + ("securityContext", "allowPrivilegeEscalation"), True, "allowPrivilegeEscalation is not false"),
    ("k8s-capabilities-dropped", ("acme", DEPLOYMENT, GATEWAY),
     CONTAINER + ("securityContext", "capabilities", "add"), ["NET_ADMIN"], "add includes NET_ADMIN"),
    ("k8s-seccomp-runtime-default", ("acme", DEPLOYMENT, GATEWAY),
     CONTAINER + ("securityContext", "seccompProfile"), {"type": "Unconfined"}, "'Unconfined'"),
    ("k8s-image-pinned", ("acme", DEPLOYMENT, GATEWAY), CONTAINER + ("image",),
     "ghcr.io/datafly/ingestion-gateway:latest", "uses the latest tag"),
    ("k8s-no-host-namespaces", ("acme", DEPLOYMENT, GATEWAY), POD + ("hostNetwork",), True, "hostNetwork is true"),
    ("karpenter-nodepool-limits", ("platform", NODE_POOL, None), ("spec", "limits", "cpu"), DELETE,
     "spec.limits.cpu is not set"),
    ("karpenter-nodepool-limits", ("initech", NODE_POOL, None), ("spec", "limits"), DELETE,
     "spec.limits.memory is not set"),
    ("karpenter-nodes-imdsv2", ("platform", NODE_CLASS, None), ("spec", "metadataOptions", "httpTokens"), "optional",
     "httpTokens is not required"),
    ("karpenter-nodes-imdsv2", ("platform", NODE_CLASS, None), ("spec", "metadataOptions", "httpPutResponseHopLimit"),
     2, "httpPutResponseHopLimit is not 1"),
    ("karpenter-volumes-encrypted", ("platform", NODE_CLASS, None),
     ("spec", "blockDeviceMappings", 0, "ebs", "encrypted"), False, "encrypted is not true"),
    ("karpenter-volumes-encrypted", ("initech", NODE_CLASS, None), ("spec", "blockDeviceMappings"), DELETE,
     "blockDeviceMappings is not set"),
    ("karpenter-private-subnets-only", ("platform", NODE_CLASS, None), ("spec", "subnetSelectorTerms"),
     [{"tags": {"kubernetes.io/role/elb": "1"}}], "selects public subnets"),
    ("karpenter-private-subnets-only", ("platform", NODE_CLASS, None), ("spec", "subnetSelectorTerms"),
     [{"tags": {"karpenter.sh/discovery": "*"}}], "does not select by karpenter.sh/discovery"),
]


@pytest.mark.parametrize(("policy", "where", "path", "value", "reason"), RESOURCE_CASES,
                         ids=[f"{c[0]}:{c[1][1].rsplit(':', 1)[-1]}" for c in RESOURCE_CASES])
def test_resource_policy_passes_the_recorded_resource_and_fails_it_made_insecure(
    plans: dict[str, PlanRun], policy: str, where: tuple[str, str, str | None], path: tuple[str | int, ...],
    value: Any, reason: str,
) -> None:
    resource = _recorded(plans, *where)
    assert _problems(policy, resource.type, resource.inputs, resource.protect) == []
    problems = _problems(policy, resource.type, _patched(resource.inputs, path, value), resource.protect)
    assert problems and any(reason in p for p in problems), problems


def test_resource_policies_ignore_other_types(plans: dict[str, PlanRun]) -> None:
    bucket = {"acl": "public-read"}
    assert all(_problems(p.name, "aws:s3/bucket:Bucket", bucket) == []
               for p in POLICIES if isinstance(p, ResourceValidationPolicy))


@pytest.mark.parametrize(("props", "expected"), [
    ({"authToken": SECRET, "atRestEncryptionEnabled": True}, []),  # a redacted secret counts as set
    ({"userGroupIds": ["rbac"]}, []),
    ({"authToken": ""}, ["neither authToken nor userGroupIds is set: any client in the network can connect"]),
])
def test_elasticache_auth_treats_secrets_and_rbac_as_set(props: dict[str, Any], expected: list[str]) -> None:
    assert _problems("elasticache-auth", CACHE, props) == expected


@pytest.mark.parametrize(("vpc", "ok"), [
    ({"endpointPublicAccess": False, "endpointPrivateAccess": True}, True),
    ({"endpointPublicAccess": True, "endpointPrivateAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}, True),
    ({"endpointPublicAccess": True, "endpointPrivateAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]}, False),
    ({"endpointPrivateAccess": True}, False),  # the EKS API defaults to public, open to the world
    ({"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]}, False),  # no private access
])
def test_eks_endpoint_cases(vpc: dict[str, Any], ok: bool) -> None:
    assert (_problems("eks-endpoint-not-public", EKS, {"vpcConfig": vpc}) == []) is ok


def test_deletion_protection_applies_only_to_protected_instances(plans: dict[str, PlanRun]) -> None:
    rds = _recorded(plans, "acme", RDS)
    unprotected = _patched(rds.inputs, ("deletionProtection",), False)
    assert _problems("rds-deletion-protection", RDS, unprotected, protect=False) == []
    assert _problems("rds-deletion-protection", RDS, unprotected, protect=True) == [
        "the resource is protected but deletionProtection is not true"]


@pytest.mark.parametrize(("image", "ok"), [
    ("ghcr.io/datafly/x:v1.2.0", True),
    ("ghcr.io/datafly/x@sha256:" + "a" * 64, True),
    ("localhost:5000/x", False),  # the port is not a tag
    ("ghcr.io/datafly/x", False),
])
def test_image_pinning(plans: dict[str, PlanRun], image: str, ok: bool) -> None:
    deployment = _recorded(plans, "acme", DEPLOYMENT, GATEWAY)
    props = _patched(deployment.inputs, CONTAINER + ("image",), image)
    assert (_problems("k8s-image-pinned", DEPLOYMENT, props) == []) is ok


def test_jobs_need_no_probes_but_everything_else(plans: dict[str, PlanRun]) -> None:
    job = _recorded(plans, "acme", "kubernetes:batch/v1:Job")
    assert "livenessProbe" not in job.inputs["spec"]["template"]["spec"]["containers"][0]
    assert _problems("k8s-probes", job.type, job.inputs) == []
    rooted = _patched(job.inputs, ("spec", "template", "spec", "containers", 0, "securityContext", "runAsNonRoot"),
                      False)
    assert _problems("k8s-run-as-non-root", job.type, rooted) == ["containers[0] (db-migrate): runAsNonRoot is not true"]


# ---------------------------------------------------------------------- stack policies


def _edited(run: PlanRun, edit: Callable[[list[Resource]], list[Resource]]) -> PlanRun:
    copied = copy.deepcopy(run)
    copied.resources = edit(copied.resources)
    return copied


def _k8s(resources: list[Resource], kind: str, name: str) -> Resource:
    (found,) = [r for r in resources if r.inputs.get("kind") == kind and r.inputs["metadata"].get("name") == name]
    return found


def _drop(kind: str, name: str) -> Callable[[list[Resource]], list[Resource]]:
    return lambda rs: [r for r in rs if r is not _k8s(rs, kind, name)]


def _set(kind: str, name: str, path: tuple[str | int, ...], value: Any) -> Callable[[list[Resource]], list[Resource]]:
    def edit(resources: list[Resource]) -> list[Resource]:
        target = _k8s(resources, kind, name)
        target.inputs = _patched(target.inputs, path, value)
        return resources

    return edit


def _add_cluster_secret_store(resources: list[Resource]) -> list[Resource]:
    store = copy.deepcopy(_k8s(resources, "SecretStore", "customer-secrets"))
    store.urn = store.urn.replace("customer-secrets", "shared")
    store.type = "kubernetes:external-secrets.io/v1:ClusterSecretStore"
    store.name = "acme-workloads-clustersecretstore-shared"
    store.inputs = {"apiVersion": "external-secrets.io/v1", "kind": "ClusterSecretStore",
                    "metadata": {"name": "shared"}, "spec": store.inputs["spec"]}
    return [*resources, store]


def _parameter_group_without_ssl(resources: list[Resource]) -> list[Resource]:
    (group,) = [r for r in resources if r.type == "aws:rds/parameterGroup:ParameterGroup"]
    group.inputs["parameters"] = [p for p in group.inputs["parameters"] if p["name"] != "rds.force_ssl"]
    return resources


# policy, edit of acme's recorded plan, expected (object, reason fragment)
STACK_CASES: list[tuple[str, Callable[[list[Resource]], list[Resource]], str, str]] = [
    ("tenant-namespace-confinement",
     _set("Service", "management-api-svc", ("metadata", "namespace"), "customer-globex"),
     "kubernetes:core/v1:Service acme-workloads-service-management-api-svc",
     "is in namespace 'customer-globex', not the customer namespace 'customer-acme'"),
    ("tenant-namespace-confinement",
     _set("Service", "management-api-svc", ("metadata", "namespace"), DELETE),
     "kubernetes:core/v1:Service acme-workloads-service-management-api-svc", "no metadata.namespace"),
    ("tenant-no-cluster-scoped-objects", _add_cluster_secret_store,
     "kubernetes:external-secrets.io/v1:ClusterSecretStore acme-workloads-clustersecretstore-shared",
     "ClusterSecretStore shared is cluster-scoped"),
    ("tenant-default-deny-network-policy", _drop("NetworkPolicy", "default-deny"), "stack acme",
     "lacks a default-deny NetworkPolicy"),
    ("tenant-default-deny-network-policy",
     _set("NetworkPolicy", "default-deny", ("spec", "policyTypes"), ["Ingress"]), "stack acme",
     "default-deny NetworkPolicy"),
    ("tenant-resource-quota", _drop("ResourceQuota", "tenant-quota"), "stack acme", "lacks a ResourceQuota"),
    ("tenant-limit-range", _drop("LimitRange", "tenant-limits"), "stack acme", "lacks a LimitRange"),
    ("k8s-ingress-tls", _set("Ingress", "datafly", ("spec", "tls"), DELETE),
     "kubernetes:networking.k8s.io/v1:Ingress acme-workloads-ingress-datafly", "has no spec.tls"),
    ("k8s-ingress-tls", _set("Ingress", "datafly", ("spec", "tls", 0, "hosts"), ["data.acme.com"]),
     "kubernetes:networking.k8s.io/v1:Ingress acme-workloads-ingress-datafly", "routes host 'app.acme.com' without TLS"),
    ("k8s-autoscaled-without-replicas", _set("Deployment", "ingestion-gateway", ("spec", "replicas"), 2),
     f"{DEPLOYMENT} {GATEWAY}", "is autoscaled but sets spec.replicas"),
    ("rds-force-ssl", _parameter_group_without_ssl,
     "aws:rds/instance:Instance acme-data-postgres-instance", "does not set rds.force_ssl = 1"),
]


@pytest.mark.parametrize(("policy", "edit", "obj", "reason"), STACK_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(STACK_CASES)])
def test_stack_policy_passes_acme_and_fails_it_edited(
    plans: dict[str, PlanRun], policy: str, edit: Callable[[list[Resource]], list[Resource]], obj: str, reason: str,
) -> None:
    only = [BY_NAME[policy]]
    assert isinstance(only[0], StackValidationPolicy)
    assert evaluate_policies(plans["acme"], only) == []
    found = evaluate_policies(_edited(plans["acme"], edit), only)
    assert found and all(v.path == policy for v in found), found
    assert any(v.obj == obj and reason in v.message for v in found), found


def test_tenant_policies_do_not_apply_to_the_platform_stack(plans: dict[str, PlanRun]) -> None:
    platform = plans["platform"]
    assert not of_type(platform, "datafly:tenant:Customer")
    assert not [r for r in platform.resources if r.inputs.get("kind") == "ResourceQuota"]
    tenant = [BY_NAME[n] for n in POLICY_INFO if n.startswith("tenant-")]
    assert len(tenant) == 5 and evaluate_policies(platform, tenant) == []


def test_every_policy_has_a_violating_fixture() -> None:
    # Stack policies about resources acme does not have are tested on the platform below
    # (test_discovery_tag_on_a_public_subnet_is_refused).
    covered = {c[0] for c in RESOURCE_CASES} | {c[0] for c in STACK_CASES} | {"karpenter-discovery-not-public"}
    assert covered == set(BY_NAME)


# ---------------------------------------------------------------------- whole stacks


@pytest.mark.parametrize("stack", stack_names())
def test_every_example_stack_passes_every_mandatory_policy(plans: dict[str, PlanRun], stack: str) -> None:
    assert evaluate_policies(plans[stack]) == []


def test_a_tenant_with_a_public_database_fails_naming_the_policy(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    class PublicInstance(aws.rds.Instance):
        """What a careless edit of components/postgres.py would register."""

        def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
            kwargs["publicly_accessible"] = True
            super().__init__(resource_name, *args, **kwargs)

    monkeypatch.setattr(aws.rds, "Instance", PublicInstance)
    result = plan.Planner(out_dir=tmp_path).plan("acme")
    assert result.run is not None, result.problems
    expected = [Violation(
        "aws:rds/instance:Instance acme-data-postgres-instance", "rds-not-public",
        "publiclyAccessible is true: the database gets a public endpoint",
    )]
    assert evaluate_policies(result.run) == expected
    # The plan itself fails on it (exit 1) and names the policy.
    assert (result.exit_code, result.violations, result.policy_violations) == (plan.EXIT_VIOLATIONS, [], expected)
    printed = io.StringIO()
    plan.print_result(result, printed, io.StringIO(), tmp_path, tmp_path)
    assert ("policy rds-not-public: aws:rds/instance:Instance acme-data-postgres-instance: "
            "publiclyAccessible is true: the database gets a public endpoint") in printed.getvalue()


def test_a_stack_file_made_insecure_fails_the_plan_command_naming_the_policy(tmp_path: Path) -> None:
    """The model accepts any image reference for the migrations Job; the pack refuses an
    unpinned one. The plan command exits 1 and names the policy, resource and reason."""
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    shutil.copy(ROOT / "stacks" / "Pulumi.platform.yaml", tmp_path / "stacks" / "Pulumi.platform.yaml")
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.acme.yaml").read_text(encoding="utf-8"))
    document["config"]["datafly:tenant"]["migrations"] = {"image": "ghcr.io/datafly/management-api:latest"}
    (tmp_path / "stacks" / "Pulumi.acme.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "offline.plan", "acme", "--root", str(tmp_path), "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert completed.returncode == plan.EXIT_VIOLATIONS, completed.stderr
    assert "Traceback" not in completed.stdout + completed.stderr
    assert completed.stdout.splitlines()[-2:] == [
        "1 mandatory policy violation(s) (policy pack policies/):",
        "  policy k8s-image-pinned: kubernetes:batch/v1:Job acme-workloads-migrations: containers[0] (db-migrate): "
        "image 'ghcr.io/datafly/management-api:latest' uses the latest tag",
    ]


def test_discovery_tag_on_a_public_subnet_is_refused(plans: dict[str, PlanRun]) -> None:
    only = [p for p in POLICIES if p.name == "karpenter-discovery-not-public"]
    assert evaluate_policies(plans["platform"], only) == []

    def tag_public(resources: list[Resource]) -> list[Resource]:
        subnet = next(r for r in resources if r.name == "prod-network-public-0")
        subnet.inputs["tags"]["karpenter.sh/discovery"] = "datafly-prod"
        return resources

    (violation,) = evaluate_policies(_edited(plans["platform"], tag_public), only)
    assert "public subnet prod-network-public-0 carries karpenter.sh/discovery" in violation.message


def test_a_resource_policy_reports_nothing_for_a_type_it_does_not_read_so_the_plan_may_skip_the_call() -> None:
    from offline.check.policy_check import resource_args

    planner = plan.Planner()
    runs = [planner.plan(stack).run for stack in ("platform", "acme")]
    resources = [pair for run in runs if run is not None for pair in resource_args(run)]
    assert {r.type for r, _ in resources} > {"aws:eks/cluster:Cluster", "kubernetes:apps/v1:Deployment"}
    typed = [p for p in POLICIES if isinstance(p, ResourceValidationPolicy)]
    assert typed and all(POLICY_INFO[p.name].types for p in typed)
    for policy in typed:
        types = POLICY_INFO[policy.name].types
        assert types is not None
        reported: list[str] = []
        for resource, args in resources:
            if resource.type not in types:
                assert policy.validate(args, lambda message, urn=None, seen=reported: seen.append(message)) is None
        assert reported == [], policy.name
