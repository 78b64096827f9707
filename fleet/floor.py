"""The floor a plan is measured against (`make bench`): a bare script that imports the
same provider SDK modules as the offline plan and registers the same resources under
trivial mocks, with none of the program's own code and none of its checks.

    python fleet/floor.py <modules.txt> <plan.json> [<plan.json> ...]

<modules.txt> lists the `pulumi*` modules a plan imported (one per line, as
`python -X importtime` reports them); each <plan.json> is a stack's recorded plan
(out/<stack>/plan.json), registered as its own stack in plan order, parents first.
Run as a file, not a module: it must not import the project.

It is deliberately naive: the collector runs and the interpreter tears down as any
script's would. The offline plan's own savings (a paused collector, no teardown,
cached platform outputs) are what the benchmark compares against this.
"""

from __future__ import annotations

import contextvars
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await


class TrivialMocks(mocks.Mocks):
    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return {}, []


def _depth(resource: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> int:
    depth, parent = 0, resource.get("parent")
    while parent in by_urn:
        depth, parent = depth + 1, by_urn[parent].get("parent")
    return depth


def register(resources: list[dict[str, Any]]) -> None:
    by_urn = {r["urn"]: r for r in resources}
    made: dict[str, pulumi.Resource] = {}
    for resource in sorted(resources, key=lambda r: _depth(r, by_urn)):
        parent = made.get(resource.get("parent") or "")
        opts = pulumi.ResourceOptions(parent=parent, id=resource.get("readId"))
        kind, name, inputs = resource["type"], resource["name"], resource.get("inputs") or {}
        made_resource: pulumi.Resource
        if kind.startswith("pulumi:providers:"):
            made_resource = pulumi.ProviderResource(kind.rsplit(":", 1)[1], name, inputs, opts)
        elif resource["custom"]:
            made_resource = pulumi.CustomResource(kind, name, inputs, opts)
        else:
            made_resource = pulumi.ComponentResource(kind, name, None, opts)
        made[resource["urn"]] = made_resource


def run_stack(plan: dict[str, Any]) -> None:
    pulumi.runtime.set_mocks(TrivialMocks(), project=plan["project"], stack=plan["stack"], preview=False)
    _sync_await(run_pulumi_func(lambda: register(plan["resources"])))


def main(argv: list[str]) -> int:
    modules, *plans = argv
    for module in Path(modules).read_text(encoding="utf-8").split():
        importlib.import_module(module)
    count = 0
    for plan_file in plans:
        plan = json.loads(Path(plan_file).read_text(encoding="utf-8"))
        # The SDK keeps its root stack in context variables: one context per stack.
        contextvars.Context().run(run_stack, plan)
        count += len(plan["resources"])
    print(f"floor: registered {count} resources from {len(plans)} stack(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
