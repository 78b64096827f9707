"""AWS Load Balancer Controller: ALBs for Ingresses of class `alb`, NLBs for annotated
LoadBalancer Services, with its own IRSA role."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from builders.charts import (
    AWS_LOAD_BALANCER_CONTROLLER_CHART,
    AWS_LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT,
    KUBE_SYSTEM,
    aws_load_balancer_controller_crds,
    aws_load_balancer_controller_values,
)
from builders.iam import irsa_trust_policy
from builders.iam_policies import aws_load_balancer_controller_policy, policy_json

from .helm_release import helm_release

RELEASE_NAME = "aws-load-balancer-controller"


@dataclass(frozen=True)
class AwsLoadBalancerControllerArgs:
    cluster_name: pulumi.Input[str]
    region: str
    vpc_id: pulumi.Input[str]
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource] = ()


class AwsLoadBalancerController(pulumi.ComponentResource):
    """Ingresses of class `alb`, `elbv2.k8s.aws` resources and anything needing an NLB
    (ingress-nginx) must depend on `release`."""

    release: k8s.helm.v3.Release
    crds: list[k8s.apiextensions.v1.CustomResourceDefinition]
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: AwsLoadBalancerControllerArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__("datafly:addons:AwsLoadBalancerController", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_provider_url).apply(
            lambda v: json.dumps(
                irsa_trust_policy(v[0], v[1], KUBE_SYSTEM, AWS_LOAD_BALANCER_CONTROLLER_SERVICE_ACCOUNT)
            )
        )
        role = aws.iam.Role(
            f"{name}-role",
            description="AWS Load Balancer Controller (IRSA, kube-system/aws-load-balancer-controller)",
            assume_role_policy=trust,
            opts=child,
        )
        policy = aws.iam.Policy(
            f"{name}-policy",
            description="AWS Load Balancer Controller, upstream policy at the pinned controller version",
            policy=policy_json(aws_load_balancer_controller_policy()),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-policy-attachment", role=role.name, policy_arn=policy.arn, opts=child
        )
        self.role_arn = role.arn

        def values(v: list[Any]) -> dict[str, Any]:
            return aws_load_balancer_controller_values(
                cluster_name=v[0], region=args.region, vpc_id=v[1], role_arn=v[2]
            )

        # Helm never upgrades a chart's `crds/` (builders/charts.py): the CRDs of the
        # pinned chart version are resources here, applied before the release, so a
        # version bump updates them with it.
        self.crds = [
            k8s.apiextensions.v1.CustomResourceDefinition(
                f"{name}-crd-{crd['metadata']['name'].split('.', 1)[0]}",
                metadata=crd["metadata"],
                spec=crd["spec"],
                # Deleting a CRD deletes every TargetGroupBinding with it (and so every
                # ALB target): tearing the add-on down must not take the objects along.
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on), retain_on_delete=True),
            )
            for crd in aws_load_balancer_controller_crds()
        ]
        # Without the attachment in place the controller's first AWS calls are denied and
        # its webhooks never turn ready, failing the atomic install.
        self.release = helm_release(
            f"{name}-release",
            AWS_LOAD_BALANCER_CONTROLLER_CHART,
            release_name=RELEASE_NAME,
            namespace=KUBE_SYSTEM,
            values=pulumi.Output.all(args.cluster_name, args.vpc_id, role.arn).apply(values),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, attachment, *self.crds]),
            skip_crds=True,
        )
        self.register_outputs({"roleArn": self.role_arn, "status": self.release.status})
