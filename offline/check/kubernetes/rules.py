"""The semantic rules schemas cannot express, listed in one place: `SEMANTIC_RULES`."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from fractions import Fraction
from typing import Any, Final

from .metadata import _label_issues, rule_metadata
from .names import _IANA_SVC_NAME, dns1123_label_error
from .objects import Issue, K8sObject, PathT, Rule, _get, _is_int, _list, _map
from .quantities import _quantity_issue, _quantity_map
from .wording import _enum_issue, _show, format_path

# ------------------------------------------------------------------ semantic rules


_POD_TEMPLATE_PATHS: Final[Mapping[tuple[str, str], tuple[str, ...]]] = {
    ("apps", "Deployment"): ("spec", "template"),
    ("apps", "ReplicaSet"): ("spec", "template"),
    ("apps", "StatefulSet"): ("spec", "template"),
    ("apps", "DaemonSet"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
    ("", "ReplicationController"): ("spec", "template"),
    ("", "PodTemplate"): ("template",),
    ("keda.sh", "ScaledJob"): ("spec", "jobTargetRef", "template"),
}
_LONG_RUNNING_WORKLOADS: Final = frozenset({
    ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"),
    ("apps", "DaemonSet"), ("", "ReplicationController"),
})
_JOB_WORKLOADS: Final = frozenset({("batch", "Job"), ("batch", "CronJob"), ("keda.sh", "ScaledJob")})
_CONTAINER_LISTS: Final = ("initContainers", "containers", "ephemeralContainers")
# Enum-like strings that the OpenAPI documents only describe in prose.
_PULL_POLICIES: Final = ("Always", "IfNotPresent", "Never")
_SERVICE_TYPES: Final = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
_PATH_TYPES: Final = ("Exact", "Prefix", "ImplementationSpecific")


def pod_specs(obj: K8sObject) -> Iterator[tuple[PathT, Mapping[str, Any]]]:
    """(path, PodSpec) for every pod spec embedded in the object."""
    if (obj.group, obj.kind) == ("", "Pod"):
        spec = obj.raw.get("spec")
        if isinstance(spec, Mapping):
            yield ("spec",), spec
        return
    template_path = _POD_TEMPLATE_PATHS.get((obj.group, obj.kind))
    if template_path is None:
        return
    spec = _get(obj.raw, *template_path, "spec")
    if isinstance(spec, Mapping):
        yield template_path + ("spec",), spec


def containers(pod_path: PathT, pod_spec: Mapping[str, Any]) -> Iterator[tuple[PathT, Mapping[str, Any]]]:
    for list_name in _CONTAINER_LISTS:
        for i, container in enumerate(_list(pod_spec.get(list_name))):
            if isinstance(container, Mapping):
                yield pod_path + (list_name, i), container


def rule_pod_templates(obj: K8sObject) -> Iterator[Issue]:
    """Template labels are real labels, and workload selectors must select the template."""
    template_path = _POD_TEMPLATE_PATHS.get((obj.group, obj.kind))
    if template_path is None:
        return
    template_meta = _get(obj.raw, *template_path, "metadata")
    if isinstance(template_meta, Mapping):
        yield from _label_issues(template_path + ("metadata",), template_meta)
    if (obj.group, obj.kind) not in _LONG_RUNNING_WORKLOADS:
        return
    match_labels = _get(obj.raw, "spec", "selector", "matchLabels")
    if obj.group == "":  # ReplicationController selectors are a plain map
        match_labels = _get(obj.raw, "spec", "selector")
    template_labels = _map(_get(template_meta, "labels"))
    for key, value in _map(match_labels).items():
        if template_labels.get(key) != value:
            yield template_path + ("metadata", "labels"), (
                f"selector does not match template labels: selector requires "
                f"{key}={_show(value)}, template has {_show(template_labels.get(key))}"
            )


def rule_containers(obj: K8sObject) -> Iterator[Issue]:
    """Container names unique DNS-1123 labels; enum-like fields and port ranges."""
    for pod_path, pod_spec in pod_specs(obj):
        seen: dict[str, PathT] = {}
        for path, container in containers(pod_path, pod_spec):
            name = container.get("name")
            if isinstance(name, str):
                problem = dns1123_label_error(name)
                if problem:
                    yield path + ("name",), f"invalid container name: {problem}"
                if name in seen:
                    yield path + ("name",), (
                        f"duplicate container name {_show(name)} (also used at {format_path(seen[name])})"
                    )
                else:
                    seen[name] = path
            pull_policy = container.get("imagePullPolicy")
            yield from _enum_issue(path + ("imagePullPolicy",), pull_policy, _PULL_POLICIES)
            for j, port in enumerate(_list(container.get("ports"))):
                if not isinstance(port, Mapping):
                    continue
                port_path = path + ("ports", j)
                yield from _protocol_issue(port_path, port.get("protocol"))
                yield from _port_range_issue(port_path + ("containerPort",), port.get("containerPort"))
                host_port = port.get("hostPort")
                if host_port not in (None, 0):  # 0 means "no host port"
                    yield from _port_range_issue(port_path + ("hostPort",), host_port)
                port_name = port.get("name")
                if isinstance(port_name, str):
                    yield from _iana_svc_name_issue(port_path + ("name",), port_name)


def _protocol_issue(path: PathT, protocol: Any) -> Iterator[Issue]:
    yield from _enum_issue(path + ("protocol",), protocol, ("TCP", "UDP", "SCTP"))


def _port_range_issue(path: PathT, port: Any) -> Iterator[Issue]:
    if _is_int(port) and not 1 <= port <= 65535:
        yield path, f"port {port} out of range; must be between 1 and 65535"


def _iana_svc_name_issue(path: PathT, name: str) -> Iterator[Issue]:
    if (
        len(name) > 15
        or not _IANA_SVC_NAME.fullmatch(name)
        or "--" in name
        or not any(c.isalpha() for c in name)
    ):
        yield path, (
            f"{_show(name)} is not a valid port name (IANA_SVC_NAME): at most 15 lowercase "
            "alphanumerics or '-', containing a letter, no leading/trailing/double '-'"
        )


def rule_pod_restart_policy(obj: K8sObject) -> Iterator[Issue]:
    workload = (obj.group, obj.kind)
    for pod_path, pod_spec in pod_specs(obj):
        policy = pod_spec.get("restartPolicy")
        if not isinstance(policy, str):
            continue
        path = pod_path + ("restartPolicy",)
        if policy not in ("Always", "OnFailure", "Never"):
            yield from _enum_issue(path, policy, ("Always", "OnFailure", "Never"))
        elif workload in _LONG_RUNNING_WORKLOADS and policy != "Always":
            yield path, f'unsupported value {_show(policy)}; {obj.kind} pods must use "Always"'
        elif workload in _JOB_WORKLOADS and policy == "Always":
            yield path, f'unsupported value "Always"; {obj.kind} pods must use "OnFailure" or "Never"'


def rule_update_strategy(obj: K8sObject) -> Iterator[Issue]:
    workload = (obj.group, obj.kind)
    if workload == ("apps", "Deployment"):
        strategy = _get(obj.raw, "spec", "strategy")
        allowed: tuple[str, ...] = ("RollingUpdate", "Recreate")
        field = "strategy"
    elif workload in (("apps", "StatefulSet"), ("apps", "DaemonSet")):
        strategy = _get(obj.raw, "spec", "updateStrategy")
        allowed = ("RollingUpdate", "OnDelete")
        field = "updateStrategy"
    else:
        return
    kind = _get(strategy, "type")
    yield from _enum_issue(("spec", field, "type"), kind, allowed)
    if kind in ("Recreate", "OnDelete") and _get(strategy, "rollingUpdate") is not None:
        yield ("spec", field, "rollingUpdate"), f"may not be specified when {field} type is {_show(kind)}"


def rule_service(obj: K8sObject) -> Iterator[Issue]:
    if (obj.group, obj.kind) != ("", "Service"):
        return
    spec = _map(obj.raw.get("spec"))
    svc_type = spec.get("type")
    yield from _enum_issue(("spec", "type"), svc_type, _SERVICE_TYPES)
    if svc_type == "ExternalName" and not spec.get("externalName"):
        yield ("spec",), 'missing required field "externalName" (type is ExternalName)'
    for i, port in enumerate(_list(spec.get("ports"))):
        if not isinstance(port, Mapping):
            continue
        path: PathT = ("spec", "ports", i)
        yield from _protocol_issue(path, port.get("protocol"))
        yield from _port_range_issue(path + ("port",), port.get("port"))
        node_port = port.get("nodePort")
        if node_port not in (None, 0):
            yield from _port_range_issue(path + ("nodePort",), node_port)
        target = port.get("targetPort")
        if _is_int(target):
            yield from _port_range_issue(path + ("targetPort",), target)
        elif isinstance(target, str):
            yield from _iana_svc_name_issue(path + ("targetPort",), target)


def rule_ingress_paths(obj: K8sObject) -> Iterator[Issue]:
    if (obj.group, obj.kind) != ("networking.k8s.io", "Ingress"):
        return
    for i, rule in enumerate(_list(_get(obj.raw, "spec", "rules"))):
        for j, http_path in enumerate(_list(_get(rule, "http", "paths"))):
            if not isinstance(http_path, Mapping):
                continue
            path: PathT = ("spec", "rules", i, "http", "paths", j)
            path_type = http_path.get("pathType")
            if path_type is None:
                yield path, 'missing required field "pathType"'
            yield from _enum_issue(path + ("pathType",), path_type, _PATH_TYPES)
            value = http_path.get("path")
            if path_type in ("Exact", "Prefix") and isinstance(value, str) and not value.startswith("/"):
                yield path + ("path",), f"must be an absolute path starting with '/', got {_show(value)}"


def _requirements_issues(path: PathT, requirements: Any) -> Iterator[Issue]:
    requests, issues = _quantity_map(path + ("requests",), _get(requirements, "requests"))
    limits, more = _quantity_map(path + ("limits",), _get(requirements, "limits"))
    yield from issues
    yield from more
    for name, request in requests.items():
        limit = limits.get(name)
        if limit is not None and request > limit:
            raw_request = _show(_get(requirements, "requests", name))
            raw_limit = _show(_get(requirements, "limits", name))
            yield path + ("requests", name), (
                f"request {raw_request} exceeds limit {raw_limit} for {name}; requests must be <= limits"
            )


_LIMIT_RANGE_ORDER: Final = (
    ("min", "max"), ("min", "defaultRequest"), ("min", "default"),
    ("defaultRequest", "default"), ("defaultRequest", "max"), ("default", "max"),
)


def rule_resource_quantities(obj: K8sObject) -> Iterator[Issue]:
    """Quantity syntax everywhere the API server parses one, and request <= limit."""
    for pod_path, pod_spec in pod_specs(obj):
        if "resources" in pod_spec:  # pod-level resources (PodLevelResources)
            yield from _requirements_issues(pod_path + ("resources",), pod_spec.get("resources"))
        for container_path, container in containers(pod_path, pod_spec):
            if "resources" in container:
                yield from _requirements_issues(container_path + ("resources",), container.get("resources"))
    workload = (obj.group, obj.kind)
    if workload == ("", "ResourceQuota"):
        yield from _quantity_map(("spec", "hard"), _get(obj.raw, "spec", "hard"))[1]
    elif workload == ("", "PersistentVolumeClaim"):
        yield from _requirements_issues(("spec", "resources"), _get(obj.raw, "spec", "resources"))
    elif workload == ("apps", "StatefulSet"):
        for i, claim in enumerate(_list(_get(obj.raw, "spec", "volumeClaimTemplates"))):
            path: PathT = ("spec", "volumeClaimTemplates", i, "spec", "resources")
            yield from _requirements_issues(path, _get(claim, "spec", "resources"))
    elif workload == ("", "LimitRange"):
        for i, item in enumerate(_list(_get(obj.raw, "spec", "limits"))):
            base: PathT = ("spec", "limits", i)
            parsed: dict[str, dict[str, Fraction]] = {}
            for field in ("max", "min", "default", "defaultRequest", "maxLimitRequestRatio"):
                parsed[field], issues = _quantity_map(base + (field,), _get(item, field))
                yield from issues
            for low, high in _LIMIT_RANGE_ORDER:
                for name, low_value in parsed[low].items():
                    high_value = parsed[high].get(name)
                    if high_value is not None and low_value > high_value:
                        yield base + (low, name), (
                            f"{low} {_show(_get(item, low, name))} for {name} is greater than "
                            f"{high} {_show(_get(item, high, name))}"
                        )


# Everything Go's strconv.ParseBool accepts; KEDA parses these flags with it.
_GO_TRUE: Final = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_BOOLS: Final = _GO_TRUE | {"0", "f", "F", "FALSE", "false", "False"}
_KAFKA_BOOL_KEYS: Final = (
    "allowIdleConsumers", "excludePersistentLag", "scaleToZeroOnInvalidOffset",
    "limitToPartitionsWithLag", "ensureEvenDistributionOfPartitions", "unsafeSsl",
)
_KAFKA_DEFAULT_LAG_THRESHOLD: Final = 10
_UNSIGNED = re.compile(r"[0-9]+")


def _int_string(value: Any) -> int | None:
    return int(value) if isinstance(value, str) and _UNSIGNED.fullmatch(value) else None


def _kafka_trigger_issues(path: PathT, metadata: Mapping[str, Any]) -> Iterator[Issue]:
    md_path = path + ("metadata",)

    def present(*keys: str) -> bool:
        return any(isinstance(metadata.get(k), str) and metadata.get(k) != "" for k in keys)

    def truthy(key: str) -> bool:
        return metadata.get(key) in _GO_TRUE

    if not present("bootstrapServers", "bootstrapServersFromEnv"):
        yield md_path, 'kafka trigger needs "bootstrapServers" (or "bootstrapServersFromEnv")'
    if not present("consumerGroup", "consumerGroupFromEnv"):
        yield md_path, 'kafka trigger needs "consumerGroup" (or "consumerGroupFromEnv")'
    # An empty topic is allowed (KEDA then uses every topic the consumer group reads),
    # except for the options that need per-partition data of one topic.
    if not present("topic", "topicFromEnv"):
        for option in ("limitToPartitionsWithLag", "ensureEvenDistributionOfPartitions"):
            if truthy(option):
                yield md_path, f'kafka trigger needs "topic" when {option} is true'
    if truthy("allowIdleConsumers") and truthy("limitToPartitionsWithLag"):
        yield md_path, "allowIdleConsumers and limitToPartitionsWithLag cannot both be true"
    for key in _KAFKA_BOOL_KEYS:
        value = metadata.get(key)
        if isinstance(value, str) and value not in _GO_BOOLS:
            yield md_path + (key,), f'must be "true" or "false", got {_show(value)}'
    yield from _enum_issue(
        md_path + ("offsetResetPolicy",), metadata.get("offsetResetPolicy"), ("latest", "earliest")
    )

    lag_raw = metadata.get("lagThreshold")
    # A non-string lagThreshold is a schema error already; comparing against it is moot.
    lag: int | None = _KAFKA_DEFAULT_LAG_THRESHOLD if lag_raw is None else None
    if isinstance(lag_raw, str):
        lag = _int_string(lag_raw)
        if lag is None or lag <= 0:
            yield md_path + ("lagThreshold",), f"must be a positive integer string, got {_show(lag_raw)}"
            lag = None
    activation_raw = metadata.get("activationLagThreshold")
    if isinstance(activation_raw, str):
        activation = _int_string(activation_raw)
        if activation is None:
            # KEDA defaults this to 0 and accepts 0, so "non-negative" is the real rule.
            yield md_path + ("activationLagThreshold",), (
                f"must be a non-negative integer string, got {_show(activation_raw)}"
            )
        elif lag is not None and activation >= lag:
            shown = lag_raw if isinstance(lag_raw, str) else f"{lag}, KEDA's default"
            yield md_path + ("activationLagThreshold",), (
                f"activationLagThreshold {_show(activation_raw)} must be less than lagThreshold ({shown})"
            )


def _resource_trigger_issues(
    path: PathT, trigger: Mapping[str, Any], metadata: Mapping[str, Any]
) -> Iterator[Issue]:
    md_path = path + ("metadata",)
    if "type" in metadata:
        yield md_path + ("type",), (
            "metadata.type was removed in KEDA 2.18; set the trigger's metricType instead"
        )
    metric_type = trigger.get("metricType")
    if metric_type is None:
        yield path, f'{trigger.get("type")} trigger needs "metricType" ("Utilization" or "AverageValue")'
    elif metric_type not in ("Utilization", "AverageValue"):
        yield path + ("metricType",), (
            f'unsupported value {_show(metric_type)}; {trigger.get("type")} triggers support '
            '"Utilization" or "AverageValue"'
        )
    for key, required in (("value", True), ("activationValue", False)):
        value = metadata.get(key)
        if value is None:
            if required:
                yield md_path, f'{trigger.get("type")} trigger needs metadata "value"'
            continue
        if not isinstance(value, str):
            continue  # schema layer reports the type
        if metric_type == "Utilization":
            number = _int_string(value)
            if number is None or number > 2**31 - 1 or (key == "value" and number == 0):
                yield md_path + (key,), (
                    f"must be a {'positive' if key == 'value' else 'non-negative'} integer "
                    f"percentage string for Utilization, got {_show(value)}"
                )
        elif metric_type == "AverageValue":
            _, issue = _quantity_issue(md_path + (key,), value)
            if issue:
                yield issue


def rule_keda_scaling(obj: K8sObject) -> Iterator[Issue]:
    """ScaledObject replica bounds and per-scaler trigger metadata that KEDA parses later."""
    if obj.group != "keda.sh" or obj.kind not in ("ScaledObject", "ScaledJob"):
        return
    spec = _map(obj.raw.get("spec"))
    if obj.kind == "ScaledObject":
        min_raw = spec.get("minReplicaCount")
        max_raw = spec.get("maxReplicaCount")
        min_count = min_raw if _is_int(min_raw) else 0 if min_raw is None else None
        max_count = max_raw if _is_int(max_raw) else 100 if max_raw is None else None
        min_shown = f"{min_count}" if min_raw is not None else f"{min_count}, the default"
        max_shown = f"{max_count}" if max_raw is not None else f"{max_count}, the default"
        if min_count is not None and max_count is not None and min_count > max_count:
            yield ("spec", "minReplicaCount"), (
                f"minReplicaCount ({min_shown}) must not be greater than maxReplicaCount ({max_shown})"
            )
        idle = spec.get("idleReplicaCount")
        if _is_int(idle) and min_count is not None and idle >= min_count:
            yield ("spec", "idleReplicaCount"), (
                f"idleReplicaCount ({idle}) must be less than minReplicaCount ({min_shown})"
            )
    triggers = _list(spec.get("triggers"))
    resource_only = bool(triggers)
    for i, trigger in enumerate(triggers):
        if not isinstance(trigger, Mapping):
            continue
        path: PathT = ("spec", "triggers", i)
        trigger_type = trigger.get("type")
        metadata = _map(trigger.get("metadata"))
        if trigger_type not in ("cpu", "memory"):
            resource_only = False
        if trigger_type in ("kafka", "apache-kafka"):
            yield from _kafka_trigger_issues(path, metadata)
        elif trigger_type in ("cpu", "memory"):
            yield from _resource_trigger_issues(path, trigger, metadata)
    if obj.kind == "ScaledObject" and resource_only and spec.get("minReplicaCount", 0) == 0:
        # KEDA's admission webhook rejects this: the HPA cannot scale from zero on cpu/memory.
        yield ("spec", "minReplicaCount"), (
            "must be >= 1 when all triggers are cpu/memory (scale to zero needs another trigger)"
        )


SEMANTIC_RULES: list[Rule] = [
    rule_metadata,
    rule_pod_templates,
    rule_containers,
    rule_pod_restart_policy,
    rule_update_strategy,
    rule_service,
    rule_ingress_paths,
    rule_resource_quantities,
    rule_keda_scaling,
]
