"""External Secrets objects that sync the customer's AWS Secrets Manager secrets into
the namespace (external-secrets.io/v1, the only version ESO 2.x serves).

Secret values never pass through Pulumi: the program names secrets by ARN, and the
External Secrets controller reads them with the namespace's own IRSA role.

Layout of the customer secret (`secret_arn`, a JSON object): JWT_SECRET,
ENCRYPTION_KEY and the connection URLs DATABASE_URL, REDIS_URL and KAFKA_BROKERS,
written there by the data-plane code that creates the stores; each becomes the key of
the same name in the `datafly-secrets` Kubernetes Secret the services read.
The RDS-managed master secret (`rds_master_secret_arn`, JSON with `username` and
`password`) is synced separately into `database-master`, for administration only.
"""

from __future__ import annotations

from typing import Any

from stackconfig.model import TenantConfig

from .labels import common_labels
from .namespace import namespace_name
from .services import APP_SECRET_NAME, SECRET_ENV_NAMES

SECRET_STORE_NAME = "customer-secrets"
SECRET_STORE_SERVICE_ACCOUNT = "external-secrets"
DATABASE_MASTER_SECRET = "database-master"
REFRESH_INTERVAL = "1h"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


def _meta(config: TenantConfig, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace_name(config.name),
        "labels": common_labels(config.name, component="secrets", name=name),
    }


def secret_store_service_account(config: TenantConfig, secret_store_role_arn: str) -> dict[str, Any]:
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


def _external_secret(config: TenantConfig, name: str, data: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": _meta(config, name),
        "spec": {
            "refreshInterval": REFRESH_INTERVAL,
            "secretStoreRef": {"name": SECRET_STORE_NAME, "kind": "SecretStore"},
            "target": {"name": name, "creationPolicy": "Owner", "deletionPolicy": "Retain"},
            "data": data,
        },
    }


def _entry(secret_key: str, remote_key: str, prop: str) -> dict[str, Any]:
    return {"secretKey": secret_key, "remoteRef": {"key": remote_key, "property": prop}}


def app_external_secret(config: TenantConfig, secret_arn: str) -> dict[str, Any]:
    return _external_secret(
        config, APP_SECRET_NAME, [_entry(key, secret_arn, key) for key in SECRET_ENV_NAMES]
    )


def database_master_external_secret(config: TenantConfig, rds_master_secret_arn: str) -> dict[str, Any]:
    return _external_secret(
        config, DATABASE_MASTER_SECRET,
        [_entry(key, rds_master_secret_arn, key) for key in ("username", "password")],
    )


def external_secrets(config: TenantConfig, *, secret_store_role_arn: str, region: str,
                     secret_arn: str, rds_master_secret_arn: str) -> list[dict[str, Any]]:
    """ServiceAccount, SecretStore, then the two ExternalSecrets."""
    return [
        secret_store_service_account(config, secret_store_role_arn),
        secret_store(config, region),
        app_external_secret(config, secret_arn),
        database_master_external_secret(config, rds_master_secret_arn),
    ]
