"""External Secrets objects that sync the customer's AWS Secrets Manager secrets into
the namespace (external-secrets.io/v1, the only version ESO 2.x serves).

Secret values never pass through Pulumi: the program names secrets by ARN, and the
External Secrets controller reads them with the namespace's own IRSA role.

The `datafly-secrets` Secret the services read is templated by the controller from:
the services' own database login (`username`, `password` of the program's
`datafly/<environment>/<customer>/database` secret — not the RDS master user, whose password RDS
rotates under running pods; builders/database_users.py), the Redis AUTH token, and the
customer's app secret (`JWT_SECRET`, `ENCRYPTION_KEY`); endpoints and brokers are not
secret and are written into the templates by the program.

The migrations Job reads a Secret of its own, named like the Job (one per release and
credentials version): a new ExternalSecret is synced when it is created, so the Job
always starts with the current master password and the current app-user verifier,
whatever the refresh interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi import Input

from stackconfig import TenantConfig

from .labels import common_labels
from .namespace import namespace_name
from .services import APP_SECRET_NAME, app_secret_name

SECRET_STORE_NAME = "customer-secrets"
SECRET_STORE_SERVICE_ACCOUNT = "external-secrets"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


def _meta(config: TenantConfig, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace_name(config.name),
        "labels": common_labels(config.name, component="secrets", name=name),
    }


def secret_store_service_account(config: TenantConfig, secret_store_role_arn: Input[str]) -> dict[str, Any]:
    meta = _meta(config, SECRET_STORE_SERVICE_ACCOUNT)
    meta["annotations"] = {IRSA_ANNOTATION: secret_store_role_arn}
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta,
        # No pod runs as this account: the ESO controller requests its tokens through
        # the TokenRequest API, so nothing needs one mounted.
        "automountServiceAccountToken": False,
    }


def secret_store(config: TenantConfig, region: str) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "SecretStore",
        "metadata": _meta(config, SECRET_STORE_NAME),
        "spec": {
            "provider": {
                "aws": {
                    "service": "SecretsManager",
                    "region": region,
                    "auth": {"jwt": {"serviceAccountRef": {"name": SECRET_STORE_SERVICE_ACCOUNT}}},
                }
            }
        },
    }


def vendor_key(name: str) -> str:
    """`VENDOR_<NAME>`: vendor names are DNS labels, environment keys are not."""
    return "VENDOR_" + name.upper().replace("-", "_")


def vendor_keys(config: TenantConfig) -> list[str]:
    """The vendor credentials' keys in the app secret (and the synced Secret), which the
    delivery workers read to deliver to each vendor's API."""
    return sorted(vendor_key(name) for name in config.secrets.vendor_credentials)


def _entry(secret_key: str, remote_key: Input[str], prop: str) -> dict[str, Any]:
    return {"secretKey": secret_key, "remoteRef": {"key": remote_key, "property": prop}}


def connection_templates(
    *, database_host: str, database_port: int, database_name: str, redis_host: str, redis_port: int,
    kafka_brokers: str, vendors: Sequence[str] = (),
) -> dict[str, str]:
    """The Secret's keys as ESO (engine v2, Go templates) renders them. Credentials are
    URL-escaped: RDS-generated passwords may contain characters that break a URL."""
    return {
        "DATABASE_URL": (
            "postgresql://{{ .db_username | urlquery }}:{{ .db_password | urlquery }}"
            f"@{database_host}:{database_port}/{database_name}?sslmode=require"
        ),
        "REDIS_URL": f"rediss://:{{{{ .redis_auth_token | urlquery }}}}@{redis_host}:{redis_port}/0",
        "KAFKA_BROKERS": kafka_brokers,
        "JWT_SECRET": "{{ .jwt_secret }}",
        "ENCRYPTION_KEY": "{{ .encryption_key }}",
        # Copied as they are; every template key must have its data entry below.
        **{key: f"{{{{ .{key.lower()} }}}}" for key in vendors},
    }


def migrations_connection_templates(*, database_host: str, database_port: int, database_name: str) -> dict[str, str]:
    """The migrations Job's Secret: the master login (DDL) and what the init container
    needs to (re)create the services' login."""
    return {
        "DATABASE_URL": (
            "postgresql://{{ .admin_username | urlquery }}:{{ .admin_password | urlquery }}"
            f"@{database_host}:{database_port}/{database_name}?sslmode=require"
        ),
        "PGUSER": "{{ .admin_username }}",
        "PGPASSWORD": "{{ .admin_password }}",
        "APP_DATABASE_USER": "{{ .app_username }}",
        "APP_DATABASE_PASSWORD_VERIFIER": "{{ .app_verifier }}",
    }


def migrations_external_secret(
    config: TenantConfig, *, name: str, rds_master_secret_arn: Input[str], database_app_secret_arn: Input[str],
    templates: Input[Mapping[str, str]],
) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": _meta(config, name),
        "spec": {
            "refreshInterval": config.secrets.refresh_interval,
            "secretStoreRef": {"name": SECRET_STORE_NAME, "kind": "SecretStore"},
            "target": {
                "name": name,
                "creationPolicy": "Owner",
                "template": {"engineVersion": "v2", "type": "Opaque", "data": templates},
            },
            "data": [
                _entry("admin_username", rds_master_secret_arn, "username"),
                _entry("admin_password", rds_master_secret_arn, "password"),
                _entry("app_username", database_app_secret_arn, "username"),
                _entry("app_verifier", database_app_secret_arn, "verifier"),
            ],
        },
    }


def app_external_secret(
    config: TenantConfig, *, app_secret_arn: Input[str], redis_secret_arn: Input[str],
    database_app_secret_arn: Input[str], templates: Input[Mapping[str, str]],
) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": _meta(config, APP_SECRET_NAME),
        "spec": {
            "refreshInterval": config.secrets.refresh_interval,
            "secretStoreRef": {"name": SECRET_STORE_NAME, "kind": "SecretStore"},
            "target": {
                "name": APP_SECRET_NAME,
                "creationPolicy": "Owner",
                # Keep the Secret if the ExternalSecret goes: running pods keep working.
                "deletionPolicy": "Retain",
                "template": {"engineVersion": "v2", "type": "Opaque", "data": templates},
            },
            "data": [
                _entry("db_username", database_app_secret_arn, "username"),
                _entry("db_password", database_app_secret_arn, "password"),
                _entry("redis_auth_token", redis_secret_arn, "REDIS_AUTH_TOKEN"),
                _entry("jwt_secret", app_secret_arn, "JWT_SECRET"),
                _entry("encryption_key", app_secret_arn, "ENCRYPTION_KEY"),
                *(_entry(key.lower(), app_secret_arn, key) for key in vendor_keys(config)),
            ],
        },
    }


def external_secrets(
    config: TenantConfig, *, secret_store_role_arn: Input[str], region: str, app_secret_arn: Input[str],
    redis_secret_arn: Input[str], database_app_secret_arn: Input[str], templates: Input[Mapping[str, str]],
) -> list[dict[str, Any]]:
    """ServiceAccount, SecretStore and the ExternalSecret; nothing when the services read
    a Kubernetes Secret the customer manages."""
    if app_secret_name(config) != APP_SECRET_NAME:
        return []
    return [
        secret_store_service_account(config, secret_store_role_arn),
        secret_store(config, region),
        app_external_secret(
            config, app_secret_arn=app_secret_arn, redis_secret_arn=redis_secret_arn,
            database_app_secret_arn=database_app_secret_arn, templates=templates,
        ),
    ]
