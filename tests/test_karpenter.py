"""Karpenter: the NodePool / EC2NodeClass against the vendored CRDs (schema and CEL
rules), the upstream IAM documents with this cluster filled in, the capacity arithmetic
and the plan's capacity verdict."""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml
from celpy import celtypes

from builders import karpenter as build
from offline import plan
from offline.check import capacity
from offline.check.kubernetes import validate_objects
from offline.run.stackfile import ROOT
from stackconfig import StackConfig
from stackconfig.platform import NodePoolConfig

CRDS = ROOT / "schemas" / "crds" / "karpenter"
TAGS = {"app": "datafly-signal", "stack": "platform", "datafly:tenant": "acme"}


def _node_class() -> dict[str, Any]:
    return build.ec2_node_class("datafly-prod", "datafly-prod-karpenter-node", TAGS)


def _node_pool(**config: Any) -> dict[str, Any]:
    return build.node_pool(NodePoolConfig.model_validate(config))


# ------------------------------------------------------------------ CEL rules of the CRDs


def _find(value: celtypes.StringType, pattern: celtypes.StringType) -> celtypes.StringType:
    match = re.search(str(pattern), str(value))
    return celtypes.StringType(match.group(0) if match else "")


def _split(value: celtypes.StringType, separator: celtypes.StringType) -> celtypes.ListType:
    return celtypes.ListType([celtypes.StringType(p) for p in str(value).split(str(separator))])


def _rules(schema: dict[str, Any], value: Any, path: str) -> Iterator[tuple[str, str, str, Any]]:
    """(path, rule, message, value) for every CEL rule that applies to a present value;
    transition rules (oldSelf) only apply to updates and are skipped."""
    for rule in schema.get("x-kubernetes-validations", []):
        if "oldSelf" not in rule["rule"]:
            yield path, rule["rule"], rule.get("message", ""), value
    if isinstance(value, dict):
        for key, sub in value.items():
            if key in schema.get("properties", {}):
                yield from _rules(schema["properties"][key], sub, f"{path}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                yield from _rules(schema["additionalProperties"], sub, f"{path}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from _rules(schema["items"], item, f"{path}[{index}]")


def cel_violations(obj: dict[str, Any]) -> list[str]:
    kind = obj["kind"]
    file = {"NodePool": "karpenter.sh_nodepools.yaml", "EC2NodeClass": "karpenter.k8s.aws_ec2nodeclasses.yaml"}[kind]
    crd = yaml.safe_load((CRDS / file).read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == obj["apiVersion"].split("/")[1])
    env = celpy.Environment()
    failures = []
    for path, rule, message, value in _rules(version["schema"]["openAPIV3Schema"], obj, kind):
        program = env.program(env.compile(rule), functions={"find": _find, "split": _split})
        result = program.evaluate({"self": celpy.json_to_cel(value)})
        if result is not True and not (isinstance(result, celtypes.BoolType) and bool(result)):
            failures.append(f"{path}: {message} ({rule}) -> {result!r}")
    return failures


def test_cel_rules_are_evaluated_at_all() -> None:
    """The walker reaches the rules that matter (not a check that cannot fail)."""
    crd = yaml.safe_load((CRDS / "karpenter.k8s.aws_ec2nodeclasses.yaml").read_text())
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    rules = [rule for _, rule, _, _ in _rules(schema, _node_class(), "EC2NodeClass")]
    assert any("alias" in rule for rule in rules) and any("'role'" in rule or "has(self.role)" in rule for rule in rules)
    assert len(rules) > 15


@pytest.mark.parametrize("obj", [
    pytest.param(_node_class(), id="ec2nodeclass"),
    pytest.param(_node_pool(), id="nodepool-default"),
    pytest.param(_node_pool(capacityTypes=["on-demand", "spot"], architectures=["amd64", "arm64"],
                            instanceFamilies=["m7g", "m7i"]), id="nodepool-spot-arm"),
])
def test_objects_pass_schema_and_cel(obj: dict[str, Any]) -> None:
    assert validate_objects([obj], "1.35") == []
    assert cel_violations(obj) == []


@pytest.mark.parametrize("change, message", [
    (lambda o: o["spec"]["amiSelectorTerms"][0].update(alias="al2023"), "improperly formatted"),
    (lambda o: o["spec"]["amiSelectorTerms"][0].update(alias="ubuntu@v1"), "family is not supported"),
    (lambda o: o["spec"]["tags"].update({"kubernetes.io/cluster/x": "owned"}), "kubernetes.io/cluster"),
    (lambda o: o["spec"].update(instanceProfile="p"), "exactly one of ['role', 'instanceProfile']"),
    (lambda o: o["spec"].update(subnetSelectorTerms=[]), "subnetSelectorTerms cannot be empty"),
])
def test_cel_rules_reject_what_the_api_server_would(change: Any, message: str) -> None:
    obj = copy.deepcopy(_node_class())
    change(obj)
    assert any(message in failure for failure in cel_violations(obj))


def test_node_class_hardening() -> None:
    spec = _node_class()["spec"]
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@v20260714"}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    assert spec["blockDeviceMappings"][0]["ebs"] == {
        "volumeSize": "50Gi", "volumeType": "gp3", "encrypted": True, "deleteOnTermination": True}
    assert spec["subnetSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": "datafly-prod"}}]
    assert spec["tags"] == dict(sorted(TAGS.items()))


def test_node_pool_from_config() -> None:
    spec = _node_pool(limits={"cpu": "48", "memory": "192Gi"}, capacityTypes=["spot", "on-demand"])["spec"]
    assert spec["limits"] == {"cpu": "48", "memory": "192Gi"}
    requirements = {r["key"]: r["values"] for r in spec["template"]["spec"]["requirements"]}
    assert requirements["karpenter.sh/capacity-type"] == ["on-demand", "spot"]
    assert requirements["karpenter.k8s.aws/instance-size"] == ["large", "xlarge", "2xlarge"]
    assert spec["disruption"] == {"consolidationPolicy": "WhenEmptyOrUnderutilized", "consolidateAfter": "5m",
                                  "budgets": [{"nodes": "10%"}]}
    assert "terminationGracePeriod" not in spec["template"]["spec"]
    assert _node_pool()["spec"]["template"]["spec"]["requirements"][0]["values"] == ["on-demand"]


@pytest.mark.parametrize("config, reason", [
    ({"instanceFamilies": ["m7g"]}, "is arm64; add arm64 to architectures"),
    ({"instanceFamilies": ["t3"]}, "must be a family of one of instanceCategories"),
    ({"capacityTypes": []}, "at least 1 item"),
    ({"limits": {"cpu": "lots"}}, "CPU quantity"),
])
def test_node_pool_config_refuses(config: dict[str, Any], reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        NodePoolConfig.model_validate(config)


# ------------------------------------------------------------------ IAM and interruptions


def test_controller_policies_are_scoped_to_the_cluster() -> None:
    docs = build.controller_policies(
        partition="aws", region="us-east-1", account_id="123456789012", cluster_name="datafly-prod",
        node_role_arn="arn:aws:iam::123456789012:role/node", queue_arn="arn:aws:sqs:us-east-1:123456789012:q",
    )
    assert sorted(docs) == sorted(build.CONTROLLER_POLICIES)
    text = str(docs)
    assert "${" not in text
    assert docs["InterruptionPolicy"]["Statement"][0]["Resource"] == "arn:aws:sqs:us-east-1:123456789012:q"
    passrole = docs["IAMIntegrationPolicy"]["Statement"][0]
    assert (passrole["Action"], passrole["Resource"]) == ("iam:PassRole", "arn:aws:iam::123456789012:role/node")
    delete = next(s for s in docs["NodeLifecyclePolicy"]["Statement"] if s["Sid"] == "AllowScopedDeletion")
    assert delete["Condition"]["StringEquals"] == {"aws:ResourceTag/kubernetes.io/cluster/datafly-prod": "owned"}


def test_interruption_rules_and_queue_policy() -> None:
    patterns = build.interruption_event_patterns()
    kinds = {p["detail-type"][0] for p in patterns.values()}
    assert {"EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation",
            "EC2 Instance State-change Notification", "AWS Health Event"} <= kinds
    policy = build.interruption_queue_policy("arn:q")
    deny = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert all(s["Resource"] == "arn:q" for s in policy["Statement"])


# ------------------------------------------------------------------ capacity arithmetic


@pytest.mark.parametrize("name, vcpus, memory, pods", [
    ("t3.medium", 2, 4, 17), ("m6i.large", 2, 8, 29), ("c7i.2xlarge", 8, 16, 58), ("r6i.xlarge", 4, 32, 58),
])
def test_instance_types(name: str, vcpus: int, memory: int, pods: int) -> None:
    kind = capacity.instance_type(name)
    assert (kind.vcpus, kind.memory_gib, kind.max_pods) == (vcpus, memory, pods)


def test_allocatable_follows_karpenters_formulas() -> None:
    kind = capacity.instance_type("m6i.large")
    # 2 vCPU: 60m + 10m kube-reserved, 125m DaemonSets.
    assert kind.allocatable_cpu == Fraction(2) - Fraction(70, 1000) - Fraction(125, 1000)
    # 8 GiB less 7.5 %, 11 MiB x 29 pods + 255 MiB, 100 MiB eviction.
    assert kind.allocatable_memory == Fraction(8 * 2**30) * Fraction(925, 1000) - (11 * 29 + 255 + 100) * 2**20
    assert kind.allocatable_pods == 27


def _stack(name: str) -> StackConfig:
    from offline.run.stackfile import read_stack
    from stackconfig import load_config

    stack_file = read_stack(name, ROOT)
    return load_config(stack_file.config, stack_file.secret_keys)


def test_acme_demand_counts_surge_and_migrations() -> None:
    tenant = _stack("acme").tenant
    assert tenant is not None
    demand = capacity.customer_demand(tenant)
    # Minimum: 2+2+3+1+1+1 replicas, each Deployment +1 surge, +1 migrations pod.
    assert demand.minimum.pods == 10 + 6 + 1
    assert demand.minimum.cpu == Fraction(27, 10) + Fraction(145, 100) + Fraction(1, 4)
    # Maximum: 10+8+12+1+1+1, +6 surge, +1 job.
    assert demand.maximum.pods == 33 + 6 + 1
    assert capacity.quota_problems(tenant, demand) == []
    assert (demand.largest_pod.cpu, demand.largest_pod.memory) == (Fraction(1, 2), 512 * 2**20)


def test_a_pod_larger_than_any_allowed_node_fails() -> None:
    platform, tenant = _stack("platform").platform, _stack("acme").tenant
    assert platform is not None and tenant is not None
    pool = platform.cluster.node_pool.model_copy(update={"instance_families": ["c6i"], "instance_sizes": ["large"]})
    cluster = platform.cluster.model_copy(update={"node_pool": pool})
    services = tenant.services.model_copy(update={"event_processor": tenant.services.event_processor.model_copy(
        update={"resources": tenant.services.event_processor.resources.model_copy(update={
            "requests": tenant.services.event_processor.resources.requests.model_copy(update={"memory": "8Gi"})})})})
    big = tenant.model_copy(update={"services": services})
    report = capacity.judge("t", cluster, platform.addons, [big])
    assert any("largest pod does not fit on the largest allowed instance type c6i.large (memory)" in e
               for e in report.errors), report.errors


@pytest.mark.parametrize("cpu, memory, errors, warnings", [
    ("48", "192Gi", 0, 0),
    ("24", "192Gi", 0, 1),   # the minimum fits, the maximum does not
    ("4", "192Gi", 1, 1),
    ("48", "8Gi", 1, 1),
])
def test_platform_verdict(cpu: str, memory: str, errors: int, warnings: int) -> None:
    platform = _stack("platform").platform
    assert platform is not None
    customers = [t for t in (_stack(n).tenant for n in ("acme", "globex", "umbrella")) if t is not None]
    pool = platform.cluster.node_pool.model_copy(
        update={"limits": platform.cluster.node_pool.limits.model_copy(update={"cpu": cpu, "memory": memory})})
    cluster = platform.cluster.model_copy(update={"node_pool": pool})
    report = capacity.judge("t", cluster, platform.addons, customers)
    assert (len(report.errors), len(report.warnings)) == (errors, warnings), (report.errors, report.warnings)
    assert all(e.startswith("capacity:") for e in report.errors)


# ------------------------------------------------------------------ the plan


def _copy_repo(tmp_path: Path) -> Path:
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    for stack in (ROOT / "stacks").glob("Pulumi.*.yaml"):
        shutil.copy(stack, tmp_path / "stacks" / stack.name)
    return tmp_path


def test_platform_plan_prints_the_table_for_its_customers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = plan.main(["platform", "--out", str(tmp_path / "out")])
    printed = capsys.readouterr().out
    assert code == plan.EXIT_OK
    table = printed[printed.index("Capacity of datafly-prod"):]
    for customer in ("acme", "globex", "umbrella"):
        assert f"customer {customer}" in table
    assert "customer initech" not in table
    assert "NodePool limits: 48 vCPU, 192Gi" in table


def test_platform_plan_exits_1_naming_capacity_when_customers_do_not_fit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _copy_repo(tmp_path)
    path = root / "stacks" / "Pulumi.platform.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["datafly:platform"]["cluster"]["nodePool"]["limits"]["cpu"] = 4
    path.write_text(yaml.safe_dump(document))
    code = plan.main(["platform", "--root", str(root), "--out", str(root / "out")])
    printed = capsys.readouterr().out
    assert code == plan.EXIT_VIOLATIONS
    assert "error: capacity: the customers' minimum exceeds the NodePool limits" in printed


def test_dedicated_customer_has_its_own_karpenter() -> None:
    result = plan.Planner().plan("initech")
    assert result.run is not None and result.exit_code == plan.EXIT_OK
    types = {(r.type, r.name) for r in result.run.resources}
    assert ("datafly:addons:Karpenter", "initech-cluster-karpenter") in types
    assert ("kubernetes:karpenter.sh/v1:NodePool", "initech-cluster-karpenter-node-pool") in types
    pool = next(r for r in result.run.resources if r.type == "kubernetes:karpenter.sh/v1:NodePool")
    assert pool.inputs["spec"]["limits"] == {"cpu": "16", "memory": "64Gi"}
    release = next(r for r in result.run.resources if r.name == "initech-cluster-karpenter-release")
    assert release.urn in pool.dependencies
    assert result.capacity is not None and "customer initech" in "\n".join(result.capacity.lines)


# ------------------------------------------------------------------ what the platform registers


@pytest.fixture(scope="module")
def platform_run() -> Any:
    result = plan.Planner().plan("platform")
    assert result.run is not None
    return result.run


def _one(run: Any, type_: str, name: str) -> Any:
    (found,) = [r for r in run.resources if r.type == type_ and r.name == name]
    return found


def test_system_node_group_is_tainted_and_labelled(platform_run: Any) -> None:
    nodes = _one(platform_run, "aws:eks/nodeGroup:NodeGroup", "prod-eks-nodes")
    assert nodes.inputs["taints"] == [{"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"}]
    assert nodes.inputs["labels"] == {"datafly.io/node-role": "system"}


def test_karpenter_release_identity_queue_and_order(platform_run: Any) -> None:
    release = _one(platform_run, "kubernetes:helm.sh/v3:Release", "prod-karpenter-release")
    crds = _one(platform_run, "kubernetes:helm.sh/v3:Release", "prod-karpenter-crds")
    assert (release.inputs["chart"], release.inputs["version"]) == ("oci://public.ecr.aws/karpenter/karpenter", "1.14.1")
    assert (crds.inputs["chart"], crds.inputs["version"]) == ("oci://public.ecr.aws/karpenter/karpenter-crd", "1.14.1")
    assert release.inputs["skipCrds"] is True and crds.urn in release.dependencies
    values = release.inputs["values"]
    assert values["settings"] == {"clusterName": "datafly-prod", "interruptionQueue": "datafly-prod-karpenter"}
    role = _one(platform_run, "aws:iam/role:Role", "prod-karpenter-controller-role")
    annotation = values["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert annotation.startswith("arn:aws:iam::123456789012:role/prod-karpenter-controller-role-")
    assert '"system:serviceaccount:karpenter:karpenter"' in role.inputs["assumeRolePolicy"]
    assert values["nodeSelector"]["datafly.io/node-role"] == "system"
    queue = _one(platform_run, "aws:sqs/queue:Queue", "prod-karpenter-queue")
    assert queue.inputs["sqsManagedSseEnabled"] is True and queue.inputs["name"] == "datafly-prod-karpenter"
    rules = [r for r in platform_run.resources if r.type == "aws:cloudwatch/eventRule:EventRule"]
    assert len(rules) == 5
    entry = _one(platform_run, "aws:eks/accessEntry:AccessEntry", "prod-karpenter-node-access")
    assert entry.inputs["type"] == "EC2_LINUX"
    # Created after the cluster it belongs to.
    assert _one(platform_run, "aws:eks/cluster:Cluster", "prod-eks-cluster").urn in entry.dependencies
    tag = _one(platform_run, "aws:ec2/tag:Tag", "prod-karpenter-sg-discovery")
    assert (tag.inputs["key"], tag.inputs["value"]) == ("karpenter.sh/discovery", "datafly-prod")
    pool = _one(platform_run, "kubernetes:karpenter.sh/v1:NodePool", "prod-karpenter-node-pool")
    node_class = _one(platform_run, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", "prod-karpenter-node-class")
    # Destroy order: the NodePool goes while the controller still runs.
    assert release.urn in pool.dependencies and node_class.urn in pool.dependencies
    assert release.urn in node_class.dependencies
    assert node_class.inputs["spec"]["role"].startswith("prod-karpenter-node-role-")


def test_event_rule_physical_names_fit_eventbridge_limit(platform_run: Any) -> None:
    """EventBridge rule names are at most 64 characters; Pulumi derives them from the child
    name plus an 8-character suffix. The longest child name a dedicated customer (name
    of 20 characters) gets must leave room."""
    longest = max(len(build.rule_short_name(r)) for r in build.INTERRUPTION_RULES)
    assert len(f"{'x' * 20}-cluster-karpenter-rule-") + longest + 8 <= 64
    rules = [r.name for r in platform_run.resources if r.type == "aws:cloudwatch/eventRule:EventRule"]
    assert sorted(rules) == sorted(f"prod-karpenter-rule-{s}" for s in
                                   ("health", "spot", "rebalance", "state", "reservation"))


def test_types_without_capacity_data_warn_instead_of_failing() -> None:
    platform = _stack("platform").platform
    assert platform is not None
    pool = platform.cluster.node_pool.model_copy(update={"instance_families": ["m5", "m6i"]})
    group = platform.cluster.node_group.model_copy(update={"instance_types": ["m5.xlarge"]})
    cluster = platform.cluster.model_copy(update={"node_pool": pool, "node_group": group})
    report = capacity.judge("t", cluster, platform.addons, [])
    assert report.errors == []
    assert any("no max-pods data for m5.xlarge, m5.2xlarge" in w for w in report.warnings), report.warnings
    assert any("system node group's m5.xlarge" in w for w in report.warnings), report.warnings
    only_unknown = cluster.model_copy(update={"node_pool": pool.model_copy(update={"instance_families": ["m5"],
                                                                                  "instance_sizes": ["4xlarge"]})})
    assert capacity.judge("t", only_unknown, platform.addons, []).errors == [
        "capacity: none of the NodePool's instance types has capacity data; "
        "add their rows to schemas/vpc-cni/eni-max-pods.txt"]
