"""Everything one customer runs in Kubernetes, in its namespace: isolation, secrets
sync, the migrations Job, the six services, Ingress and autoscalers.

The objects come from the pure builders in `builders/`; this component only registers
them, in an order that makes `pulumi up` safe:

    isolation ─► ServiceAccounts, SecretStore, ExternalSecret ─► migrations Job
        ─► Deployments ─► Services, PDBs ─► Ingress ─► autoscalers

Every Deployment depends on the migrations Job, and pulumi-kubernetes waits for a Job
to complete (for its whole activeDeadlineSeconds, builders/workloads.py): no service rolls to a new release until its migrations succeeded, and a
failed migration fails the update with the previous release still running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi

from builders import autoscaling, external_secrets, ingress, isolation, workloads
from builders.ingress import HOST_ROLES
from stackconfig import TenantConfig

from .customer_data_plane import DataPlaneEndpoints
from .kubernetes_object import register, resource_name


@dataclass(frozen=True)
class CustomerWorkloadsArgs:
    config: TenantConfig
    region: str
    vpc_cidr: pulumi.Input[str]
    load_balancer_cidrs: pulumi.Input[Sequence[str]]
    # Where the stores and Kafka answer, and the secrets and roles that reach them.
    data: DataPlaneEndpoints
    # The certificate the stack issued for the hosts (ingress.route53ZoneId), if any.
    certificate_arn: Optional[pulumi.Input[str]] = None
    # Objects everything here waits for (the namespace).
    depends_on: Sequence[pulumi.Resource] = ()


class CustomerWorkloads(pulumi.ComponentResource):
    ingress: pulumi.CustomResource
    migrations: pulumi.CustomResource

    def __init__(self, name: str, args: CustomerWorkloadsArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:tenant:CustomerWorkloads", name, None, opts)
        config = args.config
        self._name = name

        def add(
            objs: Sequence[Mapping[str, Any]], after: Sequence[pulumi.Resource], resource: Optional[str] = None
        ) -> list[pulumi.CustomResource]:
            opts = pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, *after])
            return [register(resource or resource_name(name, obj), obj, opts) for obj in objs]

        guards = add(isolation.isolation(
            config, vpc_cidr=args.vpc_cidr, load_balancer_cidrs=args.load_balancer_cidrs), [])
        templates = pulumi.Output.all(
            args.data.database_address, args.data.database_port, args.data.redis_address, args.data.redis_port,
            args.data.kafka_bootstrap_brokers,
        ).apply(lambda v: external_secrets.connection_templates(
            database_host=v[0], database_port=v[1], database_name=config.postgres.database_name,
            redis_host=v[2], redis_port=v[3], kafka_brokers=v[4],
            vendors=external_secrets.vendor_keys(config),
        ))
        secrets = add(
            external_secrets.external_secrets(
                config,
                secret_store_role_arn=args.data.secrets_reader_role_arn,
                region=args.region,
                # Existing Secrets Manager secret or the generated one; with an existing
                # Kubernetes Secret the builder renders nothing here.
                app_secret_arn=args.data.app_secret_arn if args.data.app_secret_arn is not None else "",
                redis_secret_arn=args.data.redis_secret_arn,
                database_app_secret_arn=args.data.database_app_secret_arn,
                templates=templates,
            ),
            guards,
        )
        accounts = add(workloads.service_accounts(config, args.data.service_role_arns), guards)
        # A stable resource name: a release renames the Job, which Pulumi then replaces
        # (runs again) while the name in the plan stays the same.
        migration_inputs: list[pulumi.CustomResource] = []
        if workloads.manages_app_user(config):
            # The Job's own Secret, named per release: created (and so synced) right
            # before the Job, with the current master password and app-user verifier.
            job_templates = pulumi.Output.all(args.data.database_address, args.data.database_port).apply(
                lambda v: external_secrets.migrations_connection_templates(
                    database_host=v[0], database_port=v[1], database_name=config.postgres.database_name,
                )
            )
            migration_inputs = [
                *add([workloads.app_user_sql_config_map(config)], guards, f"{name}-app-user-sql"),
                *add([external_secrets.migrations_external_secret(
                    config, name=workloads.migrations_secret_name(config),
                    rds_master_secret_arn=args.data.database_master_secret_arn,
                    database_app_secret_arn=args.data.database_app_secret_arn, templates=job_templates,
                )], secrets, f"{name}-migrations-secret"),
            ]
        (self.migrations,) = add(
            [workloads.migrations_job(
                config, database_host=args.data.database_address,
                database_port=pulumi.Output.from_input(args.data.database_port).apply(str),
            )],
            [*secrets, *accounts, *migration_inputs], f"{name}-migrations",
        )
        deployments = add(workloads.deployments(config, args.data.kafka_topic_prefix), [self.migrations])
        services = add(workloads.services(config), deployments)
        add(workloads.pod_disruption_budgets(config), deployments)
        (self.ingress,) = add([ingress.ingress(config, args.certificate_arn)], services)
        if config.autoscaling.metrics_provider == "keda" and args.data.keda_role_arn is None:
            raise ValueError("KEDA autoscaling needs the customer's lag-reader role")
        add(
            autoscaling.autoscalers(
                config,
                kafka_bootstrap=args.data.kafka_bootstrap_brokers,
                kafka_topic_prefix=args.data.kafka_topic_prefix,
                region=args.region,
                keda_role_arn=args.data.keda_role_arn if args.data.keda_role_arn is not None else "",
            ),
            deployments,
        )
        self.hosts = [config.host(role) for role in HOST_ROLES]
        self.register_outputs({"hosts": self.hosts, "migrationsJob": workloads.migrations_job_name(config)})
