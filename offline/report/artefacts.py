"""What the offline plan writes and prints: the preview tree, plan.json, manifests.yaml,
releases.yaml and graph.dot."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional

import yaml

from builders.yaml_text import SAFE_DUMPER
from offline.report.json_text import dumps_indented
from offline.run.runner import SECRET, PlanRun, Resource

HELM_RELEASE_TYPES = ("kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Release")
# Kinds applied first, as Helm orders an install: what others live in or refer to.
_KIND_ORDER = (
    "Namespace", "CustomResourceDefinition", "PriorityClass", "ServiceAccount", "ResourceQuota",
    "LimitRange", "NetworkPolicy", "PodDisruptionBudget", "Secret", "ConfigMap", "ClusterRole",
    "ClusterRoleBinding", "Role", "RoleBinding", "SecretStore", "ExternalSecret", "Service",
    "Job", "Deployment", "StatefulSet", "HorizontalPodAutoscaler", "TriggerAuthentication",
    "ScaledObject", "IngressClass", "IngressClassParams", "Ingress",
)


def is_kubernetes_object(resource: Resource) -> bool:
    return (
        resource.custom
        and resource.type.startswith("kubernetes:")
        and resource.type not in HELM_RELEASE_TYPES
        and "apiVersion" in resource.inputs
        and "kind" in resource.inputs
    )


def kubernetes_objects(run: PlanRun) -> list[dict[str, Any]]:
    """Every Kubernetes object of the stack as `kubectl apply -f` takes it (secrets
    redacted), built once per run: the schema checks, the CEL rules and manifests.yaml
    read the same list, and none of them changes it."""
    if "kubernetes_objects" not in run.derived:
        run.derived["kubernetes_objects"] = _kubernetes_objects(run)
    objects: list[dict[str, Any]] = run.derived["kubernetes_objects"]
    return objects


def _kubernetes_objects(run: PlanRun) -> list[dict[str, Any]]:
    objects = [_object(r.inputs) for r in run.resources if is_kubernetes_object(r)]

    def order(obj: dict[str, Any]) -> tuple[int, str, str]:
        kind = obj.get("kind", "")
        rank = _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)
        meta = obj.get("metadata") or {}
        return rank, str(meta.get("namespace", "")), str(meta.get("name", ""))

    return sorted(objects, key=order)


def _object(inputs: dict[str, Any]) -> dict[str, Any]:
    inputs = sort_keys(inputs)
    head: dict[str, Any] = {k: inputs[k] for k in ("apiVersion", "kind", "metadata") if k in inputs}
    return {**head, **{k: v for k, v in inputs.items() if k not in head}}


def sort_keys(value: Any) -> Any:
    """Maps arrive from the engine in no fixed order; sort them so that plans of the same
    program are byte-identical and diff cleanly across releases."""
    if isinstance(value, dict):
        return {k: sort_keys(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [sort_keys(v) for v in value]
    return value


def helm_releases(run: PlanRun) -> list[dict[str, Any]]:
    releases = []
    for resource in run.resources:
        if resource.type in HELM_RELEASE_TYPES:
            inputs = resource.inputs
            repository = (inputs.get("repositoryOpts") or {}).get("repo")
            releases.append({
                "release": inputs.get("name", resource.name),
                "chart": inputs.get("chart"),
                "repository": repository,
                "version": inputs.get("version"),
                "namespace": inputs.get("namespace"),
                "values": sort_keys(inputs.get("values", {})),
            })
    return sorted(releases, key=lambda r: (str(r["namespace"]), str(r["release"])))


def plan_json(run: PlanRun) -> dict[str, Any]:
    return {
        "project": run.stack.project,
        "stack": run.stack.stack,
        "resources": [sort_keys(r.to_json()) for r in run.resources],
        "outputs": {k: SECRET if o.secret else o.value for k, o in sorted(run.outputs.items())},
    }


def graph_dot(run: PlanRun) -> str:
    """The dependency graph as `pulumi stack graph` draws it: dependency edges solid,
    parent edges dashed."""
    ids = {run.root_urn: "Resource0"}
    lines = ["strict digraph {", f'    Resource0 [label="{_root_label(run)}"];']
    for index, resource in enumerate(run.resources, start=1):
        ids[resource.urn] = f"Resource{index}"
    for resource in run.resources:
        node = ids[resource.urn]
        lines.append(f'    {node} [label="{resource.type}\\n{resource.name}"];')
        for dependency in resource.dependencies:
            if dependency in ids:
                lines.append(f'    {node} -> {ids[dependency]} [color = "#246C60"];')
        parent = resource.parent or run.root_urn
        if parent in ids:
            lines.append(f'    {node} -> {ids[parent]} [color = "#AA6639", style = "dashed"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _root_label(run: PlanRun) -> str:
    return f"pulumi:pulumi:Stack\\n{run.stack.project}-{run.stack.stack}"


def tree_lines(run: PlanRun) -> list[str]:
    """A `pulumi preview`-style tree of type and name."""
    children: dict[Optional[str], list[Resource]] = {}
    for resource in run.resources:
        parent = resource.parent if resource.parent != run.root_urn else None
        children.setdefault(parent, []).append(resource)
    rows: list[tuple[str, str, str]] = [("", "pulumi:pulumi:Stack", f"{run.stack.project}-{run.stack.stack}")]

    def walk(parent: Optional[str], prefix: str) -> None:
        kids = children.get(parent, [])
        for index, resource in enumerate(kids):
            last = index == len(kids) - 1
            rows.append((prefix + ("└─ " if last else "├─ "), resource.type, resource.name))
            walk(resource.urn, prefix + ("   " if last else "│  "))

    walk(None, "")
    width = max(len(p) + len(t) for p, t, _ in rows) + 2
    lines = [f" +   {'Type'.ljust(width)}Name"]
    for prefix, type_, name in rows:
        lines.append(f" +   {(prefix + type_).ljust(width)}{name}")
    return lines


def summary_lines(run: PlanRun) -> list[str]:
    counts = Counter(r.type for r in run.resources)
    width = max((len(t) for t in counts), default=10) + 2
    lines = ["Resources by type:"]
    for type_, count in sorted(counts.items()):
        lines.append(f"    {type_.ljust(width)}{count:>4}")
    # The stack itself (pulumi:pulumi:Stack) is not among the recorded resources.
    lines.append(f"    {'total'.ljust(width)}{len(run.resources):>4}  resources")
    return lines


ARTEFACTS = ("plan.json", "manifests.yaml", "releases.yaml", "graph.dot")
FAILED_MARKER = "PLAN-FAILED.txt"


def mark_failed(out_dir: Path, exit_code: int, meaning: str, problems: Iterable[str]) -> None:
    """A failed plan leaves no earlier run's artefacts looking current: they are removed
    and a marker says why there are none."""
    for name in ARTEFACTS:
        (out_dir / name).unlink(missing_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"The last offline plan of this stack failed: exit {exit_code} ({meaning}).",
             "No plan artefacts were written; earlier ones were removed.", "", *problems]
    (out_dir / FAILED_MARKER).write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_outputs(run: PlanRun, out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / FAILED_MARKER).unlink(missing_ok=True)
    paths = {
        "plan": out_dir / "plan.json",
        "manifests": out_dir / "manifests.yaml",
        "releases": out_dir / "releases.yaml",
        "graph": out_dir / "graph.dot",
    }
    paths["plan"].write_text(dumps_indented(plan_json(run)) + "\n", encoding="utf-8")
    paths["manifests"].write_text(render_yaml(kubernetes_objects(run)), encoding="utf-8")
    releases = helm_releases(run)
    # A customer stack installs no Helm release (the platform does): say so rather than
    # leave an empty file that looks like a failed render.
    header = "" if releases else (
        "# This stack installs no Helm release: customer stacks run on the platform's add-ons\n"
        "# (the platform stack's releases.yaml lists them); its Kubernetes objects are in manifests.yaml.\n")
    paths["releases"].write_text(header + render_yaml(releases), encoding="utf-8")
    paths["graph"].write_text(graph_dot(run), encoding="utf-8")
    return paths


class _YamlDumper(SAFE_DUMPER):  # type: ignore[misc]
    """Every value written in full, never as an anchor and alias (`&id001`, `*id001`):
    what kubectl reads plainly, and no bookkeeping of every object written. The
    documents share no subtrees anyway (sort_keys copies them)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def render_yaml(documents: Iterable[dict[str, Any]]) -> str:
    return yaml.dump_all(list(documents), Dumper=_YamlDumper, sort_keys=False, explicit_start=True, width=120)
