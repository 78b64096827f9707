"""Metadata rules every object must obey: names, namespace vs. scope, labels and annotations."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from .crds import crd_groups, crd_index
from .names import (
    dns1035_label_error,
    dns1123_label_error,
    dns1123_subdomain_error,
    label_value_error,
    path_segment_name_error,
    qualified_name_error,
)
from .objects import Issue, K8sObject, PathT, _map
from .schemas import _core_validator
from .wording import _show

# ----------------------------------------------------------------- object identity

CLUSTER_SCOPED_CORE_KINDS: Final = frozenset({
    "APIService",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
})

# (group, kind) -> name validator; everything else must be a DNS-1123 subdomain.
_NAME_RULES: Final[Mapping[tuple[str, str], tuple[str, Callable[[str], str | None]]]] = {
    ("", "Namespace"): ("DNS-1123 label", dns1123_label_error),
    # Service names become DNS labels *and* env var prefixes, hence RFC 1035.
    ("", "Service"): ("DNS-1035 label", dns1035_label_error),
    ("rbac.authorization.k8s.io", "Role"): ("path segment", path_segment_name_error),
    ("rbac.authorization.k8s.io", "RoleBinding"): ("path segment", path_segment_name_error),
    ("rbac.authorization.k8s.io", "ClusterRole"): ("path segment", path_segment_name_error),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): ("path segment", path_segment_name_error),
}


def _is_namespaced(obj: K8sObject) -> bool | None:
    """True/False from the CRD or the core table; None when the kind is unknown."""
    if obj.group in crd_groups():
        crd = crd_index().get((obj.group, obj.kind))
        return crd.namespaced if crd else None
    if _core_validator(obj.kubernetes_version, obj.api_version, obj.kind) is None:
        return None  # already reported as "no schema"; guessing a scope would only add noise
    return obj.kind not in CLUSTER_SCOPED_CORE_KINDS


def rule_metadata(obj: K8sObject) -> Iterator[Issue]:
    """Names, namespace vs. scope, label and annotation syntax."""
    meta = obj.raw.get("metadata")
    if not isinstance(meta, Mapping):
        if meta is None:
            yield (), 'missing required field "metadata"'
        return
    name = meta.get("name")
    if name is None or name == "":
        yield ("metadata",), 'missing required field "name"'
    elif isinstance(name, str):
        rule_name, check = _NAME_RULES.get(
            (obj.group, obj.kind), ("DNS-1123 subdomain", dns1123_subdomain_error)
        )
        problem = check(name)
        if problem:
            yield ("metadata", "name"), f"invalid {obj.kind} name ({rule_name}): {problem}"

    namespaced = _is_namespaced(obj)
    namespace = meta.get("namespace")
    if namespaced is True and (namespace is None or namespace == ""):
        yield ("metadata",), f'missing required field "namespace" ({obj.kind} is namespaced)'
    elif namespaced is False and namespace not in (None, ""):
        yield ("metadata", "namespace"), (
            f"{obj.kind} is cluster-scoped and must not set a namespace (got {_show(namespace)})"
        )
    if isinstance(namespace, str) and namespace:
        problem = dns1123_label_error(namespace)
        if problem:
            yield ("metadata", "namespace"), f"invalid namespace: {problem}"

    yield from _label_issues(("metadata",), meta)


def _label_issues(meta_path: PathT, meta: Mapping[str, Any]) -> Iterator[Issue]:
    for key, value in _map(meta.get("labels")).items():
        path = meta_path + ("labels", key)
        if isinstance(key, str):
            problem = qualified_name_error(key)
            if problem:
                yield path, f"invalid label {problem}"
        if isinstance(value, str):
            problem = label_value_error(value)
            if problem:
                yield path, f"invalid {problem}"
    annotations = _map(meta.get("annotations"))
    total = 0
    for key, value in annotations.items():
        if isinstance(key, str):
            problem = qualified_name_error(key)
            if problem:
                yield meta_path + ("annotations", key), f"invalid annotation {problem}"
            total += len(key.encode())
        if isinstance(value, str):
            total += len(value.encode())
    if total > 256 * 1024:
        yield meta_path + ("annotations",), f"annotations total {total} bytes, limit is 262144"
