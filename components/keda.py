"""KEDA: event-driven autoscaling (ScaledObject, TriggerAuthentication)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from builders.charts import KEDA_CHART, KEDA_NAMESPACE, addon_namespace, keda_values

from .helm_release import helm_release


@dataclass(frozen=True)
class KedaArgs:
    # What must exist before the chart can schedule (e.g. the node group).
    depends_on: Sequence[pulumi.Resource] = ()


class Keda(pulumi.ComponentResource):
    """Custom resources of `keda.sh` must depend on `release` (it installs the CRDs and
    the admission webhook)."""

    release: k8s.helm.v3.Release
    namespace: pulumi.Output[str]

    def __init__(self, name: str, args: KedaArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:addons:Keda", name, None, opts)
        manifest = addon_namespace(KEDA_NAMESPACE, pod_security="restricted")
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=manifest["metadata"], opts=pulumi.ResourceOptions(parent=self)
        )
        self.namespace = ns.metadata.name
        self.release = helm_release(
            f"{name}-release",
            KEDA_CHART,
            release_name="keda",
            namespace=self.namespace,
            values=keda_values(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"namespace": self.namespace, "status": self.release.status})
