"""The customer's Kubernetes namespace (`customer-<name>`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from builders.namespace import namespace


@dataclass(frozen=True)
class CustomerNamespaceArgs:
    customer: str
    # Behind the ALB (ingress class alb): pods get the controller's readiness gates.
    alb: bool = True


class CustomerNamespace(pulumi.ComponentResource):
    name: pulumi.Output[str]

    def __init__(
        self, name: str, args: CustomerNamespaceArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__("datafly:tenant:CustomerNamespace", name, None, opts)
        manifest = namespace(args.customer, alb=args.alb)
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata=manifest["metadata"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.name = ns.metadata.name
        self.register_outputs({"name": self.name})
