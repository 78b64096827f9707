"""The customer's Ingress: data/app/api hosts, for the `alb` or `nginx` class.

ALB annotation names and value formats are from the AWS Load Balancer Controller guide,
https://kubernetes-sigs.github.io/aws-load-balancer-controller/latest/guide/ingress/annotations/
(kubernetes-sigs/aws-load-balancer-controller docs/guide/ingress/annotations.md).
"""

from __future__ import annotations

import json
from typing import Any, Literal, Optional

from pulumi import Input

from stackconfig import TenantConfig

from .labels import common_labels
from .namespace import namespace_name
from .services import ServiceSpec, service_config, spec

INGRESS_NAME = "datafly"
ALB = "alb.ingress.kubernetes.io/"
# TLS 1.3 + TLS 1.2 with forward-secret AEAD ciphers; the data host takes events from
# arbitrary browsers, so the TLS-1.3-only policy would drop older clients.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
ALB_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
LISTEN_PORTS = [{"HTTP": 80}, {"HTTPS": 443}]

# (host role, path, pathType, service key). `/d.js` is one file (the browser SDK), so
# Exact; `/v1` is the versioned collection API, so Prefix (matches `/v1/...`, not `/v10`).
HostRole = Literal["data", "app", "api"]
ROUTES: tuple[tuple[HostRole, str, str, str], ...] = (
    ("data", "/v1", "Prefix", "ingestionGateway"),
    ("data", "/d.js", "Exact", "ingestionGateway"),
    ("app", "/", "Prefix", "managementUi"),
    ("api", "/", "Prefix", "managementApi"),
)
HOST_ROLES: tuple[HostRole, ...] = ("data", "app", "api")


def alb_group_name(config: TenantConfig) -> str:
    # One ALB per customer: a shared group would let any tenant's Ingress add rules to
    # another's load balancer (the controller's own IngressGroup security warning).
    return namespace_name(config.name)


def _backend(svc: ServiceSpec) -> dict[str, Any]:
    assert svc.service_name is not None and svc.port is not None
    return {"service": {"name": svc.service_name, "port": {"number": svc.port}}}


def alb_annotations(config: TenantConfig, certificate_arn: Optional[Input[str]] = None) -> dict[str, Input[str]]:
    """`certificate_arn` is the certificate the stack issued (ingress.route53ZoneId);
    otherwise the configured ARNs, or none and the controller discovers them by host."""
    annotations: dict[str, Input[str]] = {
        ALB + "scheme": config.ingress.scheme,
        ALB + "target-type": "ip",
        ALB + "listen-ports": json.dumps(LISTEN_PORTS, separators=(",", ":")),
        ALB + "ssl-redirect": "443",
        ALB + "ssl-policy": ALB_SSL_POLICY,
        ALB + "group.name": alb_group_name(config),
        # The Ingress-level default; each Service carries its own readiness path,
        # which takes precedence (builders.workloads.service).
        ALB + "healthcheck-path": service_config(config, "ingestionGateway").probes.readiness_path,
    }
    if certificate_arn is not None:
        annotations[ALB + "certificate-arn"] = certificate_arn
    elif config.ingress.tls.certificate_arns:
        annotations[ALB + "certificate-arn"] = ",".join(config.ingress.tls.certificate_arns)
    # Without certificate-arn the controller discovers ACM certificates from spec.tls hosts.
    return dict(sorted(annotations.items()))


def ingress(config: TenantConfig, certificate_arn: Optional[Input[str]] = None) -> dict[str, Any]:
    hosts = [config.host(role) for role in HOST_ROLES]
    rules = []
    for role in HOST_ROLES:
        paths = [
            {"path": path, "pathType": path_type, "backend": _backend(spec(key))}
            for host_role, path, path_type, key in ROUTES if host_role == role
        ]
        rules.append({"host": config.host(role), "http": {"paths": paths}})
    tls: dict[str, Any] = {"hosts": hosts}
    metadata: dict[str, Any] = {
        "name": INGRESS_NAME,
        "namespace": namespace_name(config.name),
        "labels": common_labels(config.name, component="ingress", name=INGRESS_NAME),
    }
    if config.ingress.class_name == "alb":
        metadata["annotations"] = alb_annotations(config, certificate_arn)
    else:
        assert config.ingress.tls.secret_name is not None  # the config model requires it
        tls["secretName"] = config.ingress.tls.secret_name
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": {"ingressClassName": config.ingress.class_name, "tls": [tls], "rules": rules},
    }
