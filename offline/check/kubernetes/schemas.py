"""The core-kind schema registry: the strict schemas kubernetes-validate bundles, per supported Kubernetes version."""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Final

import jsonschema
from referencing import Registry, Resource

from .objects import split_api_version

# ------------------------------------------------------------- Kubernetes versions

_SCHEMA_DIR_RE = re.compile(r"v(\d+)\.(\d+)\.(\d+)-local-strict")


def _schema_root() -> Traversable:
    # Same package-data lookup kubernetes_validate.utils.schema_contents() uses.
    return resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")


@functools.lru_cache(maxsize=1)
def supported_kubernetes_versions() -> tuple[str, ...]:
    found: list[tuple[int, int]] = []
    for entry in _schema_root().iterdir():
        match = _SCHEMA_DIR_RE.fullmatch(entry.name)
        if match and entry.joinpath("_definitions.json").is_file():
            found.append((int(match[1]), int(match[2])))
    return tuple(f"{major}.{minor}" for major, minor in sorted(set(found)))


def _normalise_version(kubernetes_version: str) -> str:
    supported = supported_kubernetes_versions()
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?", kubernetes_version.strip())
    version = f"{int(match[1])}.{int(match[2])}" if match else None
    if version is None or version not in supported:
        raise ValueError(
            f"unsupported Kubernetes version {kubernetes_version!r}; kubernetes-validate "
            f"ships schemas for: {', '.join(supported)}"
        )
    return version


def _strict_dir(version: str) -> Traversable:
    return _schema_root().joinpath(f"v{version}.0-local-strict")


_DEFINITIONS_ID: Final = "https://kubernetes.io/api/_definitions.json"
_OBJECT_META_REF: Final = _DEFINITIONS_ID + "#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


@functools.lru_cache(maxsize=None)
def _core_registry(version: str) -> Registry[Any]:
    definitions = json.loads(_strict_dir(version).joinpath("_definitions.json").read_text("utf-8"))
    registry: Registry[Any] = Registry().with_resource(
        definitions.get("$id", _DEFINITIONS_ID), Resource.from_contents(definitions)
    )
    return registry


@functools.lru_cache(maxsize=1024)
def _core_validator(version: str, api_version: str, kind: str) -> Any:
    """Validator for a core kind, or None when kubernetes-validate has no such schema."""
    group, api_ver = split_api_version(api_version)
    # kubernetes_validate names files <kind>-<first label of group>-<version>.json
    # (e.g. rbac.authorization.k8s.io/v1 -> rbac-v1), so "apps.example.com/v1 Deployment"
    # would collide with apps/v1; the embedded GVK list disambiguates.
    group_prefix = group.split(".", 1)[0]
    file_name = f"{kind.lower()}-{group_prefix + '-' if group else ''}{api_ver}.json"
    schema_file = _strict_dir(version).joinpath(file_name)
    if not schema_file.is_file():
        return None
    schema = json.loads(schema_file.read_text("utf-8"))
    gvks = schema.get("x-kubernetes-group-version-kind") or []
    if not any(
        g.get("group", "") == group and g.get("version") == api_ver and g.get("kind") == kind
        for g in gvks
    ):
        return None
    registry = _core_registry(version)
    if "$id" in schema:
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    return jsonschema.Draft202012Validator(schema, registry=registry)
