"""Third-party scanners over every example stack: checkov over the rendered
manifests, kubernetes-validate in strict mode, parliament over every IAM permission
policy, and our own assertions over the trust policies parliament cannot read.

Each finding must be covered by a reviewed entry in scanners/ (with its reason), and
each entry must still cover a finding.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from parliament import analyze_policy_string  # type: ignore[import-untyped]  # ships no type hints

from offline import plan
from offline.report import artefacts as report
from offline.run.runner import STACK_REFERENCE_TYPE, PlanRun, Resource
from offline.run.stackfile import ROOT, stack_names

SCANNERS = ROOT / "scanners"
STACKS = stack_names()
# checkov pins packaging<24 while pulumi needs packaging>=26: it lives in its own venv.
CHECKOV_VENV_PYTHON = ROOT / ".venv" / "checkov" / "bin" / "python"
# CRD groups validated against their upstream schemas by the offline plan (schemas/);
# kubernetes-validate bundles core kinds only.
CRD_GROUPS = ("keda.sh", "external-secrets.io", "elbv2.k8s.aws", "karpenter.sh", "karpenter.k8s.aws")


@dataclass
class Rendered:
    root: Path
    runs: dict[str, PlanRun]
    versions: dict[str, str]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    out = tmp_path_factory.mktemp("out")
    planner = plan.Planner(out_dir=out)
    runs, versions = {}, {}
    for stack in STACKS:
        result = planner.plan(stack)
        assert result.run is not None, result.problems
        report.write_outputs(result.run, out / stack)
        runs[stack] = result.run
        versions[stack] = _kubernetes_version(planner, result.run)
    return Rendered(out, runs, versions)


def _kubernetes_version(planner: plan.Planner, run: PlanRun) -> str:
    if "kubernetesVersion" in run.outputs:
        return str(run.outputs["kubernetesVersion"].value)
    (reference,) = [r for r in run.resources if r.type == STACK_REFERENCE_TYPE]
    return str(planner.reference_outputs(str(reference.inputs["name"]))["kubernetesVersion"].value)


def _load(name: str) -> Any:
    return yaml.safe_load((SCANNERS / name).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------- checkov


def _checkov_python() -> str:
    configured = os.environ.get("CHECKOV_PYTHON")
    if configured:
        return configured
    if CHECKOV_VENV_PYTHON.exists():
        return str(CHECKOV_VENV_PYTHON)
    pytest.fail(
        "checkov is not installed: python3 -m venv .venv/checkov && "
        ".venv/checkov/bin/pip install -r scanners/requirements-checkov.txt (make venv does this)"
    )


@dataclass(frozen=True)
class CheckovFailure:
    check_id: str
    resource: str  # "Deployment.customer-acme.event-processor"
    stack: str

    def __str__(self) -> str:
        return f"{self.stack}: {self.check_id} {self.resource}"


@pytest.fixture(scope="module")
def checkov_report(rendered: Rendered) -> dict[str, Any]:
    """One checkov run over every stack's manifests (a run costs seconds of start-up)."""
    manifests = rendered.root / "manifests"
    for stack in STACKS:
        (manifests / stack).mkdir(parents=True)
        (manifests / stack / "manifests.yaml").write_bytes((rendered.root / stack / "manifests.yaml").read_bytes())
    completed = subprocess.run(
        [_checkov_python(), "-m", "checkov.main", "--framework", "kubernetes", "--skip-download",
         "--directory", str(manifests), "--output", "json"],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert completed.returncode in (0, 1), completed.stderr[-2000:]
    document = json.loads(completed.stdout)
    reports = document if isinstance(document, list) else [document]
    (kubernetes,) = [r for r in reports if r.get("check_type") == "kubernetes"]
    return dict(kubernetes)


def _failures(checkov: Mapping[str, Any]) -> list[CheckovFailure]:
    return sorted(
        {CheckovFailure(f["check_id"], f["resource"], f["file_path"].strip("/").split("/")[0])
         for f in checkov["results"]["failed_checks"]},
        key=str,
    )


def _covers(skip: Mapping[str, Any], failure: CheckovFailure) -> bool:
    return (
        skip["id"] == failure.check_id
        and ("stacks" not in skip or failure.stack in skip["stacks"])
        and any(fnmatch.fnmatchcase(failure.resource, p) for p in skip["resources"])
    )


def test_checkov_scanned_every_stack(checkov_report: dict[str, Any], rendered: Rendered) -> None:
    summary = checkov_report["summary"]
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 0
    scanned = {r["file_path"].strip("/").split("/")[0] for r in checkov_report["results"]["passed_checks"]}
    # checkov has no check for a Namespace, a CustomResourceDefinition or Karpenter's
    # custom resources, the only kinds the platform stack applies itself (its add-ons are
    # Helm releases; the ALB controller's CRDs are resources because Helm never upgrades
    # a chart's crds/).
    unchecked = ("Namespace", "CustomResourceDefinition")
    unchecked_groups = ("karpenter.sh/", "karpenter.k8s.aws/")
    checkable = {
        stack for stack in STACKS
        if any(o["kind"] not in unchecked and not o["apiVersion"].startswith(unchecked_groups)
               for o in yaml.safe_load_all((rendered.root / stack / "manifests.yaml").read_text()))
    }
    assert scanned == checkable and checkable >= set(STACKS) - {"platform"}


def test_checkov_fails_nothing_but_the_reviewed_skips(checkov_report: dict[str, Any]) -> None:
    skips = _load("checkov-skips.yaml")["skips"]
    failures = _failures(checkov_report)
    uncovered = [str(f) for f in failures if not any(_covers(s, f) for s in skips)]
    assert uncovered == [], "checkov failures with no reviewed skip in scanners/checkov-skips.yaml"
    stale = [s["id"] for s in skips if not any(_covers(s, f) for f in failures)]
    assert stale == [], "skips that no longer cover a failure: remove them"


def test_checkov_skips_carry_reasons() -> None:
    skips = _load("checkov-skips.yaml")["skips"]
    assert skips
    for skip in skips:
        assert set(skip) <= {"id", "check", "stacks", "resources", "reason"}, skip
        assert skip["id"].startswith("CKV_K8S_") and skip["resources"], skip
        assert len(str(skip.get("reason", "")).split()) >= 15, f"{skip['id']} needs a real reason"


def test_digest_pinned_stack_passes_the_digest_check(checkov_report: dict[str, Any]) -> None:
    # The CKV_K8S_43 skip is scoped to the tag-pinned stacks; umbrella must pass it.
    failures = _failures(checkov_report)
    assert not [f for f in failures if f.stack == "umbrella" and f.check_id == "CKV_K8S_43"]
    passed = {(p["check_id"], p["file_path"].strip("/").split("/")[0])
              for p in checkov_report["results"]["passed_checks"]}
    assert ("CKV_K8S_43", "umbrella") in passed


# ---------------------------------------------------------------------- kubernetes-validate


@pytest.mark.parametrize("stack", STACKS)
def test_kubernetes_validate_strict(rendered: Rendered, stack: str) -> None:
    version = rendered.versions[stack]
    objects = list(yaml.safe_load_all((rendered.root / stack / "manifests.yaml").read_text(encoding="utf-8")))
    errors, validated = [], 0
    for obj in objects:
        group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
        label = f"{obj['kind']} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
            validated += 1
        except kubernetes_validate.SchemaNotFoundError:
            if group not in CRD_GROUPS:
                errors.append(f"{label}: no schema for {obj['apiVersion']} in Kubernetes {version}")
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{label}: {exc.message} at {'.'.join(map(str, exc.path))}")
    assert errors == []
    assert validated > 0 or stack == "platform"


def test_kubernetes_validate_strict_rejects_an_unknown_field(rendered: Rendered) -> None:
    (deployment,) = [o for o in yaml.safe_load_all((rendered.root / "acme" / "manifests.yaml").read_text())
                     if o["kind"] == "Deployment" and o["metadata"]["name"] == "management-api"]
    deployment["spec"]["replica"] = 2  # a typo the API server drops silently without strict validation
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, rendered.versions["acme"], strict=True)


# ---------------------------------------------------------------------- IAM documents


@dataclass(frozen=True)
class Document:
    stack: str
    resource: Resource
    field: str
    text: str

    def __str__(self) -> str:
        return f"{self.stack}: {self.resource.type} {self.resource.name} {self.field}"


PERMISSION_FIELDS = {"aws:iam/rolePolicy:RolePolicy": "policy", "aws:iam/policy:Policy": "policy"}


def _permission_documents(rendered: Rendered) -> Iterator[Document]:
    for stack, run in rendered.runs.items():
        for resource in run.resources:
            if resource.type in PERMISSION_FIELDS:
                yield Document(stack, resource, "policy", resource.inputs["policy"])
            elif resource.type == "aws:iam/role:Role":
                for index, inline in enumerate(resource.inputs.get("inlinePolicies") or []):
                    yield Document(stack, resource, f"inlinePolicies[{index}]", inline["policy"])


def _trust_documents(rendered: Rendered) -> Iterator[Document]:
    for stack, run in rendered.runs.items():
        for resource in run.resources:
            if resource.type == "aws:iam/role:Role":
                yield Document(stack, resource, "assumeRolePolicy", resource.inputs["assumeRolePolicy"])


@dataclass(frozen=True)
class Finding:
    document: Document
    issue: str
    detail: str

    def __str__(self) -> str:
        return f"{self.document}: {self.issue} {self.detail[:160]}"


@pytest.fixture(scope="module")
def findings(rendered: Rendered) -> list[Finding]:
    found: list[Finding] = []
    for document in _permission_documents(rendered):
        analyzed = analyze_policy_string(document.text, include_community_auditors=False)
        found.extend(Finding(document, f.issue, json.dumps(f.detail, default=str)) for f in analyzed.findings)
    return found


def _allows(entry: Mapping[str, Any], finding: Finding) -> bool:
    return (
        entry["issue"] == finding.issue
        and any(fnmatch.fnmatchcase(finding.document.resource.name, p) for p in entry["resources"])
        and ("match" not in entry or entry["match"] in finding.detail)
    )


def test_every_iam_permission_policy_is_analyzed(rendered: Rendered) -> None:
    documents = list(_permission_documents(rendered))
    counts = {stack: sum(1 for d in documents if d.stack == stack) for stack in STACKS}
    assert all(counts.values()), counts
    assert all(json.loads(d.text)["Version"] == "2012-10-17" for d in documents)


def test_parliament_finds_nothing_but_the_documented_allowances(findings: list[Finding]) -> None:
    allowed = _load("parliament-allow.yaml")["allow"]
    unexplained = [str(f) for f in findings if not any(_allows(a, f) for a in allowed)]
    assert unexplained == [], "parliament findings with no entry in scanners/parliament-allow.yaml"
    stale = [a["issue"] for a in allowed if not any(_allows(a, f) for f in findings)]
    assert stale == [], "allow-list entries that no longer match a finding: remove them"
    for entry in allowed:
        assert len(str(entry.get("reason", "")).split()) >= 15, entry


def test_parliament_still_catches_a_wildcard(findings: list[Finding]) -> None:
    # The allow-list is scoped: the same finding on one of our own policies is not allowed.
    del findings
    text = json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    issues = {f.issue for f in analyze_policy_string(text).findings}
    assert "RESOURCE_STAR" in issues


SERVICE_PRINCIPALS = {"eks.amazonaws.com", "ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com"}
ACTIONS_BY_PRINCIPAL = {"Service": "sts:AssumeRole", "AWS": "sts:AssumeRole",
                        "Federated": "sts:AssumeRoleWithWebIdentity"}


@pytest.mark.parametrize("stack", STACKS)
def test_trust_policies(rendered: Rendered, stack: str) -> None:
    """What parliament cannot check: who may assume each role."""
    account = None
    for document in _trust_documents(rendered):
        if document.stack != stack:
            continue
        policy = json.loads(document.text)
        assert policy["Version"] == "2012-10-17", document
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow" and "NotPrincipal" not in statement, document
            (kind,) = statement["Principal"]  # exactly one principal type per statement
            principal = statement["Principal"][kind]
            assert statement["Action"] == ACTIONS_BY_PRINCIPAL[kind], document
            if kind == "Service":
                assert principal in SERVICE_PRINCIPALS, document
            elif kind == "AWS":
                # Another role of the same account, by ARN: never "*" or an account root.
                assert principal.startswith("arn:aws:iam::") and ":role/" in principal, document
                account = account or principal.split(":")[4]
                assert principal.split(":")[4] == account, document
            else:
                assert ":oidc-provider/oidc.eks." in principal, document
                equals = statement["Condition"]["StringEquals"]
                assert set(statement["Condition"]) == {"StringEquals"}, document
                assert sorted(k.rsplit(":", 1)[1] for k in equals) == ["aud", "sub"], document
                assert equals[next(k for k in equals if k.endswith(":aud"))] == "sts.amazonaws.com"
                subject = equals[next(k for k in equals if k.endswith(":sub"))]
                assert subject.startswith("system:serviceaccount:") and "*" not in subject, document


AWS_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    # Karpenter's node role, as upstream's KarpenterNodeRole (builders/karpenter.py).
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
}


@pytest.mark.parametrize("stack", STACKS)
def test_attached_managed_policies_are_the_eks_ones_or_our_own(rendered: Rendered, stack: str) -> None:
    run = rendered.runs[stack]
    own = {r.urn for r in run.resources if r.type == "aws:iam/policy:Policy"}
    for attachment in (r for r in run.resources if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        arn = attachment.inputs["policyArn"]
        assert arn in AWS_MANAGED_POLICIES or own & set(attachment.dependencies), (attachment.name, arn)
