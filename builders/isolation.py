"""Per-customer isolation: ResourceQuota, LimitRange and NetworkPolicies.

The quota is computed, not guessed: it is exactly what the customer's pods can request
and be limited to at their largest, so autoscaling to the configured maximum always
fits and a runaway (or a second copy of a workload) does not.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import pulumi
from pulumi import Input

from stackconfig import TenantConfig

from .labels import common_labels
from .namespace import namespace_name
from .services import (
    CATALOGUE,
    MIGRATIONS_NAME,
    MIGRATIONS_SERVICE_KEY,
    ServiceSpec,
    max_replicas,
    service_config,
    spec,
)
from .workloads import selector_labels

# Every Deployment rolls out with maxSurge 1 (builders.workloads): at its ceiling a
# Deployment briefly runs max + 1 pods. Without this headroom a release at peak load
# stalls on the quota until the autoscaler scales down.
ROLLOUT_SURGE = 1
# One migration Job pod runs at a time (retries are sequential, finished pods do not
# count against a quota).
MIGRATION_PODS = 1

POSTGRES_PORT = 5432
REDIS_PORT = 6379
KAFKA_IAM_PORT = 9098
HTTPS_PORT = 443
DNS_PORT = 53

INGRESS_NGINX_NAMESPACE = "ingress-nginx"
_NS_NAME_LABEL = "kubernetes.io/metadata.name"

# ------------------------------------------------------------------ quantities

_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E|)$")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"m": Fraction(1, 1000), "": Fraction(1), "k": Fraction(10**3), "M": Fraction(10**6),
            "G": Fraction(10**9), "T": Fraction(10**12), "P": Fraction(10**15), "E": Fraction(10**18)}


def parse_quantity(text: str) -> Fraction:
    """Exact value of a Kubernetes quantity ("250m" → 1/4, "1Gi" → 1073741824)."""
    match = _QUANTITY.fullmatch(text)
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    number, suffix = match.groups()
    scale = Fraction(_BINARY[suffix]) if suffix in _BINARY else _DECIMAL[suffix]
    return Fraction(number) * scale


def format_cpu(cores: Fraction) -> str:
    """Canonical CPU: whole cores as "7", otherwise millicores "6500m"."""
    milli = cores * 1000
    if milli.denominator != 1:
        raise ValueError(f"CPU {float(cores)} is finer than a millicore")
    return str(int(cores)) if cores.denominator == 1 else f"{int(milli)}m"


def format_memory(size: Fraction) -> str:
    """Canonical memory: the largest binary suffix that divides it ("13Gi", "13312Mi"),
    else the largest decimal one, else bytes."""
    if size.denominator != 1:
        raise ValueError(f"memory {float(size)} is not a whole number of bytes")
    value = int(size)
    if value == 0:
        return "0"
    for suffix, factor in sorted(_BINARY.items(), key=lambda kv: -kv[1]):
        if value % factor == 0:
            return f"{value // factor}{suffix}"
    for suffix in ("E", "P", "T", "G", "M", "k"):
        factor = int(_DECIMAL[suffix])
        if value % factor == 0:
            return f"{value // factor}{suffix}"
    return str(value)


@dataclass(frozen=True)
class PodShape:
    """One kind of pod and how many of it can exist at once."""

    name: str
    count: int
    requests_cpu: Fraction
    requests_memory: Fraction
    limits_cpu: Fraction
    limits_memory: Fraction


def pod_shapes(config: TenantConfig) -> list[PodShape]:
    """Every pod the customer runs, at its largest count (autoscaler max, or replicas,
    plus the rollout surge; plus the migration Job)."""
    shapes = []
    for svc in CATALOGUE:
        res = service_config(config, svc.key).resources
        count = max_replicas(config, svc.key)
        shapes.append(PodShape(
            name=svc.name,
            # A Deployment scaled to 0 does not surge on a rollout.
            count=count + ROLLOUT_SURGE if count > 0 else 0,
            requests_cpu=parse_quantity(res.requests.cpu),
            requests_memory=parse_quantity(res.requests.memory),
            limits_cpu=parse_quantity(res.limits.cpu),
            limits_memory=parse_quantity(res.limits.memory),
        ))
    job = service_config(config, MIGRATIONS_SERVICE_KEY).resources
    shapes.append(PodShape(
        name=MIGRATIONS_NAME,
        count=MIGRATION_PODS,
        requests_cpu=parse_quantity(job.requests.cpu),
        requests_memory=parse_quantity(job.requests.memory),
        limits_cpu=parse_quantity(job.limits.cpu),
        limits_memory=parse_quantity(job.limits.memory),
    ))
    return shapes


@dataclass(frozen=True)
class QuotaTotals:
    pods: int
    requests_cpu: Fraction
    requests_memory: Fraction
    limits_cpu: Fraction
    limits_memory: Fraction


def quota_totals(config: TenantConfig) -> QuotaTotals:
    shapes = pod_shapes(config)
    return QuotaTotals(
        pods=sum(s.count for s in shapes),
        requests_cpu=sum((s.count * s.requests_cpu for s in shapes), Fraction(0)),
        requests_memory=sum((s.count * s.requests_memory for s in shapes), Fraction(0)),
        limits_cpu=sum((s.count * s.limits_cpu for s in shapes), Fraction(0)),
        limits_memory=sum((s.count * s.limits_memory for s in shapes), Fraction(0)),
    )


def _meta(config: TenantConfig, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace_name(config.name),
        "labels": common_labels(config.name, component="isolation", name=name),
    }


def resource_quota(config: TenantConfig) -> dict[str, Any]:
    totals = quota_totals(config)
    return {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": _meta(config, "tenant-quota"),
        "spec": {
            "hard": {
                "pods": str(totals.pods),
                "requests.cpu": format_cpu(totals.requests_cpu),
                "requests.memory": format_memory(totals.requests_memory),
                "limits.cpu": format_cpu(totals.limits_cpu),
                "limits.memory": format_memory(totals.limits_memory),
                # Load balancers are the platform's job (one ALB per customer via the
                # Ingress); a tenant Service must not open its own.
                "services.loadbalancers": "0",
                "services.nodeports": "0",
            }
        },
    }


def limit_range(config: TenantConfig) -> dict[str, Any]:
    """Defaults for a container that sets none (so the quota can admit it) and a
    per-container ceiling equal to the largest container the program renders — which
    is never more than the quota, since the quota counts that container at least once."""
    shapes = pod_shapes(config)
    return {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": _meta(config, "tenant-limits"),
        "spec": {
            "limits": [{
                "type": "Container",
                "max": {
                    "cpu": format_cpu(max(s.limits_cpu for s in shapes)),
                    "memory": format_memory(max(s.limits_memory for s in shapes)),
                },
                # A stray container gets the least any service gets. Each request is
                # at most its own limit, so min(requests) <= min(limits) <= max(limits):
                # defaultRequest <= default <= max holds for every valid config.
                "default": {
                    "cpu": format_cpu(min(s.limits_cpu for s in shapes)),
                    "memory": format_memory(min(s.limits_memory for s in shapes)),
                },
                "defaultRequest": {
                    "cpu": format_cpu(min(s.requests_cpu for s in shapes)),
                    "memory": format_memory(min(s.requests_memory for s in shapes)),
                },
            }]
        },
    }


# --------------------------------------------------------------- network policies

IngressClass = Literal["alb", "nginx"]


def _port(port: int, protocol: str = "TCP") -> dict[str, Any]:
    return {"protocol": protocol, "port": port}


def _policy(config: TenantConfig, name: str, pod_selector: dict[str, Any],
            ingress: list[dict[str, Any]] | None, egress: list[dict[str, Any]] | None) -> dict[str, Any]:
    spec_: dict[str, Any] = {"podSelector": pod_selector, "policyTypes": []}
    if ingress is not None:
        spec_["policyTypes"].append("Ingress")
        spec_["ingress"] = ingress
    if egress is not None:
        spec_["policyTypes"].append("Egress")
        spec_["egress"] = egress
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _meta(config, name),
        "spec": spec_,
    }


def _alb_peers(cidrs: Sequence[str], vpc_cidr: Any) -> list[dict[str, Any]]:
    # An adopted VPC may name no subnets of the ALB's kind; the whole VPC is then the
    # narrowest range known.
    return [{"ipBlock": {"cidr": cidr}} for cidr in cidrs] or [{"ipBlock": {"cidr": vpc_cidr}}]


def _controller_peers(config: TenantConfig, vpc_cidr: Input[str], load_balancer_cidrs: Input[Sequence[str]],
                      ingress_nginx_namespace: str) -> Input[list[dict[str, Any]]]:
    if config.ingress.class_name == "alb":
        # target-type ip: the ALB connects straight to pod IPs from its own addresses in
        # the subnets it lives in (traffic and health checks alike), so there is no pod to
        # select. Only those subnets: pods of other customers share the VPC's range.
        if isinstance(load_balancer_cidrs, pulumi.Output) or isinstance(vpc_cidr, pulumi.Output):
            return pulumi.Output.all(load_balancer_cidrs, vpc_cidr).apply(lambda v: _alb_peers(v[0], v[1]))
        return _alb_peers(list(load_balancer_cidrs), vpc_cidr)  # type: ignore[arg-type]
    return [{"namespaceSelector": {"matchLabels": {_NS_NAME_LABEL: ingress_nginx_namespace}}}]


def _pods(config: TenantConfig, svc: ServiceSpec) -> dict[str, Any]:
    return {"matchLabels": selector_labels(config.name, svc.name)}


def _vpc_egress(vpc_cidr: Input[str], ports: Iterable[int]) -> dict[str, Any]:
    return {"to": [{"ipBlock": {"cidr": vpc_cidr}}], "ports": [_port(p) for p in ports]}


def _service_policy(config: TenantConfig, svc: ServiceSpec, vpc_cidr: Input[str],
                    load_balancer_cidrs: Input[Sequence[str]], ingress_nginx_namespace: str) -> dict[str, Any]:
    ingress: list[dict[str, Any]] = []
    if svc.port is not None:
        ingress.append({
            "from": _controller_peers(config, vpc_cidr, load_balancer_cidrs, ingress_nginx_namespace),
            "ports": [_port(svc.port)],
        })
        callers = [other for other in CATALOGUE if svc.key in other.calls]
        if callers:
            ingress.append({
                "from": [{"podSelector": _pods(config, caller)} for caller in callers],
                "ports": [_port(svc.port)],
            })
    egress: list[dict[str, Any]] = []
    for callee_key in svc.calls:
        callee = spec(callee_key)
        if callee.port is None:
            raise ValueError(f"{svc.name} calls {callee.name}, which has no port")
        egress.append({"to": [{"podSelector": _pods(config, callee)}], "ports": [_port(callee.port)]})
    store_ports = [p for env, p in (("DATABASE_URL", POSTGRES_PORT), ("REDIS_URL", REDIS_PORT))
                   if env in svc.secret_env]
    if svc.kafka_client:
        store_ports.append(KAFKA_IAM_PORT)
    if store_ports:
        egress.append(_vpc_egress(vpc_cidr, store_ports))
    if svc.needs_aws or svc.vendor_egress:
        # AWS APIs (STS for IRSA, VPC endpoints) and, for delivery, vendor APIs
        # anywhere on the internet: HTTPS only.
        egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [_port(HTTPS_PORT)]})
    return _policy(config, f"allow-{svc.name}", _pods(config, svc), ingress, egress)


def network_policies(config: TenantConfig, *, vpc_cidr: Input[str], load_balancer_cidrs: Input[Sequence[str]],
                     ingress_nginx_namespace: str = INGRESS_NGINX_NAMESPACE) -> list[dict[str, Any]]:
    """Default deny both ways, DNS for everyone, then one allow-list per workload
    (the matrix documented in builders.services).

    Kubelet probes come from the node's own IP, which policy engines exempt (the VPC CNI
    network policy agent allows node traffic since v1.15.1,
    https://github.com/aws/aws-network-policy-agent/issues/56), so the health port
    needs no rule. The VPC CNI enforces these only with `enableNetworkPolicy` on."""
    everything: dict[str, Any] = {}
    policies = [
        _policy(config, "default-deny", everything, [], []),
        _policy(config, "allow-dns", everything, None, [{
            "to": [{
                "namespaceSelector": {"matchLabels": {_NS_NAME_LABEL: "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }],
            "ports": [_port(DNS_PORT, "UDP"), _port(DNS_PORT, "TCP")],
        }]),
    ]
    policies += [_service_policy(config, svc, vpc_cidr, load_balancer_cidrs, ingress_nginx_namespace)
                 for svc in CATALOGUE]
    policies.append(_policy(
        config, f"allow-{MIGRATIONS_NAME}",
        {"matchLabels": selector_labels(config.name, MIGRATIONS_NAME)},
        [], [_vpc_egress(vpc_cidr, [POSTGRES_PORT])],
    ))
    return policies


def isolation(config: TenantConfig, *, vpc_cidr: Input[str], load_balancer_cidrs: Input[Sequence[str]],
              ingress_nginx_namespace: str = INGRESS_NGINX_NAMESPACE) -> list[dict[str, Any]]:
    """ResourceQuota, LimitRange, then the NetworkPolicies."""
    return [
        resource_quota(config),
        limit_range(config),
        *network_policies(config, vpc_cidr=vpc_cidr, load_balancer_cidrs=load_balancer_cidrs,
                          ingress_nginx_namespace=ingress_nginx_namespace),
    ]


__all__ = [
    "PodShape", "QuotaTotals", "format_cpu", "format_memory", "isolation", "limit_range",
    "network_policies", "parse_quantity", "pod_shapes", "quota_totals", "resource_quota",
]
