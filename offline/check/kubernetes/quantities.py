"""Kubernetes resource quantities ("500m", "2Gi"): parsing and per-field issues."""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Any, Final

from .objects import Issue, PathT, _is_int, _map
from .wording import _show

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
