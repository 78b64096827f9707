"""The ALB's TLS certificate for a customer's three hosts, issued by ACM and validated
through the customer's Route53 zone (only when `ingress.route53ZoneId` is set)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class CustomerCertificateArgs:
    zone_id: str
    # The first host is the certificate's subject; the others are alternative names.
    hosts: Sequence[str]


class CustomerCertificate(pulumi.ComponentResource):
    certificate_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CustomerCertificateArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:tenant:CustomerCertificate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        hosts = list(args.hosts)
        certificate = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=hosts[0],
            subject_alternative_names=hosts[1:],
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            # A replacement (new hosts) must exist before the ALB lets go of the old one.
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["*"]),
        )
        records = []
        # One validation record per host, named by the host so reordering changes nothing.
        for host in hosts:
            option: pulumi.Output[dict[str, Any]] = certificate.domain_validation_options.apply(
                functools.partial(_option_for, host=host)
            )
            records.append(aws.route53.Record(
                f"{name}-validation-{host}",
                zone_id=args.zone_id,
                name=option.apply(lambda o: str(o["resource_record_name"])),
                type=option.apply(lambda o: str(o["resource_record_type"])),
                records=[option.apply(lambda o: str(o["resource_record_value"]))],
                ttl=300,
                allow_overwrite=True,
                opts=child,
            ))
        validation = aws.acm.CertificateValidation(
            f"{name}-validation",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[r.fqdn for r in records],
            opts=child,
        )
        # The Ingress uses the ARN only once the certificate is issued.
        self.certificate_arn = validation.certificate_arn
        self.register_outputs({"certificateArn": self.certificate_arn})


def _option_for(options: Any, *, host: str) -> dict[str, Any]:
    for option in options or []:
        if _get(option, "domain_name") == host:
            return {key: _get(option, key) for key in ("resource_record_name", "resource_record_type", "resource_record_value")}
    raise ValueError(f"ACM returned no DNS validation option for {host}")


def _get(option: Any, key: str) -> Any:
    return option.get(key) if isinstance(option, dict) else getattr(option, key)
