"""Checks over a recorded plan: every Kubernetes object against its schema, plus the
rules about the plan itself that no schema expresses."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import yaml

from builders.alert_rules import check_rules
from builders.yaml_text import safe_load
from offline.check.aws_constraints import check_aws_constraints
from offline.check.behaviour import BEHAVIOUR_RULES
from offline.check.cel import CelReport
from offline.check.cel import evaluate_objects as evaluate_cel_rules
from offline.check.kubernetes import Violation, validate_objects
from offline.report import artefacts as report
from offline.run.runner import STACK_REFERENCE_TYPE, PlanRun, Resource

__all__ = ["Violation", "check_plan", "PLAN_RULES"]

# Installed by a Helm release in the same stack (the platform's add-ons), keyed by API group.
CRD_GROUPS = ("keda.sh", "external-secrets.io", "elbv2.k8s.aws", "karpenter.sh", "karpenter.k8s.aws")


def check_plan(run: PlanRun, kubernetes_version: str) -> list[Violation]:
    violations = validate_objects(report.kubernetes_objects(run), kubernetes_version)
    for rule in PLAN_RULES:
        violations.extend(rule(run))
    return sorted(set(violations))


def _label(resource: Resource) -> str:
    return f"{resource.type} {resource.name}"


def explicit_providers(run: PlanRun) -> Iterator[Violation]:
    """Default providers are disabled; a resource without an explicit provider would
    fail at `pulumi up` (or, were they enabled, land on whatever the ambient
    credentials point at)."""
    for resource in run.resources:
        if (
            resource.custom
            and not resource.type.startswith("pulumi:providers:")
            and resource.type != STACK_REFERENCE_TYPE
            and resource.provider is None
        ):
            yield Violation(_label(resource), "provider", "has no explicit provider")


def crds_before_custom_resources(run: PlanRun) -> Iterator[Violation]:
    """A custom resource applied before the release that installs its CRD and webhook
    fails with "no matches for kind"; it must depend on that release (in the stack that
    installs it)."""
    releases = {r.urn for r in run.resources if r.type in report.HELM_RELEASE_TYPES}
    if not releases:
        return
    by_urn = {r.urn: r for r in run.resources}
    for resource in run.resources:
        group = resource.type.split(":")[1].split("/")[0] if resource.type.startswith("kubernetes:") else ""
        if group in CRD_GROUPS and not _depends_on_any(resource, releases, by_urn):
            yield Violation(_label(resource), "dependsOn", "does not depend on the Helm release that installs its CRD")


def _depends_on_any(resource: Resource, targets: set[str], by_urn: dict[str, Resource]) -> bool:
    seen: set[str] = set()
    stack = list(resource.dependencies)
    node = resource
    while node.parent in by_urn:  # dependencies of ancestors apply to children
        node = by_urn[node.parent]
        stack.extend(node.dependencies)
    while stack:
        urn = stack.pop()
        if urn in targets:
            return True
        if urn in seen or urn not in by_urn:
            continue
        seen.add(urn)
        stack.extend(by_urn[urn].dependencies)
    return False


def no_secret_leaks(run: PlanRun) -> Iterator[Violation]:
    """The decrypted value of every `secure:` config entry must never appear in plan
    inputs or non-secret outputs (it would land in state and logs in plaintext)."""
    secrets = run.stack.secret_values
    if not secrets:
        return
    for resource in run.resources:
        text = json.dumps(resource.inputs)
        if any(s in text for s in secrets):
            yield Violation(_label(resource), "inputs", "contains a secret config value in plaintext")
    for key, output in run.outputs.items():
        if not output.secret and any(s in json.dumps(output.value) for s in secrets):
            yield Violation("stack output", key, "exports a secret config value as plaintext")


def protected_stateful(run: PlanRun) -> Iterator[Violation]:
    """Stateful resources must be protected when created; `protect` only acts once it
    is recorded in state."""
    for resource in run.resources:
        if resource.type in STATEFUL_TYPES and not (resource.protect or resource.retain_on_delete):
            if _stack_protects(run):
                yield Violation(_label(resource), "protect", "stateful resource is not protected")


def _stack_protects(run: PlanRun) -> bool:
    raw = run.stack.config.get("datafly:tenant") or run.stack.config.get("datafly:platform") or "{}"
    try:
        return bool(json.loads(raw).get("protect", True))
    except (ValueError, AttributeError):
        return True


def cel_rules(run: PlanRun) -> Iterator[Violation]:
    """The CRDs' CEL rules (x-kubernetes-validations), which JSON Schema skips."""
    yield from cel_report(run).violations


def cel_report(run: PlanRun) -> CelReport:
    """The CEL rules' verdict on the run's objects, evaluated once (the checks and the
    printed summary line both read it)."""
    if "cel" not in run.derived:
        run.derived["cel"] = evaluate_cel_rules(report.kubernetes_objects(run))
    verdict: CelReport = run.derived["cel"]
    return verdict


STATEFUL_TYPES = frozenset({
    "aws:rds/instance:Instance",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "aws:msk/cluster:Cluster",
    "aws:kms/key:Key",
    "aws:secretsmanager/secret:Secret",
    "aws:eks/cluster:Cluster",
})

RULE_GROUP_NAMESPACE_TYPE = "aws:amp/ruleGroupNamespace:RuleGroupNamespace"


def alert_rules(run: PlanRun) -> Iterator[Violation]:
    """Every AMP rule group the plan loads: each expression parses and selects only
    metrics a scraped exporter emits and its scrape job keeps (builders/alert_rules.py).
    AMP itself accepts a rule on a metric nobody sends; that alert would never fire."""
    for resource in run.resources:
        if resource.type != RULE_GROUP_NAMESPACE_TYPE:
            continue
        data = resource.inputs.get("data")
        try:
            document = safe_load(data) if isinstance(data, str) else None
        except yaml.YAMLError as exc:
            yield Violation(_label(resource), "data", f"is not YAML: {exc}")
            continue

        if not isinstance(document, dict):
            yield Violation(_label(resource), "data", "is not a Prometheus rules file")
            continue
        for problem in check_rules(document):
            yield Violation(_label(resource), "data", problem)


PLAN_RULES: tuple[Callable[[PlanRun], Iterator[Violation]], ...] = (
    explicit_providers,
    crds_before_custom_resources,
    no_secret_leaks,
    protected_stateful,
    # What the cluster and the pinned controllers would do with the plan (offline/check/behaviour.py).
    *BEHAVIOUR_RULES,
    check_aws_constraints,  # AWS's published constraints, through cfn-lint
    cel_rules,
    alert_rules,
)
