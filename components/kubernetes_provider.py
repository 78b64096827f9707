"""The explicit Kubernetes provider for one EKS cluster."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from builders.kubeconfig import kubeconfig_json

from .cluster_access import ClusterAccess


def kubernetes_provider(name: str, access: ClusterAccess, opts: pulumi.ResourceOptions) -> k8s.Provider:
    kubeconfig = pulumi.Output.all(
        access.cluster_name, access.endpoint, access.certificate_authority, access.region
    ).apply(lambda v: kubeconfig_json(v[0], v[1], v[2], v[3]))
    return k8s.Provider(
        name,
        kubeconfig=kubeconfig,
        # Objects this program renders are complete; server-side apply lets the API
        # server own defaulted fields instead of the provider diffing them.
        enable_server_side_apply=True,
        opts=opts,
    )
