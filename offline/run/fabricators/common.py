"""Outputs for AWS resource types every area uses (KMS, CloudWatch Logs, IAM)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from offline.run.fabricate import ACCOUNT_ID, PARTITION, Context, outputs_for


@outputs_for("aws:kms/key:Key")
def kms_key(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    key_id = str(uuid.UUID(ctx.hex("kms", name, length=32)))
    return {"keyId": key_id, "arn": ctx.arn("kms", f"key/{key_id}")}


@outputs_for("aws:kms/alias:Alias")
def kms_alias(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {"arn": ctx.arn("kms", str(inputs.get("name", f"alias/{name}")))}


@outputs_for("aws:cloudwatch/logGroup:LogGroup")
def log_group(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {"arn": ctx.arn("logs", f"log-group:{inputs.get('name', name)}")}


@outputs_for("aws:iam/role:Role")
def iam_role(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    role_name = str(inputs.get("name") or f"{name}-{ctx.hex('role', name, length=7)}")
    return {
        "name": role_name,
        "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{role_name}",
        "uniqueId": "AROA" + ctx.hex("role-id", name, length=17).upper(),
    }


@outputs_for("aws:iam/policy:Policy")
def iam_policy(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    policy_name = str(inputs.get("name") or f"{name}-{ctx.hex('policy', name, length=7)}")
    return {
        "name": policy_name,
        "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:policy/{policy_name}",
        "policyId": "ANPA" + ctx.hex("policy-id", name, length=17).upper(),
    }


@outputs_for("aws:secretsmanager/secret:Secret")
def secret(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    secret_name = str(inputs.get("name") or name)
    return {"name": secret_name, "arn": ctx.arn("secretsmanager", f"secret:{secret_name}-{ctx.hex('s', name, length=6)}")}
