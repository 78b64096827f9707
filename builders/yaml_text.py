"""YAML parsed and written with libyaml where PyYAML has it: the same documents and text
as PyYAML's pure-Python parser and emitter, several times faster (a platform plan reads
the load balancer controller's CRDs twice and writes its alert rules once)."""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SAFE_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def safe_load(text: str) -> Any:
    return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader


def safe_load_all(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=SAFE_LOADER))  # noqa: S506 - a safe loader


def safe_dump(value: Any, **options: Any) -> str:
    text: str = yaml.dump(value, Dumper=SAFE_DUMPER, **options)
    return text
