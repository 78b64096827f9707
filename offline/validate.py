"""Validate rendered Kubernetes objects the way the API server would, without a cluster.

Input is what ``kubectl apply -f`` takes: plain JSON-like dicts.  Three layers run on
every object and *all* problems are reported, not just the first:

1. Structural schema.  Core kinds use the strict JSON schemas bundled with
   ``kubernetes-validate`` for the requested Kubernetes minor version; custom resources
   use the ``openAPIV3Schema`` of the vendored CRDs in ``schemas/crds`` (converted to JSON
   Schema with the API server's strict field validation semantics).
2. Metadata rules every object must obey (names, namespaces vs. scope, labels).
3. Semantic rules that schemas cannot express (``SEMANTIC_RULES``), e.g. KEDA replica
   bounds, resource quantity syntax and request <= limit, enum-like strings that the
   OpenAPI document leaves as free text.

Plus one cross-object rule: no two objects may share group/kind/namespace/name.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, TypeGuard

import jsonschema
import yaml
from referencing import Registry, Resource

__all__ = [
    "SEMANTIC_RULES",
    "K8sObject",
    "Rule",
    "Violation",
    "parse_quantity",
    "supported_kubernetes_versions",
    "validate_objects",
]

CRD_DIR: Final = Path(__file__).resolve().parent.parent / "schemas" / "crds"

PathT = tuple[str | int, ...]
Issue = tuple[PathT, str]


@dataclass(frozen=True, order=True)
class Violation:
    """One problem with one object; ordering sorts a report by object, then field."""

    obj: str  # "apps/v1 Deployment customer-acme/event-processor" (namespace/name, or name)
    path: str  # "spec.template.spec.containers[0].name"; "" for the object itself
    message: str  # one line, quoting the offending value where useful

    def __str__(self) -> str:
        return f"{self.obj}: {self.path}: {self.message}"


@dataclass(frozen=True)
class K8sObject:
    """One input object plus the identity facts every rule needs."""

    index: int
    raw: Mapping[str, Any]
    api_version: str
    group: str
    version: str
    kind: str
    label: str
    kubernetes_version: str


Rule = Callable[[K8sObject], Iterable[Issue]]


# --------------------------------------------------------------------------- helpers


_SIMPLE_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")


def format_path(parts: Iterable[str | int]) -> str:
    out: list[str] = []
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _SIMPLE_KEY.fullmatch(part):
            out.append(f".{part}" if out else part)
        else:
            # Label/annotation keys contain dots and slashes; brackets keep the path unambiguous.
            out.append(f"[{json.dumps(part)}]")
    return "".join(out)


def _show(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _plain(value: Any) -> Any:
    # jsonschema's type checks are isinstance(dict)/isinstance(list); callers may hand us
    # Mapping proxies or tuples, which the API server would see as objects/arrays anyway.
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list) else []


def _get(obj: Any, *keys: str) -> Any:
    cur = obj
    for key in keys:
        if not isinstance(cur, Mapping):
            return None
        cur = cur.get(key)
    return cur


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _enum_issue(path: PathT, value: Any, allowed: Sequence[str]) -> Iterator[Issue]:
    # Only strings: a wrong JSON type is already reported by the schema layer.
    if isinstance(value, str) and value not in allowed:
        supported = ", ".join(_show(a) for a in allowed)
        yield path, f"unsupported value {_show(value)}; supported values: {supported}"


def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version


# ------------------------------------------------------------------ Kubernetes names

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_IANA_SVC_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")


def dns1123_label_error(value: str) -> str | None:
    if len(value) > 63:
        return f"{_show(value)} must be no more than 63 characters (DNS-1123 label)"
    if not _DNS1123_LABEL.fullmatch(value):
        return (
            f"{_show(value)} is not a DNS-1123 label: lowercase alphanumerics and '-', "
            "starting and ending with an alphanumeric"
        )
    return None


def dns1123_subdomain_error(value: str) -> str | None:
    if len(value) > 253:
        return f"{_show(value)} must be no more than 253 characters (DNS-1123 subdomain)"
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        return (
            f"{_show(value)} is not a DNS-1123 subdomain: lowercase alphanumerics, '-' and '.', "
            "starting and ending with an alphanumeric"
        )
    return None


def dns1035_label_error(value: str) -> str | None:
    if len(value) > 63:
        return f"{_show(value)} must be no more than 63 characters (DNS-1035 label)"
    if not _DNS1035_LABEL.fullmatch(value):
        return (
            f"{_show(value)} is not a DNS-1035 label: lowercase alphanumerics and '-', "
            "starting with a letter and ending with an alphanumeric"
        )
    return None


def path_segment_name_error(value: str) -> str | None:
    # RBAC objects accept names like "system:controller:foo"; the API server only
    # requires them to be usable as a URL path segment.
    if value in (".", ".."):
        return f"{_show(value)} may not be '.' or '..'"
    for bad in ("/", "%"):
        if bad in value:
            return f"{_show(value)} may not contain {bad!r}"
    return None


def qualified_name_error(key: str) -> str | None:
    """Label/annotation key: optional DNS-subdomain prefix, '/', name of <= 63 chars."""
    parts = key.split("/")
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        prefix, name = parts
        if not prefix:
            return f"key {_show(key)} has an empty prefix before '/'"
        prefix_error = dns1123_subdomain_error(prefix)
        if prefix_error:
            return f"key {_show(key)} prefix: {prefix_error}"
    else:
        return f"key {_show(key)} may contain at most one '/'"
    if not name:
        return f"key {_show(key)} has an empty name part"
    if len(name) > 63:
        return f"key {_show(key)} name part must be no more than 63 characters"
    if not _QUALIFIED_NAME.fullmatch(name):
        return (
            f"key {_show(key)} name part must consist of alphanumerics, '-', '_' or '.', "
            "starting and ending with an alphanumeric"
        )
    return None


def label_value_error(value: str) -> str | None:
    if len(value) > 63:
        return f"label value {_show(value)} must be no more than 63 characters"
    if not _LABEL_VALUE.fullmatch(value):
        return (
            f"label value {_show(value)} must be empty or consist of alphanumerics, '-', '_' "
            "or '.', starting and ending with an alphanumeric"
        )
    return None


# ------------------------------------------------------------------------ quantities

_DECIMAL_SUFFIX_EXP: Final[Mapping[str, int]] = {
    # n and u are not in the documented grammar but ParseQuantity accepts them
    # (metrics-server emits "250000n"), so rejecting them would be stricter than the server.
    "n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18,
}
_BINARY_SUFFIX_EXP: Final[Mapping[str, int]] = {
    "Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60,
}
_DIGITS: Final = frozenset("0123456789")
# Anything beyond this is a typo, and 10**huge would make Fraction arithmetic a DoS.
_MAX_EXPONENT: Final = 1000


def parse_quantity(text: str) -> Fraction | None:
    """Parse a Kubernetes resource.Quantity string; None if it is not one.

    Grammar (k8s.io/apimachinery/pkg/api/resource): optional sign, digits with an optional
    fraction (``1``, ``1.``, ``.5``, ``1.5``), then a suffix: binary SI (Ki..Ei), decimal
    SI (n u m "" k M G T P E) or a decimal exponent (``e``/``E`` + signed integer).
    """
    n = len(text)
    i = 0
    negative = False
    if i < n and text[i] in "+-":
        negative = text[i] == "-"
        i += 1
    start = i
    while i < n and text[i] in _DIGITS:
        i += 1
    whole = text[start:i]
    frac = ""
    if i < n and text[i] == ".":
        i += 1
        start = i
        while i < n and text[i] in _DIGITS:
            i += 1
        frac = text[start:i]
    if not whole and not frac:
        return None
    suffix = text[i:]
    if suffix in _BINARY_SUFFIX_EXP:
        scale = Fraction(2) ** _BINARY_SUFFIX_EXP[suffix]
    elif suffix in _DECIMAL_SUFFIX_EXP:
        scale = Fraction(10) ** _DECIMAL_SUFFIX_EXP[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE":
        exp_text = suffix[1:]
        digits = exp_text[1:] if exp_text[0] in "+-" else exp_text
        if not digits or any(c not in _DIGITS for c in digits):
            return None
        exponent = int(exp_text)
        if abs(exponent) > _MAX_EXPONENT:
            return None
        scale = Fraction(10) ** exponent
    else:
        return None
    mantissa = Fraction(int(whole or "0") * 10 ** len(frac) + int(frac or "0"), 10 ** len(frac))
    value = mantissa * scale
    return -value if negative else value


def _quantity_text(value: Any) -> str | None:
    """The string the API server would parse for a JSON quantity value (str or number)."""
    if isinstance(value, str):
        return value
    if _is_int(value):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "NaN"
    return None


def _quantity_issue(path: PathT, value: Any) -> tuple[Fraction | None, Issue | None]:
    text = _quantity_text(value)
    if text is None:
        return None, None  # wrong JSON type: the schema layer already reports it
    parsed = parse_quantity(text)
    if parsed is None:
        return None, (
            path,
            f"invalid quantity {_show(value)}: expected a Kubernetes quantity such as "
            '"250m", "1Gi", "0.5" or "1e3"',
        )
    if parsed < 0:
        return None, (path, f"quantity {_show(value)} must be greater than or equal to 0")
    return parsed, None


def _quantity_map(path: PathT, value: Any) -> tuple[dict[str, Fraction], list[Issue]]:
    parsed: dict[str, Fraction] = {}
    issues: list[Issue] = []
    for name, raw in _map(value).items():
        q, issue = _quantity_issue(path + (name,), raw)
        if issue:
            issues.append(issue)
        elif q is not None:
            parsed[name] = q
    return parsed, issues


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


# ---------------------------------------------------------------- custom resources


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


# The ESO store CRDs are ~700 KB each: libyaml parses them in ~0.1 s, pure Python takes
# seconds.  PyYAML wheels ship libyaml; the fallback only keeps odd builds working.
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# Even libyaml needs ~0.4 s to build the two ESO store CRDs into Python objects, the
# largest single cost of a one-stack plan; JSON of the same document loads ~10x faster.
# The cache is keyed by the file's content hash, so an updated CRD is never served stale.
CRD_CACHE_DIR: Final = CRD_DIR.parent.parent / "out" / ".cache" / "crds"


def _load_crd_document(path: Path) -> Any:
    raw = path.read_bytes()
    cached = CRD_CACHE_DIR / f"{path.stem}.{hashlib.sha256(raw).hexdigest()[:16]}.json"
    try:
        return json.loads(cached.read_bytes())
    except (OSError, ValueError):
        pass
    doc = yaml.load(raw, Loader=_YAML_LOADER)
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
    return jsonschema.Draft202012Validator(schema, registry=_core_registry(kubernetes_version))


# ------------------------------------------------------------------ schema messages


def _type_names(expected: Any) -> list[str]:
    names = [expected] if isinstance(expected, str) else list(expected or [])
    without_null = [n for n in names if n != "null"]
    return without_null or names


def _simple_type_branches(branches: Any) -> list[str] | None:
    """['integer', 'string'] for anyOf/oneOf made only of {type: ...} branches."""
    names: list[str] = []
    for branch in branches if isinstance(branches, list) else []:
        if not isinstance(branch, Mapping) or set(branch) != {"type"}:
            return None
        names.extend(_type_names(branch["type"]))
    return names or None


def describe_schema_error(error: Any) -> Iterator[Issue]:
    """Turn one jsonschema ValidationError into one or more (path, message) issues."""
    path: PathT = tuple(error.absolute_path)
    kw = error.validator
    value = error.validator_value
    instance = error.instance
    if kw == "additionalProperties" and value is False and isinstance(instance, Mapping):
        declared = error.schema.get("properties") or {}
        patterns = list((error.schema.get("patternProperties") or {}).keys())
        for key in instance:
            if key not in declared and not any(re.search(p, key) for p in patterns):
                yield path + (key,), f"unknown field {_show(key)}"
        return
    if kw == "required" and isinstance(instance, Mapping):
        for name in value:
            if name not in instance:
                yield path, f"missing required field {_show(name)}"
        return
    if kw == "type":
        names = _type_names(value)
        hint = ""
        if names == ["string"] and isinstance(instance, (int, float)) and not isinstance(instance, bool):
            hint = f"; quote it: {_show(str(instance))}"
        got = "null" if instance is None else f"{_json_type(instance)} {_show(instance)}"
        yield path, f"must be of type {' or '.join(names)}, got {got}{hint}"
        return
    if kw == "enum":
        allowed = ", ".join(_show(v) for v in value if v is not None)
        yield path, f"unsupported value {_show(instance)}; supported values: {allowed}"
        return
    if kw == "pattern":
        yield path, f"{_show(instance)} does not match the pattern {value}"
        return
    if kw in ("minLength", "maxLength"):
        bound = "at least" if kw == "minLength" else "at most"
        yield path, f"must be {bound} {value} characters long, got {_show(instance)}"
        return
    if kw in ("minItems", "maxItems", "minProperties", "maxProperties"):
        what = "items" if kw.endswith("Items") else "fields"
        bound = "at least" if kw.startswith("min") else "at most"
        yield path, f"must have {bound} {value} {what}, got {len(instance)}"
        return
    if kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {
            "minimum": ">=", "maximum": "<=", "exclusiveMinimum": ">", "exclusiveMaximum": "<",
        }[kw]
        yield path, f"must be {relation} {value}, got {_show(instance)}"
        return
    if kw in ("anyOf", "oneOf"):
        simple = _simple_type_branches(value)
        if instance is None:
            # Core schemas mark every branch nullable, so an explicit null matches all of
            # them and oneOf fails; the fix is to omit the field.
            yield path, "null is not allowed here; omit the field instead"
            return
        if simple is not None:
            yield path, (
                f"must be {' or '.join(dict.fromkeys(simple))}, "
                f"got {_json_type(instance)} {_show(instance)}"
            )
            return
        if error.context:
            best = jsonschema.exceptions.best_match(error.context)
            yield from describe_schema_error(best)
            return
    yield path, " ".join(str(error.message).split())


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


# ------------------------------------------------------------------ semantic rules


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
