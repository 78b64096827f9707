"""YAML parsed and written with libyaml where PyYAML has it (PyYAML wheels ship it; the
fallback only keeps odd builds working): the same documents and text as PyYAML's
pure-Python parser and emitter, several times to ten times faster. Every module that
reads or writes YAML on a plan's path takes its loader and dumper from here."""

from __future__ import annotations

from typing import Any

import yaml

SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SAFE_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def safe_load(text: str | bytes) -> Any:
    """One document. When libyaml refuses it, PyYAML's own parser decides (and words
    its error more precisely: it names the offending character)."""
    try:
        return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506 - a safe loader


def safe_load_all(text: str) -> list[Any]:
    return list(yaml.load_all(text, Loader=SAFE_LOADER))  # noqa: S506 - a safe loader


def safe_dump(value: Any, **options: Any) -> str:
    text: str = yaml.dump(value, Dumper=SAFE_DUMPER, **options)
    return text
