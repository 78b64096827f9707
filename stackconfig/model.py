"""The whole stack: every config key this program reads, by its full Pulumi key.

A stack sets ``aws:region`` and exactly one role: ``datafly:platform`` (``platform.py``)
or ``datafly:tenant`` (``tenant.py``); what AWS offers in the region is checked here,
where the region and the role's settings meet.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .aws_data import cache_node_types, rds_instance_classes
from .base import field_error
from .platform import PlatformConfig
from .tenant import TenantConfig
from .types import DEFAULT_KUBERNETES_VERSION, Region


class StackConfig(BaseModel):
    """Every config key this program reads, by its full Pulumi key."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    region: Region = Field(alias="aws:region", description="AWS region of the stack.")
    platform: Optional[PlatformConfig] = Field(None, alias="datafly:platform")
    tenant: Optional[TenantConfig] = Field(None, alias="datafly:tenant")

    @model_validator(mode="after")
    def _one_role(self) -> "StackConfig":
        if (self.platform is None) == (self.tenant is None):
            raise field_error(
                "datafly:tenant", None,
                "set exactly one of datafly:platform (an environment) or datafly:tenant (a customer)",
            )
        return self

    @model_validator(mode="after")
    def _offered_in_region(self) -> "StackConfig":
        """What AWS offers differs per region: the orderable tables of cfn-lint's data."""
        if self.tenant is None:
            return self
        instance_class = self.tenant.postgres.instance_class
        classes = rds_instance_classes(self.region, "postgres")
        if classes is not None and instance_class not in classes:
            raise field_error(
                "datafly:tenant.postgres.instanceClass", instance_class,
                f"is not an RDS for PostgreSQL instance class orderable in {self.region} "
                f"(e.g. {', '.join(_close(instance_class, classes))})",
            )
        node_type = self.tenant.redis.node_type
        node_types = cache_node_types(self.region)
        if node_types is not None and node_type not in node_types:
            raise field_error(
                "datafly:tenant.redis.nodeType", node_type,
                f"is not an ElastiCache node type offered in {self.region} "
                f"(e.g. {', '.join(_close(node_type, node_types))})",
            )
        return self

    @property
    def role(self) -> Literal["platform", "tenant"]:
        return "platform" if self.platform is not None else "tenant"

    @property
    def kubernetes_version(self) -> str:
        if self.platform is not None:
            return self.platform.cluster.kubernetes_version
        assert self.tenant is not None
        if self.tenant.dedicated_cluster is not None:
            return self.tenant.dedicated_cluster.cluster.kubernetes_version
        return DEFAULT_KUBERNETES_VERSION


def _close(value: str, offered: frozenset[str]) -> list[str]:
    """A few offered values of the same family (`db.t4g.*`), else the first few."""
    family = value.rsplit(".", 1)[0] + "."
    same = sorted(v for v in offered if v.startswith(family))
    return (same or sorted(offered))[:6]
