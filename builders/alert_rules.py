"""The environment's Prometheus alert rules, kept as data in observability/alert-rules.yaml,
and the checks the offline plan holds them to: every expression parses (PyPI
`promql-parser`), and every metric it selects is one a scraped exporter emits
(observability/exporter-metrics.yaml, each list with its upstream source) and one its
scrape job keeps."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import promql_parser
import yaml

from .yaml_text import safe_dump, safe_load

DATA_DIR = Path(__file__).resolve().parent.parent / "observability"
RULES_FILE = DATA_DIR / "alert-rules.yaml"
METRICS_FILE = DATA_DIR / "exporter-metrics.yaml"
RUNBOOK_PATH = "docs/runbooks.md"


@dataclass(frozen=True)
class ExporterMetrics:
    emitted: dict[str, frozenset[str]]
    kept: dict[str, frozenset[str]]
    builtin: frozenset[str]

    def emitter(self, metric: str) -> str | None:
        for exporter, names in self.emitted.items():
            if metric in names:
                return exporter
        return None


@cache
def exporter_metrics(path: Path = METRICS_FILE) -> ExporterMetrics:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    exporters = data["exporters"]
    return ExporterMetrics(
        emitted={name: frozenset(e.get("metrics") or ()) for name, e in exporters.items()},
        kept={name: frozenset(e.get("keep") or ()) for name, e in exporters.items()},
        builtin=frozenset(data.get("builtin") or ()),
    )


def load_rules(path: Path = RULES_FILE) -> dict[str, Any]:
    rules: dict[str, Any] = safe_load(path.read_text(encoding="utf-8"))
    return rules


def rules_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [rule for group in document.get("groups") or [] for rule in group.get("rules") or []]


def selected_metrics(expr: str) -> list[str]:
    """The metric names an expression selects; raises ValueError when it does not parse."""
    names: list[str] = []

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name is None:
                raise ValueError("selects series without a metric name; name the metric")
            names.append(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def check_rules(document: dict[str, Any], metrics: ExporterMetrics | None = None) -> list[str]:
    """One line per problem: an expression that does not parse, a metric no scraped
    exporter emits, or one its scrape job drops."""
    metrics = metrics or exporter_metrics()
    problems: list[str] = []
    for rule in rules_of(document):
        name = rule.get("alert") or rule.get("record") or "<unnamed>"
        expr = rule.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            problems.append(f"rule {name}: has no expr")
            continue
        try:
            selected = selected_metrics(expr)
        except ValueError as exc:
            problems.append(f"rule {name}: expr does not parse: {exc}")
            continue
        for metric in selected:
            if metric in metrics.builtin:
                continue
            exporter = metrics.emitter(metric)
            if exporter is None:
                problems.append(f"rule {name}: selects {metric}, which no scraped exporter emits "
                                f"(observability/exporter-metrics.yaml)")
            elif metric not in metrics.kept[exporter]:
                problems.append(f"rule {name}: selects {metric}, which the {exporter} scrape job drops "
                                f"(add it to its keep list)")
    return problems


def rule_group_data(runbook_base_url: str, document: dict[str, Any] | None = None) -> str:
    """The rules file AMP loads (`aws.amp.RuleGroupNamespace.data`), with each
    repository-relative `runbook_url` made absolute under `runbook_base_url`."""
    rendered = copy.deepcopy(document if document is not None else load_rules())
    base = runbook_base_url.rstrip("/") + "/"
    for rule in rules_of(rendered):
        annotations = rule.get("annotations") or {}
        url = annotations.get("runbook_url")
        if isinstance(url, str) and url.startswith(RUNBOOK_PATH):
            annotations["runbook_url"] = base + url
    return safe_dump(rendered, sort_keys=False, width=1000)
