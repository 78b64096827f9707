"""offline/check/behaviour.py: each rule passes the example stacks' real plans and fails a
plan carrying the violating manifest (issue 11 section 2, items 8-15)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from offline.check import behaviour
from offline.check.checks import PLAN_RULES
from offline.check.kubernetes import Violation
from offline.plan import EXIT_VIOLATIONS, Planner
from offline.run.runner import PlanRun, Resource
from offline.run.stackfile import ROOT

Rule = Callable[[PlanRun], Iterator[Violation]]


@pytest.fixture(scope="module")
def planner(tmp_path_factory: pytest.TempPathFactory) -> Planner:
    return Planner(ROOT, tmp_path_factory.mktemp("out"))


def _run(planner: Planner, stack: str) -> PlanRun:
    run = planner.plan(stack).run
    assert run is not None
    return copy.deepcopy(run)


def _one(run: PlanRun, kind: str, name: str | None = None) -> Resource:
    for r in run.resources:
        meta = r.inputs.get("metadata") or {}
        if r.inputs.get("kind") == kind and (name is None or meta.get("name") == name):
            return r
    raise AssertionError(f"no {kind} {name}")


def _messages(rule: Rule, run: PlanRun) -> list[str]:
    return [str(v) for v in rule(run)]


def test_every_behaviour_rule_is_a_plan_rule() -> None:
    assert set(behaviour.BEHAVIOUR_RULES) <= set(PLAN_RULES)


@pytest.mark.parametrize("stack", ["acme", "globex", "umbrella", "platform", "initech"])
def test_the_example_stacks_pass_every_behaviour_rule(planner: Planner, stack: str) -> None:
    run = _run(planner, stack)
    assert [str(v) for rule in behaviour.BEHAVIOUR_RULES for v in rule(run)] == []


def test_one_digest_on_two_images_fails_the_plan(planner: Planner) -> None:
    run = _run(planner, "umbrella")
    gateway = _one(run, "Deployment", "ingestion-gateway")
    api = _one(run, "Deployment", "management-api")
    (api_container,) = api.inputs["spec"]["template"]["spec"]["containers"]
    digest = api_container["image"].split("@", 1)[1]
    (container,) = gateway.inputs["spec"]["template"]["spec"]["containers"]
    container["image"] = "ghcr.io/datafly/ingestion-gateway:v1.3.0@" + digest
    messages = _messages(behaviour.one_digest_one_image, run)
    # Whichever claims the digest first, the other repository is reported (the Job runs
    # the management-api image, so it stands with the API).
    assert messages and all("a digest names one image" in m and "image-spec" in m for m in messages)
    assert any("ghcr.io/datafly/ingestion-gateway" in m or "Deployment customer-umbrella/ingestion-gateway" in m
               for m in messages)


def test_umbrella_pins_a_distinct_digest_per_image(planner: Planner) -> None:
    run = _run(planner, "umbrella")
    images = {
        c["image"] for r in run.resources if r.inputs.get("kind") in ("Deployment", "Job")
        for c in r.inputs["spec"]["template"]["spec"]["containers"]
    }
    digests = {i.split("@")[1] for i in images}
    # Six services; the migrations Job runs the management-api image (same digest).
    assert len(images) == 6 and len(digests) == 6


def test_an_hpa_on_an_external_metric_fails_the_plan(planner: Planner) -> None:
    run = _run(planner, "globex")
    hpa = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "event-processor", "namespace": "customer-globex"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "event-processor"},
                 "minReplicas": 3, "maxReplicas": 12,
                 "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                     "type": "Utilization", "averageUtilization": 70}}},
                     {"type": "External", "external": {"metric": {"name": "kafka_consumergroup_lag"},
                                                       "target": {"type": "AverageValue", "averageValue": "10"}}}]},
    }
    template = _one(run, "Deployment", "event-processor")
    run.resources.append(Resource(**{**template.__dict__, "urn": "urn:hpa", "name": "hpa", "inputs": hpa}))
    (message,) = _messages(behaviour.no_unservable_hpa_metrics, run)
    assert "spec.metrics[1].type: External metric cannot be served on a KEDA cluster" in message
    assert "keda/templates/metrics-server/apiservice.yaml@v2.20.2" in message


def test_globex_scales_on_lag_through_keda_prometheus(planner: Planner) -> None:
    run = _run(planner, "globex")
    assert not [r for r in run.resources if r.inputs.get("kind") == "HorizontalPodAutoscaler"]
    scaled = _one(run, "ScaledObject", "event-processor").inputs
    cpu, lag = scaled["spec"]["triggers"]
    assert cpu["type"] == "cpu"
    assert lag == {"type": "prometheus", "name": "consumer-lag", "metadata": {
        "serverAddress": "http://prometheus-server.monitoring.svc:9090",
        "query": 'sum(kafka_consumergroup_lag{consumergroup="globex.event-processor",topic="globex.events.raw"})',
        "threshold": "10000", "activationThreshold": "1000"}}


@pytest.mark.parametrize(("change", "expected"), [
    (lambda job: job["metadata"]["annotations"].pop("pulumi.com/timeoutSeconds"),
     "Pulumi waits 600 s for the Job, less than its activeDeadlineSeconds 1800"),
    (lambda job: job["metadata"]["annotations"].update({"pulumi.com/timeoutSeconds": "900"}),
     "Pulumi waits 900 s for the Job, less than its activeDeadlineSeconds 1800"),
    (lambda job: job["spec"].update({"ttlSecondsAfterFinished": 86400}),
     "spec.ttlSecondsAfterFinished: a Pulumi-managed Job must not be deleted by the TTL controller"),
    (lambda job: job["metadata"]["annotations"].update({"pulumi.com/skipAwait": "true"}),
     "a skipped await lets dependents roll out before the Job succeeded"),
], ids=["default-wait", "short-wait", "ttl", "skip-await"])
def test_a_job_pulumi_stops_waiting_for_fails_the_plan(
    planner: Planner, change: Callable[[dict[str, Any]], Any], expected: str
) -> None:
    run = _run(planner, "umbrella")  # activeDeadlineSeconds 1800
    job = _one(run, "Job")
    assert job.inputs["metadata"]["annotations"]["pulumi.com/timeoutSeconds"] == "1920"
    change(job.inputs)
    (message,) = _messages(behaviour.job_wait_covers_deadline, run)
    assert expected in message


def test_custom_timeouts_win_over_the_annotation(planner: Planner) -> None:
    run = _run(planner, "umbrella")
    job = _one(run, "Job")
    job.custom_timeouts = {"create": "10m"}
    (message,) = _messages(behaviour.job_wait_covers_deadline, run)
    assert "Pulumi waits 600 s" in message


def test_a_namespace_behind_the_alb_without_readiness_gates_fails_the_plan(planner: Planner) -> None:
    run = _run(planner, "umbrella")
    namespace = _one(run, "Namespace", "customer-umbrella")
    del namespace.inputs["metadata"]["labels"]["elbv2.k8s.aws/pod-readiness-gate-inject"]
    (message,) = _messages(behaviour.alb_targets_drain, run)
    assert message.startswith("v1 Namespace customer-umbrella: metadata.labels.elbv2.k8s.aws/pod-readiness-gate-inject")


def test_an_alb_backend_without_prestop_or_grace_fails_the_plan(planner: Planner) -> None:
    run = _run(planner, "umbrella")
    gateway = _one(run, "Deployment", "ingestion-gateway").inputs
    (container,) = gateway["spec"]["template"]["spec"]["containers"]
    assert container["lifecycle"] == {"preStop": {"sleep": {"seconds": 15}}}
    assert gateway["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 45
    del container["lifecycle"]
    ui = _one(run, "Deployment", "management-ui").inputs
    ui["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 15
    messages = _messages(behaviour.alb_targets_drain, run)
    assert len(messages) == 2
    assert any("ingestion-gateway: spec.template.spec.containers[0].lifecycle.preStop: an ALB backend "
               "needs a preStop delay" in m for m in messages)
    assert any("management-ui: spec.template.spec.terminationGracePeriodSeconds: 15 s does not cover "
               "the 15 s preStop sleep" in m for m in messages)


def test_a_cooldown_that_does_nothing_fails_the_plan(planner: Planner) -> None:
    run = _run(planner, "acme")
    scaled = _one(run, "ScaledObject", "ingestion-gateway").inputs
    assert scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"] == {
        "stabilizationWindowSeconds": scaled["spec"]["cooldownPeriod"]}
    del scaled["spec"]["advanced"]
    (message,) = _messages(behaviour.cooldown_applies, run)
    assert "cooldownPeriod 60 does nothing while minReplicaCount > 0" in message
    assert "scale_scaledobjects.go@v2.20.2" in message


def test_alb_controller_crds_are_plan_resources_and_the_chart_skips_its_own(planner: Planner) -> None:
    run = _run(planner, "platform")
    crds = sorted(r.inputs["metadata"]["name"] for r in run.resources
                  if r.inputs.get("kind") == "CustomResourceDefinition")
    assert crds == ["albtargetcontrolconfigs.elbv2.k8s.aws", "globalaccelerators.aga.k8s.aws",
                    "ingressclassparams.elbv2.k8s.aws", "targetgroupbindings.elbv2.k8s.aws"]
    assert all(r.retain_on_delete for r in run.resources if r.inputs.get("kind") == "CustomResourceDefinition")
    release = next(r for r in run.resources if r.inputs.get("chart") == "aws-load-balancer-controller")
    release.inputs["skipCrds"] = False
    _one(run, "CustomResourceDefinition", "targetgroupbindings.elbv2.k8s.aws").inputs["spec"]["versions"].pop()
    release.dependencies = [d for d in release.dependencies if "crd" not in d]
    messages = _messages(behaviour.alb_controller_crds_managed, run)
    assert len(messages) == 3
    assert any("skipCrds: must be true" in m for m in messages)
    assert any("targetgroupbindings.elbv2.k8s.aws: spec: differs from the chart's CRD" in m for m in messages)
    assert any("dependsOn: must depend on the CRDs" in m for m in messages)


def test_a_violation_fails_the_whole_plan_with_exit_1(planner: Planner) -> None:
    result = planner.plan("umbrella")
    assert result.run is not None
    broken = copy.deepcopy(result.run)
    _one(broken, "Job").inputs["spec"]["ttlSecondsAfterFinished"] = 60
    checked = Planner._check(type(result)(result.stack, 0, run=broken, kubernetes_version="1.35"))
    assert checked.exit_code == EXIT_VIOLATIONS


@pytest.mark.parametrize(("stack", "warned"), [("globex", True), ("platform", True), ("acme", False),
                                               ("umbrella", False)])
def test_nginx_stacks_are_warned_of_its_retirement(planner: Planner, stack: str, warned: bool) -> None:
    lines = behaviour.warnings(_run(planner, stack))
    assert bool(lines) == warned
    if warned:
        assert lines[0].startswith("warning: this stack uses ingress-nginx, which is retired upstream")


def test_vendored_crds_file_is_the_charts(tmp_path: Path) -> None:
    import hashlib

    from builders.charts import AWS_LOAD_BALANCER_CONTROLLER_CRDS
    raw = AWS_LOAD_BALANCER_CONTROLLER_CRDS.read_bytes()
    # git blob id of aws/eks-charts stable/aws-load-balancer-controller/crds/crds.yaml at v3.5.0
    blob = hashlib.sha1(b"blob %d\0" % len(raw) + raw).hexdigest()
    assert blob == "f41daf7ae70237996b8a43befd70988cdaaeec5c"
