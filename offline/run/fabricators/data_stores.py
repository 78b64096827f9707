"""Outputs for a customer's data stores (RDS, ElastiCache) and the `random` resources
its secrets are generated with. KMS keys and Secrets Manager secrets: common.py.

Random values are derived from the stack and resource name (ctx.hex), never random,
so two plans of the same stack are identical."""

from __future__ import annotations

import base64
import hashlib
import json
import string
import uuid
from collections.abc import Mapping
from typing import Any

from offline.run.fabricate import Context, outputs_for

# RDS endpoints carry a per-account-and-region hash, e.g. `c9akciq32.rclb`.
_REGION_SHORT = {
    "us-east-1": "use1", "us-east-2": "use2", "us-west-1": "usw1", "us-west-2": "usw2",
    "eu-west-1": "euw1", "eu-west-2": "euw2", "eu-west-3": "euw3", "eu-central-1": "euc1",
    "eu-north-1": "eun1", "ap-southeast-1": "apse1", "ap-southeast-2": "apse2",
    "ap-northeast-1": "apne1", "ca-central-1": "cac1", "sa-east-1": "sae1",
}


def _bytes(ctx: Context, *parts: str, length: int) -> bytes:
    digest = b""
    counter = 0
    while len(digest) < length:
        digest += hashlib.sha256("/".join((ctx.stack, *parts, str(counter))).encode()).digest()
        counter += 1
    return digest[:length]


def _name(inputs: Mapping[str, Any], name: str, ctx: Context, kind: str) -> str:
    # The engine auto-names resources without a `name` input: `<name>-<7 hex>`.
    return str(inputs.get("name") or f"{name}-{ctx.hex(kind, name, length=7)}")


@outputs_for("aws:rds/instance:Instance")
def rds_instance(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    identifier = str(inputs.get("identifier") or name)
    port = int(inputs.get("port") or 5432)
    address = f"{identifier}.{ctx.hex('rds-host', length=12)}.{ctx.region}.rds.amazonaws.com"
    outputs: dict[str, Any] = {
        "address": address,
        "endpoint": f"{address}:{port}",
        "port": port,
        "arn": ctx.arn("rds", f"db:{identifier}"),
        "resourceId": "db-" + ctx.hex("rds-resource", name, length=26).upper(),
        "hostedZoneId": "Z2R2ITUGPM61AM",
        "engineVersionActual": str(inputs.get("engineVersion") or "16") + (
            "" if "." in str(inputs.get("engineVersion") or "16") else ".6"
        ),
        "status": "available",
    }
    if inputs.get("manageMasterUserPassword"):
        secret_uuid = uuid.UUID(ctx.hex("rds-secret", name, length=32))
        outputs["masterUserSecrets"] = [
            {
                "secretArn": ctx.arn(
                    "secretsmanager", f"secret:rds!db-{secret_uuid}-{ctx.hex('rds-secret-suffix', name, length=6)}"
                ),
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId") or ctx.arn("kms", "alias/aws/secretsmanager"),
                "secretStatus": "active",
            }
        ]
    return outputs


@outputs_for("aws:rds/subnetGroup:SubnetGroup")
def rds_subnet_group(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    group_name = _name(inputs, name, ctx, "rds-subnet-group")
    return {"name": group_name, "arn": ctx.arn("rds", f"subgrp:{group_name}")}


@outputs_for("aws:rds/parameterGroup:ParameterGroup")
def rds_parameter_group(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    group_name = _name(inputs, name, ctx, "rds-parameter-group")
    return {"name": group_name, "arn": ctx.arn("rds", f"pg:{group_name}")}


@outputs_for("aws:elasticache/subnetGroup:SubnetGroup")
def cache_subnet_group(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    group_name = _name(inputs, name, ctx, "cache-subnet-group")
    return {"name": group_name, "arn": ctx.arn("elasticache", f"subnetgroup:{group_name}")}


@outputs_for("aws:elasticache/replicationGroup:ReplicationGroup")
def replication_group(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    group_id = str(inputs.get("replicationGroupId") or name)
    region = _REGION_SHORT.get(ctx.region, ctx.region.replace("-", ""))
    host = f"{group_id}.{ctx.hex('cache-host', length=6)}.{region}.cache.amazonaws.com"
    nodes = int(inputs.get("numCacheClusters") or 1)
    return {
        "arn": ctx.arn("elasticache", f"replicationgroup:{group_id}"),
        "primaryEndpointAddress": f"master.{host}",
        "readerEndpointAddress": f"replica.{host}",
        "port": int(inputs.get("port") or 6379),
        "memberClusters": [f"{group_id}-{i:03d}" for i in range(1, nodes + 1)],
        "engineVersionActual": f"{inputs.get('engineVersion') or '7.1'}.0",
        "clusterEnabled": False,
    }


@outputs_for("random:index/randomPassword:RandomPassword")
def random_password(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    length = int(inputs.get("length") or 16)
    alphabet = string.ascii_letters + string.digits
    if inputs.get("special", True):
        alphabet += str(inputs.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?")
    raw = _bytes(ctx, "random-password", name, length=length)
    result = "".join(alphabet[b % len(alphabet)] for b in raw)
    return {"result": result, "bcryptHash": "$2a$10$" + ctx.hex("bcrypt", name, length=53)}


@outputs_for("random:index/randomBytes:RandomBytes")
def random_bytes(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    raw = _bytes(ctx, "random-bytes", name, length=int(inputs.get("length") or 32))
    return {"hex": raw.hex(), "base64": base64.b64encode(raw).decode()}


@outputs_for("random:index/randomId:RandomId")
def random_id(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    # Changed keepers replace the resource, which draws a new value: mirror that.
    keepers = json.dumps(inputs.get("keepers") or {}, sort_keys=True)
    raw = _bytes(ctx, "random-id", name, keepers, length=int(inputs.get("byteLength") or 8))
    prefix = str(inputs.get("prefix") or "")
    return {
        "hex": prefix + raw.hex(),
        "b64Url": prefix + base64.urlsafe_b64encode(raw).decode().rstrip("="),
        "b64Std": prefix + base64.b64encode(raw).decode(),
        "dec": prefix + str(int.from_bytes(raw, "big")),
    }
