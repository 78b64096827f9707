"""The fleet checked as a whole: clashes between stacks that each validate on their own.

Works from the stack files and their validated configs only (no program run), so the
plan of one stack, `plan --all` and onboarding (before it writes anything) share it.
Each clash is one line naming both stacks and the key:

- two customer stacks for the same customer (same `datafly:tenant.name`, hence the same
  namespace `customer-<name>` and the same AWS names);
- a host (`data`/`app`/`api`) or a domain claimed by two customers, or one host twice in
  one stack (the ALB or ingress-nginx would route it to one of them only);
- two platform stacks with the same environment (or cluster name) in the same account and
  region: the environment is in every AWS name they create, so those names collide;
- a customer whose `aws:region` differs from its platform's: a StackReference cannot reach
  a cluster, VPC or MSK in another region from the customer's providers;
- a customer with `kafka.mode: shared` on a platform with `kafka.mode: none`: the platform
  exports no MSK cluster to share.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Optional

from offline.run.stackfile import ROOT, StackFile, StackFileError, read_stack, stack_names
from stackconfig import ConfigError, StackConfig, load_config

_ROLES: tuple[Literal["data", "app", "api"], ...] = ("data", "app", "api")
_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:iam::([0-9]{12}):")


@dataclass(frozen=True)
class FleetEntry:
    stack: str
    config: StackConfig
    raw: Mapping[str, str]


@dataclass(frozen=True)
class FleetProblem:
    stacks: tuple[str, ...]
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def load_configs(root: Path = ROOT, skip: Iterable[str] = (),
                 read: Callable[[str, Path], StackFile] = read_stack) -> dict[str, Optional[FleetEntry]]:
    """Every stack file of the project, read (by `read`) and validated once: None for one
    that does not (its own plan reports why)."""
    configs: dict[str, Optional[FleetEntry]] = {}
    for stack in stack_names(root):
        if stack in skip:
            continue
        try:
            stack_file = read(stack, root)
            configs[stack] = FleetEntry(stack, load_config(stack_file.config, stack_file.secret_keys),
                                        stack_file.config)
        except (StackFileError, ConfigError):
            configs[stack] = None
    return configs


def load_entries(root: Path = ROOT, skip: Iterable[str] = ()) -> list[FleetEntry]:
    """Every stack file of the project that reads and validates; the others are left to
    their own plan, which reports them."""
    return [entry for entry in load_configs(root, skip).values() if entry is not None]


def _platform_stack_name(qualified: str) -> str:
    return qualified.rsplit("/", 1)[-1]


def _accounts(entry: FleetEntry) -> frozenset[str]:
    """The AWS account(s) a platform stack deploys into, as far as its config tells:
    `aws:allowedAccountIds`, else the accounts of its admin role ARNs. Empty: unknown."""
    allowed = entry.raw.get("aws:allowedAccountIds")
    if allowed:
        try:
            ids = json.loads(allowed)
        except json.JSONDecodeError:
            ids = [allowed]
        if isinstance(ids, list):
            return frozenset(str(i) for i in ids)
    platform = entry.config.platform
    if platform is None:
        return frozenset()
    return frozenset(m.group(1) for arn in platform.cluster.admin_role_arns
                     if (m := _ACCOUNT_IN_ARN.match(str(arn))))


def _same_account(a: FleetEntry, b: FleetEntry) -> bool:
    # Unknown accounts are assumed shared: a collision is cheaper to rule out here than in AWS.
    first, second = _accounts(a), _accounts(b)
    return not first or not second or bool(first & second)


def check_fleet(entries: Sequence[FleetEntry]) -> list[FleetProblem]:
    problems: list[FleetProblem] = []
    tenants = [e for e in entries if e.config.tenant is not None]
    platforms = {e.stack: e for e in entries if e.config.platform is not None}
    problems += _customer_clashes(tenants)
    problems += _host_clashes(tenants)
    problems += _platform_clashes(list(platforms.values()))
    problems += _platform_mismatches(tenants, platforms)
    return problems


def _customer_clashes(tenants: Sequence[FleetEntry]) -> list[FleetProblem]:
    problems = []
    seen: dict[str, str] = {}
    for entry in tenants:
        assert entry.config.tenant is not None
        # The same customer in two environments is expected (staging and prod): the AWS
        # names carry the environment, and a customer's platform is in its environment.
        name, environment = entry.config.tenant.name, entry.config.tenant.environment
        key = f"{environment}/{name}"
        if key in seen:
            problems.append(FleetProblem(
                (seen[key], entry.stack), "datafly:tenant.name",
                f"stacks {seen[key]} and {entry.stack} are both customer {name!r} in environment {environment!r} "
                f"(the same namespace customer-{name} and AWS names); one customer has one stack per environment"))
        else:
            seen[key] = entry.stack
    return problems


def _host_clashes(tenants: Sequence[FleetEntry]) -> list[FleetProblem]:
    problems = []
    domains: dict[str, str] = {}
    hosts: dict[str, tuple[str, str]] = {}
    for entry in tenants:
        tenant = entry.config.tenant
        assert tenant is not None
        if tenant.domain in domains:
            problems.append(FleetProblem(
                (domains[tenant.domain], entry.stack), "datafly:tenant.domain",
                f"{tenant.domain!r} is claimed by stacks {domains[tenant.domain]} and {entry.stack}"))
        else:
            domains[tenant.domain] = entry.stack
        own: dict[str, str] = {}
        for role in _ROLES:
            host = tenant.host(role)
            key = f"datafly:tenant.ingress.hosts.{role}"
            if host in own:
                problems.append(FleetProblem(
                    (entry.stack,), key,
                    f"{host!r} is also datafly:tenant.ingress.hosts.{own[host]} in stack {entry.stack}; "
                    "each of data, app and api needs its own host"))
                continue
            own[host] = role
            if host in hosts:
                other, other_role = hosts[host]
                problems.append(FleetProblem(
                    (other, entry.stack), key,
                    f"{host!r} is claimed by stacks {other} (hosts.{other_role}) and {entry.stack} (hosts.{role}); "
                    "the load balancer would send one customer's traffic to the other"))
            else:
                hosts[host] = (entry.stack, role)
    return problems


def _cluster_name(entry: FleetEntry) -> str:
    platform = entry.config.platform
    assert platform is not None
    return platform.cluster.name or f"datafly-{platform.environment}"


def _platform_clashes(platforms: Sequence[FleetEntry]) -> list[FleetProblem]:
    problems = []
    for index, first in enumerate(platforms):
        for second in platforms[index + 1:]:
            a, b = first.config.platform, second.config.platform
            assert a is not None and b is not None
            if first.config.region != second.config.region or not _same_account(first, second):
                continue
            where = f"in region {first.config.region} and the same account"
            if a.environment == b.environment:
                problems.append(FleetProblem(
                    (first.stack, second.stack), "datafly:platform.environment",
                    f"stacks {first.stack} and {second.stack} are both environment {a.environment!r} {where}; "
                    "their AWS names (cluster, roles, MSK, KMS aliases) would collide"))
            elif _cluster_name(first) == _cluster_name(second):
                problems.append(FleetProblem(
                    (first.stack, second.stack), "datafly:platform.cluster.name",
                    f"stacks {first.stack} and {second.stack} both name their cluster {_cluster_name(first)!r} {where}"))
    return problems


def _platform_mismatches(tenants: Sequence[FleetEntry], platforms: Mapping[str, FleetEntry]) -> list[FleetProblem]:
    problems = []
    for entry in tenants:
        tenant = entry.config.tenant
        assert tenant is not None
        if tenant.platform is None:
            continue
        platform_entry: Optional[FleetEntry] = platforms.get(_platform_stack_name(tenant.platform.stack))
        if platform_entry is None:
            continue
        platform = platform_entry.config.platform
        assert platform is not None
        if entry.config.region != platform_entry.config.region:
            problems.append(FleetProblem(
                (entry.stack, platform_entry.stack), "aws:region",
                f"stack {entry.stack} is in {entry.config.region} but its platform stack {platform_entry.stack} "
                f"is in {platform_entry.config.region}; a customer runs in its platform's region"))
        if tenant.kafka.mode == "shared" and platform.kafka.mode == "none":
            problems.append(FleetProblem(
                (entry.stack, platform_entry.stack), "datafly:tenant.kafka.mode",
                f"stack {entry.stack} shares the platform's Kafka, but its platform stack {platform_entry.stack} has "
                "datafly:platform.kafka.mode none (no MSK cluster); use kafka.mode dedicated or give the platform one"))
    return problems


def problems_for(stack: str, problems: Iterable[FleetProblem],
                 entries: Iterable[FleetEntry] = ()) -> list[FleetProblem]:
    """The problems that involve `stack`; for a platform stack, given the fleet's
    entries, also those among the customers that run on it (its plan judges them)."""
    involved = {stack} | {e.stack for e in entries if e.config.tenant is not None
                          and e.config.tenant.platform is not None
                          and e.config.tenant.platform.stack.rsplit("/", 1)[-1] == stack}
    return [p for p in problems if involved & set(p.stacks)]
