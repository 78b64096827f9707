"""Autoscalers for the services whose `autoscaling.<service>.enabled` is true.

metricsProvider `keda`: one KEDA ScaledObject per service (CPU, plus Kafka consumer
lag where `lagThreshold` is set) and one TriggerAuthentication for MSK IAM.
metricsProvider `prometheus`: an autoscaling/v2 HorizontalPodAutoscaler on CPU plus,
for the Kafka consumers, consumer lag as an External metric (name configurable:
`autoscaling.prometheus.lagMetricName`), served by the Prometheus adapter of the
environment's metrics pipeline, which this program does not install.

KEDA facts (v2.20): the `kafka` scaler authenticates to MSK IAM with
`sasl: oauthbearer` + `saslTokenProvider: aws_msk_iam`, needs `tls: enable` and
`awsRegion` (its `sasl` enum has no `aws_msk_iam` value); every metadata value is a
string. https://keda.sh/docs/2.20/scalers/apache-kafka/ and
https://keda.sh/docs/2.20/authentication-providers/aws/ — the TriggerAuthentication
uses `podIdentity.provider: aws` with `roleArn`: the KEDA operator (its own IRSA role)
assumes the customer's `datafly-keda-<environment>-<customer>` lag-reader role, which may only
describe the customer's cluster, topics and groups.
"""

from __future__ import annotations

from typing import Any

from pulumi import Input

from stackconfig.model import TenantConfig

from .labels import common_labels
from .namespace import namespace_name
from .services import CATALOGUE, ServiceSpec, autoscaling_config, consumed_topic, consumer_group, is_autoscaled

KAFKA_TRIGGER_AUTH = "kafka-msk-iam"


def _meta(config: TenantConfig, name: str, component: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace_name(config.name),
        "labels": common_labels(config.name, component=component, name=name),
    }


def _target(svc: ServiceSpec) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": svc.name}


def autoscaled(config: TenantConfig) -> list[ServiceSpec]:
    return [svc for svc in CATALOGUE if is_autoscaled(config, svc.key)]


def _check(config: TenantConfig, svc: ServiceSpec, *, keda: bool) -> None:
    scaling = autoscaling_config(config, svc.key)
    if scaling.lag_threshold is not None and svc.kafka_consumer_group is None:
        raise ValueError(
            f"autoscaling.{svc.key}.lagThreshold: got {scaling.lag_threshold}; "
            f"{svc.name} consumes no Kafka topic, so it has no consumer lag"
        )
    lag_trigger = keda and scaling.lag_threshold is not None
    if scaling.min_replicas == 0 and not lag_trigger:
        raise ValueError(
            f"autoscaling.{svc.key}.minReplicas: got 0; scaling to zero needs a Kafka lag "
            "trigger (CPU cannot wake a service with no pods)"
            + ("" if keda else ", which metricsProvider prometheus does not provide")
        )


def scaled_object(config: TenantConfig, svc: ServiceSpec, *, kafka_bootstrap: Input[str],
                  kafka_topic_prefix: str, region: str) -> dict[str, Any]:
    _check(config, svc, keda=True)
    scaling = autoscaling_config(config, svc.key)
    triggers: list[dict[str, Any]] = [{
        "type": "cpu",
        "metricType": "Utilization",
        "metadata": {"value": str(scaling.target_cpu_utilization_percentage)},
    }]
    if scaling.lag_threshold is not None:
        group = consumer_group(kafka_topic_prefix, svc.key)
        topic = consumed_topic(kafka_topic_prefix, svc.key)
        assert group is not None and topic is not None  # _check guarantees a consumer
        metadata = {
            "bootstrapServers": kafka_bootstrap,
            "consumerGroup": group,
            "topic": topic,
            "lagThreshold": str(scaling.lag_threshold),
            "offsetResetPolicy": "latest",
            "sasl": "oauthbearer",
            "saslTokenProvider": "aws_msk_iam",
            "tls": "enable",
            "awsRegion": region,
        }
        if scaling.activation_lag_threshold is not None:
            metadata["activationLagThreshold"] = str(scaling.activation_lag_threshold)
        triggers.append({
            "type": "kafka",
            "name": "consumer-lag",
            "metadata": metadata,
            "authenticationRef": {"name": KAFKA_TRIGGER_AUTH, "kind": "TriggerAuthentication"},
        })
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": _meta(config, svc.name, svc.component),
        "spec": {
            "scaleTargetRef": _target(svc),
            "pollingInterval": config.autoscaling.polling_interval,
            "cooldownPeriod": config.autoscaling.cooldown_period,
            "minReplicaCount": scaling.min_replicas,
            "maxReplicaCount": scaling.max_replicas,
            "triggers": triggers,
        },
    }


def trigger_authentication(config: TenantConfig, keda_role_arn: Input[str]) -> dict[str, Any]:
    """KEDA's operator assumes the customer's own lag-reader role (read-only on the
    customer's topic prefix), so one customer's ScaledObjects can never read another's
    lag. https://keda.sh/docs/2.20/authentication-providers/aws/"""
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": _meta(config, KAFKA_TRIGGER_AUTH, "autoscaling"),
        "spec": {"podIdentity": {"provider": "aws", "roleArn": keda_role_arn}},
    }


def horizontal_pod_autoscaler(config: TenantConfig, svc: ServiceSpec, kafka_topic_prefix: str) -> dict[str, Any]:
    _check(config, svc, keda=False)
    scaling = autoscaling_config(config, svc.key)
    metrics: list[dict[str, Any]] = [{
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": scaling.target_cpu_utilization_percentage},
        },
    }]
    group = consumer_group(kafka_topic_prefix, svc.key)
    if scaling.lag_threshold is not None and group is not None:
        # Consumer lag as an External metric served by a Prometheus adapter (which the
        # platform does not install: the pipeline is the customer's choice here).
        metrics.append({
            "type": "External",
            "external": {
                "metric": {
                    "name": config.autoscaling.prometheus.lag_metric_name,
                    "selector": {"matchLabels": {"consumergroup": group}},
                },
                "target": {"type": "AverageValue", "averageValue": str(scaling.lag_threshold)},
            },
        })
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": _meta(config, svc.name, svc.component),
        "spec": {
            "scaleTargetRef": _target(svc),
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": metrics,
        },
    }


def autoscalers(config: TenantConfig, *, kafka_bootstrap: Input[str], kafka_topic_prefix: str,
                region: str, keda_role_arn: Input[str]) -> list[dict[str, Any]]:
    """The TriggerAuthentication (when a lag trigger needs it) then one autoscaler per
    autoscaled service, in catalogue order."""
    services = autoscaled(config)
    if config.autoscaling.metrics_provider == "prometheus":
        return [horizontal_pod_autoscaler(config, svc, kafka_topic_prefix) for svc in services]
    objects = [
        scaled_object(config, svc, kafka_bootstrap=kafka_bootstrap,
                      kafka_topic_prefix=kafka_topic_prefix, region=region)
        for svc in services
    ]
    uses_kafka = any(
        t["type"] == "kafka" for obj in objects for t in obj["spec"]["triggers"]
    )
    return ([trigger_authentication(config, keda_role_arn)] if uses_kafka else []) + objects
