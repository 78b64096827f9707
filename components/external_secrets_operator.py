"""External Secrets Operator: syncs AWS Secrets Manager entries into tenant namespaces
through namespaced SecretStores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_kubernetes as k8s

from builders.charts import (
    EXTERNAL_SECRETS_CHART,
    EXTERNAL_SECRETS_NAMESPACE,
    addon_namespace,
    external_secrets_values,
)

from .helm_release import helm_release


@dataclass(frozen=True)
class ExternalSecretsOperatorArgs:
    depends_on: Sequence[pulumi.Resource] = ()


class ExternalSecretsOperator(pulumi.ComponentResource):
    """No IAM role: the controller holds no AWS identity of its own (see
    builders.charts.external_secrets_values). `external-secrets.io` resources must depend
    on `release`."""

    release: k8s.helm.v3.Release
    namespace: pulumi.Output[str]

    def __init__(
        self, name: str, args: ExternalSecretsOperatorArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__("datafly:addons:ExternalSecretsOperator", name, None, opts)
        manifest = addon_namespace(EXTERNAL_SECRETS_NAMESPACE, pod_security="restricted")
        ns = k8s.core.v1.Namespace(
            f"{name}-namespace", metadata=manifest["metadata"], opts=pulumi.ResourceOptions(parent=self)
        )
        self.namespace = ns.metadata.name
        self.release = helm_release(
            f"{name}-release",
            EXTERNAL_SECRETS_CHART,
            release_name="external-secrets",
            namespace=self.namespace,
            values=external_secrets_values(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.register_outputs({"namespace": self.namespace, "status": self.release.status})
