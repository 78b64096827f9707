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
