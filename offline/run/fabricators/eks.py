"""Outputs for the EKS cluster, its OIDC provider, add-ons, node group and launch
template, in the shapes AWS returns, so the component's `apply` chains (OIDC issuer, CA
data, cluster security group, launch-template version) run offline. IAM roles, KMS keys
and log groups come from offline/run/fabricators/common.py."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from offline.run.fabricate import ACCOUNT_ID, PARTITION, Context, outputs_for


def _name(name: str, inputs: Mapping[str, Any], ctx: Context, type_: str) -> str:
    # Pulumi auto-names with a random 7-character suffix; a hash keeps it deterministic.
    given = inputs.get("name")
    return str(given) if given else f"{name}-{ctx.hex(type_, name, length=7)}"


@outputs_for("aws:eks/cluster:Cluster")
def _cluster(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    cluster_name = _name(name, inputs, ctx, "cluster")
    oidc_id = ctx.hex("eks-oidc", cluster_name, length=32).upper()
    endpoint_id = ctx.hex("eks-endpoint", cluster_name, length=32).upper()
    pem = (
        "-----BEGIN CERTIFICATE-----\n"
        f"{base64.b64encode(('offline-ca:' + cluster_name).encode()).decode()}\n"
        "-----END CERTIFICATE-----\n"
    )
    vpc_config = dict(inputs.get("vpcConfig") or {})
    vpc_config.update(
        {
            "clusterSecurityGroupId": f"sg-{ctx.hex('eks-cluster-sg', cluster_name)}",
            "vpcId": vpc_config.get("vpcId") or f"vpc-{ctx.hex('eks-vpc', cluster_name)}",
        }
    )
    return {
        "name": cluster_name,
        "arn": ctx.arn("eks", f"cluster/{cluster_name}"),
        "endpoint": f"https://{endpoint_id}.gr7.{ctx.region}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(pem.encode()).decode()},
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{ctx.region}.amazonaws.com/id/{oidc_id}"}]}],
        "vpcConfig": vpc_config,
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "version": inputs.get("version") or "1.35",
        "createdAt": "2025-01-01T00:00:00Z",
    }


@outputs_for("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _oidc_provider(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    host_path = str(inputs.get("url") or "").removeprefix("https://")
    return {
        "arn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:oidc-provider/{host_path}",
        "thumbprintLists": list(inputs.get("thumbprintLists") or [ctx.hex("oidc-thumbprint", host_path, length=40)]),
    }


@outputs_for("aws:ec2/launchTemplate:LaunchTemplate")
def _launch_template(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    template_id = f"lt-{ctx.hex('aws:ec2/launchTemplate:LaunchTemplate', name)}"
    return {
        "name": _name(name, inputs, ctx, "launch-template"),
        "arn": ctx.arn("ec2", f"launch-template/{template_id}"),
        "latestVersion": 1,
        "defaultVersion": 1,
    }


@outputs_for("aws:eks/nodeGroup:NodeGroup")
def _node_group(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    group = str(inputs.get("nodeGroupName") or _name(name, {}, ctx, "node-group"))
    cluster = inputs.get("clusterName")
    return {
        "nodeGroupName": group,
        "arn": ctx.arn("eks", f"nodegroup/{cluster}/{group}/{ctx.hex('nodegroup-id', group, length=32)}"),
        "status": "ACTIVE",
        "releaseVersion": f"{inputs.get('version') or '1.35'}.0-20250101",
    }


@outputs_for("aws:eks/addon:Addon")
def _addon(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    addon, cluster = inputs.get("addonName"), inputs.get("clusterName")
    return {
        "arn": ctx.arn("eks", f"addon/{cluster}/{addon}/{ctx.hex('addon-id', name, length=32)}"),
        "addonVersion": inputs.get("addonVersion") or "v0.0.0-eksbuild.1",
    }


@outputs_for("aws:eks/accessEntry:AccessEntry")
def _access_entry(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    cluster = inputs.get("clusterName")
    return {
        "accessEntryArn": ctx.arn("eks", f"access-entry/{cluster}/role/{ACCOUNT_ID}/{ctx.hex('ae', name, length=32)}"),
        "type": inputs.get("type") or "STANDARD",
    }
