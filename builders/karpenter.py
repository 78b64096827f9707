"""Karpenter: chart values, IAM documents, interruption events and the NodePool /
EC2NodeClass objects customer workloads run on. Plain data; components/karpenter.py
registers it.

Upstream inputs, at the pinned release v1.14.1 (aws/karpenter-provider-aws, Apache-2.0):
- the controller's IAM policies, node role, interruption queue and EventBridge rules come
  from the getting-started CloudFormation template, vendored unchanged as
  `schemas/karpenter/cloudformation.yaml` (schemas/SOURCES.md) and read here, so the
  program grants exactly what upstream publishes, with this cluster's names filled in;
- chart keys were checked against `charts/karpenter/values.yaml` and
  `charts/karpenter/templates/deployment.yaml` at v1.14.1;
- the NodePool / EC2NodeClass shapes are validated against the vendored CRDs
  (`schemas/crds/karpenter/`), including their CEL rules (tests/test_karpenter.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from stackconfig.platform import NodePoolConfig

from .charts import (
    IRSA_ROLE_ANNOTATION,
    SYSTEM_NODE_LABEL_KEY,
    SYSTEM_NODE_SELECTOR,
    SYSTEM_TOLERATIONS,
    ChartSpec,
    _resources,
)
from .eks import managed_policy_arns

# The published chart sets the controller image to the release (hack/release/common.sh
# rewrites controller.image.tag/digest when it pushes the chart), so the chart version
# alone pins the controller.
KARPENTER_CHART = ChartSpec(
    chart="oci://public.ecr.aws/karpenter/karpenter",
    repository="",
    version="1.14.1",
    app_version="1.14.1",
)
# The CRDs as templates, so a chart upgrade upgrades them too: Helm never upgrades a
# chart's `crds/` directory, which is where the controller chart keeps them. Upstream
# recommends this chart for that reason (website/content/en/docs/upgrading/upgrade-guide.md
# at v1.14.1, "CRD Upgrades").
KARPENTER_CRD_CHART = ChartSpec(
    chart="oci://public.ecr.aws/karpenter/karpenter-crd",
    repository="",
    version="1.14.1",
    app_version="1.14.1",
)

KARPENTER_NAMESPACE = "karpenter"
# Release `karpenter` of chart `karpenter`: the chart's fullname, hence the Deployment,
# Service and ServiceAccount, are all `karpenter` (charts/karpenter/templates/_helpers.tpl).
KARPENTER_RELEASE = "karpenter"
KARPENTER_CRD_RELEASE = "karpenter-crd"
KARPENTER_SERVICE_ACCOUNT = "karpenter"
# The metrics Service the chart renders (templates/service.yaml): port `http-metrics`,
# `controller.metrics.port` 8080, left at the chart defaults for Prometheus scrapers.
KARPENTER_METRICS_SERVICE = "karpenter"
KARPENTER_METRICS_PORT_NAME = "http-metrics"
KARPENTER_METRICS_PORT = 8080

DISCOVERY_TAG = "karpenter.sh/discovery"

# The label of Karpenter's own nodes (the system nodes carry `system`).
WORKLOAD_NODE_LABEL_VALUE = "workload"

# An AL2023 EKS-optimized AMI release (awslabs/amazon-eks-ami tag v20260714, built for
# Kubernetes 1.33-1.36). Pinned, not `@latest`: a new AMI then arrives as a reviewed
# change (Karpenter drifts the nodes to it), never on its own.
AMI_ALIAS = "al2023@v20260714"
ROOT_DEVICE = "/dev/xvda"
NODE_VOLUME_GIB = 50

NODE_CLASS_NAME = "default"
NODE_POOL_NAME = "customer-workloads"

# Node role: the managed policies of `KarpenterNodeRole` in the upstream template.
NODE_MANAGED_POLICIES = (
    "AmazonEKS_CNI_Policy",
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)

# The controller's managed policies in the upstream template, by resource name.
CONTROLLER_POLICIES = (
    "NodeLifecyclePolicy",
    "IAMIntegrationPolicy",
    "EKSIntegrationPolicy",
    "InterruptionPolicy",
    "ResourceDiscoveryPolicy",
)
# Upstream's ZonalShiftPolicy is left out: it only serves `settings.enableZonalShift`,
# which stays at the chart default (false), so granting it would be unused privilege.

# The EventBridge rules feeding the interruption queue, by upstream resource name.
INTERRUPTION_RULES = (
    "ScheduledChangeRule",
    "SpotInterruptionRule",
    "RebalanceRule",
    "InstanceStateChangeRule",
    "CapacityReservationInterruptionRule",
)
# Upstream keeps messages 5 minutes: an interruption notice older than that is moot.
QUEUE_MESSAGE_RETENTION_SECONDS = 300

CLOUDFORMATION_FILE = Path(__file__).resolve().parent.parent / "schemas" / "karpenter" / "cloudformation.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (`!Sub`, `!Ref`, `!GetAtt`) as their
    plain values; only `!Sub` strings are used, and are substituted below."""


def _scalar(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


for _tag in ("!Sub", "!Ref", "!GetAtt"):
    _CfnLoader.add_constructor(_tag, _scalar)


@cache
def _template() -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(CLOUDFORMATION_FILE.read_text(encoding="utf-8"), Loader=_CfnLoader)  # noqa: S506
    return data


def _substitute(text: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"upstream template variable ${{{key}}} has no value")
        return values[key]

    return re.sub(r"\$\{([A-Za-z0-9:.]+)\}", replace, text)


def controller_policies(
    *, partition: str, region: str, account_id: str, cluster_name: str, node_role_arn: str, queue_arn: str
) -> dict[str, dict[str, Any]]:
    """The controller's upstream policies with this cluster filled in: every EC2 write is
    conditioned on the `kubernetes.io/cluster/<cluster>` tag, PassRole names only this
    cluster's node role, the SQS actions only this cluster's queue."""
    values = {
        "AWS::Partition": partition,
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "ClusterName": cluster_name,
        "KarpenterNodeRole.Arn": node_role_arn,
        "KarpenterInterruptionQueue.Arn": queue_arn,
    }
    resources = _template()["Resources"]
    documents: dict[str, dict[str, Any]] = {}
    for name in CONTROLLER_POLICIES:
        document: dict[str, Any] = json.loads(_substitute(resources[name]["Properties"]["PolicyDocument"], values))
        documents[name] = document
    return documents


def node_managed_policy_arns(partition: str) -> dict[str, str]:
    return managed_policy_arns(NODE_MANAGED_POLICIES, partition)


def interruption_queue_name(cluster_name: str) -> str:
    """Account- and region-unique through the cluster name (EKS cluster names are)."""
    return f"{cluster_name}-karpenter"


def interruption_queue_policy(queue_arn: str) -> dict[str, Any]:
    """The upstream queue policy: EventBridge (and SQS) may send; nothing over plain HTTP."""
    policy = _template()["Resources"]["KarpenterInterruptionQueuePolicy"]["Properties"]["PolicyDocument"]
    statements = []
    for statement in policy["Statement"]:
        statement = dict(statement)
        statement["Resource"] = queue_arn
        if statement["Effect"] == "Deny":
            # CloudFormation YAML's `false`; IAM condition values are strings.
            statement["Condition"] = {"Bool": {"aws:SecureTransport": "false"}}
        statements.append(statement)
    return {"Version": "2012-10-17", "Id": policy["Id"], "Statement": statements}


def interruption_event_patterns() -> dict[str, dict[str, Any]]:
    """EventBridge patterns by upstream rule name: spot interruption warnings, rebalance
    recommendations, instance state changes, AWS Health scheduled changes and capacity
    reservation interruptions."""
    resources = _template()["Resources"]
    return {name: dict(resources[name]["Properties"]["EventPattern"]) for name in INTERRUPTION_RULES}


# Child-name suffixes, short because the rule's physical name is derived from the child
# name (plus Pulumi's 8-character suffix) and EventBridge rule names are at most 64
# characters: `<customer of 20>-cluster-karpenter-rule-reservation-xxxxxxx` fits.
_RULE_SHORT_NAMES = {
    "ScheduledChangeRule": "health",
    "SpotInterruptionRule": "spot",
    "RebalanceRule": "rebalance",
    "InstanceStateChangeRule": "state",
    "CapacityReservationInterruptionRule": "reservation",
}


def rule_short_name(rule: str) -> str:
    return _RULE_SHORT_NAMES[rule]


def karpenter_values(cluster_name: str, queue_name: str, role_arn: str) -> dict[str, Any]:
    """On the system node group only: the chart's default affinity already keeps the
    controller off nodes it manages (`karpenter.sh/nodepool DoesNotExist`) and spreads
    its two replicas over hosts and zones; the node selector and toleration put it on the
    tainted system nodes. The metrics Service stays at the chart defaults."""
    return {
        "settings": {"clusterName": cluster_name, "interruptionQueue": queue_name},
        "serviceAccount": {"create": True, "annotations": {IRSA_ROLE_ANNOTATION: role_arn}},
        "replicas": 2,
        "nodeSelector": {"kubernetes.io/os": "linux", **SYSTEM_NODE_SELECTOR},
        "tolerations": [dict(t) for t in SYSTEM_TOLERATIONS],
        # Memory request = limit, as upstream advises for the controller (its cache grows
        # with the cluster's nodes and pods; an OOM kill stops all provisioning).
        "controller": {"resources": _resources("250m", "512Mi", "1", "512Mi")},
    }


def discovery_selector(cluster_name: str) -> list[dict[str, Any]]:
    return [{"tags": {DISCOVERY_TAG: cluster_name}}]


def ec2_node_class(cluster_name: str, node_role_name: str, tags: Mapping[str, str]) -> dict[str, Any]:
    """Nodes on the pinned AL2023 AMI, in the private subnets and the cluster security
    group (both tagged for discovery), IMDSv2 only with a hop limit of 1 (pods cannot
    reach the node role's credentials), encrypted gp3 root volumes, the program's tags."""
    return {
        "apiVersion": "karpenter.k8s.aws/v1",
        "kind": "EC2NodeClass",
        "metadata": {"name": NODE_CLASS_NAME},
        "spec": {
            "role": node_role_name,
            "amiSelectorTerms": [{"alias": AMI_ALIAS}],
            "subnetSelectorTerms": discovery_selector(cluster_name),
            "securityGroupSelectorTerms": discovery_selector(cluster_name),
            "metadataOptions": {
                "httpEndpoint": "enabled",
                "httpProtocolIPv6": "disabled",
                "httpPutResponseHopLimit": 1,
                "httpTokens": "required",
            },
            "blockDeviceMappings": [{
                "deviceName": ROOT_DEVICE,
                "rootVolume": True,
                "ebs": {
                    "volumeSize": f"{NODE_VOLUME_GIB}Gi",
                    "volumeType": "gp3",
                    "encrypted": True,
                    "deleteOnTermination": True,
                },
            }],
            "tags": node_class_tags(tags),
        },
    }


# Tag keys the EC2NodeClass CRD refuses (Karpenter sets them itself).
_RESTRICTED_TAG_PREFIXES = ("kubernetes.io/cluster",)
_RESTRICTED_TAGS = ("eks:eks-cluster-name", "karpenter.sh/nodepool", "karpenter.sh/nodeclaim",
                    "karpenter.k8s.aws/ec2nodeclass")


def node_class_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in sorted(tags.items())
        if k and v and k not in _RESTRICTED_TAGS and not k.startswith(_RESTRICTED_TAG_PREFIXES)
    }


def node_pool(config: NodePoolConfig) -> dict[str, Any]:
    """Customer workloads' nodes. Consolidation (empty or underutilized nodes) evicts
    through the Eviction API, so the services' PodDisruptionBudgets hold, and never
    touches a node running a `karpenter.sh/do-not-disrupt` pod (the migrations Job). No
    `terminationGracePeriod`: with one, drift and expiry could force such pods off
    (website/content/en/docs/concepts/disruption.md at v1.14.1)."""
    requirements: list[dict[str, Any]] = [
        {"key": "karpenter.sh/capacity-type", "operator": "In", "values": sorted(config.capacity_types)},
        {"key": "kubernetes.io/arch", "operator": "In", "values": sorted(config.architectures)},
        {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]},
        {"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": sorted(config.instance_categories)},
        {"key": "karpenter.k8s.aws/instance-family", "operator": "In", "values": sorted(config.instance_families)},
        {"key": "karpenter.k8s.aws/instance-size", "operator": "In", "values": list(config.instance_sizes)},
    ]
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": NODE_POOL_NAME},
        "spec": {
            "template": {
                "metadata": {"labels": {SYSTEM_NODE_LABEL_KEY: WORKLOAD_NODE_LABEL_VALUE}},
                "spec": {
                    "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": NODE_CLASS_NAME},
                    "requirements": requirements,
                    "expireAfter": config.expire_after,
                },
            },
            "limits": {"cpu": config.limits.cpu, "memory": config.limits.memory},
            "disruption": {
                "consolidationPolicy": "WhenEmptyOrUnderutilized",
                "consolidateAfter": config.consolidate_after,
                "budgets": [{"nodes": config.disruption_budget_nodes}],
            },
        },
    }


def allowed_instance_types(config: NodePoolConfig) -> list[str]:
    """Every `<family>.<size>` the NodePool's requirements admit."""
    return [f"{family}.{size}" for family in sorted(config.instance_families) for size in config.instance_sizes]


def subnet_ids_to_tag(existing_private_subnet_ids: Sequence[str]) -> list[str]:
    return sorted(set(existing_private_subnet_ids))
