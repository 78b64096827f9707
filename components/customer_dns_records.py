"""Route53 alias records pointing a customer's hosts at its ALB (only when
`ingress.route53ZoneId` is set). The ALB is created by the AWS Load Balancer Controller
for the customer's Ingress, so its name comes from the Ingress status."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class CustomerDnsRecordsArgs:
    zone_id: str
    hosts: Sequence[str]
    ingress: k8s.networking.v1.Ingress


class CustomerDnsRecords(pulumi.ComponentResource):
    def __init__(self, name: str, args: CustomerDnsRecordsArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:tenant:CustomerDnsRecords", name, None, opts)
        load_balancer = args.ingress.status.apply(_load_balancer_hostname)
        # Alias records need the hosted zone of the region's ALBs (not the customer's zone).
        alb_zone = aws.lb.get_hosted_zone_id_output(
            load_balancer_type="application", opts=pulumi.InvokeOptions(parent=self)
        ).id
        for host in args.hosts:
            aws.route53.Record(
                f"{name}-{host}",
                zone_id=args.zone_id,
                name=host,
                type="A",
                aliases=[aws.route53.RecordAliasArgs(
                    name=load_balancer, zone_id=alb_zone, evaluate_target_health=True,
                )],
                allow_overwrite=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"loadBalancer": load_balancer})


def _load_balancer_hostname(status: Any) -> str:
    ingress = status.load_balancer.ingress if status is not None and status.load_balancer else None
    if not ingress or not ingress[0].hostname:
        raise ValueError("the Ingress has no load balancer yet; is the AWS Load Balancer Controller running?")
    return str(ingress[0].hostname)
