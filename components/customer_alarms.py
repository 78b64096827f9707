"""A customer's CloudWatch alarms on its own data stores, and its dashboard. Alarm
actions go to the environment's alerts topic (the platform's `alertsTopicArn`, or the
dedicated cluster's own)."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from builders import alarms as build
from stackconfig.tenant import AlarmThresholds


@dataclass(frozen=True)
class ConsumerLag:
    service: str  # Kubernetes name of the consuming Deployment
    consumer_group: str
    topic: str


@dataclass(frozen=True)
class CustomerAlarmsArgs:
    # `datafly-<environment>-<customer>`: alarm and dashboard names are account/region-unique.
    prefix: pulumi.Input[str]
    region: str
    thresholds: AlarmThresholds
    alarm_actions: pulumi.Input[Sequence[str]]
    db_instance: str
    cache_nodes: pulumi.Input[Sequence[str]]
    # Known from config: resources cannot be counted from an output.
    cache_node_count: int
    kafka_cluster_name: Optional[pulumi.Input[str]] = None
    kafka_broker_count: int = 0
    consumer_lag: Sequence[ConsumerLag] = ()
    alb_ingress_group: Optional[str] = None


class CustomerAlarms(pulumi.ComponentResource):
    def __init__(self, name: str, args: CustomerAlarmsArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:tenant:CustomerAlarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = pulumi.Output.from_input(args.prefix)
        t = args.thresholds
        alarms: list[aws.cloudwatch.MetricAlarm] = []

        def alarm(spec: build.AlarmSpec, dimensions: pulumi.Input[dict[str, str]]) -> None:
            alarms.append(aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.role}",
                name=prefix.apply(spec.name),
                alarm_description=spec.description,
                namespace=spec.namespace,
                metric_name=spec.metric_name,
                dimensions=dimensions,
                statistic=spec.statistic,
                period=build.PERIOD,
                evaluation_periods=spec.evaluation_periods,
                comparison_operator=spec.comparison,
                threshold=spec.threshold,
                treat_missing_data=spec.treat_missing_data,
                alarm_actions=args.alarm_actions,
                ok_actions=args.alarm_actions,
                opts=child,
            ))

        for spec in build.rds_alarms(t):
            alarm(spec, {"DBInstanceIdentifier": args.db_instance})
        nodes = pulumi.Output.from_input(args.cache_nodes)
        for node in range(1, args.cache_node_count + 1):
            for spec in build.cache_alarms(t, node):
                alarm(spec, nodes.apply(functools.partial(_cache_dimensions, node)))
        lag_pairs: list[tuple[str, str]] = []
        if args.kafka_cluster_name is not None:
            cluster = pulumi.Output.from_input(args.kafka_cluster_name)
            for broker in range(1, args.kafka_broker_count + 1):
                alarm(build.kafka_disk_alarm(t, broker),
                      cluster.apply(functools.partial(_broker_dimensions, broker)))
            for lag in args.consumer_lag:
                alarm(build.kafka_lag_alarm(t, lag.service),
                      cluster.apply(functools.partial(_lag_dimensions, lag)))
                lag_pairs.append((lag.consumer_group, lag.topic))

        body = pulumi.Output.all(nodes, args.kafka_cluster_name).apply(lambda v: json.dumps(build.dashboard_body(
            region=args.region,
            db_instance=args.db_instance,
            cache_nodes=sorted(v[0]),
            kafka_cluster=v[1],
            kafka_brokers=args.kafka_broker_count,
            lag=lag_pairs,
            alb_ingress_group=args.alb_ingress_group,
        ), sort_keys=True))
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=prefix.apply(build.dashboard_name),
            dashboard_body=body,
            opts=child,
        )
        self.alarm_names = [a.name for a in alarms]
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"alarmNames": self.alarm_names, "dashboardName": self.dashboard_name})


def _cache_dimensions(node: int, member_clusters: Sequence[str]) -> dict[str, str]:
    """Node `node` (1-based) of the replication group's members, in ElastiCache's
    `<group>-001`, `-002`... order."""
    return {"CacheClusterId": sorted(member_clusters)[node - 1]}


def _broker_dimensions(broker: int, cluster: str) -> dict[str, str]:
    return {"Cluster Name": cluster, "Broker ID": str(broker)}


def _lag_dimensions(lag: ConsumerLag, cluster: str) -> dict[str, str]:
    return {"Cluster Name": cluster, "Consumer Group": lag.consumer_group, "Topic": lag.topic}
