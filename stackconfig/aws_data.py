"""AWS's own published constraints, read from cfn-lint's bundled data (pinned in
requirements.txt) rather than copied by hand.

cfn-lint regenerates this data from the CloudFormation registry and the RDS /
ElastiCache APIs (https://github.com/aws-cloudformation/cfn-lint, `src/cfnlint/data/schemas`):

- `providers/<region>.json` maps each resource type to its registry schema in
  `resources/<hash>.json` (patterns, lengths, enums of every property);
- `extensions/aws_rds_dbinstance/engine_version.json` and `engine_version_deprecated.json`:
  the RDS engine versions ever offered and those RDS no longer creates;
- `extensions/aws_rds_dbinstance/dbinstanceclass_enum.json`: the DB instance classes
  orderable per region and engine;
- `extensions/aws_elasticache_cachecluster/engine_version.json` and
  `cachenodetype_enum.json`: ElastiCache engine versions and node types per region.

A region missing from the data (newer than the pinned cfn-lint) is not judged by the
per-region tables: nothing here can say what it offers.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Optional


def schema_directory() -> Path:
    """cfn-lint's data/schemas, found without importing cfn-lint: its package init loads
    the whole linter (networkx, sympy: about 0.4 s), which reading JSON files needs none of."""
    spec = find_spec("cfnlint")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("cfn-lint is not installed (requirements.txt pins it)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "schemas"


_SCHEMAS = schema_directory()
# Any region's provider file names the same registry schema for global shapes.
_SCHEMA_REGION = "us-east-1"


def _json(*parts: str) -> Any:
    return json.loads(_SCHEMAS.joinpath(*parts).read_text(encoding="utf-8"))


@cache
def resource_schema(cfn_type: str) -> dict[str, Any]:
    """The CloudFormation registry schema of `cfn_type` (e.g. AWS::EC2::SecurityGroup)."""
    providers = _json("providers", f"{_SCHEMA_REGION}.json")
    schema: dict[str, Any] = _json("resources", f"{providers[cfn_type]}.json")
    return schema


@cache
def security_group_description_pattern() -> re.Pattern[str]:
    """EC2's rule for group descriptions, `AWS::EC2::SecurityGroup.GroupDescription`:
    a-z, A-Z, 0-9, spaces and ._-:/()#,@[]+=&;{}!$* (the same set EC2 documents for
    rule descriptions: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_IpRange.html)."""
    prop = resource_schema("AWS::EC2::SecurityGroup")["properties"]["GroupDescription"]
    return re.compile(prop["pattern"])


SECURITY_GROUP_DESCRIPTION_MAX = 255


def security_group_description_ok(text: str) -> bool:
    return len(text) <= SECURITY_GROUP_DESCRIPTION_MAX and bool(
        security_group_description_pattern().fullmatch(text))


def _engine_enum(path: tuple[str, ...], engine: str, key: str, in_then: bool) -> tuple[str, ...]:
    for branch in _json(*path)["allOf"]:
        condition = branch["if"]["properties"]
        if condition.get("Engine", {}).get("const") != engine:
            continue
        source = branch["then"]["properties"] if in_then else condition
        if key in source and "enum" in source[key]:
            return tuple(source[key]["enum"])
    return ()


@cache
def rds_creatable_versions(engine: str) -> tuple[str, ...]:
    """Engine versions RDS still creates: every version offered minus the deprecated
    ones (cfn-lint rules E3690/E3691 read the same two files)."""
    base = ("extensions", "aws_rds_dbinstance")
    offered = _engine_enum((*base, "engine_version.json"), engine, "EngineVersion", in_then=True)
    deprecated = set(_engine_enum((*base, "engine_version_deprecated.json"), engine, "EngineVersion",
                                  in_then=False))
    return tuple(v for v in offered if v not in deprecated)


@cache
def rds_instance_classes(region: str, engine: str) -> Optional[frozenset[str]]:
    """DB instance classes orderable for `engine` in `region`; None when the data has
    no entry for the region."""
    table = _json("extensions", "aws_rds_dbinstance", "dbinstanceclass_enum.json")
    if region not in table:
        return None
    classes: set[str] = set()
    for branch in table[region]["allOf"]:
        if branch["if"]["properties"].get("Engine", {}).get("const") == engine:
            classes.update(branch["then"]["properties"]["DBInstanceClass"]["enum"])
    return frozenset(classes)


@cache
def cache_engine_versions(engine: str) -> tuple[str, ...]:
    """ElastiCache engine versions AWS offers for `engine` (redis stops at 7.1; valkey
    starts at 7.2)."""
    return _engine_enum(("extensions", "aws_elasticache_cachecluster", "engine_version.json"),
                        engine, "EngineVersion", in_then=True)


@cache
def cache_node_types(region: str) -> Optional[frozenset[str]]:
    table = _json("extensions", "aws_elasticache_cachecluster", "cachenodetype_enum.json")
    if region not in table:
        return None
    return frozenset(table[region]["enum"])
