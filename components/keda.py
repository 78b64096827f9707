"""KEDA: event-driven autoscaling (ScaledObject, TriggerAuthentication), with an IRSA role
for the operator that can only step into the `datafly-keda-<environment>-<customer>` roles
of its own environment."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from builders.charts import KEDA_CHART, KEDA_NAMESPACE, KEDA_OPERATOR_SERVICE_ACCOUNT, addon_namespace, keda_values
from builders.customer_iam import KEDA_ROLE_NAME_PREFIX
from builders.iam import assume_roles_policy, irsa_trust_policy

from .helm_release import helm_release

# Customer stacks create `datafly-keda-<environment>-<customer>` (builders.customer_iam),
# trusting `operator_role_arn` through `builders.iam.role_trust_policy`.
CUSTOMER_ROLE_NAME_PREFIX = KEDA_ROLE_NAME_PREFIX


def customer_role_arn_pattern(oidc_provider_arn: str, role_name_pattern: str) -> str:
    """`arn:<partition>:iam::<account>:role/<role_name_pattern>` for the account and partition
    of the cluster's OIDC provider (`arn:<partition>:iam::<account>:oidc-provider/<issuer>`).
    Taken from that ARN rather than from a `getCallerIdentity` lookup: the provider
    always lives in the cluster's account, and a data source would be one more call
    (and one more thing to fake offline) for a value already at hand."""
    parts = oidc_provider_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or not parts[4] or not parts[5].startswith(
        "oidc-provider/"
    ):
        raise ValueError(f"not an IAM OIDC provider ARN: {oidc_provider_arn!r}")
    partition, account = parts[1], parts[4]
    if not role_name_pattern.startswith(KEDA_ROLE_NAME_PREFIX):
        raise ValueError(f"not a KEDA customer role name pattern: {role_name_pattern!r}")
    return f"arn:{partition}:iam::{account}:role/{role_name_pattern}"


@dataclass(frozen=True)
class KedaArgs:
    cluster_name: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    # What must exist before the chart can schedule (e.g. the node group).
    depends_on: Sequence[pulumi.Resource] = ()
    _: KW_ONLY
    # The customer roles the operator may assume (builders.customer_iam.keda_role_name_pattern):
    # those of its environment only, so one account's staging operator never reads prod.
    customer_role_name_pattern: str


class Keda(pulumi.ComponentResource):
    """Custom resources of `keda.sh` must depend on `release` (it installs the CRDs and
    the admission webhook). `operator_role_arn` is what customer roles must trust."""

    release: k8s.helm.v3.Release
    namespace: pulumi.Output[str]
    operator_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: KedaArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:addons:Keda", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        manifest = addon_namespace(KEDA_NAMESPACE, pod_security="restricted")
        ns = k8s.core.v1.Namespace(f"{name}-namespace", metadata=manifest["metadata"], opts=child)
        self.namespace = ns.metadata.name

        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_provider_url).apply(
            lambda v: json.dumps(irsa_trust_policy(v[0], v[1], KEDA_NAMESPACE, KEDA_OPERATOR_SERVICE_ACCOUNT))
        )
        # Auto-named on purpose: customer trust policies pin this role by its unique id,
        # so a replacement must surface as a new ARN (a diff in every customer stack)
        # rather than reuse the old name and silently stop being trusted.
        role = aws.iam.Role(
            f"{name}-operator-role",
            description=f"KEDA operator of {args.cluster_name} (IRSA, {KEDA_NAMESPACE}/{KEDA_OPERATOR_SERVICE_ACCOUNT})",
            assume_role_policy=trust,
            opts=child,
        )
        # The operator's only AWS permission: becoming a customer's scaler role. What it
        # may read (a customer's Kafka topics and groups) is granted on those roles.
        policy = aws.iam.RolePolicy(
            f"{name}-operator-policy",
            role=role.name,
            policy=pulumi.Output.from_input(args.oidc_provider_arn).apply(
                lambda arn: json.dumps(assume_roles_policy(customer_role_arn_pattern(arn, args.customer_role_name_pattern)))
            ),
            opts=child,
        )
        self.operator_role_arn = role.arn

        # Before the policy exists the operator's first scaler calls are denied and the
        # ScaledObjects report errors until the next poll; installing after it avoids that.
        self.release = helm_release(
            f"{name}-release",
            KEDA_CHART,
            release_name="keda",
            namespace=self.namespace,
            values=role.arn.apply(lambda arn: keda_values(operator_role_arn=arn)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, policy]),
        )
        self.register_outputs({
            "namespace": self.namespace,
            "operatorRoleArn": self.operator_role_arn,
            "status": self.release.status,
        })
