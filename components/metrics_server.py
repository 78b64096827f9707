"""metrics-server: the `metrics.k8s.io` API behind CPU/memory HPAs and `kubectl top`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from builders.charts import KUBE_SYSTEM, METRICS_SERVER_CHART, metrics_server_values

from .helm_release import helm_release


@dataclass(frozen=True)
class MetricsServerArgs:
    depends_on: Sequence[pulumi.Resource] = ()


class MetricsServer(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: MetricsServerArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__("datafly:addons:MetricsServer", name, None, opts)
        self.release = helm_release(
            f"{name}-release",
            METRICS_SERVER_CHART,
            release_name="metrics-server",
            namespace=KUBE_SYSTEM,
            values=metrics_server_values(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"status": self.release.status})
