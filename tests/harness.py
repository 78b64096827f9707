"""Run components under the offline mock runtime and look at what they registered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from offline.run.runner import PlanRun, Resource, StackOutput, run_function
from offline.run.stackfile import ROOT, StackFile


def synthetic_stack(stack: str = "unit", config: dict[str, str] | None = None) -> StackFile:
    return StackFile(
        project="datafly",
        stack=stack,
        path=ROOT / "stacks" / f"Pulumi.{stack}.yaml",
        config=config or {},
        secret_keys=frozenset(),
        secure_paths=frozenset(),
    )


def run(
    program: Callable[[], Any],
    stack: str = "unit",
    region: str = "us-east-1",
    references: dict[str, dict[str, StackOutput]] | None = None,
) -> PlanRun:
    """Plan `program` (a function that registers resources, optionally returning a dict
    of outputs) as its own stack."""
    return run_function(program, synthetic_stack(stack), region, references)


def of_type(plan: PlanRun, type_: str) -> list[Resource]:
    return [r for r in plan.resources if r.type == type_]


def one(plan: PlanRun, type_: str, name: str | None = None) -> Resource:
    found = [r for r in of_type(plan, type_) if name is None or r.name == name]
    names = [r.name for r in of_type(plan, type_)]
    assert len(found) == 1, f"expected one {type_} named {name!r}, found {names}"
    return found[0]


def urn_of(plan: PlanRun, type_: str, name: str) -> str:
    return one(plan, type_, name).urn


def children_of(plan: PlanRun, parent: Resource) -> list[Resource]:
    return [r for r in plan.resources if r.parent == parent.urn]


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")
