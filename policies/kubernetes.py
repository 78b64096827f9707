"""Kubernetes workload policies, over every pod template the stack applies (Helm
releases are the charts' own business and are not read)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

from pulumi_policy import ResourceValidationArgs

from ._util import (
    LONG_RUNNING_KINDS,
    Container,
    Registry,
    as_list,
    containers,
    effective,
    get,
    is_kubernetes_object,
    pod_spec,
)

# Every type token a pod template can arrive under.
WORKLOAD_TYPES = tuple(
    f"kubernetes:{group}:{kind}"
    for group, kinds in (
        ("core/v1", ("Pod", "ReplicationController")),
        ("apps/v1", ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")),
        ("batch/v1", ("Job", "CronJob")),
    )
    for kind in kinds
)
RESOURCES = ("cpu", "memory")
# The one capability the restricted Pod Security Standard lets a container add.
ALLOWED_ADDED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _per_container(check: Callable[[Container], Iterator[str]]) -> Callable[[ResourceValidationArgs], Iterator[str]]:
    def run(args: ResourceValidationArgs) -> Iterator[str]:
        if not is_kubernetes_object(args.resource_type, args.props):
            return
        for container in containers(args.props):
            for problem in check(container):
                yield f"{container.path}: {problem}"

    return run


def register(registry: Registry) -> None:
    registry.resource(
        "k8s-resources-requests-limits", WORKLOAD_TYPES,
        "Every container requests and limits CPU and memory.",
        "AWS EKS Best Practices: set requests and limits; CKV_K8S_10, CKV_K8S_11, CKV_K8S_12, CKV_K8S_13",
        _per_container(_requests_limits),
    )
    registry.resource(
        "k8s-probes", WORKLOAD_TYPES,
        "Long-running containers have liveness and readiness probes.",
        "AWS EKS Best Practices: configure probes; CKV_K8S_8, CKV_K8S_9",
        _per_container(_probes),
    )
    registry.resource(
        "k8s-run-as-non-root", WORKLOAD_TYPES,
        "Containers run as a non-root user (runAsNonRoot, no UID 0).",
        "CIS EKS 4.2.6; CKV_K8S_23; Pod Security Standard restricted",
        _per_container(_non_root),
    )
    registry.resource(
        "k8s-read-only-root-filesystem", WORKLOAD_TYPES,
        "Containers have a read-only root filesystem.",
        "AWS EKS Best Practices: read-only root filesystem; CKV_K8S_22",
        _per_container(_read_only_root),
    )
    registry.resource(
        "k8s-no-privilege-escalation", WORKLOAD_TYPES,
        "Containers are not privileged and cannot escalate privileges.",
        "CIS EKS 4.2.1, 4.2.5; CKV_K8S_16, CKV_K8S_20; Pod Security Standard restricted",
        _per_container(_no_escalation),
    )
    registry.resource(
        "k8s-capabilities-dropped", WORKLOAD_TYPES,
        "Containers drop ALL capabilities and add none but NET_BIND_SERVICE.",
        "CIS EKS 4.2.7, 4.2.8, 4.2.9; CKV_K8S_28, CKV_K8S_37; Pod Security Standard restricted",
        _per_container(_capabilities),
    )
    registry.resource(
        "k8s-seccomp-runtime-default", WORKLOAD_TYPES,
        "Containers run under the RuntimeDefault (or a Localhost) seccomp profile.",
        "CIS EKS 4.6.2; CKV_K8S_31; Pod Security Standard restricted",
        _per_container(_seccomp),
    )
    registry.resource(
        "k8s-image-pinned", WORKLOAD_TYPES,
        "Images are pinned to a version tag or digest, never `latest` or untagged.",
        "AWS EKS Best Practices: immutable image tags; CKV_K8S_14",
        _per_container(_image_pinned),
    )
    registry.resource(
        "k8s-no-host-namespaces", WORKLOAD_TYPES,
        "Pods share neither the host's network, PID nor IPC namespace.",
        "CIS EKS 4.2.2, 4.2.3, 4.2.4; CKV_K8S_17, CKV_K8S_18, CKV_K8S_19",
        _host_namespaces,
    )


def _requests_limits(container: Container) -> Iterator[str]:
    resources = container.spec.get("resources")
    for kind in ("requests", "limits"):
        missing = [r for r in RESOURCES if get(resources, kind, r) in (None, "")]
        if missing:
            yield f"resources.{kind} lacks {', '.join(missing)}"


def _probes(container: Container) -> Iterator[str]:
    # A Job's pod ends by itself and an init container runs to completion: neither is probed.
    if container.init or container.kind not in LONG_RUNNING_KINDS:
        return
    for probe in ("livenessProbe", "readinessProbe"):
        if not isinstance(container.spec.get(probe), Mapping):
            yield f"no {probe}"


def _non_root(container: Container) -> Iterator[str]:
    if effective(container, "runAsNonRoot") is not True:
        yield "runAsNonRoot is not true"
    if effective(container, "runAsUser") == 0:
        yield "runAsUser is 0 (root)"


def _read_only_root(container: Container) -> Iterator[str]:
    if get(container.spec, "securityContext", "readOnlyRootFilesystem") is not True:
        yield "securityContext.readOnlyRootFilesystem is not true"


def _no_escalation(container: Container) -> Iterator[str]:
    if get(container.spec, "securityContext", "allowPrivilegeEscalation") is not False:
        yield "securityContext.allowPrivilegeEscalation is not false"
    if get(container.spec, "securityContext", "privileged") is True:
        yield "securityContext.privileged is true"


def _capabilities(container: Container) -> Iterator[str]:
    capabilities = get(container.spec, "securityContext", "capabilities")
    if "ALL" not in as_list(get(capabilities, "drop")):
        yield "securityContext.capabilities.drop does not include ALL"
    added = [c for c in as_list(get(capabilities, "add")) if c not in ALLOWED_ADDED_CAPABILITIES]
    if added:
        yield f"securityContext.capabilities.add includes {', '.join(map(str, added))}"


def _seccomp(container: Container) -> Iterator[str]:
    profile = get(effective(container, "seccompProfile"), "type")
    if profile not in ("RuntimeDefault", "Localhost"):
        yield f"seccompProfile.type is {profile!r}, not RuntimeDefault"


def _image_pinned(container: Container) -> Iterator[str]:
    image = container.spec.get("image")
    if not isinstance(image, str) or not image:
        yield "no image"
        return
    if _DIGEST.search(image):
        return
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        yield f"image {image!r} has no tag (it means latest)"
    elif last.rsplit(":", 1)[1] == "latest":
        yield f"image {image!r} uses the latest tag"


def _host_namespaces(args: ResourceValidationArgs) -> Iterator[str]:
    if not is_kubernetes_object(args.resource_type, args.props):
        return
    pod = pod_spec(args.props)
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod is not None and pod.get(field) is True:
            yield f"{field} is true"
