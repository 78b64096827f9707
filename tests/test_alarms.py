"""The pure alarm and dashboard builders: thresholds from config, real metric names and
dimensions, the ALB name prefix, and dashboard bodies CloudWatch accepts."""

from __future__ import annotations

import json

import pytest

from builders import alarms
from stackconfig.tenant import AlarmThresholds


@pytest.mark.parametrize(("field", "value", "role", "threshold"), [
    ("rds_cpu_percent", 55, "rds-cpu", 55),
    ("rds_free_storage_gib", 10, "rds-free-storage", 10 * 1024**3),
    ("rds_freeable_memory_mib", 512, "rds-freeable-memory", 512 * 1024**2),
    ("rds_connections", 400, "rds-connections", 400),
])
def test_rds_thresholds_come_from_config(field: str, value: int, role: str, threshold: int) -> None:
    specs = {s.role: s for s in alarms.rds_alarms(AlarmThresholds.model_validate({field: value}))}
    assert specs[role].threshold == threshold
    assert specs[role].namespace == "AWS/RDS" and specs[role].dimension_keys == ("DBInstanceIdentifier",)


def test_defaults_match_the_documented_table() -> None:
    t = AlarmThresholds()
    assert [(s.role, s.metric_name, s.comparison, s.threshold, s.evaluation_periods) for s in alarms.rds_alarms(t)] == [
        ("rds-cpu", "CPUUtilization", "GreaterThanThreshold", 80, 3),
        ("rds-free-storage", "FreeStorageSpace", "LessThanThreshold", 5 * 1024**3, 2),
        ("rds-freeable-memory", "FreeableMemory", "LessThanThreshold", 128 * 1024**2, 3),
        ("rds-connections", "DatabaseConnections", "GreaterThanThreshold", 80, 3),
    ]
    assert [(s.role, s.metric_name, s.statistic, s.threshold) for s in alarms.cache_alarms(t, 2)] == [
        ("cache-cpu-002", "EngineCPUUtilization", "Average", 80),
        ("cache-memory-002", "DatabaseMemoryUsagePercentage", "Average", 80),
        ("cache-evictions-002", "Evictions", "Sum", 100),
    ]
    disk = alarms.kafka_disk_alarm(t, 3)
    assert (disk.metric_name, disk.dimension_keys, disk.threshold) == (
        "KafkaDataLogsDiskUsed", ("Cluster Name", "Broker ID"), 80)
    lag = alarms.kafka_lag_alarm(t, "event-processor")
    assert (lag.metric_name, lag.dimension_keys, lag.threshold) == (
        "SumOffsetLag", ("Cluster Name", "Consumer Group", "Topic"), 100000)


def test_a_threshold_outside_its_range_is_refused() -> None:
    with pytest.raises(ValueError, match="less than or equal to 100"):
        AlarmThresholds.model_validate({"rdsCpuPercent": 150})


def test_alb_prefix_follows_the_controllers_naming() -> None:
    # k8s-%.17s of the group name without non-alphanumerics.
    assert alarms.alb_search_term("customer-acme") == "k8s-customeracme"
    assert alarms.alb_search_term("customer-averyverylongname") == "k8s-customeraveryvery"


@pytest.mark.parametrize(("kafka", "brokers", "lag", "alb", "titles"), [
    (None, 0, [], None, 5),
    ("datafly-prod", 0, [("acme.event-processor", "acme.events.raw")], "customer-acme", 8),
    ("datafly-globex", 3, [("g", "t")], None, 7),
])
def test_every_dashboard_widget_has_metrics(kafka: str | None, brokers: int, lag: list[tuple[str, str]],
                                            alb: str | None, titles: int) -> None:
    body = alarms.dashboard_body(region="us-east-1", db_instance="datafly-acme", cache_nodes=["datafly-acme-001"],
                                 kafka_cluster=kafka, kafka_brokers=brokers, lag=lag, alb_ingress_group=alb)
    assert len(body["widgets"]) == titles
    for widget in body["widgets"]:
        assert widget["properties"]["metrics"], widget["properties"]["title"]
        assert widget["properties"]["region"] == "us-east-1"
        assert widget["width"] + widget["x"] <= 24
    json.dumps(body)


def test_names_are_checked_against_cloudwatchs_limits() -> None:
    with pytest.raises(ValueError, match="dashboard name"):
        alarms.dashboard_name("datafly prod")
    spec = alarms.rds_alarms(AlarmThresholds())[0]
    with pytest.raises(ValueError, match="longer than 255"):
        spec.name("x" * 250)
