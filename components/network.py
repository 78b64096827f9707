"""The VPC the cluster and data stores live in: created, or adopted by id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from builders.network import (
    SubnetPair,
    arn_scope,
    flow_log_policy,
    flow_log_trust_policy,
    pick_zones,
    plan_subnets,
    subnet_tags,
)
from stackconfig.platform import NetworkConfig

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class NetworkArgs:
    config: NetworkConfig
    cluster_name: str
    protect: bool


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    # Where load balancers live (public: internet-facing ALBs; private: internal ones),
    # so customer NetworkPolicies admit ALB traffic from these ranges only.
    private_subnet_cidrs: pulumi.Output[list[str]]
    public_subnet_cidrs: pulumi.Output[list[str]]
    availability_zones: pulumi.Output[list[str]]

    def __init__(self, name: str, args: NetworkArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:aws:Network", name, None, opts)
        if args.config.mode == "create":
            self._create(name, args)
        else:
            self._adopt(args)
        self.register_outputs(
            {
                "vpcId": self.vpc_id,
                "vpcCidr": self.vpc_cidr,
                "privateSubnetIds": self.private_subnet_ids,
                "publicSubnetIds": self.public_subnet_ids,
                "privateSubnetCidrs": self.private_subnet_cidrs,
                "publicSubnetCidrs": self.public_subnet_cidrs,
                "availabilityZones": self.availability_zones,
            }
        )

    # -- mode: existing --------------------------------------------------------

    def _adopt(self, args: NetworkArgs) -> None:
        # An adopted VPC belongs to another team, which usually runs flow logs already
        # (often organisation-wide to a central bucket). Adding a second set would double
        # the cost, and locking down its default security group could break their
        # workloads, so nothing is registered in this mode; only lookups.
        config = args.config
        assert config.vpc_id is not None  # NetworkConfig requires it in mode existing
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self.vpc_id = pulumi.Output.from_input(config.vpc_id)
        self.vpc_cidr = aws.ec2.get_vpc_output(id=config.vpc_id, opts=invoke).cidr_block
        self.private_subnet_ids = pulumi.Output.from_input(list(config.private_subnet_ids))
        self.public_subnet_ids = pulumi.Output.from_input(list(config.public_subnet_ids))
        self.private_subnet_cidrs = pulumi.Output.all(*[
            aws.ec2.get_subnet_output(id=subnet_id, opts=invoke).cidr_block for subnet_id in config.private_subnet_ids
        ])
        self.public_subnet_cidrs = pulumi.Output.all(*[
            aws.ec2.get_subnet_output(id=subnet_id, opts=invoke).cidr_block for subnet_id in config.public_subnet_ids
        ])
        zones = [
            aws.ec2.get_subnet_output(id=subnet_id, opts=invoke).availability_zone
            for subnet_id in config.private_subnet_ids
        ]
        # Several private subnets may share an AZ; report each AZ once, in subnet order.
        self.availability_zones = pulumi.Output.all(*zones).apply(lambda z: list(dict.fromkeys(z)))

    # -- mode: create ----------------------------------------------------------

    def _create(self, name: str, args: NetworkArgs) -> None:
        config = args.config
        # Fails the program with the builder's message before anything is registered.
        layout = plan_subnets(config.cidr, config.availability_zones)
        zones = self._zones(config.availability_zones)
        vpc, igw = self._vpc(name, args)
        public_subnets, private_subnets = self._subnets(name, args.cluster_name, vpc, layout, zones)
        self._public_routes(name, args.cluster_name, vpc, igw, public_subnets)
        nat_count = len(layout) if config.nat_gateways == "perAz" else 1
        nats = self._nat_gateways(name, args.cluster_name, igw, public_subnets, nat_count)
        self._private_routes(name, args.cluster_name, vpc, private_subnets, nats)
        self._flow_logs(name, args, vpc)

        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])
        self.private_subnet_cidrs = pulumi.Output.all(*[s.cidr_block for s in private_subnets])
        self.public_subnet_cidrs = pulumi.Output.all(*[s.cidr_block for s in public_subnets])
        self.availability_zones = zones

    def _zones(self, count: int) -> pulumi.Output[list[str]]:
        # Zones that need an opt-in (Local and Wavelength Zones) lack services EKS, MSK
        # and RDS rely on, so only the region's regular AZs are candidates.
        available = aws.get_availability_zones_output(
            state="available",
            filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        zones: pulumi.Output[list[str]] = available.names.apply(lambda names: pick_zones(names, count))
        return zones

    def _vpc(self, name: str, args: NetworkArgs) -> tuple[aws.ec2.Vpc, aws.ec2.InternetGateway]:
        """The VPC, its locked-down default security group and its internet gateway."""
        cluster = args.cluster_name
        child = pulumi.ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.config.cidr,
            # EKS needs both for private endpoint resolution and node registration.
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": cluster},
            # Replacing the VPC would take the cluster and every data store with it.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )

        # CIS AWS Foundations 5.4: the default security group restricts all traffic.
        # Managing it with no rules strips the ones AWS puts there.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            tags={"Name": f"{cluster}-default-deny"},
            opts=child,
        )

        igw = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{cluster}-igw"}, opts=child
        )
        return vpc, igw

    def _subnets(
        self,
        name: str,
        cluster: str,
        vpc: aws.ec2.Vpc,
        layout: list[SubnetPair],
        zones: pulumi.Output[list[str]],
    ) -> tuple[list[aws.ec2.Subnet], list[aws.ec2.Subnet]]:
        """A public and a private subnet per AZ; returns (public, private)."""
        child = pulumi.ResourceOptions(parent=self)
        public_subnets: list[aws.ec2.Subnet] = []
        private_subnets: list[aws.ec2.Subnet] = []
        for pair in layout:
            i = pair.az_index
            zone = _nth(zones, i)
            public_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-public-{i}",
                    vpc_id=vpc.id,
                    cidr_block=pair.public_cidr,
                    availability_zone=zone,
                    # Nothing launches into public subnets but NAT gateways and load
                    # balancers, which get their addresses explicitly (Security Hub EC2.15).
                    map_public_ip_on_launch=False,
                    tags=subnet_tags(cluster, "public", f"{cluster}-public-{i}"),
                    opts=child,
                )
            )
            private_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-private-{i}",
                    vpc_id=vpc.id,
                    cidr_block=pair.private_cidr,
                    availability_zone=zone,
                    tags=subnet_tags(cluster, "private", f"{cluster}-private-{i}"),
                    opts=child,
                )
            )
        return public_subnets, private_subnets

    def _public_routes(
        self,
        name: str,
        cluster: str,
        vpc: aws.ec2.Vpc,
        igw: aws.ec2.InternetGateway,
        public_subnets: list[aws.ec2.Subnet],
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags={"Name": f"{cluster}-public"}, opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default-route",
            route_table_id=public_rt.id,
            destination_cidr_block=ANYWHERE,
            gateway_id=igw.id,
            opts=child,
        )
        for i, subnet in enumerate(public_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{i}", route_table_id=public_rt.id, subnet_id=subnet.id, opts=child
            )

    def _nat_gateways(
        self,
        name: str,
        cluster: str,
        igw: aws.ec2.InternetGateway,
        public_subnets: list[aws.ec2.Subnet],
        nat_count: int,
    ) -> list[aws.ec2.NatGateway]:
        nats: list[aws.ec2.NatGateway] = []
        for i in range(nat_count):
            # AWS requires the internet gateway before a public NAT gateway (and its EIP)
            # can work; nothing in the inputs says so, hence the explicit dependency.
            after_igw = pulumi.ResourceOptions(parent=self, depends_on=[igw])
            eip = aws.ec2.Eip(
                f"{name}-nat-eip-{i}", domain="vpc", tags={"Name": f"{cluster}-nat-{i}"}, opts=after_igw
            )
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.allocation_id,
                    subnet_id=public_subnets[i].id,
                    connectivity_type="public",
                    tags={"Name": f"{cluster}-nat-{i}"},
                    opts=after_igw,
                )
            )
        return nats

    def _private_routes(
        self,
        name: str,
        cluster: str,
        vpc: aws.ec2.Vpc,
        private_subnets: list[aws.ec2.Subnet],
        nats: list[aws.ec2.NatGateway],
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        # One private route table per AZ in both NAT modes, so switching between
        # `single` and `perAz` only re-points routes instead of replacing tables.
        for i, subnet in enumerate(private_subnets):
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{i}", vpc_id=vpc.id, tags={"Name": f"{cluster}-private-{i}"}, opts=child
            )
            aws.ec2.Route(
                f"{name}-private-default-route-{i}",
                route_table_id=rt.id,
                destination_cidr_block=ANYWHERE,
                nat_gateway_id=nats[i if len(nats) > 1 else 0].id,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{i}", route_table_id=rt.id, subnet_id=subnet.id, opts=child
            )

    def _flow_logs(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc) -> None:
        cluster = args.cluster_name
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/datafly/{cluster}/vpc-flow-logs",
            retention_in_days=args.config.flow_log_retention_days,
            tags={"Name": f"{cluster}-vpc-flow-logs"},
            # Flow logs are audit evidence; losing them to a refactor is not recoverable.
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=log_group.arn.apply(
                lambda arn: json.dumps(flow_log_trust_policy(*arn_scope(arn)))
            ),
            description=f"VPC Flow Logs of {cluster} publish to CloudWatch Logs",
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.name,
            policy=log_group.arn.apply(lambda arn: json.dumps(flow_log_policy(arn))),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            tags={"Name": f"{cluster}-vpc"},
            # Created before the role may publish, the flow log reports an access error
            # until the next retry; wait for the policy instead.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )


def _nth(values: pulumi.Output[list[str]], index: int) -> pulumi.Output[str]:
    return values.apply(lambda v: v[index])
