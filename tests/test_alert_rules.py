"""The alert rules file itself (observability/alert-rules.yaml), the metric lists it is
checked against, and the scrape and routing configuration built around them."""

from __future__ import annotations

import re
from typing import Any

import promql_parser
import pytest
import yaml

from builders import observability as obs
from builders.alert_rules import (
    METRICS_FILE,
    RUNBOOK_PATH,
    check_rules,
    exporter_metrics,
    load_rules,
    rule_group_data,
    rules_of,
    selected_metrics,
)
from offline.run.stackfile import ROOT

RULES = {rule["alert"]: rule for rule in rules_of(load_rules())}

# alert -> (for, severity, the comparison that makes it fire)
EXPECTED = {
    "DataflyMaxReplicasReached": ("15m", "warning", ">= on (namespace, horizontalpodautoscaler)"),
    "DataflyKafkaConsumerLagHigh": ("10m", "warning",
                                    "> on (namespace, horizontalpodautoscaler, metric_name, metric_target_type)"),
    "DataflyPodPending": ("10m", "warning", '== 1'),
    "DataflyDeploymentReplicasUnavailable": ("10m", "warning", "> 0"),
    "DataflyMigrationsFailed": ("0m", "critical", "> 0"),
    "DataflyKedaScalerErrors": ("5m", "warning", "> 0"),
    "DataflyNodePoolNearLimit": ("15m", "warning", "> 0.9"),
}


def test_the_rule_file_has_exactly_the_alerts_the_platform_promises() -> None:
    assert set(RULES) == set(EXPECTED)


@pytest.mark.parametrize("alert", sorted(EXPECTED))
def test_each_alert_fires_after_its_duration_with_its_severity(alert: str) -> None:
    duration, severity, comparison = EXPECTED[alert]
    rule = RULES[alert]
    assert rule["for"] == duration
    assert rule["labels"]["severity"] == severity
    assert comparison in " ".join(rule["expr"].split())


def test_the_shipped_rules_pass_the_plan_check() -> None:
    assert check_rules(load_rules()) == []


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens."""
    return {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
            for h in re.findall(r"^#{1,6} (.+)$", markdown, flags=re.M)}


@pytest.mark.parametrize("alert", sorted(EXPECTED))
def test_every_alert_has_a_summary_and_a_runbook_section(alert: str) -> None:
    annotations = RULES[alert]["annotations"]
    assert annotations["summary"].strip()
    path, anchor = annotations["runbook_url"].split("#")
    assert path == RUNBOOK_PATH
    assert anchor in _anchors((ROOT / RUNBOOK_PATH).read_text(encoding="utf-8"))


@pytest.mark.parametrize("alert", sorted(EXPECTED))
def test_every_alert_names_its_customer(alert: str) -> None:
    """From the namespace `customer-<name>` (label_replace), or the static `platform`."""
    rule = RULES[alert]
    if "customer" in rule["labels"]:
        assert rule["labels"]["customer"] == "platform"
        assert "customer-" not in rule["expr"]
        return
    expr = promql_parser.parse(rule["expr"])
    assert isinstance(expr, promql_parser.Call) and expr.func.name == "label_replace"
    assert [a.val for a in expr.args[1:]] == ["customer", "$1", "namespace", "customer-(.+)"]
    assert "{{ $labels.customer }}" in rule["annotations"]["summary"]


def _selectors(expr: str) -> list[Any]:
    found: list[Any] = []

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            found.append(node)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def test_customer_alerts_only_select_customer_namespaces() -> None:
    for name, rule in RULES.items():
        if rule["labels"].get("customer") == "platform":
            continue
        selectors = _selectors(rule["expr"])
        assert selectors, name
        for selector in selectors:
            matchers = {(m.name, str(m.op), m.value) for m in selector.matchers.matchers}
            assert any(n == "namespace" and v == "customer-.+" for n, _, v in matchers), (name, selector.name)


def test_a_rule_that_does_not_parse_is_reported() -> None:
    document = {"groups": [{"name": "g", "rules": [{"alert": "Broken", "expr": "rate(kube_pod_status_phase[5m]"}]}]}
    problems = check_rules(document)
    assert len(problems) == 1
    assert problems[0].startswith("rule Broken: expr does not parse: ")


def test_a_rule_on_a_metric_no_exporter_emits_is_reported() -> None:
    document = {"groups": [{"name": "g", "rules": [
        {"alert": "Typo", "expr": 'kube_horizontalpodautoscaler_status_curent_replicas{namespace="x"} > 0'}]}]}
    assert check_rules(document) == [
        "rule Typo: selects kube_horizontalpodautoscaler_status_curent_replicas, which no scraped exporter "
        "emits (observability/exporter-metrics.yaml)"
    ]


def test_a_rule_on_a_metric_its_scrape_job_drops_is_reported() -> None:
    """Emitted, but relabelled away by the scraper: the alert would never see data."""
    document = {"groups": [{"name": "g", "rules": [{"alert": "Dropped", "expr": "kube_node_info > 0"}]}]}
    assert check_rules(document) == [
        "rule Dropped: selects kube_node_info, which the kube-state-metrics scrape job drops (add it to its keep list)"
    ]


def test_selectors_without_a_metric_name_are_refused() -> None:
    with pytest.raises(ValueError, match="without a metric name"):
        selected_metrics('{__name__=~"kube_.+"}')


def test_metric_lists_cite_their_versioned_source_and_keep_only_emitted_metrics() -> None:
    data = yaml.safe_load(METRICS_FILE.read_text(encoding="utf-8"))
    metrics = exporter_metrics()
    for name, exporter in data["exporters"].items():
        assert exporter["source"].startswith("https://github.com/"), name
        assert exporter["version"], name
        assert metrics.kept[name] <= metrics.emitted[name], name
    # Spot checks against the upstream sources at the pinned versions.
    assert {"kube_horizontalpodautoscaler_spec_max_replicas", "kube_job_status_failed"} <= metrics.emitted[
        "kube-state-metrics"]
    assert "keda_scaler_detail_errors_total" in metrics.emitted["keda-operator"]
    assert "keda_scaler_errors_total" not in metrics.emitted["keda-operator"]  # gone by v2.20.2
    assert {"karpenter_nodepools_usage", "karpenter_nodepools_limit"} <= metrics.emitted["karpenter"]


def test_the_workspace_gets_absolute_runbook_links() -> None:
    data = yaml.safe_load(rule_group_data("https://example.com/repo/blob/main/"))
    urls = [r["annotations"]["runbook_url"] for r in rules_of(data)]
    assert "https://example.com/repo/blob/main/docs/runbooks.md#max-replicas-reached" in urls
    assert all(u.startswith("https://example.com/repo/blob/main/docs/runbooks.md#") for u in urls)
    assert [r["expr"] for r in rules_of(data)] == [r["expr"] for r in rules_of(load_rules())]


def test_scrape_jobs_keep_only_the_series_the_rules_use() -> None:
    config = yaml.safe_load(obs.scrape_configuration("60s"))
    assert config["global"]["scrape_interval"] == "60s"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"kube-state-metrics", "keda-operator", "keda-metrics-apiserver", "karpenter", "cadvisor"}
    kept = exporter_metrics().kept
    for name in ("kube-state-metrics", "keda-operator", "karpenter"):
        keep = jobs[name]["metric_relabel_configs"][0]
        assert keep["action"] == "keep"
        assert set(keep["regex"].split("|")) == kept[name]
        # The exporters' own `namespace` label must survive (no target label pushes it
        # to exported_namespace).
        assert all(r.get("target_label") != "namespace" for r in jobs[name]["relabel_configs"])
    used = {m for rule in RULES.values() for m in selected_metrics(rule["expr"])}
    assert used <= set().union(*kept.values())
    assert jobs["karpenter"]["relabel_configs"][0]["regex"] == ".+;karpenter;http\\-metrics"
    assert jobs["cadvisor"]["relabel_configs"][1]["replacement"] == "/api/v1/nodes/$1/proxy/metrics/cadvisor"


def test_alertmanager_groups_by_customer_and_sends_to_the_topic() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:datafly-prod-alerts"
    definition = yaml.safe_load(obs.alertmanager_definition(topic, "us-east-1"))
    config = yaml.safe_load(definition["alertmanager_config"])
    assert config["route"]["group_by"] == ["customer", "alertname"]
    (receiver,) = config["receivers"]
    (sns,) = receiver["sns_configs"]
    assert sns["topic_arn"] == topic and sns["sigv4"] == {"region": "us-east-1"}
    assert sns["attributes"]["customer"] == "{{ .CommonLabels.customer }}"


def test_only_this_workspace_and_this_accounts_alarms_may_publish() -> None:
    topic = "arn:aws:sns:eu-west-1:123456789012:datafly-prod-alerts"
    workspace = "arn:aws:aps:eu-west-1:123456789012:workspace/ws-1"
    amp, cloudwatch = obs.alerts_topic_policy(topic, workspace)["Statement"]
    assert amp["Principal"] == {"Service": "aps.amazonaws.com"}
    assert amp["Condition"] == {"ArnEquals": {"aws:SourceArn": workspace},
                                "StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Condition"]["ArnLike"] == {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:*"}


def test_physical_names_carry_the_environment_and_respect_limits() -> None:
    assert obs.physical_name("prod", "alerts", max_length=256) == "datafly-prod-alerts"
    with pytest.raises(ValueError, match="at most 20"):
        obs.physical_name("a-very-long-environment", max_length=20)
