"""Reading recorded resource properties the same way in the Pulumi CLI and offline.

Under the CLI, `props` are read-only proxies (Mappings and Sequences, secrets already
unwrapped); offline they are plain dicts and lists with secret values replaced by
"[secret]". Everything here accepts both.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

SECRET = "[secret]"
HELM_RELEASE_TYPES = frozenset({"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Release"})


def get(value: Any, *path: str | int) -> Any:
    """The value at `path`, or None when any step is missing or of the wrong shape."""
    for step in path:
        if isinstance(step, int):
            if not is_list(value) or step >= len(value):
                return None
            value = value[step]
        else:
            if not isinstance(value, Mapping) or step not in value:
                return None
            value = value[step]
    return value


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def as_list(value: Any) -> list[Any]:
    """A JSON list as a list; a lone scalar (as IAM allows for Action) as a one-item list."""
    if value is None:
        return []
    if is_list(value):
        return list(value)
    return [value]


def truthy(value: Any) -> bool:
    """True for true and its string forms: some providers take booleans as strings
    (the launch template's `ebs.encrypted` is "true")."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def is_set(value: Any) -> bool:
    """Present and non-empty; a secret counts as set (its value is never shown)."""
    if value is None or value == "":
        return False
    return not (is_list(value) and len(value) == 0)


def json_document(value: Any) -> Optional[Mapping[str, Any]]:
    """An IAM policy document given as JSON text or as a mapping; None if unreadable."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value not in ("", SECRET):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, Mapping) else None
    return None


# ------------------------------------------------------------------ policy registry


@dataclass(frozen=True)
class PolicyInfo:
    """What the generated documentation shows for one policy."""

    name: str
    scope: str  # the resource types it reads, or "stack"
    summary: str
    anchors: str
    # A resource policy's types: its validate returns at once for any other.
    types: Optional[frozenset[str]] = None


@dataclass
class Registry:
    policies: list[Policy] = field(default_factory=list)
    info: dict[str, PolicyInfo] = field(default_factory=dict)

    def _add(self, policy: Policy, info: PolicyInfo) -> Policy:
        if info.name in self.info:
            raise ValueError(f"duplicate policy name {info.name!r}")
        self.policies.append(policy)
        self.info[info.name] = info
        return policy

    def resource(
        self,
        name: str,
        types: Iterable[str],
        summary: str,
        anchors: str,
        check: Callable[[ResourceValidationArgs], Iterable[str]],
    ) -> Policy:
        """A mandatory resource policy: `check` yields one message per problem of a
        resource of one of `types`."""
        wanted = frozenset(types)

        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if args.resource_type not in wanted:
                return
            for message in check(args):
                report_violation(message, None)

        policy = ResourceValidationPolicy(
            name=name,
            description=f"{summary} [{anchors}]",
            validate=validate,
            enforcement_level=EnforcementLevel.MANDATORY,
        )
        return self._add(policy, PolicyInfo(name, ", ".join(sorted(wanted)), summary, anchors, wanted))

    def stack(
        self,
        name: str,
        scope: str,
        summary: str,
        anchors: str,
        check: Callable[[StackValidationArgs], Iterable[tuple[str, Optional[str]]]],
    ) -> Policy:
        """A mandatory stack policy: `check` yields (message, urn or None) per problem."""

        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            for message, urn in check(args):
                report_violation(message, urn)

        policy = StackValidationPolicy(
            name=name,
            description=f"{summary} [{anchors}]",
            validate=validate,
            enforcement_level=EnforcementLevel.MANDATORY,
        )
        return self._add(policy, PolicyInfo(name, scope, summary, anchors))


# ------------------------------------------------------------------ Kubernetes objects


def is_kubernetes_object(resource_type: str, props: Mapping[str, Any]) -> bool:
    return (
        resource_type.startswith("kubernetes:")
        and resource_type not in HELM_RELEASE_TYPES
        and not resource_type.startswith("pulumi:providers:")
        and isinstance(props.get("kind"), str)
    )


def object_label(props: Mapping[str, Any]) -> str:
    namespace = get(props, "metadata", "namespace")
    name = get(props, "metadata", "name")
    where = f"{namespace}/{name}" if namespace else f"{name}"
    return f"{props.get('kind')} {where}"


_TEMPLATE_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"})
LONG_RUNNING_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Pod"})


def pod_spec(props: Mapping[str, Any]) -> Optional[Mapping[str, Any]]:
    kind = props.get("kind")
    spec: Any = None
    if kind == "Pod":
        spec = props.get("spec")
    elif kind in _TEMPLATE_KINDS:
        spec = get(props, "spec", "template", "spec")
    elif kind == "CronJob":
        spec = get(props, "spec", "jobTemplate", "spec", "template", "spec")
    return spec if isinstance(spec, Mapping) else None


@dataclass(frozen=True)
class Container:
    path: str  # "containers[0] (api)"
    kind: str  # of the object that holds the pod template
    init: bool
    spec: Mapping[str, Any]
    pod: Mapping[str, Any]


def containers(props: Mapping[str, Any]) -> Iterator[Container]:
    pod = pod_spec(props)
    if pod is None:
        return
    for key, init in (("initContainers", True), ("containers", False)):
        for index, container in enumerate(as_list(pod.get(key))):
            if isinstance(container, Mapping):
                name = f"{key}[{index}] ({container.get('name')})"
                yield Container(name, str(props.get("kind")), init, container, pod)


def effective(container: Container, key: str) -> Any:
    """A security context field as the kubelet applies it: the container's, else the pod's."""
    value = get(container.spec, "securityContext", key)
    return value if value is not None else get(container.pod, "securityContext", key)
