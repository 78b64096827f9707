"""Typed stack configuration: models, loader and error reporting.

Keys are camelCase, as Pulumi users write them in ``stacks/Pulumi.<stack>.yaml``; the
Python attributes are snake_case. Defaults come from the Datafly Signal platform
documentation (the service table, autoscaling ranges and EKS reference sizing). Two
roles share one project: a ``platform`` stack per environment (``datafly:platform``)
owns the shared cluster and add-ons; a ``tenant`` stack per customer (``datafly:tenant``)
owns that customer's data stores, secrets, IAM roles and workloads.

The one pydantic model tree, validated once in ``__main__.py``, by module, bottom up:

- ``types``: constrained scalar types (names, domains, quantities, ARNs, versions) and
  the allowed values they check against;
- ``base``: the strict base ``Model``, ``FieldError`` and the checks every group shares
  (unique entries, reserved tags);
- ``platform``: ``PlatformConfig`` and the cluster parts a dedicated-cluster customer
  reuses (network, cluster, node group and NodePool, add-ons, MSK, observability);
- ``workloads``: a customer's services, autoscaling, images and migrations Job, with
  the documented per-service defaults (``SERVICE_DEFAULTS``);
- ``tenant``: ``TenantConfig`` and its cluster source, data stores, secrets, ingress
  and alarms;
- ``model``: ``StackConfig``, the whole stack (``aws:region`` and one of the two roles).

``loader`` reads a stack into ``StackConfig`` and reports problems by key path;
``aws_data`` holds the pinned AWS offerings the validators check against.

Layer (.importlinter): stackconfig imports only derive (the pure name, subnet-plan and
AMI-type helpers its validators share with builders), never builders or anything above;
every other package of the project may import it.
"""

from .loader import (
    ConfigError,
    Problem,
    is_secret_path,
    load_config,
    plaintext_secret_problem,
    platform_problems,
)
from .model import StackConfig
from .platform import PlatformConfig
from .tenant import TenantConfig

__all__ = [
    "ConfigError",
    "PlatformConfig",
    "Problem",
    "StackConfig",
    "TenantConfig",
    "is_secret_path",
    "load_config",
    "plaintext_secret_problem",
    "platform_problems",
]
