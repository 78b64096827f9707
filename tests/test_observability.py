"""The environment's metrics and alerting in the plans: AMP workspace, scraper, rules,
Alertmanager and SNS topic on the platform (and a dedicated cluster), the customers'
CloudWatch alarms and dashboards, and the plan failing on a bad alert rule."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import yaml

from builders.alert_rules import rule_group_data
from builders.charts import KUBE_STATE_METRICS_CHART
from builders.observability import SCRAPER_USER, scrape_configuration
from components.stack import deploy_platform
from offline import plan
from offline.check.checks import RULE_GROUP_NAMESPACE_TYPE
from offline.run.runner import PlanRun
from stackconfig import ConfigError, PlatformConfig, load_config
from tests.harness import of_type, one, run

ADMIN = "arn:aws:iam::123456789012:role/platform-admin"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _plan(stack: str) -> PlanRun:
    result = plan.Planner().plan(stack)
    assert result.exit_code == plan.EXIT_OK, result.problems + [str(v) for v in result.violations]
    assert result.run is not None
    return result.run


@pytest.fixture(scope="module")
def platform_plan() -> PlanRun:
    return _plan("platform")


def test_the_workspace_is_encrypted_with_the_environments_key(platform_plan: PlanRun) -> None:
    workspace = one(platform_plan, "aws:amp/workspace:Workspace")
    key = one(platform_plan, "aws:kms/key:Key", "prod-observability-key")
    assert workspace.inputs["alias"] == "datafly-prod"
    alias = one(platform_plan, "aws:kms/alias:Alias", "prod-observability-key-alias")
    assert alias.inputs["name"] == "alias/datafly-prod-observability"
    assert workspace.inputs["kmsKeyArn"].endswith(":key/" + alias.inputs["targetKeyId"])
    assert workspace.protect and key.protect
    policy = json.loads(key.inputs["policy"])
    publishers = policy["Statement"][1]
    assert publishers["Principal"] == {"Service": ["aps.amazonaws.com", "cloudwatch.amazonaws.com"]}
    assert publishers["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    # Query logging is off unless configured.
    assert "loggingConfiguration" not in workspace.inputs


def test_the_scraper_runs_in_the_clusters_private_subnets_and_may_read_the_cluster(platform_plan: PlanRun) -> None:
    scraper = one(platform_plan, "aws:amp/scraper:Scraper")
    assert scraper.inputs["alias"] == "datafly-prod-scraper"
    eks = scraper.inputs["source"]["eks"]
    assert eks["clusterArn"].startswith("arn:aws:eks:us-east-1:123456789012:cluster/")
    assert eks["subnetIds"] == platform_plan.outputs["privateSubnetIds"].value
    assert eks["securityGroupIds"] == [platform_plan.outputs["nodeSecurityGroupId"].value]
    assert scraper.inputs["destination"]["amp"]["workspaceArn"] == platform_plan.outputs["prometheusWorkspaceArn"].value
    assert scraper.inputs["scrapeConfiguration"] == scrape_configuration("60s")
    entry = one(platform_plan, "aws:eks/accessEntry:AccessEntry", "prod-observability-scraper-access")
    assert entry.inputs["userName"] == SCRAPER_USER
    assert "AWSServiceRoleForAmazonPrometheusScraper_" in entry.inputs["principalArn"]
    binding = one(platform_plan, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
    assert binding.inputs["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                                           "name": SCRAPER_USER}]


def test_kube_state_metrics_is_pinned_and_keda_exposes_its_metrics(platform_plan: PlanRun) -> None:
    release = one(platform_plan, "kubernetes:helm.sh/v3:Release", "prod-observability-kube-state-metrics")
    assert release.inputs["version"] == KUBE_STATE_METRICS_CHART.version == "8.4.0"
    assert release.inputs["values"]["collectors"] == ["deployments", "horizontalpodautoscalers", "jobs", "pods"]
    keda = one(platform_plan, "kubernetes:helm.sh/v3:Release", "prod-keda-release")
    assert keda.inputs["values"]["prometheus"] == {
        "operator": {"enabled": True}, "metricServer": {"enabled": True}, "webhooks": {"enabled": False}}


def test_rules_and_alertmanager_are_loaded_and_route_to_the_encrypted_topic(platform_plan: PlanRun) -> None:
    rules = one(platform_plan, RULE_GROUP_NAMESPACE_TYPE)
    assert rules.inputs["data"] == rule_group_data("https://github.com/datafly/signal-infrastructure/blob/main")
    topic = one(platform_plan, "aws:sns/topic:Topic")
    assert topic.inputs["name"] == "datafly-prod-alerts"
    assert topic.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")
    topic_arn = platform_plan.outputs["alertsTopicArn"].value
    assert topic_arn == "arn:aws:sns:us-east-1:123456789012:datafly-prod-alerts"
    definition = yaml.safe_load(one(platform_plan, "aws:amp/alertManagerDefinition:AlertManagerDefinition")
                                .inputs["definition"])
    config = yaml.safe_load(definition["alertmanager_config"])
    assert config["receivers"][0]["sns_configs"][0]["topic_arn"] == topic_arn
    policy = json.loads(one(platform_plan, "aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    assert [s["Principal"]["Service"] for s in policy["Statement"]] == ["aps.amazonaws.com",
                                                                         "cloudwatch.amazonaws.com"]


def _with_rules(run_: PlanRun, document: dict[str, Any]) -> PlanRun:
    resources = [replace(r, inputs={**r.inputs, "data": yaml.safe_dump(document)})
                 if r.type == RULE_GROUP_NAMESPACE_TYPE else r for r in run_.resources]
    return replace(run_, resources=resources)


@pytest.mark.parametrize(("expr", "message"), [
    ("sum(kube_pod_status_phase", "expr does not parse"),
    ("kube_pod_status_phaze > 0", "selects kube_pod_status_phaze, which no scraped exporter emits"),
])
def test_the_plan_fails_on_a_bad_alert_rule(platform_plan: PlanRun, expr: str, message: str) -> None:
    bad = _with_rules(platform_plan, {"groups": [{"name": "g", "rules": [{"alert": "Bad", "expr": expr}]}]})
    result = plan.Planner._check(plan.PlanResult("platform", plan.EXIT_OK, run=bad, kubernetes_version="1.35"))
    assert result.exit_code == plan.EXIT_VIOLATIONS
    assert [v.message.split(":")[0] for v in result.violations] == ["rule Bad"]
    assert message in result.violations[0].message


def plan_platform(**overrides: Any) -> PlanRun:
    config = PlatformConfig.model_validate({"environment": "test", "cluster": {"adminRoleArns": [ADMIN], "privateAccessCidrs": ["10.100.0.0/16"]}, **overrides})
    return run(lambda: deploy_platform("us-east-1", config), stack="test")


def test_subscriptions_and_query_logging_come_from_config() -> None:
    plan_run = plan_platform(observability={
        "queryLogging": True,
        "subscriptions": [
            {"protocol": "email", "endpoint": "oncall@example.com"},
            {"protocol": "https", "endpoint": "https://hooks.example.com/datafly", "customers": ["acme"]},
        ],
    })
    email, https = sorted(of_type(plan_run, "aws:sns/topicSubscription:TopicSubscription"), key=lambda r: r.name)
    assert (email.inputs["protocol"], email.inputs["endpoint"]) == ("email", "oncall@example.com")
    assert "filterPolicy" not in email.inputs
    assert json.loads(https.inputs["filterPolicy"]) == {"customer": ["acme"]}
    workspace = one(plan_run, "aws:amp/workspace:Workspace")
    assert workspace.inputs["loggingConfiguration"]["logGroupArn"].endswith(":*")


def test_observability_can_be_switched_off() -> None:
    plan_run = plan_platform(observability={"enabled": False})
    assert not of_type(plan_run, "aws:amp/workspace:Workspace")
    assert "alertsTopicArn" not in plan_run.outputs


@pytest.mark.parametrize(("subscription", "message"), [
    ({"protocol": "https", "endpoint": "oncall@example.com"},
     "datafly:platform.observability.subscriptions.0.endpoint: got 'oncall@example.com'; does not fit protocol https"),
    ({"protocol": "sms", "endpoint": "oncall@example.com"},
     "datafly:platform.observability.subscriptions.0.protocol: got 'sms'; expected 'email' or 'https'"),
])
def test_a_bad_subscription_is_a_config_error(subscription: dict[str, str], message: str) -> None:
    config = {"environment": "test", "cluster": {"adminRoleArns": [ADMIN], "privateAccessCidrs": ["10.100.0.0/16"]},
              "observability": {"subscriptions": [subscription]}}
    with pytest.raises(ConfigError) as caught:
        load_config({"aws:region": "us-east-1", "datafly:platform": json.dumps(config)})
    assert str(caught.value) == message


def _alarms(run_: PlanRun) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in of_type(run_, ALARM)}


def test_a_shared_platform_customer_alarms_on_its_database_and_cache(platform_plan: PlanRun) -> None:
    acme = _plan("acme")
    alarms = _alarms(acme)
    topic = platform_plan.outputs["alertsTopicArn"].value
    assert set(alarms) == {f"datafly-prod-acme-{r}" for r in (
        "rds-cpu", "rds-free-storage", "rds-freeable-memory", "rds-connections",
        "cache-cpu-001", "cache-memory-001", "cache-evictions-001",
        "event-processor-lag", "delivery-workers-lag")}
    assert all(a["alarmActions"] == [topic] and a["okActions"] == [topic] for a in alarms.values())
    cpu = alarms["datafly-prod-acme-rds-cpu"]
    assert (cpu["namespace"], cpu["metricName"], cpu["dimensions"], cpu["threshold"], cpu["statistic"]) == (
        "AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": "datafly-prod-acme"}, 80, "Average")
    assert alarms["datafly-prod-acme-rds-free-storage"]["threshold"] == 5 * 1024**3
    assert alarms["datafly-prod-acme-cache-memory-001"]["dimensions"] == {"CacheClusterId": "datafly-prod-acme-001"}
    # Its consumer groups on the platform's shared MSK (no broker disk alarms: those
    # brokers are the platform's).
    assert alarms["datafly-prod-acme-event-processor-lag"]["dimensions"] == {
        "Cluster Name": platform_plan.outputs["kafkaClusterName"].value,
        "Consumer Group": "acme.event-processor", "Topic": "acme.events.raw"}
    body = json.loads(one(acme, "aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    titles = [w["properties"]["title"] for w in body["widgets"]]
    assert "PostgreSQL CPU %" in titles and "Load balancer requests and 5xx" in titles
    assert "Kafka data log disk %" not in titles and "Kafka consumer lag (SumOffsetLag)" in titles
    assert "k8s-customeracme" in json.dumps(body)


def test_a_dedicated_kafka_customer_alarms_per_broker_and_consumer_group() -> None:
    globex = _plan("globex")
    alarms = _alarms(globex)
    disks = sorted(a["dimensions"]["Broker ID"] for n, a in alarms.items() if "-kafka-disk-" in n)
    assert disks == ["1", "2", "3"]
    lag = alarms["datafly-prod-globex-event-processor-lag"]
    assert (lag["namespace"], lag["metricName"], lag["threshold"]) == ("AWS/Kafka", "SumOffsetLag", 100000)
    assert lag["dimensions"] == {"Cluster Name": "datafly-prod-globex", "Consumer Group": "globex.event-processor",
                                 "Topic": "globex.events.raw"}


def test_a_dedicated_cluster_customer_gets_its_own_pipeline_and_topic() -> None:
    initech = _plan("initech")
    assert one(initech, "aws:amp/workspace:Workspace").inputs["alias"] == "datafly-prod-initech"
    topic = initech.outputs["alertsTopicArn"].value
    assert topic.endswith(":datafly-prod-initech-alerts")
    assert all(a["alarmActions"] == [topic] for a in _alarms(initech).values())
