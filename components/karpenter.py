"""Karpenter: nodes for customer workloads, launched as pods need them.

    <name>-node-role / -node-access      the role Karpenter's nodes run as, and its
                                         EC2_LINUX access entry (nodes join the cluster)
    <name>-queue (+ policy, rules)       the SQS interruption queue fed by EventBridge
    <name>-controller-role (+ policies)  the controller's IRSA role, upstream policies
    <name>-sg-discovery, -subnet-*       discovery tags Karpenter selects by
    <name>-crds, <name>-release          the CRD chart, then the controller chart
    <name>-node-class, <name>-node-pool  EC2NodeClass and NodePool (after the release)

Teardown: the NodePool and EC2NodeClass depend on the controller release, so `pulumi
destroy` deletes them while the controller still runs; deleting the NodePool makes
Karpenter drain and terminate its nodes (their NodeClaims carry a finalizer), before the
release, the cluster and the VPC go.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from builders import karpenter as build
from builders.charts import addon_namespace
from builders.eks import partition_for_region
from builders.iam import irsa_trust_policy, service_trust_policy
from builders.iam_policies import policy_json
from stackconfig.platform import NodePoolConfig

from .helm_release import helm_release
from .kubernetes_object import register


@dataclass(frozen=True)
class KarpenterArgs:
    cluster_name: str
    # The cluster resource's name output: what must exist before its access entry.
    eks_cluster_name: pulumi.Input[str]
    region: str
    node_pool: NodePoolConfig
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    node_security_group_id: pulumi.Input[str]
    # Private subnets of an adopted VPC (created ones carry the tag from the start).
    existing_private_subnet_ids: Sequence[str] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    # The system node group and core add-ons the controller needs to run.
    depends_on: Sequence[pulumi.Resource] = ()


class Karpenter(pulumi.ComponentResource):
    """Customer workloads need `node_pool` (their pods stay Pending without it)."""

    release: k8s.helm.v3.Release
    node_pool: pulumi.CustomResource
    node_class: pulumi.CustomResource

    def __init__(self, name: str, args: KarpenterArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:addons:Karpenter", name, None, opts)
        partition = partition_for_region(args.region)
        cluster = args.cluster_name

        node_role, node_access_deps = self._node_identity(name, args, partition)
        queue, queue_policy = self._interruptions(name, cluster)
        role, controller_attachments = self._controller_identity(name, args, partition, node_role, queue)
        discovery = self._discovery_tags(name, args)
        self.release = self._releases(
            name, args, role, [*controller_attachments, queue_policy, *node_access_deps]
        )
        # Custom resources after the controller (CRDs and the controller that owns their
        # finalizers), and after the tags they select by.
        after_release = pulumi.ResourceOptions(parent=self, depends_on=[self.release, *discovery])
        self.node_class = register(
            f"{name}-node-class",
            _with_role(cluster, node_role.name, args.tags),
            after_release,
        )
        self.node_pool = register(
            f"{name}-node-pool",
            build.node_pool(args.node_pool),
            pulumi.ResourceOptions(parent=self, depends_on=[self.release, self.node_class]),
        )
        self.node_role_arn = node_role.arn
        self.queue_name = queue.name
        self.register_outputs({
            "nodeRoleArn": self.node_role_arn,
            "controllerRoleArn": role.arn,
            "interruptionQueue": self.queue_name,
            "status": self.release.status,
        })

    def _node_identity(
        self, name: str, args: KarpenterArgs, partition: str
    ) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """The nodes' role, its managed policies and access entry; returns the role and,
        for the release to wait on, the access entry followed by the attachments."""
        child = pulumi.ResourceOptions(parent=self)
        node_role = aws.iam.Role(
            f"{name}-node-role",
            description=f"Karpenter nodes of EKS {args.cluster_name}",
            assume_role_policy=json.dumps(service_trust_policy("ec2.amazonaws.com")),
            opts=child,
        )
        node_attachments = [
            aws.iam.RolePolicyAttachment(f"{name}-node-role-{policy}", role=node_role.name, policy_arn=arn, opts=child)
            for policy, arn in build.node_managed_policy_arns(partition).items()
        ]
        # Without it a launched instance never becomes a Node (authentication mode API).
        node_access = aws.eks.AccessEntry(
            f"{name}-node-access",
            cluster_name=args.eks_cluster_name,
            principal_arn=node_role.arn,
            type="EC2_LINUX",
            opts=child,
        )
        return node_role, [node_access, *node_attachments]

    def _interruptions(self, name: str, cluster: str) -> tuple[aws.sqs.Queue, aws.sqs.QueuePolicy]:
        child = pulumi.ResourceOptions(parent=self)
        queue = aws.sqs.Queue(
            f"{name}-queue",
            name=build.interruption_queue_name(cluster),
            message_retention_seconds=build.QUEUE_MESSAGE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        queue_policy = aws.sqs.QueuePolicy(
            f"{name}-queue-policy",
            queue_url=queue.url,
            policy=queue.arn.apply(lambda arn: json.dumps(build.interruption_queue_policy(arn))),
            opts=child,
        )
        for rule_name, pattern in build.interruption_event_patterns().items():
            short = build.rule_short_name(rule_name)
            rule = aws.cloudwatch.EventRule(
                f"{name}-rule-{short}",
                description=f"Karpenter of {cluster}: {rule_name} events to its interruption queue",
                event_pattern=json.dumps(pattern),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-rule-{short}-target",
                rule=rule.name,
                target_id="KarpenterInterruptionQueueTarget",
                arn=queue.arn,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
            )
        return queue, queue_policy

    def _controller_identity(
        self, name: str, args: KarpenterArgs, partition: str, node_role: aws.iam.Role, queue: aws.sqs.Queue
    ) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        child = pulumi.ResourceOptions(parent=self)
        cluster = args.cluster_name
        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_provider_url).apply(
            lambda v: json.dumps(
                irsa_trust_policy(v[0], v[1], build.KARPENTER_NAMESPACE, build.KARPENTER_SERVICE_ACCOUNT)
            )
        )
        role = aws.iam.Role(
            f"{name}-controller-role",
            description=f"Karpenter controller of EKS {cluster} (IRSA, "
            f"{build.KARPENTER_NAMESPACE}/{build.KARPENTER_SERVICE_ACCOUNT})",
            assume_role_policy=trust,
            opts=child,
        )
        documents = pulumi.Output.all(args.oidc_provider_arn, node_role.arn, queue.arn).apply(
            lambda v: build.controller_policies(
                partition=partition, region=args.region, account_id=str(v[0]).split(":")[4],
                cluster_name=cluster, node_role_arn=v[1], queue_arn=v[2],
            )
        )
        controller_attachments: list[pulumi.Resource] = []
        for policy_name in build.CONTROLLER_POLICIES:
            policy = aws.iam.Policy(
                f"{name}-{policy_name}",
                description=f"Karpenter controller of EKS {cluster}: upstream {policy_name} (v1.14.1)",
                policy=documents.apply(lambda d, key=policy_name: policy_json(d[key])),  # type: ignore[misc]
                opts=child,
            )
            controller_attachments.append(aws.iam.RolePolicyAttachment(
                f"{name}-{policy_name}-attachment", role=role.name, policy_arn=policy.arn, opts=child
            ))
        return role, controller_attachments

    def _discovery_tags(self, name: str, args: KarpenterArgs) -> list[pulumi.Resource]:
        child = pulumi.ResourceOptions(parent=self)
        cluster = args.cluster_name
        discovery: list[pulumi.Resource] = [aws.ec2.Tag(
            f"{name}-sg-discovery",
            resource_id=args.node_security_group_id,
            key=build.DISCOVERY_TAG,
            value=cluster,
            opts=child,
        )]
        for subnet_id in build.subnet_ids_to_tag(args.existing_private_subnet_ids):
            discovery.append(aws.ec2.Tag(
                f"{name}-subnet-discovery-{subnet_id}", resource_id=subnet_id, key=build.DISCOVERY_TAG,
                value=cluster, opts=child,
            ))
        return discovery

    def _releases(
        self, name: str, args: KarpenterArgs, role: aws.iam.Role, permissions: list[pulumi.Resource]
    ) -> k8s.helm.v3.Release:
        """The namespace, the CRD chart and the controller chart; returns the controller's."""
        cluster = args.cluster_name
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=addon_namespace(build.KARPENTER_NAMESPACE, pod_security="restricted")["metadata"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        crds = helm_release(
            f"{name}-crds",
            build.KARPENTER_CRD_CHART,
            release_name=build.KARPENTER_CRD_RELEASE,
            namespace=ns.metadata.name,
            values={},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        # After its permissions, queue and node access exist: the controller's first
        # reconcile would otherwise fail and back off.
        return helm_release(
            f"{name}-release",
            build.KARPENTER_CHART,
            release_name=build.KARPENTER_RELEASE,
            namespace=ns.metadata.name,
            values=role.arn.apply(lambda arn: build.karpenter_values(cluster, build.interruption_queue_name(cluster), arn)),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*args.depends_on, crds, *permissions],
            ),
            skip_crds=True,
        )


def _with_role(cluster: str, role_name: pulumi.Output[str], tags: Mapping[str, str]) -> dict[str, object]:
    """The EC2NodeClass with the node role's name (known after the role is created)."""
    manifest = build.ec2_node_class(cluster, "", tags)
    spec = dict(manifest["spec"])
    spec["role"] = role_name
    return {**manifest, "spec": spec}
