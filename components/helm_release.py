"""How every add-on chart is installed: one function, so all releases share the same
failure behaviour. Not a component; the caller's component is the parent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from builders.charts import ChartSpec

# Per Kubernetes operation. Above the 300 s default because an NLB or a webhook
# certificate on a fresh cluster can take longer; bounded so a wedged install fails and
# rolls back instead of holding the stack's update open.
RELEASE_TIMEOUT_SECONDS = 600
# Each revision is a Secret in the release namespace; keep enough to roll back, not all.
MAX_HISTORY = 10


def helm_release(
    name: str,
    spec: ChartSpec,
    release_name: str,
    namespace: pulumi.Input[str],
    values: pulumi.Input[Mapping[str, Any]],
    opts: pulumi.ResourceOptions,
    skip_crds: bool = False,
) -> k8s.helm.v3.Release:
    """`atomic` rolls a failed install or upgrade back instead of leaving a half-applied
    release (and implies waiting for readiness); `cleanup_on_fail` removes objects the
    failed upgrade created; `wait_for_jobs` makes hook Jobs (webhook certificates) part
    of success. CRDs are installed by the chart unless `skip_crds`: a chart that keeps
    them in `crds/`, which Helm never upgrades, has them managed as resources instead (the
    ALB controller), and Karpenter's come from its separate CRD chart. The custom
    resources other components render depend on this release. The release name is fixed
    so object names derived from it (Deployments, service accounts the IRSA trust policy
    names) are stable."""
    return k8s.helm.v3.Release(
        name,
        name=release_name,
        chart=spec.chart,
        version=spec.version,
        # An OCI chart (`oci://...`) names its registry in `chart` and has no repository.
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=spec.repository) if spec.repository else None,
        namespace=namespace,
        create_namespace=False,
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        wait_for_jobs=True,
        skip_crds=skip_crds,
        timeout=RELEASE_TIMEOUT_SECONDS,
        max_history=MAX_HISTORY,
        opts=opts,
    )
