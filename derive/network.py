"""The VPC subnet plan as plain data: the CIDRs of each AZ's private and public subnet.

The config model refuses a CIDR too small for the AZ count with it; the Network
component builds the subnets from it (builders/network.py re-exports these names).

Subnet layout (VPC prefix /p, shown for a /16):

    slot 0..5   private subnets, one per AZ index      /p+3   (/19, 8,192 addresses)
    slot 6      public subnets, split eight ways      /p+6   (/22, 1,024 addresses)
    slot 7      unused, kept for a future tier (e.g. database or intra subnets)

A slot is one eighth of the VPC. Private subnets are large because the EKS VPC CNI
gives every pod a VPC address; public subnets only hold NAT gateways and load
balancers. The layout is sized for the most AZs the config allows (six), so the CIDR
of AZ index i never depends on how many AZs are in use: raising `availabilityZones`
adds subnets and never re-numbers (and so replaces) the existing ones.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

MAX_AZS = 6
# An AWS VPC CIDR block must lie between /16 and /28, and so must a subnet's.
# https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html
LARGEST_VPC_PREFIX = 16
SMALLEST_SUBNET_PREFIX = 28
_SLOT_BITS = 3  # eight slots
_PUBLIC_SLOT = 6
_PUBLIC_BITS = 3  # eight public subnets in the public slot


class NetworkPlanError(ValueError):
    """The VPC CIDR cannot hold the requested subnets."""


@dataclass(frozen=True)
class SubnetPair:
    az_index: int
    private_cidr: str
    public_cidr: str


def plan_subnets(vpc_cidr: str, az_count: int) -> list[SubnetPair]:
    """The private and public subnet CIDRs for AZ indexes 0..az_count-1."""
    try:
        vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    except ValueError as exc:
        raise NetworkPlanError(f"VPC CIDR {vpc_cidr!r} is not an IPv4 network: {exc}") from None
    if not 1 <= az_count <= MAX_AZS:
        raise NetworkPlanError(f"availability zone count must be 1..{MAX_AZS}, got {az_count}")
    if vpc.prefixlen < LARGEST_VPC_PREFIX:
        raise NetworkPlanError(
            f"VPC CIDR {vpc} is larger than AWS allows; use a prefix of /{LARGEST_VPC_PREFIX} "
            "or longer (e.g. 10.0.0.0/16)"
        )
    private_prefix = vpc.prefixlen + _SLOT_BITS
    public_prefix = private_prefix + _PUBLIC_BITS
    if public_prefix > SMALLEST_SUBNET_PREFIX:
        largest_ok = SMALLEST_SUBNET_PREFIX - _SLOT_BITS - _PUBLIC_BITS
        raise NetworkPlanError(
            f"VPC CIDR {vpc} is too small for {az_count} availability zones: each AZ gets a "
            f"private /{private_prefix} and a public /{public_prefix} subnet, and AWS subnets "
            f"can be no smaller than /{SMALLEST_SUBNET_PREFIX}; use a /{largest_ok} or larger VPC CIDR"
        )
    slots = list(vpc.subnets(new_prefix=private_prefix))
    publics = list(slots[_PUBLIC_SLOT].subnets(new_prefix=public_prefix))
    return [
        SubnetPair(az_index=i, private_cidr=str(slots[i]), public_cidr=str(publics[i]))
        for i in range(az_count)
    ]
