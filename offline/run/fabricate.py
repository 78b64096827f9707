"""Plausible outputs for cloud resources and data sources, so `apply` chains run offline.

Values are derived from the resource's type and name only, so two runs of the same stack
produce identical plans (the plan is diffed across releases). Per-type output functions
register themselves with `@outputs_for(token)`; everything else gets a generic id and,
for AWS types, an ARN.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

ACCOUNT_ID = "123456789012"
PARTITION = "aws"

# Per-type fabricators live in offline/run/fabricators/, one module per area; they are
# imported (and so registered) by load_fabricators() before the first run.
OutputsFn = Callable[[str, Mapping[str, Any], "Context"], dict[str, Any]]
_OUTPUTS: dict[str, OutputsFn] = {}


class Context:
    """What a fabricator may use besides the resource's own inputs."""

    def __init__(self, region: str, stack: str) -> None:
        self.region = region
        self.stack = stack

    def hex(self, *parts: str, length: int = 17) -> str:
        digest = hashlib.sha256("/".join((self.stack, *parts)).encode()).hexdigest()
        return digest[:length]

    def arn(self, service: str, resource: str, *, regional: bool = True) -> str:
        region = self.region if regional else ""
        return f"arn:{PARTITION}:{service}:{region}:{ACCOUNT_ID}:{resource}"


def outputs_for(*tokens: str) -> Callable[[OutputsFn], OutputsFn]:
    def register(fn: OutputsFn) -> OutputsFn:
        for token in tokens:
            _OUTPUTS[token] = fn
        return fn

    return register


def resource_id(type_: str, name: str, inputs: Mapping[str, Any], ctx: Context) -> str:
    if type_.startswith("kubernetes:"):
        metadata = inputs.get("metadata") or {}
        namespace = metadata.get("namespace") if isinstance(metadata, Mapping) else None
        object_name = metadata.get("name", name) if isinstance(metadata, Mapping) else name
        if type_.startswith("kubernetes:helm.sh/"):
            namespace, object_name = inputs.get("namespace"), inputs.get("name", name)
        return f"{namespace}/{object_name}" if namespace else str(object_name)
    if type_.startswith("pulumi:providers:"):
        return ctx.hex("provider", name, length=8) + "-" + ctx.hex("provider-id", name, length=4)
    prefix = _ID_PREFIX.get(type_)
    if prefix:
        return f"{prefix}-{ctx.hex(type_, name)}"
    return f"{name}-{ctx.hex(type_, name, length=7)}"


def resource_outputs(type_: str, name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    outputs = dict(inputs)
    if type_.startswith("aws:"):
        service = type_.split(":")[1].split("/")[0]
        outputs.setdefault("arn", ctx.arn(service, f"{type_.rsplit(':', 1)[1].lower()}/{name}"))
        outputs.setdefault("tagsAll", dict(inputs.get("tags") or {}))
    fabricate = _OUTPUTS.get(type_)
    if fabricate is not None:
        outputs.update(fabricate(name, inputs, ctx))
    return outputs


# EC2-style ids, so code that parses them (or a reader of plan.json) sees the real shape.
_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ec2/flowLog:FlowLog": "fl",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
}


# ---------------------------------------------------------------------------
# Data sources (invokes)
# ---------------------------------------------------------------------------

InvokeFn = Callable[[Mapping[str, Any], Context], dict[str, Any]]
_INVOKES: dict[str, InvokeFn] = {}


def invoke_for(*tokens: str) -> Callable[[InvokeFn], InvokeFn]:
    def register(fn: InvokeFn) -> InvokeFn:
        for token in tokens:
            _INVOKES[token] = fn
        return fn

    return register


class UnexpectedInvoke(Exception):
    pass


def invoke(token: str, args: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    fn = _INVOKES.get(token)
    if fn is None:
        # A data source nobody taught the offline plan about would silently return
        # nothing and hide a bug; fail loudly instead.
        raise UnexpectedInvoke(
            f"the offline plan has no answer for data source {token!r}; add one in offline/run/fabricate.py"
        )
    return fn(args, ctx)


@invoke_for("aws:index/getRegion:getRegion")
def _get_region(args: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {"id": ctx.region, "name": ctx.region, "region": ctx.region,
            "endpoint": f"ec2.{ctx.region}.amazonaws.com", "description": ctx.region}


@invoke_for("aws:index/getCallerIdentity:getCallerIdentity")
def _get_caller_identity(args: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {"id": ACCOUNT_ID, "accountId": ACCOUNT_ID,
            "arn": f"arn:{PARTITION}:sts::{ACCOUNT_ID}:assumed-role/deployer/offline-plan",
            "userId": "AROAOFFLINEPLAN:offline-plan"}


@invoke_for("aws:index/getPartition:getPartition")
def _get_partition(args: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {"id": PARTITION, "partition": PARTITION, "dnsSuffix": "amazonaws.com",
            "reverseDnsPrefix": "com.amazonaws"}


@invoke_for("aws:index/getAvailabilityZones:getAvailabilityZones")
def _get_availability_zones(args: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    letters = "abcdef"
    return {"id": ctx.region, "names": [ctx.region + c for c in letters],
            "zoneIds": [f"use1-az{i + 1}" for i in range(len(letters))], "state": "available",
            "groupNames": [ctx.region]}


def load_fabricators() -> None:
    import importlib
    import pkgutil

    from . import fabricators

    for module in pkgutil.iter_modules(fabricators.__path__):
        importlib.import_module(f"{fabricators.__name__}.{module.name}")
