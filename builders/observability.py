"""The environment's metrics pipeline and alert routing as plain data: the AMP managed
scraper's configuration, the RBAC it needs in the cluster, kube-state-metrics' Helm
values, the Alertmanager definition and the SNS/KMS policies that let AMP and CloudWatch
publish alerts.

Sources:
- AMP managed collector set-up (ClusterRole `aps-collector-role`, ClusterRoleBinding to the
  user `aps-collector-user`, an EKS access entry for the scraper's role with that user name;
  the scraper in the cluster's subnets and security group):
  https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-collector-how-to.html
- AMP alert manager SNS receiver and topic policy:
  https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-alertmanager-receiver-AMPpermission.html
- CloudWatch alarm actions on an encrypted topic (key policy for cloudwatch.amazonaws.com):
  https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from .alert_rules import exporter_metrics
from .charts import KEDA_NAMESPACE, KUBE_SYSTEM, _resources
from .labels import MANAGED_BY, PART_OF

SCRAPER_USER = "aps-collector-user"
SCRAPER_CLUSTER_ROLE = "aps-collector-role"
KUBE_STATE_METRICS_RELEASE = "kube-state-metrics"
# kube-state-metrics resources the rules read; the others are not collected at all.
KUBE_STATE_METRICS_COLLECTORS = ("deployments", "horizontalpodautoscalers", "jobs", "pods")
# Long enough for 15-minute `for` clauses to see four samples, and a quarter of the samples
# (and AMP ingestion cost) of Prometheus' common 15 s.
DEFAULT_SCRAPE_INTERVAL = "60s"

_NAME = re.compile(r"^[0-9A-Za-z][-.0-9A-Z_a-z]*$")


def physical_name(*parts: str, max_length: int) -> str:
    """`datafly-<environment>-<role>`: AMP aliases, the SNS topic and alarm names carry
    the environment so two environments in one account and region never collide."""
    name = "-".join(("datafly", *parts))
    if len(name) > max_length or not _NAME.match(name):
        raise ValueError(f"physical name {name!r}: at most {max_length} characters of [-.0-9A-Za-z_]")
    return name


# ---------------------------------------------------------------------------
# Scrape configuration
# ---------------------------------------------------------------------------


def _keep(exporter: str) -> list[dict[str, Any]]:
    kept = sorted(exporter_metrics().kept[exporter])
    if not kept:
        # Only the target's own `up`, which Prometheus records without a metric relabel.
        return [{"source_labels": ["__name__"], "regex": ".+", "action": "drop"}]
    return [{"source_labels": ["__name__"], "regex": "|".join(kept), "action": "keep"}]


def _service_job(job: str, namespace_regex: str, service_label: str, port_name: str,
                 exporter: str) -> dict[str, Any]:
    """Endpoints of the Service whose `app.kubernetes.io/name` is `service_label`, on the
    named port. No target `namespace` label is attached: the exporters report the
    namespace of the object they describe in their own `namespace` label, which a target
    label would rename to `exported_namespace` (honor_labels is false)."""
    return {
        "job_name": job,
        "kubernetes_sd_configs": [{"role": "endpoints"}],
        "relabel_configs": [
            {
                "source_labels": [
                    "__meta_kubernetes_namespace",
                    "__meta_kubernetes_service_label_app_kubernetes_io_name",
                    "__meta_kubernetes_endpoint_port_name",
                ],
                "regex": f"{namespace_regex};{re.escape(service_label)};{re.escape(port_name)}",
                "action": "keep",
            },
            {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "instance"},
        ],
        "metric_relabel_configs": _keep(exporter),
    }


def scrape_configuration(scrape_interval: str = DEFAULT_SCRAPE_INTERVAL) -> str:
    """The scraper's Prometheus configuration (YAML). Every job keeps only the series the
    alert rules and dashboards read (observability/exporter-metrics.yaml `keep`)."""
    config = {
        "global": {"scrape_interval": scrape_interval, "scrape_timeout": "10s"},
        "scrape_configs": [
            # prometheus-community/helm-charts kube-state-metrics-8.4.0 templates/service.yaml:
            # port `http` (8080), label app.kubernetes.io/name=kube-state-metrics.
            _service_job("kube-state-metrics", re.escape(KUBE_SYSTEM), "kube-state-metrics", "http",
                         "kube-state-metrics"),
            # kedacore/charts v2.20.2 keda/templates/manager/service.yaml: Service keda-operator
            # gets port `metrics` (8080) when prometheus.operator.enabled.
            _service_job("keda-operator", re.escape(KEDA_NAMESPACE), "keda-operator", "metrics", "keda-operator"),
            # keda/templates/metrics-server/service.yaml: keda-operator-metrics-apiserver,
            # port `metrics` (prometheus.metricServer.portName, 8080).
            _service_job("keda-metrics-apiserver", re.escape(KEDA_NAMESPACE), "keda-operator-metrics-apiserver",
                         "metrics", "keda-metrics-apiserver"),
            # aws/karpenter-provider-aws charts/karpenter/templates/service.yaml at v1.14.1:
            # port `http-metrics` (controller.metrics.port, 8080), labelled
            # app.kubernetes.io/name=karpenter (templates/_helpers.tpl selectorLabels).
            # Any namespace: where Karpenter is installed is its release's choice; absent,
            # the job simply finds no target.
            _service_job("karpenter", ".+", "karpenter", "http-metrics", "karpenter"),
            # cAdvisor through the API server's node proxy, as AMP's default scraper
            # configuration does: the scraper never needs to reach the kubelet port.
            {
                "job_name": "cadvisor",
                "scheme": "https",
                "authorization": {"credentials_file": "/var/run/secrets/kubernetes.io/serviceaccount/token"},
                "kubernetes_sd_configs": [{"role": "node"}],
                "relabel_configs": [
                    {"replacement": "kubernetes.default.svc:443", "target_label": "__address__"},
                    {
                        "source_labels": ["__meta_kubernetes_node_name"],
                        "regex": "(.+)",
                        "target_label": "__metrics_path__",
                        "replacement": "/api/v1/nodes/$1/proxy/metrics/cadvisor",
                    },
                    {"source_labels": ["__meta_kubernetes_node_name"], "target_label": "node"},
                ],
                # Customer containers only: the per-customer usage the dashboards show.
                "metric_relabel_configs": [
                    *_keep("cadvisor"),
                    {"source_labels": ["namespace"], "regex": "customer-.+", "action": "keep"},
                ],
            },
        ],
    }
    return yaml.safe_dump(config, sort_keys=False, width=1000)


def scraper_cluster_role() -> dict[str, Any]:
    """What the AMP collector may read: service discovery and the kubelet proxy."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": SCRAPER_CLUSTER_ROLE, "labels": _labels()},
        "rules": [
            {"apiGroups": [""], "resources": ["nodes", "nodes/proxy", "nodes/metrics", "services", "endpoints",
                                              "pods", "configmaps"],
             "verbs": ["describe", "get", "list", "watch"]},
            {"apiGroups": ["extensions", "networking.k8s.io"], "resources": ["ingresses/status", "ingresses"],
             "verbs": ["describe", "get", "list", "watch"]},
            {"apiGroups": ["metrics.eks.amazonaws.com"], "resources": ["kcm/metrics", "ksh/metrics"],
             "verbs": ["get"]},
            {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
        ],
    }


def scraper_cluster_role_binding() -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": SCRAPER_CLUSTER_ROLE + "-binding", "labels": _labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": SCRAPER_CLUSTER_ROLE},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": SCRAPER_USER}],
    }


def _labels() -> dict[str, str]:
    return {"app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": MANAGED_BY,
            "app.kubernetes.io/component": "observability"}


def kube_state_metrics_values() -> dict[str, Any]:
    """Keys from prometheus-community/helm-charts kube-state-metrics-8.4.0 values.yaml.
    Only the collectors and metrics the rules read: kube-state-metrics' memory and the
    series it exposes grow with every object kind it watches."""
    return {
        "replicas": 1,
        "collectors": list(KUBE_STATE_METRICS_COLLECTORS),
        "metricAllowlist": sorted(exporter_metrics().kept["kube-state-metrics"]),
        "prometheusScrape": False,
        "resources": _resources("10m", "64Mi", "200m", "256Mi"),
        "selfMonitor": {"enabled": False},
    }


# ---------------------------------------------------------------------------
# Routing
# ---------------------------------------------------------------------------


def alertmanager_definition(topic_arn: str, region: str) -> str:
    """AMP's alert manager definition (YAML with `alertmanager_config`). One SNS receiver,
    grouped by customer and alert; the customer and severity travel as SNS message
    attributes so a subscription's filter policy can select one customer's alerts."""
    sns = {
        "topic_arn": topic_arn,
        "sigv4": {"region": region},
        "subject": "[{{ .Status | toUpper }}] {{ .CommonLabels.customer }}: {{ .CommonLabels.alertname }}",
        "attributes": {"customer": "{{ .CommonLabels.customer }}", "severity": "{{ .CommonLabels.severity }}"},
    }
    config = {
        "route": {
            "receiver": "sns",
            "group_by": ["customer", "alertname"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                # A failed migration blocks a release: repeat it sooner.
                {"receiver": "sns", "matchers": ['severity="critical"'], "group_by": ["customer", "alertname"],
                 "repeat_interval": "1h"},
            ],
        },
        "receivers": [{"name": "sns", "sns_configs": [sns]}],
    }
    return yaml.safe_dump({"alertmanager_config": yaml.safe_dump(config, sort_keys=False, width=1000)},
                          sort_keys=False, width=1000)


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or not parts[4]:
        raise ValueError(f"not an ARN with an account: {arn!r}")
    return parts[4]


def _partition_region_of(arn: str) -> tuple[str, str]:
    parts = arn.split(":")
    return parts[1], parts[3]


def alerts_topic_policy(topic_arn: str, workspace_arn: str) -> dict[str, Any]:
    """AMP (this workspace only) and CloudWatch alarms of this account may publish."""
    account = _account_of(topic_arn)
    partition, region = _partition_region_of(topic_arn)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AmpAlertManagerPublish",
                "Effect": "Allow",
                "Principal": {"Service": "aps.amazonaws.com"},
                "Action": ["sns:Publish", "sns:GetTopicAttributes"],
                "Resource": topic_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": workspace_arn},
                              "StringEquals": {"aws:SourceAccount": account}},
            },
            {
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"ArnLike": {"aws:SourceArn": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*"},
                              "StringEquals": {"aws:SourceAccount": account}},
            },
        ],
    }


def alerts_key_policy(account: str, partition: str) -> dict[str, Any]:
    """The environment's observability key. The account root keeps administration (so
    IAM policies decide who else may use it); AMP and CloudWatch may encrypt the SNS
    messages they publish, only on behalf of this account."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "AlertPublishersEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": ["aps.amazonaws.com", "cloudwatch.amazonaws.com"]},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
        ],
    }
