"""A data store's security group that admits one client group on one port."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def client_security_group(
    name: str,
    *,
    vpc_id: pulumi.Input[str],
    description: str,
    tag_name: str,
    client_security_group_id: pulumi.Input[str],
    port: int,
    rule_description: str,
    opts: pulumi.ResourceOptions,
) -> aws.ec2.SecurityGroup:
    """Registers `<name>-sg` and `<name>-ingress-clients`. The rule lives outside the
    group so that changing the client never touches the group the store is attached to
    (a store replaces itself on a security group change). No egress rules: the store
    only answers connections."""
    group = aws.ec2.SecurityGroup(
        f"{name}-sg", vpc_id=vpc_id, description=description, tags={"Name": tag_name}, opts=opts
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-ingress-clients",
        security_group_id=group.id,
        referenced_security_group_id=client_security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description=rule_description,
        opts=opts,
    )
    return group
