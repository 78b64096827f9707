"""Outputs for the VPC and its parts, and the VPC/subnet lookups of an adopted network.

The CloudWatch log group the flow logs publish to is answered in common.py.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from offline.run.fabricate import ACCOUNT_ID, Context, invoke_for, outputs_for, resource_id

# Lookups of an adopted VPC have no inputs to echo; any private range serves.
ADOPTED_VPC_CIDR = "10.64.0.0/16"
_ZONE_LETTERS = "abc"


def _ec2_arn(ctx: Context, kind: str, id_: str) -> str:
    return ctx.arn("ec2", f"{kind}/{id_}")


def _zone_id(ctx: Context, zone: str) -> str:
    # Zone ids look like use1-az1: a region code and the zone's position.
    region = ctx.region.split("-")
    code = region[0] + region[1][0] + region[2] if len(region) == 3 else ctx.region
    return f"{code}-az{'abcdef'.index(zone[-1]) + 1}" if zone and zone[-1] in "abcdef" else f"{code}-az1"


def _documentation_ip(ctx: Context, *parts: str) -> str:
    # 203.0.113.0/24 (TEST-NET-3) is reserved for documentation: plausible, never routable.
    return str(ipaddress.IPv4Address("203.0.113.0") + int(ctx.hex(*parts, length=4), 16) % 254 + 1)


@outputs_for("aws:ec2/vpc:Vpc")
def vpc(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    id_ = resource_id("aws:ec2/vpc:Vpc", name, inputs, ctx)
    return {
        "arn": _ec2_arn(ctx, "vpc", id_),
        "ownerId": ACCOUNT_ID,
        "mainRouteTableId": f"rtb-{ctx.hex('vpc-main-rtb', name)}",
        "defaultSecurityGroupId": f"sg-{ctx.hex('vpc-default-sg', name)}",
        "defaultNetworkAclId": f"acl-{ctx.hex('vpc-default-acl', name)}",
        "dhcpOptionsId": f"dopt-{ctx.hex('vpc-dopt', name)}",
        "instanceTenancy": inputs.get("instanceTenancy", "default"),
    }


@outputs_for("aws:ec2/subnet:Subnet")
def subnet(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    id_ = resource_id("aws:ec2/subnet:Subnet", name, inputs, ctx)
    zone = str(inputs.get("availabilityZone") or f"{ctx.region}a")
    return {
        "arn": _ec2_arn(ctx, "subnet", id_),
        "ownerId": ACCOUNT_ID,
        "availabilityZone": zone,
        "availabilityZoneId": _zone_id(ctx, zone),
        "mapPublicIpOnLaunch": bool(inputs.get("mapPublicIpOnLaunch", False)),
    }


@outputs_for("aws:ec2/internetGateway:InternetGateway")
def internet_gateway(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    id_ = resource_id("aws:ec2/internetGateway:InternetGateway", name, inputs, ctx)
    return {"arn": _ec2_arn(ctx, "internet-gateway", id_), "ownerId": ACCOUNT_ID}


@outputs_for("aws:ec2/eip:Eip")
def eip(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    allocation_id = resource_id("aws:ec2/eip:Eip", name, inputs, ctx)
    return {
        "allocationId": allocation_id,
        "arn": _ec2_arn(ctx, "elastic-ip", allocation_id),
        "publicIp": _documentation_ip(ctx, "eip", name),
        "domain": inputs.get("domain", "vpc"),
    }


@outputs_for("aws:ec2/natGateway:NatGateway")
def nat_gateway(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {
        "networkInterfaceId": f"eni-{ctx.hex('nat-eni', name)}",
        "privateIp": f"10.255.{int(ctx.hex('nat-ip', name, length=2), 16) % 254 + 1}.10",
        "publicIp": _documentation_ip(ctx, "nat", name),
        "connectivityType": inputs.get("connectivityType", "public"),
    }


@outputs_for("aws:ec2/routeTable:RouteTable")
def route_table(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    id_ = resource_id("aws:ec2/routeTable:RouteTable", name, inputs, ctx)
    return {"arn": _ec2_arn(ctx, "route-table", id_), "ownerId": ACCOUNT_ID}


@outputs_for("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
def default_security_group(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    group_id = f"sg-{ctx.hex('default-sg', name)}"
    return {
        "arn": _ec2_arn(ctx, "security-group", group_id),
        "name": "default",
        "ownerId": ACCOUNT_ID,
        "ingress": list(inputs.get("ingress") or []),
        "egress": list(inputs.get("egress") or []),
    }


@outputs_for("aws:ec2/flowLog:FlowLog")
def flow_log(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    id_ = resource_id("aws:ec2/flowLog:FlowLog", name, inputs, ctx)
    return {"arn": _ec2_arn(ctx, "vpc-flow-log", id_), "maxAggregationInterval": 600}


@invoke_for("aws:ec2/getVpc:getVpc")
def get_vpc(args: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    vpc_id = str(args.get("id") or f"vpc-{ctx.hex('get-vpc')}")
    return {
        "id": vpc_id,
        "arn": _ec2_arn(ctx, "vpc", vpc_id),
        "cidrBlock": ADOPTED_VPC_CIDR,
        "cidrBlockAssociations": [
            {"associationId": f"vpc-cidr-assoc-{ctx.hex('vpc-cidr', vpc_id)}",
             "cidrBlock": ADOPTED_VPC_CIDR, "state": "associated"}
        ],
        "default": False,
        "enableDnsHostnames": True,
        "enableDnsSupport": True,
        "instanceTenancy": "default",
        "ownerId": ACCOUNT_ID,
        "state": "available",
        "tags": {},
    }


@invoke_for("aws:ec2/getSubnet:getSubnet")
def get_subnet(args: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    subnet_id = str(args.get("id") or f"subnet-{ctx.hex('get-subnet')}")
    # Derived from the id alone, so a given subnet always reports the same zone.
    zone = ctx.region + _ZONE_LETTERS[int(ctx.hex("subnet-az", subnet_id, length=4), 16) % len(_ZONE_LETTERS)]
    return {
        "id": subnet_id,
        "arn": _ec2_arn(ctx, "subnet", subnet_id),
        "availabilityZone": zone,
        "availabilityZoneId": _zone_id(ctx, zone),
        "vpcId": str(args.get("vpcId") or f"vpc-{ctx.hex('get-subnet-vpc', subnet_id)}"),
        "cidrBlock": str(list(ipaddress.IPv4Network(ADOPTED_VPC_CIDR).subnets(new_prefix=19))[
            int(ctx.hex("subnet-cidr", subnet_id, length=4), 16) % 8
        ]),
        "ownerId": ACCOUNT_ID,
        "state": "available",
        "tags": {},
    }
