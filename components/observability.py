"""An environment's metrics and alerting: an Amazon Managed Service for Prometheus
workspace and managed scraper, kube-state-metrics, the alert rules
(observability/alert-rules.yaml), the Alertmanager definition and the SNS topic that
AMP alerts and the customers' CloudWatch alarms are sent to."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from builders import observability as build
from builders.alert_rules import rule_group_data
from builders.charts import KUBE_STATE_METRICS_CHART, KUBE_SYSTEM
from stackconfig.platform import ObservabilityConfig

from .eks_cluster import KMS_DELETION_WINDOW_DAYS
from .helm_release import helm_release

# AMP workspace and scraper aliases: 1-100 characters (AMP API CreateWorkspace/CreateScraper).
AMP_ALIAS_MAX = 100
# SNS topic names: up to 256 characters of [A-Za-z0-9_-].
SNS_TOPIC_NAME_MAX = 256


@dataclass(frozen=True)
class ObservabilityArgs:
    # Account/region-unique names carry it: the platform's environment, or the
    # dedicated-tier customer whose cluster this is.
    environment: str
    region: str
    config: ObservabilityConfig
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    cluster_security_group_id: pulumi.Input[str]
    protect: bool
    # What must run before kube-state-metrics can schedule (the node group).
    depends_on: Sequence[pulumi.Resource] = ()


class Observability(pulumi.ComponentResource):
    workspace_arn: pulumi.Output[str]
    workspace_endpoint: pulumi.Output[str]
    alerts_topic_arn: pulumi.Output[str]

    def __init__(self, name: str, args: ObservabilityArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:observability:Observability", name, None, opts)
        key = self._key(name, args)
        workspace = self._workspace(name, args, key)
        # --- Collection -----------------------------------------------------------------
        kube_state_metrics = self._collection(name, args, workspace)
        # --- Rules and routing -----------------------------------------------------------
        topic = self._rules_and_routing(name, args, key, workspace)

        self.release = kube_state_metrics
        self.workspace_arn = workspace.arn
        self.workspace_endpoint = workspace.prometheus_endpoint
        self.alerts_topic_arn = topic.arn
        self.register_outputs({
            "workspaceArn": self.workspace_arn,
            "alertsTopicArn": self.alerts_topic_arn,
        })

    def _key(self, name: str, args: ObservabilityArgs) -> aws.kms.Key:
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Datafly {args.environment}: Prometheus workspace and alerts topic",
            enable_key_rotation=True,
            deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
            policy=pulumi.Output.all(identity.account_id, partition.partition).apply(
                lambda v: json.dumps(build.alerts_key_policy(v[0], v[1]))
            ),
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/{build.physical_name(args.environment, 'observability', max_length=250)}",
            target_key_id=key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return key

    def _workspace(self, name: str, args: ObservabilityArgs, key: aws.kms.Key) -> aws.amp.Workspace:
        config = args.config
        protected = pulumi.ResourceOptions(parent=self, protect=args.protect)
        logging = None
        if config.query_logging:
            # AMP requires the log group ARN with its `:*` suffix.
            log_group = aws.cloudwatch.LogGroup(
                f"{name}-query-logs",
                name=f"/aws/prometheus/{build.physical_name(args.environment, max_length=200)}/queries",
                retention_in_days=config.query_log_retention_days,
                opts=protected,
            )
            logging = aws.amp.WorkspaceLoggingConfigurationArgs(
                log_group_arn=log_group.arn.apply(lambda arn: f"{arn}:*")
            )
        return aws.amp.Workspace(
            f"{name}-workspace",
            alias=build.physical_name(args.environment, max_length=AMP_ALIAS_MAX),
            kms_key_arn=key.arn,
            logging_configuration=logging,
            opts=protected,
        )

    def _collection(
        self, name: str, args: ObservabilityArgs, workspace: aws.amp.Workspace
    ) -> k8s.helm.v3.Release:
        """kube-state-metrics, the scraper's RBAC, the managed scraper and its access
        entry; returns the kube-state-metrics release."""
        child = pulumi.ResourceOptions(parent=self)
        on_cluster = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        kube_state_metrics = helm_release(
            f"{name}-kube-state-metrics",
            KUBE_STATE_METRICS_CHART,
            release_name=build.KUBE_STATE_METRICS_RELEASE,
            namespace=KUBE_SYSTEM,
            values=build.kube_state_metrics_values(),
            opts=on_cluster,
        )
        role = build.scraper_cluster_role()
        binding = build.scraper_cluster_role_binding()
        cluster_role = k8s.rbac.v1.ClusterRole(
            f"{name}-scraper-clusterrole", metadata=role["metadata"], rules=role["rules"], opts=on_cluster
        )
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-scraper-clusterrolebinding",
            metadata=binding["metadata"],
            role_ref=binding["roleRef"],
            subjects=binding["subjects"],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_role]),
        )
        scraper = aws.amp.Scraper(
            f"{name}-scraper",
            alias=build.physical_name(args.environment, "scraper", max_length=AMP_ALIAS_MAX),
            # The cluster's private subnets and its security group (nodes and control
            # plane members allow each other), as the AMP collector set-up asks.
            source=aws.amp.ScraperSourceArgs(
                eks=aws.amp.ScraperSourceEksArgs(
                    cluster_arn=args.cluster_arn,
                    subnet_ids=args.subnet_ids,
                    security_group_ids=[args.cluster_security_group_id],
                )
            ),
            destination=aws.amp.ScraperDestinationArgs(
                amp=aws.amp.ScraperDestinationAmpArgs(workspace_arn=workspace.arn)
            ),
            scrape_configuration=build.scrape_configuration(f"{args.config.scrape_interval_seconds}s"),
            opts=child,
        )
        # The scraper's service-linked role becomes the Kubernetes user the ClusterRole
        # is bound to.
        aws.eks.AccessEntry(
            f"{name}-scraper-access",
            cluster_name=args.cluster_name,
            principal_arn=scraper.role_arn,
            type="STANDARD",
            user_name=build.SCRAPER_USER,
            opts=child,
        )
        return kube_state_metrics

    def _rules_and_routing(
        self, name: str, args: ObservabilityArgs, key: aws.kms.Key, workspace: aws.amp.Workspace
    ) -> aws.sns.Topic:
        """The alert rules, the alerts topic and its subscriptions, and the Alertmanager
        definition that sends to it; returns the topic."""
        config = args.config
        child = pulumi.ResourceOptions(parent=self)
        aws.amp.RuleGroupNamespace(
            f"{name}-rules",
            name="datafly",
            workspace_id=workspace.id,
            data=rule_group_data(config.runbook_base_url),
            opts=child,
        )
        topic = aws.sns.Topic(
            f"{name}-alerts",
            name=build.physical_name(args.environment, "alerts", max_length=SNS_TOPIC_NAME_MAX),
            kms_master_key_id=key.arn,
            opts=child,
        )
        topic_policy = aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=topic.arn,
            policy=pulumi.Output.all(topic.arn, workspace.arn).apply(
                lambda v: json.dumps(build.alerts_topic_policy(v[0], v[1]))
            ),
            opts=child,
        )
        for index, subscription in enumerate(config.subscriptions):
            aws.sns.TopicSubscription(
                f"{name}-alerts-{subscription.protocol}-{index}",
                topic=topic.arn,
                protocol=subscription.protocol,
                endpoint=subscription.endpoint,
                filter_policy=json.dumps({"customer": list(subscription.customers)})
                if subscription.customers else None,
                opts=child,
            )
        aws.amp.AlertManagerDefinition(
            f"{name}-alertmanager",
            workspace_id=workspace.id,
            definition=topic.arn.apply(lambda arn: build.alertmanager_definition(arn, args.region)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[topic_policy]),
        )
        return topic
