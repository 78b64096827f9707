"""Kubernetes name syntax: DNS-1123/1035 labels and subdomains, path segments, label keys and values."""

from __future__ import annotations

import re

from .wording import _show

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
