"""Does the fleet fit? Capacity arithmetic over the customers' rendered workloads, the
add-ons and the cluster's Karpenter NodePool limits. Pure functions; `offline/plan.py`
prints the table and turns a misfit into exit 1.

- A customer's pods and requests come from its rendered Deployments and migrations Job
  (builders.workloads), at the autoscalers' minimum and maximum replicas, each
  Deployment plus its rollout surge (maxSurge 1) and the migrations Job: what runs
  during a release.
- Karpenter counts `spec.limits` over node *capacity*. What pods can request on those
  nodes is less: kube-reserved and the eviction threshold (Karpenter's own formulas,
  aws/karpenter-provider-aws pkg/providers/instancetype/types.go at v1.14.1:
  kubeReservedResources, evictionThreshold), its VM memory overhead
  (settings.vmMemoryOverheadPercent, 7.5 %), and the DaemonSets on every node. The
  usable figure is the best case over the NodePool's allowed instance types, so "does
  not fit" is certain; "fits" still leaves bin-packing to Karpenter.
- Pods per node are bounded by the VPC CNI's max pods per instance type
  (schemas/vpc-cni/eni-max-pods.txt).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Optional

from builders.charts import (
    aws_load_balancer_controller_values,
    external_secrets_values,
    ingress_nginx_values,
    keda_values,
    metrics_server_values,
)
from builders.isolation import MIGRATION_PODS, ROLLOUT_SURGE, format_cpu, format_memory, parse_quantity, resource_quota
from builders.karpenter import allowed_instance_types, karpenter_values
from builders.services import CATALOGUE, autoscaling_config, is_autoscaled
from builders.workloads import deployments, migrations_job
from stackconfig import StackConfig, TenantConfig
from stackconfig.platform import AddonsConfig, ClusterConfig

ENI_MAX_PODS_FILE = Path(__file__).resolve().parents[2] / "schemas" / "vpc-cni" / "eni-max-pods.txt"
GIB = 2**30
MIB = 2**20
VM_MEMORY_OVERHEAD = Fraction(75, 1000)
EVICTION_MEMORY = 100 * MIB

# DaemonSet pods on every node: aws-node (VPC CNI, requests 25m) and kube-proxy (100m),
# as the EKS managed add-ons render them.
DAEMONSET_PODS = 2
DAEMONSET_CPU = Fraction(125, 1000)

# vCPUs per size, and GiB of memory per vCPU per category (AWS EC2 instance types:
# https://docs.aws.amazon.com/ec2/latest/instancetypes/gp.html, co.html, mo.html).
_SIZE_VCPUS = {"medium": 1, "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16}
_CATEGORY_GIB_PER_VCPU = {"c": 2, "m": 4, "r": 8}
# Burstable types do not follow the category rule.
_SPECIAL = {"t3.medium": (2, 4), "t3.large": (2, 8)}


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_gib: int
    max_pods: int

    @property
    def allocatable_cpu(self) -> Fraction:
        """vCPUs minus kube-reserved (6 % of the first core, 1 % of the second, 0.5 % of
        the next two, 0.25 % of the rest) minus the DaemonSets."""
        milli = self.vcpus * 1000
        reserved = Fraction(0)
        for start, end, share in ((0, 1000, "0.06"), (1000, 2000, "0.01"), (2000, 4000, "0.005"),
                                  (4000, 1 << 31, "0.0025")):
            if milli > start:
                reserved += (min(milli, end) - start) * Fraction(share)
        return Fraction(milli) / 1000 - reserved / 1000 - DAEMONSET_CPU

    @property
    def allocatable_memory(self) -> Fraction:
        """Memory minus the VM overhead, kube-reserved (11 MiB a pod + 255 MiB) and the
        eviction threshold."""
        memory = Fraction(self.memory_gib * GIB) * (1 - VM_MEMORY_OVERHEAD)
        return memory - (11 * self.max_pods + 255) * MIB - EVICTION_MEMORY

    @property
    def allocatable_pods(self) -> int:
        return self.max_pods - DAEMONSET_PODS


@cache
def eni_max_pods() -> dict[str, int]:
    rows: dict[str, int] = {}
    for line in ENI_MAX_PODS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, pods = line.split()
            rows[name] = int(pods)
    return rows


def instance_type(name: str) -> InstanceType:
    pods = eni_max_pods().get(name)
    if pods is None:
        raise KeyError(f"instance type {name}: no max-pods row in {ENI_MAX_PODS_FILE.name}; add it from upstream")
    if name in _SPECIAL:
        vcpus, memory = _SPECIAL[name]
    else:
        family, size = name.split(".", 1)
        match = re.match(r"[a-z]+", family)
        category = match.group(0) if match else ""
        if size not in _SIZE_VCPUS or category not in _CATEGORY_GIB_PER_VCPU:
            raise KeyError(f"instance type {name}: size or category unknown to the capacity table")
        vcpus = _SIZE_VCPUS[size]
        memory = vcpus * _CATEGORY_GIB_PER_VCPU[category]
    return InstanceType(name, vcpus, memory, pods)


@dataclass(frozen=True)
class Demand:
    pods: int = 0
    cpu: Fraction = Fraction(0)
    memory: Fraction = Fraction(0)

    def __add__(self, other: "Demand") -> "Demand":
        return Demand(self.pods + other.pods, self.cpu + other.cpu, self.memory + other.memory)

    def exceeds(self, other: "Demand") -> list[str]:
        """The dimensions in which self is larger than other."""
        return [what for what, mine, theirs in (("pods", self.pods, other.pods), ("CPU", self.cpu, other.cpu),
                                                ("memory", self.memory, other.memory)) if mine > theirs]


def _pod_requests(pod_spec: dict[str, object]) -> tuple[Fraction, Fraction]:
    cpu, memory = Fraction(0), Fraction(0)
    for container in pod_spec.get("containers", []):  # type: ignore[attr-defined]
        requests = container.get("resources", {}).get("requests", {})
        cpu += parse_quantity(str(requests.get("cpu", "0")))
        memory += parse_quantity(str(requests.get("memory", "0")))
    return cpu, memory


@dataclass(frozen=True)
class CustomerDemand:
    name: str
    minimum: Demand
    maximum: Demand
    # The largest single pod's requests: it must fit on one node.
    largest_pod: Demand = Demand()


def customer_demand(config: TenantConfig) -> CustomerDemand:
    """From the rendered Deployments and migrations Job: every Deployment at its
    autoscaler's min (or fixed replicas) and max, plus its rollout surge; plus the Job."""
    minimum, maximum = Demand(), Demand()
    largest_cpu, largest_memory = Fraction(0), Fraction(0)
    rendered = {d["metadata"]["name"]: d for d in deployments(config, kafka_topic_prefix=f"{config.name}.")}
    for svc in CATALOGUE:
        deployment = rendered[svc.name]
        cpu, memory = _pod_requests(deployment["spec"]["template"]["spec"])
        largest_cpu, largest_memory = max(largest_cpu, cpu), max(largest_memory, memory)
        if is_autoscaled(config, svc.key):
            scaling = autoscaling_config(config, svc.key)
            low, high = scaling.min_replicas, scaling.max_replicas
        else:
            low = high = int(deployment["spec"].get("replicas", 0))
        for count, target in ((low, "min"), (high, "max")):
            pods = count + ROLLOUT_SURGE if count > 0 else 0
            demand = Demand(pods, pods * cpu, pods * memory)
            if target == "min":
                minimum += demand
            else:
                maximum += demand
    cpu, memory = _pod_requests(migrations_job(config)["spec"]["template"]["spec"])
    job = Demand(MIGRATION_PODS, MIGRATION_PODS * cpu, MIGRATION_PODS * memory)
    largest = Demand(1, max(largest_cpu, cpu), max(largest_memory, memory))
    return CustomerDemand(config.name, minimum + job, maximum + job, largest)


def quota_problems(config: TenantConfig, demand: CustomerDemand) -> list[str]:
    """The namespace's ResourceQuota must admit the customer's maximum."""
    hard = resource_quota(config)["spec"]["hard"]
    quota = Demand(int(hard["pods"]), parse_quantity(hard["requests.cpu"]), parse_quantity(hard["requests.memory"]))
    return [f"{config.name}: ResourceQuota {what} below the customer's maximum"
            for what in demand.maximum.exceeds(quota)]


def addon_demand(addons: AddonsConfig) -> Demand:
    """Requests of the controllers on the system node group, from the values the
    program installs them with (plus CoreDNS: 2 × 100m / 70Mi, the EKS add-on)."""
    entries: list[tuple[int, dict[str, object]]] = []
    keda = keda_values("arn:aws:iam::000000000000:role/x")
    for part, replicas in (("operator", keda["operator"]["replicaCount"]),
                           ("metricServer", keda["metricsServer"]["replicaCount"]),
                           ("webhooks", keda["webhooks"]["replicaCount"])):
        entries.append((replicas, keda["resources"][part]))
    eso = external_secrets_values()
    entries += [(eso["replicaCount"], eso["resources"]), (eso["webhook"]["replicaCount"], eso["webhook"]["resources"]),
                (1, eso["certController"]["resources"])]
    alb = aws_load_balancer_controller_values("c", "r", "v", "a")
    entries.append((alb["replicaCount"], alb["resources"]))
    metrics = metrics_server_values()
    entries.append((metrics["replicas"], metrics["resources"]))
    karpenter = karpenter_values("c", "q", "a")
    entries.append((karpenter["replicas"], karpenter["controller"]["resources"]))
    entries.append((2, {"requests": {"cpu": "100m", "memory": "70Mi"}}))
    if addons.ingress_nginx.enabled:
        nginx = ingress_nginx_values(addons.ingress_nginx.replicas)["controller"]
        entries.append((nginx["replicaCount"], nginx["resources"]))
    total = Demand()
    for replicas, resources in entries:
        requests = resources["requests"]
        total += Demand(replicas, replicas * parse_quantity(str(requests["cpu"])),  # type: ignore[index]
                        replicas * parse_quantity(str(requests["memory"])))  # type: ignore[index]
    return total


def known_types(names: Iterable[str]) -> tuple[list[InstanceType], list[str]]:
    """The instance types the capacity table has data for, and the names it has not."""
    known, unknown = [], []
    for name in names:
        try:
            known.append(instance_type(name))
        except KeyError:
            unknown.append(name)
    return known, unknown


def system_capacity(cluster: ClusterConfig) -> Optional[Demand]:
    """What the system node group offers at its minimum size (its smallest type); None
    when none of its types has capacity data."""
    group = cluster.node_group
    kinds, _ = known_types(group.instance_types)
    if not kinds:
        return None
    smallest = min(kinds, key=lambda t: (t.vcpus, t.memory_gib))
    n = group.min_size
    return Demand(n * smallest.allocatable_pods, n * smallest.allocatable_cpu, n * smallest.allocatable_memory)


@dataclass(frozen=True)
class PoolCapacity:
    limit_cpu: Fraction
    limit_memory: Fraction
    # Best case over the allowed instance types: nodes filling the limits, less overhead.
    usable: Demand


def pool_capacity(cluster: ClusterConfig) -> PoolCapacity:
    pool = cluster.node_pool
    limit_cpu, limit_memory = parse_quantity(pool.limits.cpu), parse_quantity(pool.limits.memory)
    best_pods, best_cpu, best_memory = 0, Fraction(0), Fraction(0)
    for kind in known_types(allowed_instance_types(pool))[0]:
        nodes = int(min(limit_cpu / kind.vcpus, limit_memory / (kind.memory_gib * GIB)))
        best_pods = max(best_pods, nodes * kind.allocatable_pods)
        best_cpu = max(best_cpu, nodes * kind.allocatable_cpu)
        best_memory = max(best_memory, nodes * kind.allocatable_memory)
    return PoolCapacity(limit_cpu, limit_memory, Demand(best_pods, best_cpu, best_memory))


@dataclass
class CapacityReport:
    title: str
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.errors)


def _cpu(value: Fraction) -> str:
    return f"{float(value):.2f}"


def _mem(value: Fraction) -> str:
    return f"{float(value) / GIB:.1f}Gi"


def _row(label: str, low: Optional[Demand], high: Demand) -> str:
    low_pods = str(low.pods) if low else "-"
    low_cpu = _cpu(low.cpu) if low else "-"
    low_mem = _mem(low.memory) if low else "-"
    return (f"    {label:<30}{low_pods:>5} /{high.pods:>5}   {low_cpu:>7} /{_cpu(high.cpu):>7}   "
            f"{low_mem:>8} /{_mem(high.memory):>8}")


def judge(
    title: str, cluster: ClusterConfig, addons: AddonsConfig, customers: Sequence[TenantConfig],
    skipped: Iterable[str] = (),
) -> CapacityReport:
    """The capacity table of one cluster and its verdict: error when the customers'
    minimum exceeds what the NodePool limits can hold, warning when their maximum does
    (or the add-ons outgrow the system node group at its minimum size)."""
    report = CapacityReport(title)
    demands = [customer_demand(c) for c in sorted(customers, key=lambda c: c.name)]
    pool = pool_capacity(cluster)
    system = system_capacity(cluster)
    addon = addon_demand(addons)
    lines = report.lines
    lines.append(f"    {'':<30}{'pods min / max':>14}   {'CPU min / max':>16}   {'memory min / max':>18}")
    total_min, total_max = Demand(), Demand()
    for demand in demands:
        lines.append(_row(f"customer {demand.name}", demand.minimum, demand.maximum))
        total_min += demand.minimum
        total_max += demand.maximum
        report.errors += [f"capacity: {p}" for p in quota_problems(
            next(c for c in customers if c.name == demand.name), demand)]
    lines.append(_row("customers (Karpenter nodes)", total_min, total_max))
    lines.append(_row("add-ons (system node group)", addon, addon))
    lines.append(_row("total", total_min + addon, total_max + addon))
    lines.append(f"    NodePool limits: {format_cpu(pool.limit_cpu)} vCPU, {format_memory(pool.limit_memory)}; "
                 f"usable by pods at the limits (best allowed type): {pool.usable.pods} pods, "
                 f"{_cpu(pool.usable.cpu)} vCPU, {_mem(pool.usable.memory)}")
    kinds, unknown = known_types(allowed_instance_types(cluster.node_pool))
    if unknown:
        report.warnings.append(
            f"capacity: no max-pods data for {', '.join(unknown)} (schemas/vpc-cni/eni-max-pods.txt): "
            "not counted as usable; add their rows from upstream")
    if not kinds:
        report.errors.append("capacity: none of the NodePool's instance types has capacity data; "
                             "add their rows to schemas/vpc-cni/eni-max-pods.txt")
        return report
    lines.append(f"    pods per node (VPC CNI max pods less {DAEMONSET_PODS} DaemonSets): "
                 f"{min(k.allocatable_pods for k in kinds)}-{max(k.allocatable_pods for k in kinds)} "
                 f"over {len(kinds)} allowed instance types")
    biggest = max(kinds, key=lambda k: (k.allocatable_cpu, k.allocatable_memory))
    node = Demand(biggest.allocatable_pods, biggest.allocatable_cpu, biggest.allocatable_memory)
    for demand in demands:
        too_big = [what for what in demand.largest_pod.exceeds(node) if what != "pods"]
        if too_big:
            report.errors.append(f"capacity: customer {demand.name}'s largest pod does not fit on the largest "
                                 f"allowed instance type {biggest.name} ({', '.join(too_big)})")
    head_min = Demand(pool.usable.pods - total_min.pods, pool.usable.cpu - total_min.cpu,
                      pool.usable.memory - total_min.memory)
    head_max = Demand(pool.usable.pods - total_max.pods, pool.usable.cpu - total_max.cpu,
                      pool.usable.memory - total_max.memory)
    lines.append(_row("headroom (usable - customers)", head_min, head_max))
    group = cluster.node_group
    if system is None:
        report.warnings.append(f"capacity: no data for the system node group's {', '.join(group.instance_types)}: "
                               "the add-ons' fit is not judged")
    else:
        lines.append(f"    system node group: {group.min_size}-{group.max_size} x {'/'.join(group.instance_types)}; "
                     f"at its minimum {system.pods} pods, {_cpu(system.cpu)} vCPU, {_mem(system.memory)} for add-ons")
    for name in skipped:
        lines.append(f"    (not counted: {name})")
    short_min = total_min.exceeds(pool.usable)
    if short_min:
        report.errors.append(
            f"capacity: the customers' minimum exceeds the NodePool limits ({', '.join(short_min)}); raise "
            "cluster.nodePool.limits or move a customer to another cluster")
    short_max = total_max.exceeds(pool.usable)
    if short_max:
        report.warnings.append(
            f"capacity: the customers' maximum exceeds the NodePool limits ({', '.join(short_max)}); "
            "autoscalers will stop short of their maxReplicas")
    short_system = addon.exceeds(system) if system is not None else []
    if short_system:
        report.warnings.append(
            f"capacity: the add-ons exceed the system node group at its minimum size ({', '.join(short_system)})")
    return report


def share(title: str, customer: TenantConfig, cluster: Optional[ClusterConfig]) -> CapacityReport:
    """A shared-platform customer's own share of its platform's NodePool limits (the
    platform plan judges them all together)."""
    report = CapacityReport(title)
    demand = customer_demand(customer)
    report.lines.append(_row(f"customer {customer.name}", demand.minimum, demand.maximum))
    report.errors += [f"capacity: {p}" for p in quota_problems(customer, demand)]
    if cluster is not None:
        pool = pool_capacity(cluster)
        pct = [f"{float(x / y) * 100:.0f}%" if y else "-" for x, y in (
            (demand.minimum.cpu, pool.usable.cpu), (demand.maximum.cpu, pool.usable.cpu))]
        report.lines.append(f"    share of the platform's usable NodePool CPU: {pct[0]} at minimum, {pct[1]} at maximum")
    return report


def for_stack(stack: str, config: StackConfig, configs: Mapping[str, Optional[StackConfig]]) -> Optional[CapacityReport]:
    """The platform plan judges every customer whose `platform.stack` names it; a
    dedicated-cluster customer judges itself; a shared customer prints its share.
    `configs` holds every stack file's validated configuration (None: it does not
    validate), read once per run by the planner."""
    if config.platform is not None:
        customers, skipped = [], []
        for name, other in configs.items():
            if name == stack:
                continue
            tenant = other.tenant if other is not None else None
            if other is None:
                skipped.append(f"stack {name} (its configuration does not load)")
            elif tenant is not None and tenant.platform is not None and tenant.platform.stack.rsplit("/", 1)[-1] == stack:
                customers.append(tenant)
        platform = config.platform
        return judge(f"Capacity of {platform.cluster.name or 'datafly-' + platform.environment} "
                     f"({len(customers)} customers of this platform):",
                     platform.cluster, platform.addons, customers, skipped)
    tenant = config.tenant
    assert tenant is not None
    if tenant.dedicated_cluster is not None:
        dedicated = tenant.dedicated_cluster
        return judge(f"Capacity of {tenant.name}'s dedicated cluster:", dedicated.cluster, dedicated.addons, [tenant])
    assert tenant.platform is not None
    platform_name = tenant.platform.stack.rsplit("/", 1)[-1]
    # Only when the platform's stack file is in this repository (and validates).
    other = configs.get(platform_name)
    cluster = other.platform.cluster if other is not None and other.platform is not None else None
    return share(f"Capacity: {tenant.name}'s share of platform {platform_name}:", tenant, cluster)
