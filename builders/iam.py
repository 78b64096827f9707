"""IAM policy documents, as plain dicts (rendered to JSON by the components)."""

from __future__ import annotations

from typing import Any

POLICY_VERSION = "2012-10-17"


def service_trust_policy(*services: str) -> dict[str, Any]:
    """Trust policy letting AWS services (e.g. `eks.amazonaws.com`) assume a role."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": sorted(services) if len(services) > 1 else services[0]},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def irsa_trust_policy(oidc_provider_arn: str, oidc_provider_url: str, namespace: str, service_account: str) -> dict[str, Any]:
    """IRSA: exactly one service account may assume the role, checked with StringEquals
    on both `:sub` and `:aud` (a missing `:aud` check lets tokens minted for another
    audience through)."""
    issuer = oidc_provider_url.removeprefix("https://")
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": oidc_provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{issuer}:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }


def assume_roles_policy(role_arn_pattern: str) -> dict[str, Any]:
    """Identity policy allowing `sts:AssumeRole` on roles matching one ARN pattern, and
    nothing else. A name pattern (`.../role/<prefix>*`) rather than a list of ARNs because
    the target roles do not exist yet when this policy is written: other stacks create
    them later, one per customer, and must not have to edit this role to be reachable.
    Reachability alone grants nothing: each target role's own trust policy still has to
    name this principal (see `role_trust_policy`)."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": role_arn_pattern,
            }
        ],
    }


def role_trust_policy(principal_role_arn: str) -> dict[str, Any]:
    """Trust policy letting exactly one IAM role (by ARN) assume the role with
    `sts:AssumeRole`. The ARN must name a role that exists when the policy is saved; IAM
    stores it as the role's unique id, so a principal role that is deleted and recreated
    under the same name is no longer trusted until this policy is written again."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": principal_role_arn},
                "Action": "sts:AssumeRole",
            }
        ],
    }
