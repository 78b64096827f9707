"""The base of every per-customer AWS name and the AWS length limits the config model
checks it against (builders/data_stores.py builds the identifiers from it)."""

from __future__ import annotations

# ElastiCache replication group ids: the RDS identifier character rules
# (builders/data_stores.py), at most 40 characters.
REPLICATION_GROUP_ID_MAX = 40
# ACM: the certificate's domain name (its Common Name) is at most 64 characters
# (https://docs.aws.amazon.com/acm/latest/APIReference/API_RequestCertificate.html).
ACM_COMMON_NAME_MAX = 64


def customer_resource_name(environment: str, customer: str) -> str:
    """`datafly-<environment>-<customer>`: the base of every AWS name of a customer that
    is unique per account or region. The environment keeps the same customer on staging
    and prod in one account apart, and a customer named like an environment apart from
    that environment's own `datafly-<environment>` names."""
    return f"datafly-{environment}-{customer}"
