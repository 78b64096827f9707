"""Error wording: paths as the API server prints them, values quoted, jsonschema errors turned into messages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import jsonschema

from .objects import Issue, PathT

# ------------------------------------------------------------------ paths and values


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

def _enum_issue(path: PathT, value: Any, allowed: Sequence[str]) -> Iterator[Issue]:
    # Only strings: a wrong JSON type is already reported by the schema layer.
    if isinstance(value, str) and value not in allowed:
        supported = ", ".join(_show(a) for a in allowed)
        yield path, f"unsupported value {_show(value)}; supported values: {supported}"

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
