"""Autoscalers for the services whose `autoscaling.<service>.enabled` is true.

Every autoscaled service gets one KEDA ScaledObject (CPU, plus Kafka consumer lag where
`lagThreshold` is set); KEDA creates and owns the HPA behind it. The lag comes from:

- metricsProvider `keda`: KEDA's `kafka` scaler reading MSK (one TriggerAuthentication
  for MSK IAM);
- metricsProvider `prometheus`: KEDA's `prometheus` scaler querying the customer's
  Prometheus (`autoscaling.prometheus.serverAddress`) for `lagMetricName`.

Why not a plain HPA with an External metric for `prometheus`: the platform runs KEDA,
and KEDA's metrics server registers the cluster's only `v1beta1.external.metrics.k8s.io`
APIService (kedacore/charts `keda/templates/metrics-server/apiservice.yaml`@v2.20.2). An
HPA's External metric is served by whoever owns that APIService, and KEDA serves only
the metrics of its own ScaledObjects, so a Prometheus adapter's metric would never
arrive: the HPA would scale up on CPU and never scale down on lag. offline/check/behaviour.py
refuses such an HPA.

`cooldownPeriod`: KEDA applies `spec.cooldownPeriod` only when scaling to zero
(kedacore/keda `pkg/scaling/executor/scale_scaledobjects.go`@v2.20.2,
`scaleToZeroOrIdle`); between minReplicas and maxReplicas the HPA decides, with its
default 300 s scale-down stabilization. The setting's intent (wait this long before
removing replicas) is therefore also the HPA's scale-down stabilization window,
`spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds`.

KEDA facts (v2.20): the `kafka` scaler authenticates to MSK IAM with
`sasl: oauthbearer` + `saslTokenProvider: aws_msk_iam`, needs `tls: enable` and
`awsRegion` (its `sasl` enum has no `aws_msk_iam` value); every metadata value is a
string. https://keda.sh/docs/2.20/scalers/apache-kafka/ and
https://keda.sh/docs/2.20/authentication-providers/aws/ — the TriggerAuthentication
uses `podIdentity.provider: aws` with `roleArn`: the KEDA operator (its own IRSA role)
assumes the customer's `datafly-keda-<environment>-<customer>` lag-reader role, which may only
describe the customer's cluster, topics and groups. The `prometheus` scaler takes
`serverAddress`, `query`, `threshold` and `activationThreshold`
(kedacore/keda `pkg/scalers/prometheus_scaler.go`@v2.20.2).
"""

from __future__ import annotations

from typing import Any

from pulumi import Input

from stackconfig import TenantConfig

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


def _check(config: TenantConfig, svc: ServiceSpec) -> None:
    scaling = autoscaling_config(config, svc.key)
    if scaling.lag_threshold is not None and svc.kafka_consumer_group is None:
        raise ValueError(
            f"autoscaling.{svc.key}.lagThreshold: got {scaling.lag_threshold}; "
            f"{svc.name} consumes no Kafka topic, so it has no consumer lag"
        )
    if scaling.min_replicas == 0 and scaling.lag_threshold is None:
        raise ValueError(
            f"autoscaling.{svc.key}.minReplicas: got 0; scaling to zero needs a Kafka lag "
            "trigger (CPU cannot wake a service with no pods)"
        )


def scaled_object(config: TenantConfig, svc: ServiceSpec, *, kafka_bootstrap: Input[str],
                  kafka_topic_prefix: str, region: str) -> dict[str, Any]:
    _check(config, svc)
    scaling = autoscaling_config(config, svc.key)
    triggers: list[dict[str, Any]] = [{
        "type": "cpu",
        "metricType": "Utilization",
        "metadata": {"value": str(scaling.target_cpu_utilization_percentage)},
    }]
    if scaling.lag_threshold is not None and config.autoscaling.metrics_provider == "prometheus":
        triggers.append(prometheus_lag_trigger(config, svc, kafka_topic_prefix))
    elif scaling.lag_threshold is not None:
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
            # cooldownPeriod alone acts only on the way to zero (see the module doc).
            "advanced": {"horizontalPodAutoscalerConfig": {"behavior": {
                "scaleDown": {"stabilizationWindowSeconds": config.autoscaling.cooldown_period},
            }}},
            "triggers": triggers,
        },
    }


def lag_query(config: TenantConfig, group: str, topic: str) -> str:
    """Total lag of the consumer group on its topic (kafka-exporter labels)."""
    metric = config.autoscaling.prometheus.lag_metric_name
    return f'sum({metric}{{consumergroup="{group}",topic="{topic}"}})'


def prometheus_lag_trigger(config: TenantConfig, svc: ServiceSpec, kafka_topic_prefix: str) -> dict[str, Any]:
    scaling = autoscaling_config(config, svc.key)
    group = consumer_group(kafka_topic_prefix, svc.key)
    topic = consumed_topic(kafka_topic_prefix, svc.key)
    server = config.autoscaling.prometheus.server_address
    assert group is not None and topic is not None and server is not None  # config validation
    metadata = {
        "serverAddress": server,
        "query": lag_query(config, group, topic),
        # The HPA divides the query's value by this per replica (AverageValue), as the
        # kafka scaler does with lagThreshold.
        "threshold": str(scaling.lag_threshold),
    }
    if scaling.activation_lag_threshold is not None:
        metadata["activationThreshold"] = str(scaling.activation_lag_threshold)
    return {"type": "prometheus", "name": "consumer-lag", "metadata": metadata}


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


def autoscalers(config: TenantConfig, *, kafka_bootstrap: Input[str], kafka_topic_prefix: str,
                region: str, keda_role_arn: Input[str]) -> list[dict[str, Any]]:
    """The TriggerAuthentication (when a lag trigger needs it) then one autoscaler per
    autoscaled service, in catalogue order."""
    services = autoscaled(config)
    objects = [
        scaled_object(config, svc, kafka_bootstrap=kafka_bootstrap,
                      kafka_topic_prefix=kafka_topic_prefix, region=region)
        for svc in services
    ]
    uses_kafka = any(
        t["type"] == "kafka" for obj in objects for t in obj["spec"]["triggers"]
    )
    return ([trigger_authentication(config, keda_role_arn)] if uses_kafka else []) + objects
