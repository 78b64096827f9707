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

What lives where:

- ``objects``: ``Violation``, ``K8sObject``, ``Rule`` and the small accessors rules share.
- ``wording``: error message formatting (``format_path``, quoted values, jsonschema errors).
- ``names``: DNS label/subdomain, path segment, label key and value checks.
- ``quantities``: ``parse_quantity`` and per-field quantity issues.
- ``schemas``: the core-kind schema registry, ``supported_kubernetes_versions``.
- ``crds``: CRD loading (``crd_index``) and OpenAPI-to-JSON-Schema conversion.
- ``metadata``: layer 2, the metadata rules and object scope.
- ``rules``: layer 3, the semantic rules, listed in one place (``SEMANTIC_RULES``).
- ``validator``: the entry point, ``validate_objects``.

Who may import it: offline's own modules and the tests.  The package layers (fleet|tools >
offline > policies|components > builders > stackconfig > derive, held by ``.importlinter``)
keep everything below offline from reaching it.
"""

from __future__ import annotations

from .crds import Crd, CrdVersion, crd_groups, crd_index, crd_json_schema, openapi_to_json_schema
from .names import (
    dns1035_label_error,
    dns1123_label_error,
    dns1123_subdomain_error,
    label_value_error,
    path_segment_name_error,
    qualified_name_error,
)
from .objects import Issue, K8sObject, PathT, Rule, Violation, split_api_version
from .quantities import parse_quantity
from .rules import SEMANTIC_RULES
from .schemas import supported_kubernetes_versions
from .validator import validate_objects
from .wording import describe_schema_error, format_path

__all__ = [
    "SEMANTIC_RULES",
    "Crd",
    "CrdVersion",
    "Issue",
    "K8sObject",
    "PathT",
    "Rule",
    "Violation",
    "crd_groups",
    "crd_index",
    "crd_json_schema",
    "describe_schema_error",
    "dns1035_label_error",
    "dns1123_label_error",
    "dns1123_subdomain_error",
    "format_path",
    "label_value_error",
    "openapi_to_json_schema",
    "parse_quantity",
    "path_segment_name_error",
    "qualified_name_error",
    "split_api_version",
    "supported_kubernetes_versions",
    "validate_objects",
]
