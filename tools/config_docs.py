"""Generate docs/configuration.md from the stack configuration models.

    python -m tools.config_docs > docs/configuration.md     (make docs)

tests/test_config_docs.py fails when the committed file differs from this output, so
the reference cannot drift from the models.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from typing import Any, Literal, Union

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from stackconfig import PlatformConfig, StackConfig, TenantConfig
from stackconfig.loader import is_secret_path

# The smallest valid stacks: every key they set is a required one.
MINIMAL_TENANT = {"name": "acme", "environment": "prod", "domain": "acme.com", "platform": {"stack": "org/datafly/platform"},
                  "image": {"tag": "v1.2.0"}}
ADMIN = "arn:aws:iam::123456789012:role/platform-admin"
VPN = "10.200.0.0/16"
MINIMAL_PLATFORM = {"environment": "prod", "cluster": {"adminRoleArns": [ADMIN], "privateAccessCidrs": [VPN]}}
REQUIRED = {"name", "domain", "image.tag", "environment", "platform.stack", "cluster", "cluster.adminRoleArns",
            "dedicatedCluster.cluster", "dedicatedCluster.cluster.adminRoleArns"}
# Required only without the other key: a private-only endpoint needs a way in.
CONDITIONAL = {key: "**required** unless `publicAccessCidrs`"
               for key in ("cluster.privateAccessCidrs", "dedicatedCluster.cluster.privateAccessCidrs")}

HEADER = """\
# Configuration reference

Generated from the pydantic models in `stackconfig/` by `make docs`; a test fails when
this file and the models differ. Keys are written as in `stacks/Pulumi.<stack>.yaml`.
Unknown keys anywhere under `datafly:` are errors. Values marked *secret* accept only
`pulumi config set --secret` values.

A stack sets `aws:region` and exactly one of `datafly:platform` (an environment's shared
cluster and add-ons) or `datafly:tenant` (one customer).

| key | type | default | description |
|---|---|---|---|
| `aws:region` | string | **required** | AWS region of the stack. |
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " \\| ".join(names)
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "object"
    return {str: "string", int: "integer", bool: "boolean", float: "number"}.get(annotation, str(annotation))


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _default(value: Any) -> str:
    if isinstance(value, BaseModel):
        return ""
    if value is None:
        return "unset"
    if value in ({}, []):
        return "empty"
    return f"`{json.dumps(value)}`"


def _rows(model: type[BaseModel], instance: Any, prefix: str, relative: str) -> Iterator[str]:
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}.{key}"
        rel = f"{relative}.{key}" if relative else key
        if instance is not None:
            value = getattr(instance, name, None)
        else:  # the parent group is unset by default: show what it would default to
            value = None if field.is_required() else field.get_default(call_default_factory=True)
        nested = _nested_model(field.annotation)
        type_name = _type_name(field.annotation)
        if is_secret_path(path) or is_secret_path(path + ".x"):
            type_name += " (*secret*)"
        default = "**required**" if rel in REQUIRED else CONDITIONAL.get(rel) or _default(value)
        yield f"| `{path}` | {type_name} | {default} | {_description(field, nested)} |"
        if nested is not None:
            yield from _rows(nested, value if isinstance(value, BaseModel) else None, path, rel)


def _description(field: FieldInfo, nested: type[BaseModel] | None = None) -> str:
    text = field.description or ""
    if not text and nested is not None and nested.__doc__ and nested.__doc__ != BaseModel.__doc__:
        text = nested.__doc__.strip().splitlines()[0]
    return text.replace("|", "\\|")


def render() -> str:
    tenant = TenantConfig.model_validate(MINIMAL_TENANT)
    platform = PlatformConfig.model_validate(MINIMAL_PLATFORM)
    lines = [HEADER.rstrip("\n")]
    lines.append(f"| `datafly:platform` | object | | {_description(StackConfig.model_fields['platform'])}"
                 "An environment: network, EKS cluster, add-ons, shared Kafka. |")
    lines.extend(_rows(PlatformConfig, platform, "datafly:platform", ""))
    lines.append("| `datafly:tenant` | object | | One customer: data stores, secrets, IAM and workloads. |")
    lines.extend(_rows(TenantConfig, tenant, "datafly:tenant", ""))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
