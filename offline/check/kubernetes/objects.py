"""The object model every check shares: `Violation`, `K8sObject`, `Rule`, and small accessors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

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

def split_api_version(api_version: str) -> tuple[str, str]:
    group, _, version = api_version.rpartition("/")
    return group, version
