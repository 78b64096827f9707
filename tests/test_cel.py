"""The CRDs' CEL rules (offline/check/cel.py), against the vendored CRDs, with exact messages."""

from __future__ import annotations

from typing import Any

import pytest

from offline.check.cel import CelReport, evaluate_object, evaluate_objects
from offline.check.kubernetes import Violation, crd_index


def _schema(group: str, kind: str, version: str = "v1") -> Any:
    return crd_index()[(group, kind)].versions[version].schema


def _scaled_object(minimum: int, maximum: int) -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
        "metadata": {"name": "event-processor", "namespace": "customer-acme"},
        "spec": {"scaleTargetRef": {"name": "event-processor"}, "minReplicaCount": minimum,
                 "maxReplicaCount": maximum, "triggers": [{"type": "cpu", "metadata": {"value": "70"}}]},
    }


KEDA_RULE = ("!has(self.minReplicaCount) || self.minReplicaCount <= (has(self.maxReplicaCount) "
             "? self.maxReplicaCount : 100)")


def test_keda_min_above_max_fails_its_cel_rule() -> None:
    report = evaluate_objects([_scaled_object(5, 2)])
    assert report.violations == [Violation(
        "keda.sh/v1alpha1 ScaledObject customer-acme/event-processor", "spec",
        f"Invalid value: object: minReplicaCount must be less than or equal to maxReplicaCount "
        f"(CRD CEL rule {KEDA_RULE!r})",
    )]
    assert report.evaluated == 1 and report.unsupported_count == 0


def test_keda_min_within_max_passes() -> None:
    report = evaluate_objects([_scaled_object(2, 5)])
    assert report.violations == [] and report.evaluated == 1


def test_eso_rule_on_a_nested_provider() -> None:
    store = {
        "apiVersion": "external-secrets.io/v1", "kind": "SecretStore",
        "metadata": {"name": "aws", "namespace": "customer-acme"},
        "spec": {"provider": {"crd": {"resource": {"group": "g", "version": "v1", "kind": "K"}}}},
    }
    report = evaluate_objects([store])
    assert Violation(
        "external-secrets.io/v1 SecretStore customer-acme/aws", "spec.provider.crd",
        "Invalid value: object: one of auth or authRef is required "
        "(CRD CEL rule 'has(self.auth) || has(self.authRef)')",
    ) in report.violations


NODEPOOL_GROUP = "karpenter.sh"


def _nodepool(requirements: list[dict[str, Any]], budgets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"template": {"spec": {
        "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
        "requirements": requirements,
    }}}
    if budgets is not None:
        spec["disruption"] = {"budgets": budgets}
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "default"}, "spec": spec}


def test_karpenter_nodepool_rules_apply_to_each_array_item() -> None:
    pool = _nodepool(
        [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": []}],
        budgets=[{"nodes": "10%", "schedule": "0 9 * * *"}],
    )
    report = evaluate_object(pool, _schema(NODEPOOL_GROUP, "NodePool"), "karpenter.sh/v1 NodePool default")
    messages = {(v.path, v.message.split(" (CRD CEL rule")[0]) for v in report.violations}
    assert messages == {
        ("spec.template.spec.requirements", "Invalid value: array: requirements with operator 'In' must have a value defined"),
        ("spec.disruption.budgets", "Invalid value: array: 'schedule' must be set with 'duration'"),
    }


def test_transition_rules_skipped_and_unsupported_functions_counted_not_passed() -> None:
    pool = _nodepool([{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot"]}])
    report = evaluate_object(pool, _schema(NODEPOOL_GROUP, "NodePool"), "karpenter.sh/v1 NodePool default")
    assert report.violations == []
    assert report.transition_skipped >= 3  # nodeClassRef immutability, static/dynamic mode
    # The label-domain rules (Kubernetes' regex library, string.find) are evaluated too.
    assert report.unsupported == {} and report.unsupported_count == 0


def test_a_function_the_evaluator_lacks_is_counted_as_skipped_never_as_passed() -> None:
    schema = {"type": "object", "properties": {"size": {
        "type": "string", "x-kubernetes-validations": [{"rule": "quantity(self).isGreaterThan(quantity('1Gi'))"}]}}}
    report = evaluate_object({"size": "1Mi"}, schema, "v1 Thing t")
    assert report.violations == [] and report.unsupported_count == 1
    assert set(report.unsupported.values()) == {"function isGreaterThan(), function quantity()"}
    assert "SKIPPED (not supported by the evaluator: function isGreaterThan(), function quantity())" in report.summary()


@pytest.mark.parametrize(("key", "allowed"), [
    ("karpenter.sh/capacity-type", True),
    ("topology.kubernetes.io/zone", True),
    ("example.karpenter.sh/anything", False),   # a domain Karpenter reserves
    ("karpenter.k8s.aws/instance-family", True),
    ("karpenter.k8s.aws/not-a-label", False),
])
def test_nodepool_requirement_keys_in_karpenters_domains_are_judged_with_find(key: str, allowed: bool) -> None:
    pool = _nodepool([{"key": key, "operator": "In", "values": ["x"]}])
    report = evaluate_object(pool, _schema(NODEPOOL_GROUP, "NodePool"), "karpenter.sh/v1 NodePool default")
    assert report.unsupported == {}
    assert (report.violations == []) is allowed, report.violations


@pytest.mark.parametrize(("alias", "allowed"), [
    ("al2023@latest", True), ("bottlerocket@v1.30.0", True), ("ubuntu@latest", False),
    ("windows2022@latest", True), ("windows2022@v1", False),
])
def test_ec2nodeclass_aliases_are_judged_with_split(alias: str, allowed: bool) -> None:
    node_class = {
        "apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"name": "default"},
        "spec": {"role": "KarpenterNodeRole", "amiSelectorTerms": [{"alias": alias}],
                 "subnetSelectorTerms": [{"tags": {"a": "b"}}], "securityGroupSelectorTerms": [{"tags": {"a": "b"}}]},
    }
    report = evaluate_object(node_class, _schema("karpenter.k8s.aws", "EC2NodeClass"),
                             "karpenter.k8s.aws/v1 EC2NodeClass default", CelReport())
    assert report.unsupported == {}
    assert (report.violations == []) is allowed, report.violations


def test_ec2nodeclass_rules_evaluate() -> None:
    node_class = {
        "apiVersion": "karpenter.k8s.aws/v1", "kind": "EC2NodeClass", "metadata": {"name": "default"},
        "spec": {"role": "KarpenterNodeRole", "amiSelectorTerms": [{"alias": "al2023@latest"}],
                 "subnetSelectorTerms": [{}], "securityGroupSelectorTerms": [{"tags": {"a": "b"}}]},
    }
    report = evaluate_object(node_class, _schema("karpenter.k8s.aws", "EC2NodeClass"),
                             "karpenter.k8s.aws/v1 EC2NodeClass default", CelReport())
    assert report.evaluated > 0
    assert report.violations == [Violation(
        "karpenter.k8s.aws/v1 EC2NodeClass default", "spec.subnetSelectorTerms",
        "Invalid value: array: expected at least one, got none, ['tags', 'id'] "
        "(CRD CEL rule 'self.all(x, has(x.tags) || has(x.id))')",
    )]
    assert report.unsupported == {}
