"""An IAM role one Kubernetes service account assumes through IRSA, with one inline policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from builders.iam import irsa_trust_policy

# One hour, the IAM default: the SDKs in the pods refresh web-identity credentials
# on their own, so a longer session only widens the window of a leaked token.
MAX_SESSION_SECONDS = 3600


@dataclass(frozen=True)
class IrsaRoleArgs:
    namespace: str
    service_account: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_provider_url: pulumi.Input[str]
    # The permission policy, as JSON (e.g. from builders.customer_iam).
    policy: pulumi.Input[str]
    description: str


class IrsaRole(pulumi.ComponentResource):
    arn: pulumi.Output[str]
    name: pulumi.Output[str]

    def __init__(self, name: str, args: IrsaRoleArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:iam:IrsaRole", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_provider_url).apply(
            lambda values: json.dumps(
                irsa_trust_policy(values[0], values[1], args.namespace, args.service_account)
            )
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=trust,
            description=args.description,
            max_session_duration=MAX_SESSION_SECONDS,
            tags={"kubernetes-namespace": args.namespace, "kubernetes-service-account": args.service_account},
            opts=child,
        )
        # Inline rather than a managed policy: it lives and dies with the role and
        # cannot be attached to anything else by mistake.
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=args.policy,
            opts=child,
        )
        self.arn = role.arn
        self.name = role.name
        self.register_outputs({"arn": self.arn, "name": self.name})
