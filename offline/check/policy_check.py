"""Evaluate the policy pack (policies/) against a recorded plan, offline.

The Pulumi CLI runs the pack as a gRPC analyzer; constructing `PolicyPack` here would
start that server and block. So the same policy objects are called directly: every
resource goes through each resource policy's `validate` with the `ResourceValidationArgs`
the engine would build from its inputs, and the whole stack through each stack policy
with `StackValidationArgs`. Under the CLI a stack policy reads resource outputs; the
mock's outputs are the inputs plus fabricated ids, so the recorded inputs stand in.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable, Sequence
from typing import Optional

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from offline.check.kubernetes import Violation
from offline.run.runner import STACK_REFERENCE_TYPE, PlanRun, Resource
from policies import POLICIES, POLICY_INFO

__all__ = ["evaluate_policies", "resource_args", "stack_args"]

ENFORCED = (EnforcementLevel.MANDATORY, EnforcementLevel.REMEDIATE)
# The resource types each of the pack's own resource policies reads, by policy object:
# the engine calls every policy for every resource, and each returns at once for a
# type it does not read, so those calls are skipped here (four in five of them).
_PACK_TYPES: dict[int, frozenset[str]] = {
    id(policy): types for policy in POLICIES if (types := POLICY_INFO[policy.name].types) is not None
}


def _label(resource: Resource) -> str:
    return f"{resource.type} {resource.name}"


def _options(resource: Resource) -> PolicyResourceOptions:
    timeouts = resource.custom_timeouts

    def seconds(key: str) -> float:
        # Only their presence matters to a policy; "10m" style strings are not parsed.
        return 1.0 if key in timeouts else 0.0

    return PolicyResourceOptions(
        protect=resource.protect,
        ignore_changes=list(resource.ignore_changes),
        delete_before_replace=resource.delete_before_replace,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(seconds("create"), seconds("update"), seconds("delete")),
        additional_secret_outputs=list(resource.additional_secret_outputs),
        parent=resource.parent,
    )


def _provider(resource: Resource, by_urn: dict[str, Resource]) -> Optional[PolicyProviderResource]:
    provider = by_urn.get(resource.provider) if resource.provider else None
    if provider is None:
        return None
    return PolicyProviderResource(provider.type, provider.inputs, provider.urn, provider.name)


def _evaluated(run: PlanRun) -> list[Resource]:
    # A StackReference is read, not managed: the engine does not analyze it.
    return [r for r in run.resources if r.type != STACK_REFERENCE_TYPE]


def resource_args(run: PlanRun) -> list[tuple[Resource, ResourceValidationArgs]]:
    """The arguments the engine would pass a resource policy, one per resource."""
    by_urn = {r.urn: r for r in run.resources}
    return [
        (r, ResourceValidationArgs(r.type, r.inputs, r.urn, r.name, _options(r), _provider(r, by_urn)))
        for r in _evaluated(run)
    ]


def stack_args(run: PlanRun) -> StackValidationArgs:
    """The stack as a stack policy sees it, parents and dependencies linked."""
    resources = _evaluated(run)
    by_urn = {r.urn: r for r in run.resources}
    built: dict[str, PolicyResource] = {
        r.urn: PolicyResource(r.type, r.inputs, r.urn, r.name, _options(r), _provider(r, by_urn), None, [], {})
        for r in resources
    }
    for r in resources:
        node = built[r.urn]
        node.parent = built.get(r.parent) if r.parent else None
        node.dependencies = [built[d] for d in r.dependencies if d in built]
    return StackValidationArgs(list(built.values()))


def _settle(result: object) -> None:
    # The pack's validations are synchronous; an async one (a policy added later) is
    # awaited here rather than silently skipped.
    if inspect.isawaitable(result):
        async def wait() -> None:
            await result

        asyncio.run(wait())


def evaluate_policies(run: PlanRun, policies: Sequence[Policy] = POLICIES) -> list[Violation]:
    """Every violation of an enforced (mandatory) policy: obj names the resource (or the
    stack), path the policy, message the reason."""
    violations: list[Violation] = []
    enforced = [p for p in policies if p.enforcement_level in ENFORCED]
    labels = {r.urn: _label(r) for r in run.resources}
    stack_label = f"stack {run.stack.stack}"

    resource_policies = [p for p in enforced if isinstance(p, ResourceValidationPolicy)]
    for resource, args in resource_args(run):
        for resource_policy in resource_policies:
            types = _PACK_TYPES.get(id(resource_policy))
            if types is not None and resource.type not in types:
                continue  # the pack's policy returns at once for this type (policies/_util.py)

            def report(message: str, urn: Optional[str] = None, *, _p: Policy = resource_policy,
                       _r: Resource = resource) -> None:
                violations.append(Violation(labels.get(urn or "", _label(_r)), _p.name, message))

            _settle(resource_policy.validate(args, report))

    whole = stack_args(run)
    for policy in enforced:
        if isinstance(policy, StackValidationPolicy):
            def report_stack(message: str, urn: Optional[str] = None, *, _p: Policy = policy) -> None:
                violations.append(Violation(labels.get(urn or "", stack_label), _p.name, message))

            _settle(policy.validate(whole, report_stack))
    return sorted(set(violations))


def policy_names(policies: Iterable[Policy] = POLICIES) -> list[str]:
    return [p.name for p in policies]
