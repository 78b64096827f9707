"""A customer's CloudWatch alarms and dashboard, as plain data.

Metric names and dimensions (AWS documentation):
- RDS `AWS/RDS` CPUUtilization, FreeStorageSpace (bytes), FreeableMemory (bytes),
  DatabaseConnections by DBInstanceIdentifier:
  https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html
- ElastiCache `AWS/ElastiCache` EngineCPUUtilization, DatabaseMemoryUsagePercentage,
  Evictions by CacheClusterId (each member node of the replication group):
  https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.Redis.html
- MSK `AWS/Kafka` KafkaDataLogsDiskUsed (percent) by "Cluster Name", "Broker ID" (DEFAULT
  level), SumOffsetLag by "Cluster Name", "Consumer Group", "Topic" (the program's clusters
  monitor at PER_TOPIC_PER_PARTITION, components/msk_cluster.py):
  https://docs.aws.amazon.com/msk/latest/developerguide/metrics-details.html
- ALB `AWS/ApplicationELB` by LoadBalancer (`app/<name>/<id>`):
  https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Optional

from stackconfig.tenant import AlarmThresholds

GIB = 1024**3
MIB = 1024**2
# CloudWatch alarm names: 1-255 characters; dashboard names: 1-255 of [0-9A-Za-z_-]
# (PutMetricAlarm / PutDashboard API references).
ALARM_NAME_MAX = 255
_DASHBOARD_NAME = re.compile(r"^[0-9A-Za-z_-]{1,255}$")
PERIOD = 300


@dataclass(frozen=True)
class AlarmSpec:
    role: str  # suffix of the alarm's Pulumi and physical name, e.g. "rds-cpu"
    namespace: str
    metric_name: str
    dimension_keys: tuple[str, ...]
    statistic: str
    comparison: str
    threshold: float
    evaluation_periods: int
    description: str
    treat_missing_data: str = "missing"

    def name(self, prefix: str) -> str:
        name = f"{prefix}-{self.role}"
        if len(name) > ALARM_NAME_MAX:
            raise ValueError(f"alarm name {name!r} is longer than {ALARM_NAME_MAX} characters")
        return name


def rds_alarms(t: AlarmThresholds) -> list[AlarmSpec]:
    dims = ("DBInstanceIdentifier",)
    return [
        AlarmSpec("rds-cpu", "AWS/RDS", "CPUUtilization", dims, "Average", "GreaterThanThreshold",
                  t.rds_cpu_percent, 3, f"PostgreSQL CPU above {t.rds_cpu_percent}% for 15 minutes"),
        # Missing storage data means the instance is not reporting: worth a look.
        AlarmSpec("rds-free-storage", "AWS/RDS", "FreeStorageSpace", dims, "Minimum", "LessThanThreshold",
                  t.rds_free_storage_gib * GIB, 2, f"PostgreSQL free storage below {t.rds_free_storage_gib} GiB",
                  treat_missing_data="breaching"),
        AlarmSpec("rds-freeable-memory", "AWS/RDS", "FreeableMemory", dims, "Average", "LessThanThreshold",
                  t.rds_freeable_memory_mib * MIB, 3,
                  f"PostgreSQL freeable memory below {t.rds_freeable_memory_mib} MiB for 15 minutes"),
        AlarmSpec("rds-connections", "AWS/RDS", "DatabaseConnections", dims, "Maximum", "GreaterThanThreshold",
                  t.rds_connections, 3, f"PostgreSQL connections above {t.rds_connections} for 15 minutes"),
    ]


def cache_alarms(t: AlarmThresholds, node: int) -> list[AlarmSpec]:
    """One set per member node (CacheClusterId): a replica's memory can fill on its own."""
    dims = ("CacheClusterId",)
    n = f"{node:03d}"
    return [
        AlarmSpec(f"cache-cpu-{n}", "AWS/ElastiCache", "EngineCPUUtilization", dims, "Average",
                  "GreaterThanThreshold", t.cache_cpu_percent, 3,
                  f"cache node {n}: engine CPU above {t.cache_cpu_percent}% for 15 minutes"),
        AlarmSpec(f"cache-memory-{n}", "AWS/ElastiCache", "DatabaseMemoryUsagePercentage", dims, "Average",
                  "GreaterThanThreshold", t.cache_memory_percent, 3,
                  f"cache node {n}: memory use above {t.cache_memory_percent}% for 15 minutes"),
        AlarmSpec(f"cache-evictions-{n}", "AWS/ElastiCache", "Evictions", dims, "Sum", "GreaterThanThreshold",
                  t.cache_evictions, 2, f"cache node {n}: more than {t.cache_evictions} evictions per 5 minutes"),
    ]


def kafka_disk_alarm(t: AlarmThresholds, broker_id: int) -> AlarmSpec:
    return AlarmSpec(f"kafka-disk-{broker_id}", "AWS/Kafka", "KafkaDataLogsDiskUsed", ("Cluster Name", "Broker ID"),
                     "Maximum", "GreaterThanThreshold", t.kafka_disk_used_percent, 2,
                     f"Kafka broker {broker_id}: data log disk above {t.kafka_disk_used_percent}%")


def kafka_lag_alarm(t: AlarmThresholds, service: str) -> AlarmSpec:
    """On the customer's own MSK cluster, or on the platform's shared one (its consumer
    groups and topics carry the customer's prefix)."""
    return AlarmSpec(f"{service}-lag", "AWS/Kafka", "SumOffsetLag", ("Cluster Name", "Consumer Group", "Topic"),
                     "Maximum", "GreaterThanThreshold", t.kafka_consumer_lag, 2,
                     f"{service}: consumer group lag above {t.kafka_consumer_lag} messages for 10 minutes")


def dashboard_name(prefix: str) -> str:
    if not _DASHBOARD_NAME.match(prefix):
        raise ValueError(f"dashboard name {prefix!r}: 1-255 characters of [0-9A-Za-z_-]")
    return prefix


def alb_search_term(ingress_group: str) -> str:
    """The ALB controller names an IngressGroup's load balancer
    `k8s-<first 17 alphanumerics of the group>-<hash>` (kubernetes-sigs/aws-load-balancer-controller
    pkg/ingress/model_build_load_balancer.go at v3.5.0). The name is only known once the
    controller creates it, so the dashboard finds it with a CloudWatch SEARCH on that
    prefix, quoted so that it matches whole tokens only
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/search-expression-syntax.html)."""
    return "k8s-" + re.sub(r"[^0-9A-Za-z]", "", ingress_group)[:17]


def _widget(title: str, metrics: list[Any], region: str, stat: str, index: int) -> dict[str, Any]:
    return {
        "type": "metric",
        "x": (index % 2) * 12,
        "y": (index // 2) * 6,
        "width": 12,
        "height": 6,
        "properties": {"title": title, "view": "timeSeries", "region": region, "stat": stat,
                       "period": PERIOD, "metrics": metrics},
    }


def dashboard_body(
    *,
    region: str,
    db_instance: str,
    cache_nodes: list[str],
    kafka_cluster: Optional[str],
    kafka_brokers: int,
    lag: list[tuple[str, str]],
    alb_ingress_group: Optional[str],
) -> dict[str, Any]:
    """The customer's dashboard (CloudWatch dashboard body structure:
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html).
    `lag` is (consumer group, topic) per consumer."""
    rds = ["AWS/RDS"]
    panels: list[tuple[str, list[Any], str]] = [
        ("PostgreSQL CPU %", [[*rds, "CPUUtilization", "DBInstanceIdentifier", db_instance]], "Average"),
        ("PostgreSQL connections", [[*rds, "DatabaseConnections", "DBInstanceIdentifier", db_instance]], "Maximum"),
        ("PostgreSQL free storage / freeable memory (bytes)",
         [[*rds, "FreeStorageSpace", "DBInstanceIdentifier", db_instance],
          [*rds, "FreeableMemory", "DBInstanceIdentifier", db_instance]], "Minimum"),
        ("Cache engine CPU %",
         [["AWS/ElastiCache", "EngineCPUUtilization", "CacheClusterId", n] for n in cache_nodes], "Average"),
        ("Cache memory % / evictions",
         [*(["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", n] for n in cache_nodes),
          *(["AWS/ElastiCache", "Evictions", "CacheClusterId", n, {"stat": "Sum", "yAxis": "right"}]
            for n in cache_nodes)], "Average"),
    ]
    if kafka_cluster is not None:
        if kafka_brokers:
            panels.append(("Kafka data log disk %",
                           [["AWS/Kafka", "KafkaDataLogsDiskUsed", "Cluster Name", kafka_cluster, "Broker ID", str(b)]
                            for b in range(1, kafka_brokers + 1)], "Maximum"))
        if lag:
            panels.append(("Kafka consumer lag (SumOffsetLag)",
                           [["AWS/Kafka", "SumOffsetLag", "Cluster Name", kafka_cluster, "Consumer Group", group,
                             "Topic", topic] for group, topic in lag], "Maximum"))
    if alb_ingress_group is not None:
        term = alb_search_term(alb_ingress_group)
        panels.append(("Load balancer requests and 5xx", [
            [{"expression": f"SEARCH('{{AWS/ApplicationELB,LoadBalancer}} MetricName=\"{metric}\" \"{term}\"', "
                            f"'Sum', {PERIOD})", "id": f"e{i}", "label": metric}]
            for i, metric in enumerate(("RequestCount", "HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count"))
        ], "Sum"))
        panels.append(("Load balancer target response time (p95)", [
            [{"expression": f"SEARCH('{{AWS/ApplicationELB,LoadBalancer}} MetricName=\"TargetResponseTime\" "
                            f"\"{term}\"', 'p95', {PERIOD})", "id": "e9", "label": "TargetResponseTime"}]
        ], "p95"))
    return {"widgets": [_widget(title, metrics, region, stat, i) for i, (title, metrics, stat) in enumerate(panels)]}
