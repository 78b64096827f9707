"""Kubeconfig for an EKS cluster, authenticating with `aws eks get-token`.

Only the cluster's name, endpoint, CA and region go in, so the Kubernetes provider
built from it is replaced only when the cluster itself is (a replaced provider
replaces every object on it). No credentials are embedded: whoever runs `pulumi up`
needs AWS credentials that an EKS access entry admits.
"""

from __future__ import annotations

import json
from typing import Any


def kubeconfig(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority},
            }
        ],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
        "users": [
            {
                "name": cluster_name,
                "user": {
                    "exec": {
                        "apiVersion": "client.authentication.k8s.io/v1beta1",
                        "command": "aws",
                        "args": ["eks", "get-token", "--cluster-name", cluster_name, "--region", region,
                                 "--output", "json"],
                        "interactiveMode": "Never",
                    }
                },
            }
        ],
    }


def kubeconfig_json(cluster_name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    return json.dumps(kubeconfig(cluster_name, endpoint, certificate_authority, region), sort_keys=True)
