"""ACM certificates, Route53 records and what the ALB controller writes back into an
Ingress's status (the load balancer it created)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from offline.run.fabricate import Context, invoke_for, outputs_for

# ELB's hosted zone for application load balancers, per region (Route53 alias targets):
# https://docs.aws.amazon.com/general/latest/gr/elb.html
_ALB_ZONES = {"us-east-1": "Z35SXDOTRQ7X7K", "us-west-2": "Z1H1FL5HABSF5", "eu-west-1": "Z32O12XQLNTSW2",
              "eu-central-1": "Z215JYRZR1TBD5"}


@outputs_for("aws:acm/certificate:Certificate")
def certificate(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    domains = [str(inputs.get("domainName")), *[str(d) for d in inputs.get("subjectAlternativeNames") or []]]
    return {
        "arn": ctx.arn("acm", f"certificate/{uuid.UUID(ctx.hex('acm', name, length=32))}"),
        "status": "PENDING_VALIDATION",
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_{ctx.hex('acm-record', domain, length=32)}.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{ctx.hex('acm-value', domain, length=32)}.acm-validations.aws.",
            }
            for domain in domains
        ],
    }


@outputs_for("aws:acm/certificateValidation:CertificateValidation")
def certificate_validation(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {"certificateArn": inputs.get("certificateArn")}


@outputs_for("aws:route53/record:Record")
def record(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {"fqdn": str(inputs.get("name", name)).rstrip(".")}


@invoke_for("aws:lb/getHostedZoneId:getHostedZoneId")
def alb_hosted_zone(args: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {"id": _ALB_ZONES.get(ctx.region, "Z35SXDOTRQ7X7K"), "loadBalancerType": args.get("loadBalancerType")}


@outputs_for("kubernetes:networking.k8s.io/v1:Ingress")
def ingress_status(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    metadata = inputs.get("metadata") or {}
    group = str(metadata.get("namespace", "default"))[:20]
    hostname = f"k8s-{group}-{ctx.hex('alb', name, length=10)}-{int(ctx.hex('alb-n', name, length=6), 16)}.{ctx.region}.elb.amazonaws.com"
    return {"status": {"loadBalancer": {"ingress": [{"hostname": hostname}]}}}
