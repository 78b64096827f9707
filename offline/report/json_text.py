"""plan.json's text: what `json.dumps(value, indent=2)` writes, built in half the time.

With an indent, the standard library's encoder is its pure-Python generator chain (the
C encoder takes none), a tenth of the artefacts' time. This writer makes the same text
from the same C string escaping (`encode_basestring_ascii`) and number spellings, for
the values a plan holds: dicts with string keys, lists, tuples, strings, numbers,
booleans and None. tests/test_artefacts.py holds it to `json.dumps` byte for byte.
"""

from __future__ import annotations

from json.encoder import INFINITY, encode_basestring_ascii
from typing import Any

__all__ = ["dumps_indented"]


def dumps_indented(value: Any) -> str:
    """`json.dumps(value, indent=2)`, for JSON values whose dict keys are strings."""
    chunks: list[str] = []
    _encode(value, "", chunks.append)
    return "".join(chunks)


def _encode(value: Any, prefix: str, append: Any) -> None:
    if isinstance(value, str):
        append(encode_basestring_ascii(value))
    elif value is None:
        append("null")
    elif value is True:
        append("true")
    elif value is False:
        append("false")
    elif isinstance(value, int):
        append(int.__repr__(value))
    elif isinstance(value, float):
        append(_float(value))
    elif isinstance(value, dict):
        if not value:
            append("{}")
            return
        inner = prefix + "  "
        separator = "{\n" + inner
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"plan.json keys are strings, not {type(key).__name__} ({key!r})")
            append(separator)
            append(encode_basestring_ascii(key))
            append(": ")
            _encode(item, inner, append)
            separator = ",\n" + inner
        append("\n" + prefix + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            append("[]")
            return
        inner = prefix + "  "
        separator = "[\n" + inner
        for item in value:
            append(separator)
            _encode(item, inner, append)
            separator = ",\n" + inner
        append("\n" + prefix + "]")
    else:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _float(value: float) -> str:
    # json.encoder's floatstr, allow_nan as json.dumps defaults it.
    if value != value:
        return "NaN"
    if value == INFINITY:
        return "Infinity"
    if value == -INFINITY:
        return "-Infinity"
    return float.__repr__(value)
