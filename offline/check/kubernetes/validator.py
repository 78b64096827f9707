"""The entry point: `validate_objects` runs the schema layer and every rule on each object."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .crds import _crd_validator, crd_groups, crd_index
from .objects import Issue, K8sObject, Violation, _map, _plain, split_api_version
from .rules import SEMANTIC_RULES
from .schemas import _core_validator, _normalise_version
from .wording import _json_type, describe_schema_error, format_path


def _object_label(api_version: str, kind: str, raw: Mapping[str, Any], index: int) -> str:
    meta = _map(raw.get("metadata"))
    name = meta.get("name")
    namespace = meta.get("namespace")
    shown = name if isinstance(name, str) and name else f"<unnamed object #{index}>"
    if isinstance(namespace, str) and namespace:
        shown = f"{namespace}/{shown}"
    return f"{api_version} {kind} {shown}"


# -------------------------------------------------------------- schema validation


def _schema_issues(obj: K8sObject, kubernetes_version: str) -> Iterator[Issue]:
    if obj.group in crd_groups():
        crd = crd_index().get((obj.group, obj.kind))
        if crd is None:
            known = sorted(kind for group, kind in crd_index() if group == obj.group)
            yield (), (
                f"no CustomResourceDefinition for {obj.api_version} {obj.kind}; "
                f"vendored kinds in {obj.group}: {', '.join(known)}"
            )
            return
        crd_version = crd.versions.get(obj.version)
        if crd_version is None or not crd_version.served:
            state = "is not served" if crd_version else "does not exist"
            yield ("apiVersion",), (
                f"{obj.api_version} {state} for {obj.kind}; served versions: "
                f"{', '.join(crd.served_api_versions())}"
            )
            return
        validator = _crd_validator(obj.group, obj.version, obj.kind, kubernetes_version)
    else:
        validator = _core_validator(kubernetes_version, obj.api_version, obj.kind)
        if validator is None:
            yield (), f"no schema for {obj.api_version} {obj.kind} in Kubernetes {kubernetes_version}"
            return
    for error in validator.iter_errors(obj.raw):
        yield from describe_schema_error(error)


# ---------------------------------------------------------------------- entry point


def validate_objects(objects: Iterable[Mapping[str, Any]], kubernetes_version: str) -> list[Violation]:
    """Validate rendered objects for ``kubernetes_version`` (e.g. "1.35"); [] means valid.

    Raises ValueError if kubernetes-validate has no schemas for that version.
    """
    version = _normalise_version(kubernetes_version)
    found: set[Violation] = set()
    seen: dict[tuple[str, str, str, str], int] = {}
    for index, raw in enumerate(objects):
        if not isinstance(raw, Mapping):
            found.add(Violation(f"object #{index}", "", f"expected a mapping, got {_json_type(raw)}"))
            continue
        api_version = raw.get("apiVersion")
        kind = raw.get("kind")
        if not isinstance(api_version, str) or not api_version or not isinstance(kind, str) or not kind:
            missing = " and ".join(
                key for key, value in (("apiVersion", api_version), ("kind", kind))
                if not isinstance(value, str) or not value
            )
            found.add(Violation(
                f"object #{index}", "", f"missing or invalid {missing}; cannot identify the object"
            ))
            continue
        group, ver = split_api_version(api_version)
        obj = K8sObject(
            index=index,
            raw=_plain(raw),
            api_version=api_version,
            group=group,
            version=ver,
            kind=kind,
            label=_object_label(api_version, kind, raw, index),
            kubernetes_version=version,
        )
        for path, message in _schema_issues(obj, version):
            found.add(Violation(obj.label, format_path(path), message))
        for rule in SEMANTIC_RULES:
            try:
                for path, message in rule(obj):
                    found.add(Violation(obj.label, format_path(path), message))
            except Exception as exc:  # noqa: BLE001 - one odd object must not hide the rest
                found.add(Violation(obj.label, "", f"internal error in {rule.__name__}: {exc!r}"))

        meta = _map(raw.get("metadata"))
        name, namespace = meta.get("name"), meta.get("namespace")
        if isinstance(name, str) and name:
            key = (group, kind, namespace if isinstance(namespace, str) else "", name)
            if key in seen:
                found.add(Violation(
                    obj.label, "",
                    f"duplicate object: object #{seen[key]} has the same group, kind, namespace and name",
                ))
            else:
                seen[key] = index
    return sorted(found)
