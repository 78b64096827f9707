"""Composition root: which components a stack gets, by its role."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from builders.customer_iam import keda_role_name_pattern
from stackconfig import ConfigError, PlatformConfig, Problem, StackConfig, platform_problems
from stackconfig.pulumi_source import ConfigRunError

from .cluster_access import ClusterAccess
from .customer import Customer, CustomerArgs, PlatformServices
from .customer_data_plane import SharedKafka
from .platform import Platform, PlatformArgs

MANAGED_BY_TAG = {"managed-by": "pulumi", "app": "datafly-signal"}


def stack_tags(owner: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """The tags of every AWS resource: the stack's own (owner, stack, managed-by) last,
    so a configured tag can add to them but never relabel a resource's owner (the config
    model refuses those keys too: RESERVED_TAG_KEYS)."""
    return {**extra, **MANAGED_BY_TAG, "stack": pulumi.get_stack(), **owner}


def aws_provider(name: str, region: str, tags: dict[str, str]) -> aws.Provider:
    """The stack's one AWS provider. Its default tags reach every AWS resource, so cost
    allocation and ownership never depend on each resource remembering them."""
    return aws.Provider(name, region=region, default_tags=aws.ProviderDefaultTagsArgs(tags=tags))


def deploy(config: StackConfig) -> dict[str, Any]:
    if config.platform is not None:
        return deploy_platform(config.region, config.platform)
    assert config.tenant is not None
    return deploy_tenant(config)


def deploy_platform(region: str, platform: PlatformConfig) -> dict[str, Any]:
    tags = stack_tags({"environment": platform.environment}, platform.tags)
    provider = aws_provider("aws", region, tags)
    shared = Platform(
        platform.environment,
        PlatformArgs(
            cluster_name=platform.cluster.name or f"datafly-{platform.environment}",
            region=region,
            network=platform.network,
            cluster=platform.cluster,
            addons=platform.addons,
            kafka=platform.kafka if platform.kafka.mode == "shared" else None,
            protect=platform.protect,
            tags=tags,
            keda_customer_role_name_pattern=keda_role_name_pattern(platform.environment),
            observability=platform.observability,
            environment=platform.environment,
        ),
        pulumi.ResourceOptions(providers={"aws": provider}),
    )
    return {"environment": platform.environment, **shared.outputs()}


def _require_matching_platform(config: StackConfig, reference: pulumi.StackReference) -> None:
    """`pulumi up` fails when the platform's region or environment contradicts the
    customer's config (the offline plan refuses it before running: offline/plan.py)."""

    def check(values: list[Any]) -> None:
        problems = platform_problems(config, {"region": values[0], "environment": values[1]})
        if problems:
            error = ConfigError(problems)
            raise pulumi.RunError("invalid stack configuration:\n" + str(error)) from error

    pulumi.Output.all(reference.get_output("region"), reference.get_output("environment")).apply(check)


def deploy_tenant(config: StackConfig) -> dict[str, Any]:
    region = config.region
    tenant = config.tenant
    assert tenant is not None
    # Cost allocation: the customer tag on every AWS resource of the stack, set once here.
    tags = stack_tags({"datafly:tenant": tenant.name}, tenant.tags)
    provider = aws_provider("aws", region, tags)
    aws_opts = pulumi.ResourceOptions(providers={"aws": provider})
    outputs: dict[str, Any] = {"customer": tenant.name}
    kubernetes = None
    internet_facing = tenant.ingress.scheme == "internet-facing"
    cluster_ready: Sequence[pulumi.Resource] = ()
    if tenant.dedicated_cluster is not None:
        # The silo tier: the customer's own network, cluster and add-ons, built by the
        # same component as an environment's shared platform.
        dedicated = tenant.dedicated_cluster
        own = Platform(
            f"{tenant.name}-cluster",
            PlatformArgs(
                # Not `datafly-<customer>`: a customer named like an environment would
                # take that environment's cluster name (EKS names are unique per region).
                cluster_name=dedicated.cluster.name or tenant.resource_name,
                region=region,
                network=dedicated.network,
                cluster=dedicated.cluster,
                addons=dedicated.addons,
                kafka=None,
                protect=tenant.protect,
                tags=tags,
                keda_customer_role_name_pattern=keda_role_name_pattern(tenant.environment, tenant.name),
                observability=dedicated.observability,
                # The dedicated tier's own environment in account/region-unique names.
                environment=f"{tenant.environment}-{tenant.name}",
            ),
            aws_opts,
        )
        cluster = own.access
        kubernetes = own.provider
        cluster_ready = own.addon_releases
        own_outputs = own.outputs()
        platform = PlatformServices(
            vpc_cidr=own.vpc_cidr,
            load_balancer_cidrs=own.public_subnet_cidrs if internet_facing else own.private_subnet_cidrs,
            shared_kafka=None,
            keda_operator_role_arn=own_outputs["kedaOperatorRoleArn"],
            availability_zones=dedicated.network.availability_zones
            if dedicated.network.mode == "create" else len(dedicated.network.private_subnet_ids),
        )
        outputs.update(own_outputs)
        alarm_prefix: pulumi.Input[str] = f"datafly-{tenant.name}"
        topic = own_outputs.get("alertsTopicArn")
        alarm_actions: pulumi.Input[Sequence[str]] = [topic] if topic is not None else []
    else:
        assert tenant.platform is not None  # the config model requires one of the two
        reference = pulumi.StackReference("platform", stack_name=tenant.platform.stack)
        _require_matching_platform(config, reference)
        cluster = ClusterAccess.from_stack_reference(reference)
        shared = None
        if tenant.kafka.mode == "shared":
            shared = SharedKafka(
                cluster_arn=_shared_kafka_output(reference, tenant.platform.stack, "kafkaClusterArn"),
                bootstrap_brokers=_shared_kafka_output(reference, tenant.platform.stack, "kafkaBootstrapBrokersIam"),
                cluster_name=_shared_kafka_output(reference, tenant.platform.stack, "kafkaClusterName"),
            )
        platform = PlatformServices(
            vpc_cidr=reference.require_output("vpcCidr"),
            load_balancer_cidrs=reference.require_output(
                "publicSubnetCidrs" if internet_facing else "privateSubnetCidrs"),
            shared_kafka=shared,
            keda_operator_role_arn=reference.require_output("kedaOperatorRoleArn"),
        )
        outputs["clusterName"] = cluster.cluster_name
        # The environment's name and alerts topic; a platform without observability
        # exports no topic, and the alarms then have no actions.
        alarm_prefix = reference.get_output("environment").apply(lambda env: f"datafly-{env}-{tenant.name}")
        alarm_actions = reference.get_output("alertsTopicArn").apply(lambda arn: [arn] if arn else [])
    customer = Customer(
        tenant.name,
        CustomerArgs(config=tenant, region=region, cluster=cluster, platform=platform, kubernetes_provider=kubernetes,
                     cluster_ready=cluster_ready, alarm_prefix=alarm_prefix, alarm_actions=alarm_actions),
        pulumi.ResourceOptions(providers={"aws": provider, "random": random.Provider("random")}),
    )
    outputs.update({"namespace": customer.namespace, "hosts": customer.hosts, **customer.data.outputs()})
    return outputs


def _shared_kafka_output(reference: pulumi.StackReference, platform: str, name: str) -> pulumi.Output[Any]:
    """A shared-Kafka output of the platform stack. A platform with `kafka.mode: none`
    exports none: say so as a config error, not the SDK's KeyError from require_output."""

    def present(outputs: Any) -> Any:
        if not isinstance(outputs, dict) or outputs.get(name) is None:
            error = ConfigError([Problem(
                "datafly:tenant.kafka.mode", "shared",
                f"the platform stack {platform} exports no {name} (its datafly:platform.kafka.mode is none?); "
                "use kafka.mode dedicated or give the platform a shared MSK cluster")])
            raise ConfigRunError(error)
        return outputs[name]

    return reference.outputs.apply(present)
