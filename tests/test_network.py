"""The Network component (create and existing modes) and its pure subnet planner."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders.network import (
    NetworkPlanError,
    SubnetPair,
    arn_scope,
    flow_log_policy,
    flow_log_trust_policy,
    pick_zones,
    plan_subnets,
    subnet_tags,
)
from components.network import Network, NetworkArgs
from offline.run.runner import PlanRun, Resource
from stackconfig.platform import NetworkConfig
from tests.harness import of_type, one, run

CLUSTER = "datafly-prod"
ACCOUNT = "123456789012"
REGION = "us-east-1"
LOG_GROUP = "/datafly/datafly-prod/vpc-flow-logs"
LOG_GROUP_ARN = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{LOG_GROUP}"

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
RT = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
RTA = "aws:ec2/routeTableAssociation:RouteTableAssociation"
IGW = "aws:ec2/internetGateway:InternetGateway"


# ---------------------------------------------------------------------------
# builders.network
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cidr", "azs", "expected"),
    [
        (
            "10.0.0.0/16",
            3,
            [
                SubnetPair(0, "10.0.0.0/19", "10.0.192.0/22"),
                SubnetPair(1, "10.0.32.0/19", "10.0.196.0/22"),
                SubnetPair(2, "10.0.64.0/19", "10.0.200.0/22"),
            ],
        ),
        (
            "172.16.0.0/20",
            2,
            [
                SubnetPair(0, "172.16.0.0/23", "172.16.12.0/26"),
                SubnetPair(1, "172.16.2.0/23", "172.16.12.64/26"),
            ],
        ),
        (
            "10.8.0.0/22",
            6,
            [
                SubnetPair(i, f"10.8.{i // 2}.{(i % 2) * 128}/25", f"10.8.3.{i * 16}/28")
                for i in range(6)
            ],
        ),
    ],
)
def test_plan_subnets_layout(cidr: str, azs: int, expected: list[SubnetPair]) -> None:
    assert plan_subnets(cidr, azs) == expected


@settings(max_examples=150, deadline=None)
@given(
    prefix=st.integers(min_value=16, max_value=20),
    base=st.integers(min_value=0, max_value=2**32 - 1),
    azs=st.integers(min_value=2, max_value=6),
)
def test_plan_subnets_disjoint_inside_vpc(prefix: int, base: int, azs: int) -> None:
    vpc = ipaddress.IPv4Network((base, prefix), strict=False)
    plan = plan_subnets(str(vpc), azs)

    assert [p.az_index for p in plan] == list(range(azs))
    subnets = [ipaddress.IPv4Network(c) for p in plan for c in (p.private_cidr, p.public_cidr)]
    assert all(s.subnet_of(vpc) for s in subnets)
    for i, a in enumerate(subnets):
        for b in subnets[i + 1:]:
            assert not a.overlaps(b), (a, b)
    assert {ipaddress.IPv4Network(p.private_cidr).prefixlen for p in plan} == {prefix + 3}
    assert {ipaddress.IPv4Network(p.public_cidr).prefixlen for p in plan} == {prefix + 6}
    # Adding AZs never renumbers the existing ones (a renumbered subnet is replaced).
    assert plan_subnets(str(vpc), azs - 1) == plan[:-1]


@settings(max_examples=60, deadline=None)
@given(prefix=st.integers(min_value=23, max_value=28), azs=st.integers(min_value=2, max_value=6))
def test_plan_subnets_rejects_too_small_vpc(prefix: int, azs: int) -> None:
    vpc = ipaddress.IPv4Network(("10.0.0.0", prefix))
    with pytest.raises(NetworkPlanError, match=rf"too small for {azs} availability zones.*use a /22 or larger"):
        plan_subnets(str(vpc), azs)


@pytest.mark.parametrize(
    ("cidr", "azs", "message"),
    [
        ("10.0.0.0/8", 3, r"larger than AWS allows; use a prefix of /16"),
        ("10.0.0.1/16", 3, r"not an IPv4 network"),
        ("10.0.0.0/16", 7, r"count must be 1\.\.6, got 7"),
        ("10.0.0.0/16", 0, r"count must be 1\.\.6, got 0"),
    ],
)
def test_plan_subnets_rejects_bad_input(cidr: str, azs: int, message: str) -> None:
    with pytest.raises(NetworkPlanError, match=message):
        plan_subnets(cidr, azs)


def test_pick_zones() -> None:
    assert pick_zones(["a1", "a2", "a3", "a4"], 3) == ["a1", "a2", "a3"]
    with pytest.raises(NetworkPlanError, match=r"offers 2 availability zones \(a1, a2\); 3 were requested"):
        pick_zones(["a1", "a2"], 3)


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ("public", {"Name": "n", "kubernetes.io/role/elb": "1", "kubernetes.io/cluster/c1": "shared"}),
        ("private", {"Name": "n", "kubernetes.io/role/internal-elb": "1", "kubernetes.io/cluster/c1": "shared",
                     "karpenter.sh/discovery": "c1"}),
    ],
)
def test_subnet_tags(tier: Any, expected: dict[str, str]) -> None:
    assert subnet_tags("c1", tier, "n") == expected


def test_arn_scope() -> None:
    assert arn_scope(LOG_GROUP_ARN) == ("aws", REGION, ACCOUNT)
    with pytest.raises(ValueError, match="not an ARN"):
        arn_scope("log-group:/x")


FLOW_LOG_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc-flow-log/*"},
            },
        }
    ],
}

FLOW_LOG_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "PublishFlowLogs",
            "Effect": "Allow",
            "Action": [
                "logs:CreateLogStream",
                "logs:PutLogEvents",
                "logs:DescribeLogGroups",
                "logs:DescribeLogStreams",
            ],
            "Resource": [LOG_GROUP_ARN, f"{LOG_GROUP_ARN}:log-stream:*"],
        }
    ],
}


def test_flow_log_documents() -> None:
    assert flow_log_trust_policy("aws", REGION, ACCOUNT) == FLOW_LOG_TRUST
    assert flow_log_policy(LOG_GROUP_ARN) == FLOW_LOG_POLICY


# ---------------------------------------------------------------------------
# components.network
# ---------------------------------------------------------------------------


def plan_network(config: NetworkConfig, protect: bool = True) -> PlanRun:
    def program() -> dict[str, Any]:
        provider = aws.Provider("aws", region=REGION)
        network = Network(
            "net",
            NetworkArgs(config=config, cluster_name=CLUSTER, protect=protect),
            pulumi.ResourceOptions(provider=provider),
        )
        return {
            "vpcId": network.vpc_id,
            "vpcCidr": network.vpc_cidr,
            "privateSubnetIds": network.private_subnet_ids,
            "publicSubnetIds": network.public_subnet_ids,
            "availabilityZones": network.availability_zones,
        }

    return run(program, region=REGION)


def by_urn(plan: PlanRun) -> dict[str, Resource]:
    return {r.urn: r for r in plan.resources}


@pytest.fixture(scope="module")
def per_az() -> PlanRun:
    return plan_network(NetworkConfig(availability_zones=3, nat_gateways="perAz"))


def test_create_registers_the_expected_children(per_az: PlanRun) -> None:
    component = one(per_az, "datafly:aws:Network", "net")
    children = [r for r in per_az.resources if r.type not in ("pulumi:providers:aws", "datafly:aws:Network")]
    assert sorted(r.name for r in children) == sorted(
        ["net-vpc", "net-default-sg", "net-igw", "net-public-rt", "net-public-default-route",
         "net-flow-logs", "net-flow-logs-role", "net-flow-logs-policy", "net-flow-log"]
        + [f"net-{role}-{i}" for i in range(3) for role in (
            "public", "private", "public-rta", "private-rt", "private-default-route",
            "private-rta", "nat", "nat-eip")]
    )
    provider = one(per_az, "pulumi:providers:aws", "aws")
    for child in children:
        assert child.parent == component.urn, child.name
        assert child.provider == provider.urn, child.name
    assert {r.name for r in children if r.protect} == {"net-vpc", "net-flow-logs"}


def test_create_vpc_and_default_security_group(per_az: PlanRun) -> None:
    vpc = one(per_az, VPC, "net-vpc")
    assert vpc.inputs == {
        "cidrBlock": "10.0.0.0/16",
        "enableDnsHostnames": True,
        "enableDnsSupport": True,
        "tags": {"Name": CLUSTER},
    }
    sg = one(per_az, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "net-default-sg")
    assert vpc.urn in sg.dependencies
    # No ingress/egress: the provider strips every rule AWS put on the default group.
    assert sg.inputs == {"vpcId": per_az.outputs["vpcId"].value, "tags": {"Name": f"{CLUSTER}-default-deny"}}


@pytest.mark.parametrize("tier", ["public", "private"])
def test_create_subnets(per_az: PlanRun, tier: str) -> None:
    layout = plan_subnets("10.0.0.0/16", 3)
    ids = per_az.outputs[f"{tier}SubnetIds"].value
    vpc_id = per_az.outputs["vpcId"].value
    assert per_az.outputs["availabilityZones"].value == ["us-east-1a", "us-east-1b", "us-east-1c"]
    for i, zone in enumerate(["us-east-1a", "us-east-1b", "us-east-1c"]):
        subnet = one(per_az, SUBNET, f"net-{tier}-{i}")
        role = "kubernetes.io/role/elb" if tier == "public" else "kubernetes.io/role/internal-elb"
        expected: dict[str, Any] = {
            "vpcId": vpc_id,
            "availabilityZone": zone,
            "cidrBlock": layout[i].public_cidr if tier == "public" else layout[i].private_cidr,
            "tags": {
                "Name": f"{CLUSTER}-{tier}-{i}",
                role: "1",
                f"kubernetes.io/cluster/{CLUSTER}": "shared",
            },
        }
        if tier == "private":
            expected["tags"]["karpenter.sh/discovery"] = CLUSTER
        if tier == "public":
            expected["mapPublicIpOnLaunch"] = False
        assert subnet.inputs == expected
    assert len(ids) == 3 and all(i.startswith("subnet-") for i in ids)


def test_create_per_az_nat_routes(per_az: PlanRun) -> None:
    resources = by_urn(per_az)
    igw = one(per_az, IGW, "net-igw")
    nats = of_type(per_az, NAT)
    assert len(nats) == 3 and len(of_type(per_az, EIP)) == 3
    private_tables = [r for r in of_type(per_az, RT) if r.name.startswith("net-private-rt-")]
    assert len(private_tables) == 3

    nat_ids = {}
    for i in range(3):
        nat = one(per_az, NAT, f"net-nat-{i}")
        eip = one(per_az, EIP, f"net-nat-eip-{i}")
        public = one(per_az, SUBNET, f"net-public-{i}")
        assert igw.urn in nat.dependencies and igw.urn in eip.dependencies
        assert public.urn in nat.dependencies and eip.urn in nat.dependencies
        assert nat.inputs["connectivityType"] == "public"
        assert eip.inputs == {"domain": "vpc", "tags": {"Name": f"{CLUSTER}-nat-{i}"}}
        nat_ids[i] = nat

    for i in range(3):
        table = one(per_az, RT, f"net-private-rt-{i}")
        route = one(per_az, ROUTE, f"net-private-default-route-{i}")
        assert table.urn in route.dependencies
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        (nat_urn,) = [u for u in route.dependencies if resources[u].type == NAT]
        # The private subnet of AZ i leaves through the NAT gateway in AZ i's public subnet.
        assert nat_urn == nat_ids[i].urn
        nat_subnet_urns = [u for u in resources[nat_urn].dependencies if resources[u].type == SUBNET]
        assert [resources[u].name for u in nat_subnet_urns] == [f"net-public-{i}"]
        assert one(per_az, SUBNET, f"net-public-{i}").inputs["availabilityZone"] == one(
            per_az, SUBNET, f"net-private-{i}").inputs["availabilityZone"]
        assert set(route.inputs) == {"routeTableId", "destinationCidrBlock", "natGatewayId"}
        rta = one(per_az, RTA, f"net-private-rta-{i}")
        assert table.urn in rta.dependencies
        assert one(per_az, SUBNET, f"net-private-{i}").urn in rta.dependencies


def test_create_public_route_table(per_az: PlanRun) -> None:
    table = one(per_az, RT, "net-public-rt")
    route = one(per_az, ROUTE, "net-public-default-route")
    igw = one(per_az, IGW, "net-igw")
    assert table.urn in route.dependencies and igw.urn in route.dependencies
    assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
    assert set(route.inputs) == {"routeTableId", "destinationCidrBlock", "gatewayId"}
    for i in range(3):
        rta = one(per_az, RTA, f"net-public-rta-{i}")
        assert table.urn in rta.dependencies
        assert one(per_az, SUBNET, f"net-public-{i}").urn in rta.dependencies


def test_create_flow_logs(per_az: PlanRun) -> None:
    log_group = one(per_az, "aws:cloudwatch/logGroup:LogGroup", "net-flow-logs")
    assert log_group.inputs == {
        "name": LOG_GROUP,
        "retentionInDays": 90,
        "tags": {"Name": f"{CLUSTER}-vpc-flow-logs"},
    }
    role = one(per_az, "aws:iam/role:Role", "net-flow-logs-role")
    assert json.loads(role.inputs["assumeRolePolicy"]) == FLOW_LOG_TRUST
    policy = one(per_az, "aws:iam/rolePolicy:RolePolicy", "net-flow-logs-policy")
    assert json.loads(policy.inputs["policy"]) == FLOW_LOG_POLICY
    assert role.urn in policy.dependencies

    flow_log = one(per_az, "aws:ec2/flowLog:FlowLog", "net-flow-log")
    assert flow_log.inputs == {
        "vpcId": per_az.outputs["vpcId"].value,
        "trafficType": "ALL",
        "logDestinationType": "cloud-watch-logs",
        "logDestination": LOG_GROUP_ARN,
        "iamRoleArn": flow_log.inputs["iamRoleArn"],
        "tags": {"Name": f"{CLUSTER}-vpc"},
    }
    assert flow_log.inputs["iamRoleArn"].startswith(f"arn:aws:iam::{ACCOUNT}:role/net-flow-logs-role")
    # The flow log waits for the role's permissions, not just the role.
    assert policy.urn in flow_log.dependencies


def test_create_outputs(per_az: PlanRun) -> None:
    outputs = {k: v.value for k, v in per_az.outputs.items()}
    assert outputs["vpcId"].startswith("vpc-")
    assert outputs["vpcCidr"] == "10.0.0.0/16"
    assert outputs["privateSubnetIds"] == [
        one(per_az, "aws:ec2/routeTableAssociation:RouteTableAssociation", f"net-private-rta-{i}").inputs["subnetId"]
        for i in range(3)
    ]
    assert outputs["publicSubnetIds"] == [
        one(per_az, NAT, f"net-nat-{i}").inputs["subnetId"] for i in range(3)
    ]


@pytest.mark.parametrize(
    ("azs", "mode", "nats"),
    [(3, "single", 1), (2, "perAz", 2), (6, "perAz", 6), (6, "single", 1)],
)
def test_create_nat_modes(azs: int, mode: str, nats: int) -> None:
    plan = plan_network(
        NetworkConfig(cidr="10.20.0.0/18", availability_zones=azs, nat_gateways=mode),
        protect=False,
    )
    resources = by_urn(plan)
    assert sorted(r.name for r in of_type(plan, NAT)) == [f"net-nat-{i}" for i in range(nats)]
    assert sorted(r.name for r in of_type(plan, EIP)) == [f"net-nat-eip-{i}" for i in range(nats)]
    # One private route table per AZ in either mode; routes pick the AZ's NAT or the only one.
    assert len([r for r in of_type(plan, RT) if r.name.startswith("net-private-rt-")]) == azs
    for i in range(azs):
        route = one(plan, ROUTE, f"net-private-default-route-{i}")
        (nat_urn,) = [u for u in route.dependencies if resources[u].type == NAT]
        assert resources[nat_urn].name == (f"net-nat-{i}" if mode == "perAz" else "net-nat-0")
    assert len(plan.outputs["availabilityZones"].value) == azs
    assert not any(r.protect for r in plan.resources)


def test_create_rejects_too_small_cidr() -> None:
    with pytest.raises(Exception, match=r"10\.0\.0\.0/24 is too small for 3 availability zones"):
        plan_network(NetworkConfig(cidr="10.0.0.0/24", availability_zones=3))


def test_existing_adopts_without_registering() -> None:
    config = NetworkConfig(
        mode="existing",
        vpc_id="vpc-0123456789abcdef0",
        private_subnet_ids=["subnet-0000000000000000a", "subnet-0000000000000000b"],
        public_subnet_ids=["subnet-0000000000000000c"],
    )
    plan = plan_network(config)
    assert sorted(r.type for r in plan.resources) == ["datafly:aws:Network", "pulumi:providers:aws"]
    assert not of_type(plan, VPC)
    outputs = {k: v.value for k, v in plan.outputs.items()}
    assert outputs["vpcId"] == "vpc-0123456789abcdef0"
    assert outputs["vpcCidr"] == "10.64.0.0/16"  # from the getVpc answer
    assert outputs["privateSubnetIds"] == ["subnet-0000000000000000a", "subnet-0000000000000000b"]
    assert outputs["publicSubnetIds"] == ["subnet-0000000000000000c"]
    zones = outputs["availabilityZones"]
    assert zones and len(zones) == len(set(zones)) and all(z.startswith(REGION) for z in zones)
