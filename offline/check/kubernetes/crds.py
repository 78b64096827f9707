"""Custom resources: the vendored CRDs in schemas/crds (`crd_index`) and their OpenAPI-to-JSON-Schema conversion."""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jsonschema

from builders.yaml_text import safe_load
from offline.run.stackfile import CACHE_ROOT

from .objects import _get
from .schemas import _OBJECT_META_REF, _core_registry, _inlined, inline_refs

# ---------------------------------------------------------------- custom resources

CRD_DIR: Final = Path(__file__).resolve().parents[3] / "schemas" / "crds"


@dataclass(frozen=True)
class CrdVersion:
    name: str
    served: bool
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class Crd:
    group: str
    kind: str
    namespaced: bool
    versions: Mapping[str, CrdVersion]
    source: str

    def served_api_versions(self) -> list[str]:
        return [f"{self.group}/{v.name}" for v in self.versions.values() if v.served]


# Even libyaml needs ~0.4 s to build the two ESO store CRDs into Python objects, the
# largest single cost of a one-stack plan; JSON of the same document loads ~10x faster.
# The cache is keyed by the file's content hash, so an updated CRD is never served stale.
CRD_CACHE_DIR: Final = CACHE_ROOT / "crds"


def _load_crd_document(path: Path) -> Any:
    raw = path.read_bytes()
    cached = CRD_CACHE_DIR / f"{path.stem}.{hashlib.sha256(raw).hexdigest()[:16]}.json"
    try:
        return json.loads(cached.read_bytes())
    except (OSError, ValueError):
        pass
    # The ESO store CRDs are ~700 KB each: libyaml parses them in ~0.1 s, pure Python
    # takes seconds.
    doc = safe_load(raw)
    try:
        CRD_CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(doc), encoding="utf-8")
        partial.replace(cached)  # atomic: a concurrent plan never reads half a file
    except (OSError, TypeError, ValueError):
        pass  # a read-only checkout, or a document JSON cannot hold: parse every time
    return doc


@functools.lru_cache(maxsize=1)
def crd_index() -> Mapping[tuple[str, str], Crd]:
    """All vendored CRDs keyed by (group, kind); parsed once per process."""
    index: dict[tuple[str, str], Crd] = {}
    for path in sorted(CRD_DIR.glob("*/*.yaml")):
        doc = _load_crd_document(path)
        if not isinstance(doc, Mapping) or doc.get("kind") != "CustomResourceDefinition":
            continue
        spec = doc["spec"]
        versions = {
            v["name"]: CrdVersion(
                name=v["name"],
                served=bool(v.get("served")),
                schema=_get(v, "schema", "openAPIV3Schema") or {"type": "object"},
            )
            for v in spec["versions"]
        }
        crd = Crd(
            group=spec["group"],
            kind=spec["names"]["kind"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            versions=versions,
            source=str(path.relative_to(CRD_DIR)),
        )
        index[(crd.group, crd.kind)] = crd
    return index


@functools.lru_cache(maxsize=1)
def crd_groups() -> frozenset[str]:
    return frozenset(group for group, _ in crd_index())


def openapi_to_json_schema(node: Any, *, structural: bool = True) -> Any:
    """Convert one OpenAPI v3 (CRD structural) schema node to JSON Schema 2020-12.

    ``structural`` is False inside anyOf/allOf/oneOf/not (at any depth): those branches only
    add value constraints to fields declared by the enclosing schema, so closing them with
    additionalProperties=false would wrongly reject the enclosing schema's own fields.
    """
    if not isinstance(node, Mapping):
        return node
    preserve = node.get("x-kubernetes-preserve-unknown-fields") is True
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-") or key in ("nullable", "description", "example"):
            continue
        if key == "properties" and isinstance(value, Mapping):
            out[key] = {
                name: openapi_to_json_schema(sub, structural=structural) for name, sub in value.items()
            }
        elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
            out[key] = openapi_to_json_schema(value, structural=structural)
        elif key in ("anyOf", "allOf", "oneOf") and isinstance(value, list):
            out[key] = [openapi_to_json_schema(sub, structural=False) for sub in value]
        elif key == "not":
            out[key] = openapi_to_json_schema(value, structural=False)
        else:
            out[key] = value

    if node.get("x-kubernetes-int-or-string") is True and "anyOf" not in out and "type" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]

    if node.get("x-kubernetes-embedded-resource") is True:
        props = out.setdefault("properties", {})
        props.setdefault("apiVersion", {"type": "string"})
        props.setdefault("kind", {"type": "string"})
        props.setdefault("metadata", {"type": "object"})

    is_object = node.get("type") == "object" or "properties" in node
    if structural and is_object and not preserve and "additionalProperties" not in node:
        # Strict field validation: fields the schema does not declare are errors.  This
        # includes `type: object` without properties (an empty struct), which the API
        # server would prune entirely.
        out["additionalProperties"] = False

    if node.get("nullable") is True:
        node_type = out.get("type")
        if isinstance(node_type, str):
            out["type"] = [node_type, "null"]
        elif isinstance(out.get("anyOf"), list):
            out["anyOf"] = [*out["anyOf"], {"type": "null"}]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    return out


def crd_json_schema(crd_schema: Mapping[str, Any]) -> dict[str, Any]:
    """Whole-object JSON Schema for one CRD version."""
    schema: dict[str, Any] = openapi_to_json_schema(crd_schema)
    props = dict(schema.get("properties") or {})
    props["apiVersion"] = {"type": "string"}
    props["kind"] = {"type": "string"}
    # The API server validates CR metadata as ObjectMeta regardless of what the CRD says.
    props["metadata"] = {"$ref": _OBJECT_META_REF}
    schema["properties"] = props
    schema.setdefault("type", "object")
    return schema


@functools.lru_cache(maxsize=256)
def _crd_validator(group: str, version: str, kind: str, kubernetes_version: str) -> Any:
    crd = crd_index()[(group, kind)]
    schema = crd_json_schema(crd.versions[version].schema)
    registry = _core_registry(kubernetes_version)
    return jsonschema.Draft202012Validator(inline_refs(schema, registry, _inlined(kubernetes_version)),
                                           registry=registry)
