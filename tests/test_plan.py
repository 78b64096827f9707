"""The offline plan engine: what the recording monitor sees, what it writes, and that
the validators and plan rules reject what a cluster or `pulumi up` would."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pytest
import yaml

from offline import plan
from offline.check import checks
from offline.report import artefacts as report
from offline.run.runner import SECRET
from offline.run.stackfile import ROOT, placeholder, read_stack
from tests.harness import of_type, one, run

KUBECONFIG = json.dumps({"apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [], "users": []})


@pytest.fixture(scope="module")
def acme(tmp_path_factory: pytest.TempPathFactory) -> tuple[plan.PlanResult, Path]:
    out = tmp_path_factory.mktemp("out")
    planner = plan.Planner(out_dir=out)
    result = planner.plan("acme")
    assert result.run is not None, result.problems
    report.write_outputs(result.run, out / "acme")
    return result, out / "acme"


def test_acme_plans_clean_and_writes_every_artefact(acme: tuple[plan.PlanResult, Path]) -> None:
    result, out = acme
    assert result.exit_code == plan.EXIT_OK, [str(v) for v in result.violations]
    assert sorted(p.name for p in out.iterdir()) == ["graph.dot", "manifests.yaml", "plan.json", "releases.yaml"]
    document = json.loads((out / "plan.json").read_text())
    assert (document["project"], document["stack"]) == ("datafly", "acme")
    keys = {"urn", "type", "name", "parent", "custom", "dependencies", "protect", "retainOnDelete",
            "ignoreChanges", "deleteBeforeReplace", "provider", "inputs"}
    assert all(keys <= set(r) for r in document["resources"])


def test_manifests_are_plain_objects_namespace_first(acme: tuple[plan.PlanResult, Path]) -> None:
    _, out = acme
    objects = list(yaml.safe_load_all((out / "manifests.yaml").read_text()))
    assert objects[0]["kind"] == "Namespace"
    assert objects[0]["metadata"]["name"] == "customer-acme"
    assert objects[0]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert all(set(o) >= {"apiVersion", "kind", "metadata"} for o in objects)


def test_recorded_parentage_providers_and_dependencies(acme: tuple[plan.PlanResult, Path]) -> None:
    result, _ = acme
    assert result.run is not None
    plan_run = result.run
    customer = one(plan_run, "datafly:tenant:Customer", "acme")
    provider = one(plan_run, "pulumi:providers:kubernetes", "acme-k8s")
    namespace = one(plan_run, "kubernetes:core/v1:Namespace", "acme-ns-namespace")
    reference = one(plan_run, "pulumi:pulumi:StackReference", "platform")
    assert provider.parent == customer.urn
    assert namespace.provider == provider.urn
    # The kubeconfig is computed from the platform's outputs, so the provider depends on the reference.
    assert reference.urn in provider.dependencies
    kubeconfig = json.loads(provider.inputs["kubeconfig"])
    assert kubeconfig["users"][0]["user"]["exec"]["args"][:4] == ["eks", "get-token", "--cluster-name", "datafly-prod"]


def test_plan_is_deterministic(tmp_path: Path) -> None:
    first, second = plan.Planner(out_dir=tmp_path).plan("acme"), plan.Planner(out_dir=tmp_path).plan("acme")
    assert first.run is not None and second.run is not None
    assert report.plan_json(first.run) == report.plan_json(second.run)
    assert report.graph_dot(first.run) == report.graph_dot(second.run)


def _options_program() -> dict[str, Any]:
    provider = aws.Provider("aws", region="us-east-1")
    key = aws.kms.Key("key", enable_key_rotation=True,
                      opts=pulumi.ResourceOptions(provider=provider, protect=True, retain_on_delete=True))
    alias = aws.kms.Alias("alias", name="alias/x", target_key_id=key.key_id,
                          opts=pulumi.ResourceOptions(provider=provider, ignore_changes=["name"],
                                                      delete_before_replace=True))
    secret = aws.secretsmanager.SecretVersion(
        "version", secret_id="s", secret_string=pulumi.Output.secret("hunter2-very-secret"),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[alias]))
    return {"keyArn": key.arn, "token": pulumi.Output.secret("hunter2-very-secret"), "versionId": secret.id}


def test_monitor_records_options_and_dependencies() -> None:
    plan_run = run(_options_program)
    key = one(plan_run, "aws:kms/key:Key", "key")
    alias = one(plan_run, "aws:kms/alias:Alias", "alias")
    version = one(plan_run, "aws:secretsmanager/secretVersion:SecretVersion", "version")
    assert (key.protect, key.retain_on_delete) == (True, True)
    assert (alias.protect, alias.ignore_changes, alias.delete_before_replace) == (False, ["name"], True)
    assert key.urn in alias.dependencies           # through target_key_id
    assert alias.urn in version.dependencies       # through depends_on
    assert key.provider == one(plan_run, "pulumi:providers:aws", "aws").urn


def test_secrets_are_redacted_in_inputs_and_outputs() -> None:
    plan_run = run(_options_program)
    version = one(plan_run, "aws:secretsmanager/secretVersion:SecretVersion", "version")
    assert version.inputs["secretString"] == SECRET
    document = json.dumps(report.plan_json(plan_run))
    assert "hunter2" not in document
    assert report.plan_json(plan_run)["outputs"]["token"] == SECRET
    assert plan_run.outputs["keyArn"].secret is False


def _bad_objects_program() -> None:
    provider = k8s.Provider("k8s", kubeconfig=KUBECONFIG)
    opts = pulumi.ResourceOptions(provider=provider)
    k8s.apps.v1.Deployment(
        "bad-deployment",
        metadata={"name": "bad", "namespace": "customer-acme"},
        spec={"selector": {"matchLabels": {"app": "bad"}},
              "template": {"metadata": {"labels": {"app": "bad"}},
                           "spec": {"containers": [{"image": "ghcr.io/datafly/x:v1"}]}}},
        opts=opts,
    )
    k8s.apiextensions.CustomResource(
        "bad-scaledobject",
        api_version="keda.sh/v1alpha1", kind="ScaledObject",
        metadata={"name": "bad", "namespace": "customer-acme"},
        spec={"scaleTargetRef": {"name": "bad"}, "minReplicaCount": 2, "maxReplicaCount": 8,
              "triggers": [{"type": "kafka", "metadata": {"bootstrapServers": "b:9098", "consumerGroup": "g",
                                                          "topic": "t", "lagThreshold": 10000}}]},
        opts=opts,
    )
    aws.s3.Bucket("no-provider")


def test_known_bad_objects_and_a_missing_provider_are_violations() -> None:
    violations = [str(v) for v in checks.check_plan(run(_bad_objects_program), "1.35")]
    assert any("Deployment customer-acme/bad: spec.template.spec.containers[0]" in v and '"name"' in v
               for v in violations), violations
    assert any("ScaledObject customer-acme/bad: spec.triggers[0].metadata.lagThreshold" in v for v in violations), violations
    assert "aws:s3/bucket:Bucket no-provider: provider: has no explicit provider" in violations


def test_a_plaintext_secret_in_inputs_is_a_leak() -> None:
    leaked = placeholder("v1:ciphertext")

    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        aws.ssm.Parameter("p", type="String", value="v", description=leaked, opts=pulumi.ResourceOptions(provider=provider))

    plan_run = run(program)
    plan_run.stack = dataclasses.replace(plan_run.stack, secret_values=frozenset({leaked}))
    assert [str(v) for v in checks.no_secret_leaks(plan_run)] == [
        "aws:ssm/parameter:Parameter p: inputs: contains a secret config value in plaintext"
    ]


def test_secure_values_decrypt_to_placeholders_marked_secret(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    (tmp_path / "stacks" / "Pulumi.s.yaml").write_text(yaml.safe_dump({"config": {
        "aws:region": "us-east-1", "datafly:token": {"secure": "v1:abc"},
        "datafly:tenant": {"name": "x", "secrets": {"jwtSecret": {"secure": "v1:def"}}}}}))
    stack_file = read_stack("s", tmp_path)
    assert stack_file.config["datafly:token"] == placeholder("v1:abc")
    assert json.loads(stack_file.config["datafly:tenant"])["secrets"]["jwtSecret"] == placeholder("v1:def")
    assert stack_file.secret_keys == {"datafly:token", "datafly:tenant"}
    assert stack_file.secure_paths == {"datafly:token", "datafly:tenant.secrets.jwtSecret"}
    assert stack_file.secret_values == {placeholder("v1:abc"), placeholder("v1:def")}
    assert stack_file.config["pulumi:disable-default-providers"] == '["*"]'


def test_unknown_data_source_fails_loudly() -> None:
    def program() -> None:
        provider = aws.Provider("aws", region="us-east-1")
        aws.ec2.get_ami_output(owners=["amazon"], most_recent=True,
                               opts=pulumi.InvokeOptions(provider=provider)).apply(lambda a: a.id)

    with pytest.raises(Exception, match="no answer for data source 'aws:ec2/getAmi:getAmi'"):
        run(program)


def test_graph_has_dependency_and_parent_edges() -> None:
    plan_run = run(_options_program)
    dot = report.graph_dot(plan_run)
    assert dot.startswith("strict digraph {")
    assert '[label="aws:kms/alias:Alias\\nalias"]' in dot
    assert dot.count('style = "dashed"') == len(plan_run.resources)


def test_tree_and_summary() -> None:
    plan_run = run(_options_program)
    tree = report.tree_lines(plan_run)
    assert tree[1].split() == ["+", "pulumi:pulumi:Stack", "datafly-unit"]
    assert any(line.split()[-2:] == ["aws:kms/key:Key", "key"] for line in tree)
    summary = report.summary_lines(plan_run)
    assert summary[-1].split()[:3] == ["total", str(len(plan_run.resources)), "resources"]
    assert len(of_type(plan_run, "aws:kms/key:Key")) == 1
