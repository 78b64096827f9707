"""Everything one customer runs: the per-tenant component."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from stackconfig.model import TenantConfig

from .cluster_access import ClusterAccess
from .customer_namespace import CustomerNamespace, CustomerNamespaceArgs
from .kubernetes_provider import kubernetes_provider


@dataclass(frozen=True)
class CustomerArgs:
    config: TenantConfig
    cluster: ClusterAccess
    # The provider of a cluster this stack owns (dedicated tier); a customer on the
    # shared platform builds its own from the platform's outputs.
    kubernetes_provider: Optional[k8s.Provider] = None


class Customer(pulumi.ComponentResource):
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: CustomerArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:tenant:Customer", name, None, opts)
        provider = args.kubernetes_provider or kubernetes_provider(
            f"{name}-k8s", args.cluster, pulumi.ResourceOptions(parent=self)
        )
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        ns = CustomerNamespace(f"{name}-ns", CustomerNamespaceArgs(customer=args.config.name), k8s_opts)
        self.namespace = ns.name
        self.register_outputs({"namespace": self.namespace})
