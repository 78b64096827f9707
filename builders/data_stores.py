"""Plain data for a customer's data stores: names, the PostgreSQL parameter group and
the final snapshot identifier. No resources here; components/postgres.py and
components/redis.py register them. The name base (`customer_resource_name`) and the
limits the config model checks live in derive/names.py and are re-exported here."""

from __future__ import annotations

import re
from typing import TypedDict

from derive.names import REPLICATION_GROUP_ID_MAX as REPLICATION_GROUP_ID_MAX
from derive.names import customer_resource_name as customer_resource_name

POSTGRES_PORT = 5432
REDIS_PORT = 6379

# RDS DB identifiers and snapshot identifiers: letters, digits and '-', starting with
# a letter, no '--', not ending in '-'
# (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.Constraints).
_RDS_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]*[a-z0-9]$")
RDS_IDENTIFIER_MAX = 63
SNAPSHOT_IDENTIFIER_MAX = 255

# The only engine versions this program accepts for transit_encryption_mode "required"
# and AUTH with TLS: Redis OSS 7+ and Valkey 7.2+ (mode is an API of 7.0.5+).
_CACHE_MIN_MAJOR = {"redis": 7, "valkey": 7}


class DbParameter(TypedDict):
    name: str
    value: str
    apply_method: str


def data_store_identifier(environment: str, customer: str) -> str:
    """`datafly-<environment>-<customer>`: the RDS identifier and ElastiCache replication
    group id.

    Stable on purpose: it is the DNS name applications are configured with and a
    replace-triggering input of both resources."""
    identifier = customer_resource_name(environment, customer)
    _check_identifier(identifier, REPLICATION_GROUP_ID_MAX, "data store identifier")
    return identifier


def postgres_major(engine_version: str) -> int:
    return int(engine_version.split(".", 1)[0])


def postgres_parameter_group_family(engine_version: str) -> str:
    return f"postgres{postgres_major(engine_version)}"


def postgres_parameters(engine_version: str) -> list[DbParameter]:
    """Parameter group settings, sorted by name (the provider stores them as a set;
    a stable order keeps the plan diff quiet).

    All are dynamic parameters, so `immediate` applies them without a reboot; RDS
    refuses `immediate` only for static ones. `rds.force_ssl` is dynamic for RDS for
    PostgreSQL and already 1 by default from 15 on; it is set explicitly so that a
    change of defaults can never silently allow plaintext connections
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/PostgreSQL.Concepts.General.SSL.html).
    """
    major = postgres_major(engine_version)
    values = {
        "rds.force_ssl": "1",
        # Statements slower than a second land in the exported `postgresql` log.
        "log_min_duration_statement": "1000",
        "log_lock_waits": "1",
        "log_disconnections": "1",
    }
    # PostgreSQL 18 turned log_connections from a boolean into a list of stages;
    # the boolean spelling is only certain to be accepted before that.
    if major < 18:
        values["log_connections"] = "1"
    return [
        DbParameter(name=name, value=value, apply_method="immediate")
        for name, value in sorted(values.items())
    ]


def final_snapshot_identifier(environment: str, customer: str, stack: str, resource: str,
                              generation: str) -> str:
    """`datafly-<environment>-<customer>-<stack>-<resource>-final-<generation>`.

    RDS refuses to delete an instance whose final snapshot name is already taken, and
    snapshots outlive their instance, so the name must differ for every instance that
    ever carried this identifier: `generation` is a random suffix that is re-rolled
    whenever the instance itself is replaced (see components/postgres.py)."""
    if not re.fullmatch(r"[0-9a-f]{4,16}", generation):
        raise ValueError(f"snapshot generation {generation!r} must be 4-16 lowercase hex digits")
    parts = [_slug(part) for part in ("datafly", environment, customer, stack, resource, "final", generation)]
    identifier = "-".join(part for part in parts if part)
    _check_identifier(identifier, SNAPSHOT_IDENTIFIER_MAX, "final snapshot identifier")
    return identifier


def cache_engine_supported(engine: str, engine_version: str) -> None:
    """Raise unless the engine supports AUTH with `transit_encryption_mode` required."""
    minimum = _CACHE_MIN_MAJOR.get(engine)
    if minimum is None:
        raise ValueError(f"unsupported cache engine {engine!r}; use redis or valkey")
    major = int(engine_version.split(".", 1)[0])
    if major < minimum:
        raise ValueError(
            f"{engine} {engine_version} is too old: TLS-required transit encryption needs {engine} {minimum} or newer"
        )


def _slug(value: str) -> str:
    # Stack names may hold '_', '.' and capitals, which identifiers may not.
    return re.sub(r"-{2,}", "-", re.sub(r"[^a-z0-9-]", "-", value.lower())).strip("-")


def _check_identifier(identifier: str, max_length: int, what: str) -> None:
    if len(identifier) > max_length or not _RDS_IDENTIFIER.fullmatch(identifier):
        raise ValueError(
            f"{what} {identifier!r} must be at most {max_length} lowercase letters, digits and "
            "single hyphens, starting with a letter"
        )
