"""Estimated duration of a first `pulumi up` of a planned stack.

The engine creates a resource as soon as everything it depends on exists, so the
duration of a first deployment is the longest path through the dependency graph, each
resource weighted by the typical creation time of its type (offline/report/creation_times.yaml,
with sources). The sum of all times is what a fully serial deployment would take: a
critical path close to that sum means a dependency serialises resources that could be
created side by side.

Edges: a resource's recorded dependencies and its provider (a Kubernetes provider waits
for its cluster). A dependency on a component resource means all of the component's
resources (the engine waits for them); component resources themselves take no time.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from builders.yaml_text import safe_load
from offline.run.runner import PlanRun, Resource

CREATION_TIMES = Path(__file__).resolve().parent / "creation_times.yaml"
# A resource that is read, not created (`get`): one API call.
READ_SECONDS = 1.0


@dataclass(frozen=True)
class CreationTimes:
    default: float
    by_type: Mapping[str, float]

    def of(self, resource: Resource) -> float:
        if not resource.custom:
            return 0.0
        if resource.type in self.by_type:
            return self.by_type[resource.type]
        return READ_SECONDS if resource.read_id is not None else self.default


@functools.lru_cache(maxsize=4)
def load_creation_times(path: Path = CREATION_TIMES) -> CreationTimes:
    # Read once per process: a fleet plan estimates every stack from the same table.
    data = safe_load(path.read_text(encoding="utf-8"))
    types = {str(k): float(v["seconds"]) for k, v in (data.get("types") or {}).items()}
    return CreationTimes(float(data["default"]["seconds"]), types)


@dataclass(frozen=True)
class Step:
    resource: Resource
    seconds: float
    start: float

    @property
    def finish(self) -> float:
        return self.start + self.seconds


@dataclass(frozen=True)
class DeployTime:
    critical_path: list[Step]   # first created to last
    total: float                # seconds along the critical path
    sum_all: float              # seconds if every resource were created one after another


class _Graph:
    def __init__(self, run: PlanRun, times: CreationTimes) -> None:
        self.times = times
        self.by_urn = {r.urn: r for r in run.resources}
        self.children: dict[str, list[str]] = {}
        for resource in run.resources:
            if resource.parent:
                self.children.setdefault(resource.parent, []).append(resource.urn)
        self.finish: dict[str, float] = {}
        self.before: dict[str, Optional[str]] = {}   # the predecessor that finishes last
        self._visiting: set[str] = set()

    def predecessors(self, resource: Resource) -> list[str]:
        urns = list(resource.dependencies)
        if resource.provider:
            urns.append(resource.provider)
        return [u for u in urns if u in self.by_urn and u != resource.urn]

    def finish_of(self, urn: str) -> float:
        if urn in self.finish:
            return self.finish[urn]
        if urn in self._visiting:
            return 0.0  # a cycle (a child depending on its own component): the edge adds nothing
        self._visiting.add(urn)
        resource = self.by_urn[urn]
        if resource.custom:
            candidates = self.predecessors(resource)
            own = self.times.of(resource)
        else:
            # A component is done when all of its resources are.
            candidates = self.children.get(urn, [])
            own = 0.0
        latest: Optional[str] = None
        start = 0.0
        for candidate in candidates:
            done = self.finish_of(candidate)
            if latest is None or done > start:
                latest, start = candidate, done
        self._visiting.discard(urn)
        self.finish[urn] = start + own
        self.before[urn] = latest if start > 0 else None
        return self.finish[urn]


def estimate(run: PlanRun, times: Optional[CreationTimes] = None) -> DeployTime:
    graph = _Graph(run, times or load_creation_times())
    last: Optional[str] = None
    total = 0.0
    for resource in run.resources:
        done = graph.finish_of(resource.urn)
        if resource.custom and (last is None or done > total):
            last, total = resource.urn, done
    path: list[Step] = []
    urn = last
    while urn is not None:
        resource = graph.by_urn[urn]
        if resource.custom:
            seconds = graph.times.of(resource)
            path.append(Step(resource, seconds, graph.finish[urn] - seconds))
        urn = graph.before.get(urn)
    path.reverse()
    sum_all = sum(graph.times.of(r) for r in run.resources)
    return DeployTime(path, total, sum_all)


def duration(seconds: float) -> str:
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def deploy_time_lines(run: PlanRun, times: Optional[CreationTimes] = None) -> list[str]:
    """The estimate as the offline plan prints it after the resource summary."""
    estimate_ = estimate(run, times)
    shown = [s for s in estimate_.critical_path if s.seconds > 0]
    ratio = estimate_.sum_all / estimate_.total if estimate_.total else 1.0
    lines = [
        "Estimated first `pulumi up` (typical creation times per type, offline/report/creation_times.yaml):",
        f"    critical path  {duration(estimate_.total)}",
        f"    sum of all     {duration(estimate_.sum_all)}  ({ratio:.1f}x the critical path: "
        "what parallel creation saves)",
    ]
    if shown:
        lines.append("Critical path (start -> done, type, name):")
        width = max(len(s.resource.type) for s in shown) + 2
        for step in shown:
            span = f"{duration(step.start):>10} -> {duration(step.finish):<10}"
            lines.append(f"    {span}  {step.resource.type.ljust(width)}{step.resource.name}")
    return lines
