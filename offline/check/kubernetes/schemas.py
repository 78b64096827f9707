"""The core-kind schema registry: the strict schemas kubernetes-validate bundles, per supported Kubernetes version."""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Final
from urllib.parse import urljoin

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
    found = core_schema(version, api_version, kind)
    if found is None:
        return None
    schema, registry = found
    return jsonschema.Draft202012Validator(inline_refs(schema, registry, _inlined(version)), registry=registry)


@functools.lru_cache(maxsize=1024)
def core_schema(version: str, api_version: str, kind: str) -> tuple[dict[str, Any], Registry[Any]] | None:
    """A core kind's schema as kubernetes-validate ships it, with the registry its
    references resolve in; None when it has no such schema."""
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
    return schema, registry


# ------------------------------------------------------------------ $ref inlining

# Keywords whose values are annotations: a `$ref` beside only these validates exactly
# as its target does (JSON Schema 2020-12, section 7.7.1).
_ANNOTATIONS: Final = frozenset({"description", "title", "default", "example", "examples", "$comment",
                                  "deprecated", "readOnly", "writeOnly"})
_SCHEMA_MAPS: Final = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_SCHEMA_VALUES: Final = frozenset({"additionalProperties", "items", "additionalItems", "not", "contains",
                                   "propertyNames", "if", "then", "else", "unevaluatedItems",
                                   "unevaluatedProperties"})
_SCHEMA_LISTS: Final = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})


@functools.lru_cache(maxsize=None)
def _inlined(version: str) -> dict[str, Any]:
    """The definitions of one Kubernetes version already inlined, by absolute URI:
    every kind's schema shares them."""
    return {}


def inline_refs(schema: Any, registry: Registry[Any], memo: dict[str, Any]) -> Any:
    """`schema` with each `$ref` that has only annotations beside it replaced by its
    target, itself inlined (`memo`: targets inlined so far, by absolute URI, shared).

    Validation is unchanged: the same keywords apply to the same instance values, so
    the same errors come out, in the same order. It is faster: jsonschema resolves a
    reference at every use, for every object, and a Pod template is mostly references.
    A reference back to a definition being inlined (a recursive schema) stays a
    reference, made absolute, for the validator's registry to resolve."""

    def walk(node: Any, base: str, active: frozenset[str]) -> Any:
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("$id"), str):
            base = urljoin(base, node["$id"])
        ref = node.get("$ref")
        if isinstance(ref, str) and all(k == "$ref" or k in _ANNOTATIONS or k.startswith("x-kubernetes-")
                                        for k in node):
            target = urljoin(base, ref)
            if target in memo:
                return memo[target]
            if target in active:
                return {"$ref": target}
            contents = registry.resolver(base).lookup(ref).contents
            memo[target] = inlined = walk(contents, target.split("#", 1)[0], active | {target})
            return inlined
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: walk(sub, base, active) for name, sub in value.items()}
            elif key in _SCHEMA_VALUES:
                out[key] = walk(value, base, active)
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                out[key] = [walk(sub, base, active) for sub in value]
            else:
                out[key] = value
        return out

    return walk(schema, str(schema.get("$id", "")) if isinstance(schema, dict) else "", frozenset())
