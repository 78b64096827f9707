"""Composition root: which components a stack gets, by its role."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from stackconfig.model import PlatformConfig, StackConfig, TenantConfig

from .cluster_access import ClusterAccess
from .customer import Customer, CustomerArgs

MANAGED_BY_TAG = {"managed-by": "pulumi", "app": "datafly-signal"}


def aws_provider(name: str, region: str, tags: dict[str, str]) -> aws.Provider:
    return aws.Provider(
        name,
        region=region,
        default_tags=aws.ProviderDefaultTagsArgs(tags={**MANAGED_BY_TAG, **tags}),
    )


def deploy(config: StackConfig) -> dict[str, Any]:
    if config.platform is not None:
        return deploy_platform(config.region, config.platform)
    assert config.tenant is not None
    return deploy_tenant(config.region, config.tenant)


def deploy_platform(region: str, platform: PlatformConfig) -> dict[str, Any]:
    provider = aws_provider(
        "aws", region, {"environment": platform.environment, **platform.tags}
    )
    del provider
    return {"environment": platform.environment, "region": region}


def deploy_tenant(region: str, tenant: TenantConfig) -> dict[str, Any]:
    provider = aws_provider("aws", region, {"customer": tenant.name, **tenant.tags})
    if tenant.platform is None:
        raise NotImplementedError("dedicated clusters arrive with the platform components")
    reference = pulumi.StackReference("platform", stack_name=tenant.platform.stack)
    cluster = ClusterAccess.from_stack_reference(reference)
    customer = Customer(
        tenant.name,
        CustomerArgs(config=tenant, cluster=cluster),
        pulumi.ResourceOptions(providers={"aws": provider}),
    )
    return {"customer": tenant.name, "namespace": customer.namespace, "clusterName": cluster.cluster_name}
