"""ingress-nginx behind an internet-facing NLB, for tenants on `className: nginx`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from builders.charts import INGRESS_NGINX_CHART, INGRESS_NGINX_NAMESPACE, addon_namespace, ingress_nginx_values

from .helm_release import helm_release


@dataclass(frozen=True)
class IngressNginxArgs:
    replicas: int
    # Must include the AWS Load Balancer Controller's release: that controller provisions
    # the NLB for the controller Service, and with it absent the Service never gets an
    # address, so the atomic release times out and rolls back.
    depends_on: Sequence[pulumi.Resource] = ()


class IngressNginx(pulumi.ComponentResource):
    """Ingresses of class `nginx` must depend on `release` (it creates the IngressClass
    and the admission webhook that validates them)."""

    release: k8s.helm.v3.Release
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: IngressNginxArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:addons:IngressNginx", name, None, opts)
        # `baseline`, not `restricted`: not every pod this chart renders (controller,
        # admission-webhook Jobs) is known to meet `restricted`, and a rejected pod fails
        # the atomic install. audit/warn still report against `restricted`.
        manifest = addon_namespace(INGRESS_NGINX_NAMESPACE, pod_security="baseline")
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=manifest["metadata"], opts=pulumi.ResourceOptions(parent=self)
        )
        self.namespace = ns.metadata.name
        self.release = helm_release(
            f"{name}-release",
            INGRESS_NGINX_CHART,
            release_name="ingress-nginx",
            namespace=self.namespace,
            values=ingress_nginx_values(args.replicas),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"namespace": self.namespace, "status": self.release.status})
