"""Behaviour rules: what the cluster and the pinned controllers would really do with the
plan, which no schema says. Each rule names the upstream file and version that grounds it
(`SOURCES`), checks the recorded plan (rendered manifests, Helm releases, resource
options) and yields a Violation, which fails the plan with exit 1.

| rule | grounded in |
|---|---|
| one digest, one image | OCI image spec: a digest is the hash of one manifest (opencontainers/image-spec `descriptor.md`@v1.1.1) |
| no HPA on External/Object metrics | kedacore/charts `keda/templates/metrics-server/apiservice.yaml`@v2.20.2 |
| Job wait covers its deadline, no TTL | pulumi/pulumi-kubernetes `provider/pkg/await/job.go`, `provider/pkg/metadata/overrides.go`@v4.34.2 |
| ALB readiness gates and preStop | aws/eks-charts `stable/aws-load-balancer-controller/templates/webhook.yaml`@v3.5.0 |
| cooldownPeriod mapped to scale-down stabilization | kedacore/keda `pkg/scaling/executor/scale_scaledobjects.go`@v2.20.2 |
| ALB controller CRDs managed, chart with skipCrds | aws/eks-charts `stable/aws-load-balancer-controller/crds/crds.yaml`@v3.5.0; Helm CRD docs |

`warnings(run)` lists what plans clean but deserves a line in the plan's output (the
retired ingress-nginx).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from builders.charts import (
    AWS_LOAD_BALANCER_CONTROLLER_CHART,
    INGRESS_NGINX_CHART,
    aws_load_balancer_controller_crds,
)
from builders.namespace import POD_READINESS_GATE_LABEL
from builders.workloads import PULUMI_TIMEOUT_ANNOTATION
from offline.check.kubernetes import Violation
from offline.report import artefacts as report
from offline.run.runner import PlanRun, Resource

SOURCES: Mapping[str, str] = {
    "digest": "opencontainers/image-spec descriptor.md@v1.1.1 (a digest identifies one manifest)",
    "hpa": "kedacore/charts keda/templates/metrics-server/apiservice.yaml@v2.20.2 "
           "(KEDA owns v1beta1.external.metrics.k8s.io)",
    "job": "pulumi/pulumi-kubernetes provider/pkg/await/job.go, provider/pkg/metadata/overrides.go@v4.34.2",
    "alb": "aws/eks-charts stable/aws-load-balancer-controller/templates/webhook.yaml@v3.5.0",
    "cooldown": "kedacore/keda pkg/scaling/executor/scale_scaledobjects.go@v2.20.2 (scaleToZeroOrIdle)",
    "crds": "aws/eks-charts stable/aws-load-balancer-controller/crds/crds.yaml@v3.5.0; "
            "helm.sh/docs/chart_best_practices/custom_resource_definitions (crds/ never upgraded)",
    "nginx": "kubernetes/ingress-nginx README.md (retired; maintenance ended March 2026)",
}

# pulumi-kubernetes awaits a Job for 10 minutes unless told otherwise (job.go).
DEFAULT_JOB_WAIT_SECONDS = 600
# The Pod's default terminationGracePeriodSeconds.
DEFAULT_GRACE_SECONDS = 30


def _objects(run: PlanRun) -> Iterator[tuple[Resource, Mapping[str, Any]]]:
    for resource in run.resources:
        if report.is_kubernetes_object(resource):
            yield resource, resource.inputs


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _label(obj: Mapping[str, Any]) -> str:
    meta = _map(obj.get("metadata"))
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj.get('apiVersion')} {obj.get('kind')} {where}{meta.get('name')}"


def _pod_spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return _map(_map(_map(obj.get("spec")).get("template")).get("spec"))


def _why(key: str) -> str:
    return f" [{SOURCES[key]}]"


# --------------------------------------------------------------------------- rules


def one_digest_one_image(run: PlanRun) -> Iterator[Violation]:
    """Two different repositories pinned to the same digest: at most one of them can
    hold that manifest, so the other pull fails (or the config copied one digest)."""
    owners: dict[str, tuple[str, str]] = {}
    for _, obj in _objects(run):
        for i, container in enumerate(_list(_pod_spec(obj).get("containers"))):
            image = str(_map(container).get("image", ""))
            if "@" not in image:
                continue
            ref, digest = image.split("@", 1)
            repository = ref.rsplit(":", 1)[0] if ":" in ref.rsplit("/", 1)[-1] else ref
            seen = owners.setdefault(digest, (repository, _label(obj)))
            if seen[0] != repository:
                yield Violation(
                    _label(obj), f"spec.template.spec.containers[{i}].image",
                    f"digest {digest[:19]}… also pins {seen[0]} ({seen[1]}); a digest names one image"
                    + _why("digest"),
                )


def no_unservable_hpa_metrics(run: PlanRun) -> Iterator[Violation]:
    """On a KEDA cluster an HPA's External metric is asked of KEDA's metrics server,
    which serves only its ScaledObjects' metrics; Object metrics need a
    custom.metrics.k8s.io adapter the platform does not run. Such an HPA never gets the
    metric and never scales down on it: autoscale through a ScaledObject instead."""
    for _, obj in _objects(run):
        if obj.get("kind") != "HorizontalPodAutoscaler":
            continue
        for i, metric in enumerate(_list(_map(obj.get("spec")).get("metrics"))):
            kind = _map(metric).get("type")
            if kind in ("External", "Object"):
                yield Violation(
                    _label(obj), f"spec.metrics[{i}].type",
                    f"{kind} metric cannot be served on a KEDA cluster; use a KEDA ScaledObject trigger"
                    + _why("hpa"),
                )


def job_wait_covers_deadline(run: PlanRun) -> Iterator[Violation]:
    """pulumi-kubernetes waits for a Job to complete, 10 minutes by default; a shorter
    wait than activeDeadlineSeconds fails `pulumi up` while the Job still runs. A TTL
    deletes the finished Job, which `pulumi refresh` then drops from state and the next
    `up` recreates: the Job runs again."""
    for resource, obj in _objects(run):
        if obj.get("kind") != "Job":
            continue
        spec = _map(obj.get("spec"))
        annotations = _map(_map(obj.get("metadata")).get("annotations"))
        if "ttlSecondsAfterFinished" in spec:
            yield Violation(
                _label(obj), "spec.ttlSecondsAfterFinished",
                "a Pulumi-managed Job must not be deleted by the TTL controller (refresh would "
                "recreate it and run it again)" + _why("job"),
            )
        if str(annotations.get("pulumi.com/skipAwait", "")).lower() == "true":
            yield Violation(
                _label(obj), "metadata.annotations.pulumi.com/skipAwait",
                "a skipped await lets dependents roll out before the Job succeeded" + _why("job"),
            )
        deadline = spec.get("activeDeadlineSeconds")
        if not isinstance(deadline, int):
            continue
        wait = _wait_seconds(resource, annotations)
        if wait < deadline:
            yield Violation(
                _label(obj), f"metadata.annotations.{PULUMI_TIMEOUT_ANNOTATION}",
                f"Pulumi waits {wait} s for the Job, less than its activeDeadlineSeconds {deadline}"
                + _why("job"),
            )


def _wait_seconds(resource: Resource, annotations: Mapping[str, Any]) -> int:
    """customTimeouts win over the annotation (overrides.go TimeoutDuration)."""
    for key in ("create", "update"):
        value = resource.custom_timeouts.get(key)
        if value:
            return _duration_seconds(value)
    raw = annotations.get(PULUMI_TIMEOUT_ANNOTATION)
    try:
        return int(str(raw)) if raw is not None else DEFAULT_JOB_WAIT_SECONDS
    except ValueError:
        return DEFAULT_JOB_WAIT_SECONDS


def _duration_seconds(text: str) -> int:
    total, number = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1}
    for char in text:
        if char.isdigit() or char == ".":
            number += char
        elif char in units and number:
            total += float(number) * units[char]
            number = ""
    return int(total)


def alb_targets_drain(run: PlanRun) -> Iterator[Violation]:
    """`target-type: ip` sends ALB traffic straight to pods. Without the controller's
    readiness gate (injected only in namespaces labelled for it) a rollout marks a new
    pod Ready before the ALB registered it, and without a preStop delay a stopping pod
    closes while the ALB still sends it requests: a one-replica rollout drops traffic."""
    objects = [obj for _, obj in _objects(run)]
    namespaces = {
        _map(o.get("metadata")).get("name"): _map(_map(o.get("metadata")).get("labels"))
        for o in objects if o.get("kind") == "Namespace"
    }
    services = {
        (_map(o.get("metadata")).get("namespace"), _map(o.get("metadata")).get("name")): o
        for o in objects if o.get("kind") == "Service"
    }
    backends: set[tuple[Any, Any]] = set()
    for ing in objects:
        spec = _map(ing.get("spec"))
        if ing.get("kind") != "Ingress" or spec.get("ingressClassName") != "alb":
            continue
        namespace = _map(ing.get("metadata")).get("namespace")
        labels = namespaces.get(namespace)
        if labels is not None and labels.get(POD_READINESS_GATE_LABEL) != "enabled":
            yield Violation(
                f"v1 Namespace {namespace}", f"metadata.labels.{POD_READINESS_GATE_LABEL}",
                "must be 'enabled': an ALB Ingress routes to pod IPs here, and only this label "
                "gets the pods target-health readiness gates" + _why("alb"),
            )
        for rule in _list(spec.get("rules")):
            for path in _list(_map(_map(rule).get("http")).get("paths")):
                name = _map(_map(_map(path).get("backend")).get("service")).get("name")
                backends.add((namespace, name))
    selectors = [
        (ns, _map(_map(services[(ns, name)].get("spec")).get("selector")))
        for ns, name in backends if (ns, name) in services
    ]
    for obj in objects:
        if obj.get("kind") != "Deployment":
            continue
        meta = _map(obj.get("metadata"))
        pod_labels = _map(_map(_map(_map(obj.get("spec")).get("template")).get("metadata")).get("labels"))
        if not any(ns == meta.get("namespace") and sel and all(pod_labels.get(k) == v for k, v in sel.items())
                   for ns, sel in selectors):
            continue
        pod = _pod_spec(obj)
        grace = pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE_SECONDS)
        for i, container in enumerate(_list(pod.get("containers"))):
            pre_stop = _map(_map(_map(container).get("lifecycle")).get("preStop"))
            path = f"spec.template.spec.containers[{i}].lifecycle.preStop"
            if not pre_stop:
                yield Violation(_label(obj), path, "an ALB backend needs a preStop delay so the ALB "
                                "stops sending before the pod stops serving" + _why("alb"))
                continue
            sleep = _map(pre_stop.get("sleep")).get("seconds")
            if isinstance(sleep, int) and isinstance(grace, int) and grace <= sleep:
                yield Violation(_label(obj), "spec.template.spec.terminationGracePeriodSeconds",
                                f"{grace} s does not cover the {sleep} s preStop sleep and shutdown"
                                + _why("alb"))


def cooldown_applies(run: PlanRun) -> Iterator[Violation]:
    """KEDA honours cooldownPeriod only on the way to zero; above minReplicaCount the HPA
    scales down after its own stabilization window (default 300 s). A ScaledObject that
    sets cooldownPeriod with minReplicaCount > 0 must carry the same intent as the
    HPA's scale-down stabilization window."""
    for _, obj in _objects(run):
        if obj.get("kind") != "ScaledObject":
            continue
        spec = _map(obj.get("spec"))
        cooldown = spec.get("cooldownPeriod")
        if cooldown is None or spec.get("minReplicaCount", 0) == 0:
            continue
        window = _map(_map(_map(_map(spec.get("advanced")).get("horizontalPodAutoscalerConfig"))
                           .get("behavior")).get("scaleDown")).get("stabilizationWindowSeconds")
        if window != cooldown:
            yield Violation(
                _label(obj), "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown."
                "stabilizationWindowSeconds",
                f"is {window!r}, but cooldownPeriod {cooldown} does nothing while minReplicaCount > 0; "
                "set the window to it" + _why("cooldown"),
            )


def alb_controller_crds_managed(run: PlanRun) -> Iterator[Violation]:
    """Helm installs a chart's crds/ once and never upgrades them; the controller's CRDs
    must be plan resources at the chart's version, and the chart must skip its own."""
    crds = {
        str(_map(obj.get("metadata")).get("name")): obj
        for _, obj in _objects(run) if obj.get("kind") == "CustomResourceDefinition"
    }
    for resource in run.resources:
        if resource.type not in report.HELM_RELEASE_TYPES:
            continue
        if resource.inputs.get("chart") != AWS_LOAD_BALANCER_CONTROLLER_CHART.chart:
            continue
        label = f"{resource.type} {resource.name}"
        if resource.inputs.get("skipCrds") is not True:
            yield Violation(label, "skipCrds", "must be true: the CRDs are managed as resources, "
                            "because Helm never upgrades a chart's crds/" + _why("crds"))
        if resource.inputs.get("version") != AWS_LOAD_BALANCER_CONTROLLER_CHART.version:
            yield Violation(label, "version", f"{resource.inputs.get('version')!r} is not the version "
                            f"the vendored CRDs come from ({AWS_LOAD_BALANCER_CONTROLLER_CHART.version})"
                            + _why("crds"))
        by_urn = {r.urn: r for r in run.resources}
        for want in aws_load_balancer_controller_crds():
            name = want["metadata"]["name"]
            have = crds.get(name)
            if have is None:
                yield Violation(label, "", f"CustomResourceDefinition {name} of the chart is not in the plan"
                                + _why("crds"))
            elif _map(have.get("spec")) != want["spec"]:
                yield Violation(f"apiextensions.k8s.io/v1 CustomResourceDefinition {name}", "spec",
                                "differs from the chart's CRD at the pinned version" + _why("crds"))
        crd_urns = {r.urn for r in run.resources
                    if report.is_kubernetes_object(r) and r.inputs.get("kind") == "CustomResourceDefinition"}
        if crd_urns and not crd_urns <= _ancestors_dependencies(resource, by_urn):
            yield Violation(label, "dependsOn", "must depend on the CRDs it runs against" + _why("crds"))


def _ancestors_dependencies(resource: Resource, by_urn: Mapping[str, Resource]) -> set[str]:
    found: set[str] = set()
    node: Resource | None = resource
    while node is not None:
        found.update(node.dependencies)
        node = by_urn.get(node.parent) if node.parent else None
    return found


BEHAVIOUR_RULES: tuple[Callable[[PlanRun], Iterator[Violation]], ...] = (
    one_digest_one_image,
    no_unservable_hpa_metrics,
    job_wait_covers_deadline,
    alb_targets_drain,
    cooldown_applies,
    alb_controller_crds_managed,
)


# --------------------------------------------------------------------------- warnings


def warnings(run: PlanRun) -> list[str]:
    """Lines the plan prints that do not fail it."""
    uses_nginx = any(
        obj.get("kind") == "Ingress" and _map(obj.get("spec")).get("ingressClassName") == "nginx"
        for _, obj in _objects(run)
    ) or any(
        r.type in report.HELM_RELEASE_TYPES and r.inputs.get("chart") == INGRESS_NGINX_CHART.chart
        for r in run.resources
    )
    if not uses_nginx:
        return []
    return [
        "warning: this stack uses ingress-nginx, which is retired upstream: maintenance ended in "
        "March 2026 (no further releases or security fixes) and its README warns against "
        "multi-tenant production use. The ALB (ingress.className alb) is the default; plan a "
        "move to it. [" + SOURCES["nginx"] + "]"
    ]
