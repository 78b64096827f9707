"""The CEL rules of the CRDs (`x-kubernetes-validations`), evaluated on every custom
resource of the plan, as the API server does on create.

JSON Schema validation (offline/check/kubernetes/) skips these rules. Here each rule of a schema
node is evaluated, with cel-python, for every instance of that node in the object
(properties, each item of an array, each value of an additionalProperties map), with
`self` bound to the instance:

- transition rules (those that read `oldSelf`) do not apply on create and are skipped;
- Kubernetes' regex `find()` and the strings extension's `split()`, which the vendored
  Karpenter CRDs call, are provided here (`_KUBERNETES_FUNCTIONS`);
- a rule that uses any other function cel-python lacks (Kubernetes' lists, quantity,
  url, ip libraries, ...) is counted as skipped, by expression, never as passed;
- `message`, `messageExpression` and `fieldPath` shape the violation as the API server's
  would ("<fieldPath>: Invalid value: ...: <message>").

The CRDs are whatever offline/check/kubernetes/crds.py registers (`crd_index()`); `evaluate_object`
takes any CRD version schema, so tests can judge objects against other CRDs too.
Semantics: https://kubernetes.io/docs/reference/using-api/cel/ and
https://kubernetes.io/docs/tasks/extend-kubernetes/custom-resources/custom-resource-definitions/#validation-rules
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.celparser import CELParseError
from celpy.evaluation import CELEvalError, base_functions

from offline.check.kubernetes import Violation, crd_index, format_path, split_api_version

__all__ = ["CelReport", "evaluate_object", "evaluate_objects"]

PathT = tuple[str | int, ...]
_OLD_SELF = re.compile(r"\boldSelf\b")


@dataclass
class CelReport:
    violations: list[Violation] = field(default_factory=list)
    evaluated: int = 0
    transition_skipped: int = 0
    # expression -> why it could not be evaluated (unsupported function, ...)
    unsupported: dict[str, str] = field(default_factory=dict)
    unsupported_count: int = 0

    def summary(self) -> str:
        text = f"CEL: {self.evaluated} rule evaluation(s) on custom resources"
        if self.transition_skipped:
            text += f", {self.transition_skipped} transition rule(s) (oldSelf) skipped on create"
        if self.unsupported_count:
            text += (f", {self.unsupported_count} evaluation(s) of {len(self.unsupported)} rule(s) SKIPPED "
                     f"(not supported by the evaluator: {'; '.join(sorted(set(self.unsupported.values())))})")
        return text


class _Unsupported(Exception):
    pass


_ENV = celpy.Environment()
# What cel-python evaluates: its standard functions plus CEL's macros. Anything else a rule
# calls (Kubernetes' list, regex, string, quantity, url, ip libraries) is unsupported; found
# before evaluating, since inside a larger expression it surfaces only as a type error.
def _find(text: Any, pattern: Any) -> Any:
    """Kubernetes' regex library `<string>.find(<regex>)`: the first match, or "" when none
    (kubernetes/apiserver pkg/cel/library/regex.go). Python's re agrees with RE2 on the
    anchored character-class patterns the vendored CRDs use."""
    match = re.search(str(pattern), str(text))
    return celtypes.StringType(match.group(0) if match else "")


def _split(text: Any, separator: Any) -> Any:
    """cel-go's strings extension `<string>.split(<string>)`, Go's strings.Split: an empty
    separator splits into characters (google/cel-go ext/strings.go)."""
    value, sep = str(text), str(separator)
    parts = list(value) if sep == "" else value.split(sep)
    return celtypes.ListType([celtypes.StringType(part) for part in parts])


# The Kubernetes CEL libraries the vendored CRDs' rules call, beyond cel-python's own.
_KUBERNETES_FUNCTIONS: Mapping[str, Callable[..., Any]] = {"find": _find, "split": _split}
_SUPPORTED = frozenset(k for k in base_functions if k[:1].isalpha()) | {
    "has", "all", "exists", "exists_one", "map", "filter", "dyn", *_KUBERNETES_FUNCTIONS,
}
_CALL = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\(")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


def _unsupported_calls(expression: str) -> list[str]:
    code = _STRING.sub("''", expression)
    return sorted({name for name in _CALL.findall(code) if name not in _SUPPORTED})


@functools.lru_cache(maxsize=1024)
def _program(expression: str) -> Any:
    try:
        return _ENV.program(_ENV.compile(expression), functions=dict(_KUBERNETES_FUNCTIONS))
    except CELParseError as exc:
        raise _Unsupported(f"does not parse: {str(exc).splitlines()[0]}") from None


def _evaluate(expression: str, value: Any) -> Any:
    unsupported = _unsupported_calls(expression)
    if unsupported:
        raise _Unsupported(", ".join(f"function {name}()" for name in unsupported))
    program = _program(expression)
    try:
        result = program.evaluate({"self": json_to_cel(value)})
    except CELEvalError as exc:
        raise _classify(exc) from None
    if isinstance(result, CELEvalError):
        raise _classify(result)
    return result


def _classify(exc: Exception) -> Exception:
    args = exc.args
    # cel-python reports an unknown function as ("undeclared reference to 'f' ...", KeyError, ('f',)).
    if len(args) >= 3 and args[1] is KeyError and "undeclared reference" in str(args[0]):
        return _Unsupported(f"function {args[2][0]}()")
    return exc


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (Mapping, list)):
        return "object" if isinstance(value, Mapping) else "array"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _instances(schema: Mapping[str, Any], value: Any, path: PathT) -> Iterator[tuple[Mapping[str, Any], Any, PathT]]:
    """Every (schema node, instance, path) pair of the object, depth first."""
    yield schema, value, path
    if isinstance(value, Mapping):
        props = schema.get("properties")
        if isinstance(props, Mapping):
            for key, sub in props.items():
                if key in value and isinstance(sub, Mapping):
                    yield from _instances(sub, value[key], (*path, key))
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping):
            for key, item in value.items():
                if not isinstance(props, Mapping) or key not in props:
                    yield from _instances(extra, item, (*path, key))
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            for i, item in enumerate(value):
                yield from _instances(items, item, (*path, i))
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            if isinstance(sub, Mapping) and "x-kubernetes-validations" in str(sub):
                yield from _instances(sub, value, path)


def _rule_path(path: PathT, field_path: Any) -> str:
    base = format_path(path)
    if isinstance(field_path, str) and field_path:
        return (base + field_path) if field_path.startswith(("[", ".")) else f"{base}.{field_path}"
    return base


def evaluate_object(obj: Mapping[str, Any], schema: Mapping[str, Any], label: str,
                    report: CelReport | None = None) -> CelReport:
    """Evaluate every CEL rule of one CRD version's openAPIV3Schema on one object."""
    report = report if report is not None else CelReport()
    for node, value, path in _instances(schema, obj, ()):
        for rule in node.get("x-kubernetes-validations") or []:
            expression = rule.get("rule") if isinstance(rule, Mapping) else None
            if not isinstance(expression, str):
                continue
            if _OLD_SELF.search(expression) and not rule.get("optionalOldSelf"):
                report.transition_skipped += 1
                continue
            try:
                result = _evaluate(expression, value)
            except _Unsupported as exc:
                report.unsupported[expression] = str(exc)
                report.unsupported_count += 1
                continue
            except Exception as exc:  # noqa: BLE001 - the API server rejects on an evaluation error too
                report.evaluated += 1
                report.violations.append(Violation(label, _rule_path(path, rule.get("fieldPath")),
                                                   f"CEL rule {expression!r} could not be evaluated: {exc.args[0]}"))
                continue
            report.evaluated += 1
            if result is True or (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
                continue
            report.violations.append(Violation(
                label, _rule_path(path, rule.get("fieldPath")), _message(rule, expression, value),
            ))
    return report


def _message(rule: Mapping[str, Any], expression: str, value: Any) -> str:
    message = rule.get("message")
    shown = message if isinstance(message, str) and message else f"failed rule: {expression}"
    dynamic = rule.get("messageExpression")
    if isinstance(dynamic, str):
        try:
            computed = _evaluate(dynamic, value)
            if isinstance(computed, str) and computed:
                shown = str(computed)
        except Exception:  # noqa: BLE001 - the API server falls back to message as well
            pass
    reason = rule.get("reason")
    prefix = "Forbidden" if reason == "FieldValueForbidden" else "Invalid value"
    return f"{prefix}: {_show(value)}: {shown} (CRD CEL rule {expression!r})"


def _label(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    assert isinstance(meta, Mapping)
    name = meta.get("name", "<unnamed>")
    namespace = meta.get("namespace")
    shown = f"{namespace}/{name}" if namespace else str(name)
    return f"{obj.get('apiVersion')} {obj.get('kind')} {shown}"


def evaluate_objects(objects: Iterable[Mapping[str, Any]]) -> CelReport:
    """Every object of a registered CRD's kind, against that CRD's served version."""
    report = CelReport()
    index = crd_index()
    for obj in objects:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if not isinstance(api_version, str) or not isinstance(kind, str):
            continue
        group, version = split_api_version(api_version)
        crd = index.get((group, kind))
        crd_version = crd.versions.get(version) if crd else None
        if crd_version is None:
            continue  # not a custom resource, or one the schema layer (offline/check/kubernetes) already reports
        evaluate_object(obj, crd_version.schema, _label(obj), report)
    return report
