"""A customer's PostgreSQL database: RDS, private, TLS-only, encrypted with the
customer key, with an RDS-managed master password (no password in program or state),
and the services' own least-privilege login (builders/database_users.py): its password
is generated here and kept in a Secrets Manager secret of its own, which External
Secrets syncs into the namespace."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from builders.data_stores import (
    POSTGRES_PORT,
    data_store_identifier,
    final_snapshot_identifier,
    postgres_parameter_group_family,
    postgres_parameters,
)
from builders.database_users import app_user, scram_sha256_verifier, verifier_salt
from stackconfig.tenant import PostgresConfig

from .client_security_group import client_security_group

MASTER_USERNAME = "datafly_admin"
# Alphanumerics only: the password goes into DATABASE_URL (URL-escaped anyway) and no
# shell or SQL quoting ever sees it. 40 characters from [A-Za-z0-9] carry ~238 bits.
APP_PASSWORD_LENGTH = 40
# Secrets Manager's longest recovery window.
APP_SECRET_RECOVERY_DAYS = 30
# Performance Insights' free retention tier, in days.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = 7
LOG_EXPORTS = ["postgresql", "upgrade"]
# No config key for it yet (wanted: postgres.logRetentionDays); a month of slow-query
# and connection logs covers an incident review without keeping them forever.
LOG_RETENTION_DAYS = 30


@dataclass(frozen=True)
class PostgresArgs:
    customer: str
    config: PostgresConfig
    vpc_id: pulumi.Input[str]
    # Private subnets in at least two AZs (an RDS subnet group requires two).
    subnet_ids: pulumi.Input[Sequence[str]]
    # The only security group allowed to connect (the cluster's node/pod group).
    client_security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    protect: bool
    _: KW_ONLY
    # Part of every physical name (datafly-<environment>-<customer>): RDS identifiers
    # are unique per account and region, across environments.
    environment: str


class Postgres(pulumi.ComponentResource):
    address: pulumi.Output[str]
    port: pulumi.Output[int]
    master_user_secret_arn: pulumi.Output[str]
    app_user_secret_arn: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    instance_id: pulumi.Output[str]
    identifier: str

    def __init__(self, name: str, args: PostgresArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:data:Postgres", name, None, opts)
        identifier = data_store_identifier(args.environment, args.customer)
        child = pulumi.ResourceOptions(parent=self)

        subnet_group = aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            description=f"Private subnets of {identifier}",
            opts=child,
        )
        security_group = client_security_group(
            name,
            vpc_id=args.vpc_id,
            description=f"RDS {identifier}: PostgreSQL from the workloads of customer {args.customer} only",
            tag_name=f"{identifier}-postgres",
            client_security_group_id=args.client_security_group_id,
            port=POSTGRES_PORT,
            rule_description=f"PostgreSQL (TLS) from the workloads of customer {args.customer}",
            opts=child,
        )
        parameter_group = self._parameter_group(name, args.config, identifier)
        snapshot_name = self._final_snapshot_name(name, args, identifier)
        log_groups = self._log_groups(name, identifier, args.protect)
        instance = self._instance(
            name, args, identifier, subnet_group, security_group, parameter_group, snapshot_name, log_groups
        )
        app_secret = self._app_user_secret(name, args, identifier)

        self.identifier = identifier
        self.app_user_secret_arn = app_secret.arn
        self.address = instance.address
        self.port = instance.port
        self.master_user_secret_arn = instance.master_user_secrets.apply(_master_secret_arn)
        self.security_group_id = security_group.id
        self.instance_id = instance.id
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "masterUserSecretArn": self.master_user_secret_arn,
                "appUserSecretArn": self.app_user_secret_arn,
                "securityGroupId": self.security_group_id,
                "instanceId": self.instance_id,
            }
        )

    def _parameter_group(self, name: str, config: PostgresConfig, identifier: str) -> aws.rds.ParameterGroup:
        # Auto-named: a major version upgrade needs a group of the new family, which
        # must exist before the instance switches to it (create-before-delete).
        return aws.rds.ParameterGroup(
            f"{name}-params",
            family=postgres_parameter_group_family(config.engine_version),
            description=f"{identifier}: TLS only, slow-query and connection logging",
            parameters=[aws.rds.ParameterGroupParameterArgs(**p) for p in postgres_parameters(config.engine_version)],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _final_snapshot_name(self, name: str, args: PostgresArgs, identifier: str) -> pulumi.Output[str]:
        # These inputs replace the instance (a new, empty database): engine,
        # identifier, username, db_name, storage_encrypted and kms_key_id. `protect`
        # turns such a plan into an error. The snapshot suffix below is keyed on the
        # same inputs, so each instance generation gets its own final snapshot name.
        replace_keys: dict[str, pulumi.Input[str]] = {
            "engine": "postgres",
            "identifier": identifier,
            "username": MASTER_USERNAME,
            "dbName": args.config.database_name,
            "storageEncrypted": "true",
            "kmsKeyId": args.kms_key_arn,
        }
        # Why a RandomId rather than the instance's own resource id: the final snapshot
        # name is an input of the instance, so it cannot depend on the instance's
        # outputs. Keyed on the replace-triggering inputs, the suffix is re-rolled
        # exactly when a new instance is created (destroy/up or replace), while the
        # deleted instance keeps the name recorded in its state.
        generation = random.RandomId(
            f"{name}-snapshot-suffix",
            byte_length=4,
            keepers=replace_keys,
            opts=pulumi.ResourceOptions(parent=self),
        )
        stack = pulumi.get_stack()
        return generation.hex.apply(
            lambda suffix: final_snapshot_identifier(args.environment, args.customer, stack, "postgres", suffix)
        )

    def _log_groups(self, name: str, identifier: str, protect: bool) -> list[aws.cloudwatch.LogGroup]:
        # RDS creates the export log groups itself, with no expiry, if they do not
        # exist yet; creating them first (and making the instance wait) sets retention.
        return [
            aws.cloudwatch.LogGroup(
                f"{name}-logs-{export}",
                name=f"/aws/rds/instance/{identifier}/{export}",
                retention_in_days=LOG_RETENTION_DAYS,
                opts=pulumi.ResourceOptions(parent=self, protect=protect),
            )
            for export in LOG_EXPORTS
        ]

    def _instance(
        self,
        name: str,
        args: PostgresArgs,
        identifier: str,
        subnet_group: aws.rds.SubnetGroup,
        security_group: aws.ec2.SecurityGroup,
        parameter_group: aws.rds.ParameterGroup,
        snapshot_name: pulumi.Output[str],
        log_groups: list[aws.cloudwatch.LogGroup],
    ) -> aws.rds.Instance:
        config = args.config
        return aws.rds.Instance(
            f"{name}-instance",
            identifier=identifier,
            engine="postgres",
            # A major version ("16") lets RDS pick the current minor and auto minor
            # upgrades move it without a diff; a full version pins it.
            engine_version=config.engine_version,
            # Only reachable by editing engineVersion in config; with apply_immediately
            # off it still waits for the maintenance window.
            allow_major_version_upgrade=True,
            auto_minor_version_upgrade=True,
            instance_class=config.instance_class,
            allocated_storage=config.allocated_storage_gib,
            max_allocated_storage=config.max_allocated_storage_gib,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_name=config.database_name,
            username=MASTER_USERNAME,
            # RDS generates and rotates the master password in Secrets Manager,
            # encrypted with the customer key; no password input exists anywhere.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.kms_key_arn,
            port=POSTGRES_PORT,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[security_group.id],
            parameter_group_name=parameter_group.name,
            publicly_accessible=False,
            multi_az=config.multi_az,
            backup_retention_period=config.backup_retention_days,
            copy_tags_to_snapshot=True,
            # Automated backups survive an (intended) deletion until they expire.
            delete_automated_backups=False,
            deletion_protection=args.protect,
            skip_final_snapshot=False,
            final_snapshot_identifier=snapshot_name,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.kms_key_arn,
            performance_insights_retention_period=PERFORMANCE_INSIGHTS_RETENTION_DAYS,
            enabled_cloudwatch_logs_exports=LOG_EXPORTS,
            # Changes that need a restart (instance class, parameters) wait for the
            # maintenance window instead of bouncing production mid-day.
            apply_immediately=False,
            tags={"datafly:customer": args.customer},
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect, depends_on=log_groups),
        )

    def _app_user_secret(self, name: str, args: PostgresArgs, identifier: str) -> aws.secretsmanager.Secret:
        child = pulumi.ResourceOptions(parent=self)
        # The services' login. Keepers: a new appCredentialsVersion rolls a new password
        # for the other of the two alternating users; nothing else re-rolls it.
        version = args.config.app_credentials_version
        user = app_user(version)
        password = random.RandomPassword(
            f"{name}-app-password",
            length=APP_PASSWORD_LENGTH,
            special=False,
            keepers={"appCredentialsVersion": str(version), "user": user},
            opts=child,
        )
        app_secret = aws.secretsmanager.Secret(
            f"{name}-app-user",
            name=f"datafly/{args.environment}/{args.customer}/database",
            description=f"{identifier}: the services' own PostgreSQL login (not the master user)",
            kms_key_id=args.kms_key_arn,
            recovery_window_in_days=APP_SECRET_RECOVERY_DAYS,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        salt = verifier_salt(args.customer, user, version)
        secret_password: pulumi.Output[str] = pulumi.Output.secret(password.result)
        document: pulumi.Output[str] = secret_password.apply(lambda p: json.dumps({
            "username": user,
            "password": p,
            "verifier": scram_sha256_verifier(p, salt),
        }, sort_keys=True))
        aws.secretsmanager.SecretVersion(
            f"{name}-app-user-version",
            secret_id=app_secret.id,
            secret_string=document,
            opts=child,
        )
        return app_secret


def _master_secret_arn(secrets: Sequence[aws.rds.outputs.InstanceMasterUserSecret]) -> str:
    if not secrets or not secrets[0].secret_arn:
        raise ValueError("RDS reported no managed master user secret")
    return secrets[0].secret_arn
