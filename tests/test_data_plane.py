import fnmatch
import hashlib
import json
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders.customer_iam import customer_kafka_policy, customer_topic_prefix, secrets_reader_policy
from builders.data_stores import (
    data_store_identifier,
    final_snapshot_identifier,
    postgres_parameter_group_family,
    postgres_parameters,
)
from builders.external_secrets import vendor_key
from builders.msk import kafka_client_policy
from components.customer_secrets import CustomerSecrets, CustomerSecretsArgs
from components.irsa_role import IrsaRole, IrsaRoleArgs
from components.postgres import Postgres, PostgresArgs
from components.redis import Redis, RedisArgs
from offline.run.runner import PlanRun, unwrap
from stackconfig.tenant import ExistingSecrets, PostgresConfig, RedisConfig, SecretsConfig
from tests.harness import children_of, of_type, one, run

RDS = "aws:rds/instance:Instance"
RDS_PARAMS = "aws:rds/parameterGroup:ParameterGroup"
RDS_SUBNETS = "aws:rds/subnetGroup:SubnetGroup"
CACHE = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_SUBNETS = "aws:elasticache/subnetGroup:SubnetGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
PASSWORD = "random:index/randomPassword:RandomPassword"
BYTES = "random:index/randomBytes:RandomBytes"
RANDOM_ID = "random:index/randomId:RandomId"
ROLE = "aws:iam/role:Role"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"

VPC = "vpc-0123456789abcdef0"
SUBNETS = ["subnet-0a", "subnet-0b", "subnet-0c"]
CLIENT_SG = "sg-0clients"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
OTHER_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/99999999-2222-3333-4444-555555555555"
OIDC_ARN = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABCDEF"
OIDC_URL = "https://oidc.eks.us-east-1.amazonaws.com/id/ABCDEF"
CLUSTER_ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/datafly-prod/abcd1234-0123-abcd-5678-1234abcd0000-1"


def _opts() -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(
        providers=[aws.Provider("aws", region="us-east-1"), random.Provider("random")]
    )


def _aws_children_use_explicit_providers(plan: PlanRun, component: str) -> None:
    for resource in children_of(plan, one(plan, component)):
        assert resource.provider is not None
        package = resource.type.split(":")[0]
        assert resource.provider.endswith(f"pulumi:providers:{package}::{package}")


# --- Postgres ------------------------------------------------------------------


def plan_postgres(
    config: Optional[PostgresConfig] = None, protect: bool = True, kms_key_arn: str = KEY_ARN, stack: str = "unit"
) -> PlanRun:
    def program() -> dict[str, Any]:
        db = Postgres(
            "postgres",
            PostgresArgs(
                customer="acme",
                config=config or PostgresConfig(),
                vpc_id=VPC,
                subnet_ids=SUBNETS,
                client_security_group_id=CLIENT_SG,
                kms_key_arn=kms_key_arn,
                protect=protect,
                environment="prod",
            ),
            _opts(),
        )
        return {
            "address": db.address,
            "port": db.port,
            "masterSecret": db.master_user_secret_arn,
            "sg": db.security_group_id,
            "instanceId": db.instance_id,
        }

    return run(program, stack=stack)


@pytest.fixture(scope="module")
def postgres_plan() -> PlanRun:
    return plan_postgres()


def test_postgres_children_names_parentage_and_providers(postgres_plan: PlanRun) -> None:
    component = one(postgres_plan, "datafly:data:Postgres", "postgres")
    assert sorted((r.type, r.name) for r in children_of(postgres_plan, component)) == sorted([
        (RDS_SUBNETS, "postgres-subnets"),
        (SG, "postgres-sg"),
        (INGRESS, "postgres-ingress-clients"),
        (RDS_PARAMS, "postgres-params"),
        (RANDOM_ID, "postgres-snapshot-suffix"),
        (RDS, "postgres-instance"),
        (LOG_GROUP, "postgres-logs-postgresql"),
        (LOG_GROUP, "postgres-logs-upgrade"),
        # The services' own login (issue 11 item 10).
        ("random:index/randomPassword:RandomPassword", "postgres-app-password"),
        ("aws:secretsmanager/secret:Secret", "postgres-app-user"),
        ("aws:secretsmanager/secretVersion:SecretVersion", "postgres-app-user-version"),
    ])
    _aws_children_use_explicit_providers(postgres_plan, "datafly:data:Postgres")


def test_postgres_app_user_secret(postgres_plan: PlanRun) -> None:
    password = one(postgres_plan, "random:index/randomPassword:RandomPassword", "postgres-app-password")
    assert (password.inputs["length"], password.inputs["special"]) == (40, False)
    assert password.inputs["keepers"] == {"appCredentialsVersion": "1", "user": "datafly_app_a"}
    secret = one(postgres_plan, "aws:secretsmanager/secret:Secret", "postgres-app-user")
    assert (secret.inputs["name"], secret.inputs["kmsKeyId"]) == ("datafly/prod/acme/database", KEY_ARN)
    assert secret.protect
    version = one(postgres_plan, "aws:secretsmanager/secretVersion:SecretVersion", "postgres-app-user-version")
    # Only ever a secret: the password never reaches the plan in plaintext.
    assert "password" not in json.dumps(version.inputs)


def test_postgres_instance_settings(postgres_plan: PlanRun) -> None:
    db = one(postgres_plan, RDS, "postgres-instance")
    subnets = one(postgres_plan, RDS_SUBNETS, "postgres-subnets")
    params = one(postgres_plan, RDS_PARAMS, "postgres-params")
    inputs = db.inputs
    expected = {
        "identifier": "datafly-prod-acme",
        "engine": "postgres",
        "engineVersion": "16.13",
        "instanceClass": "db.t4g.medium",
        "allocatedStorage": 20,
        "maxAllocatedStorage": 100,
        "storageType": "gp3",
        "storageEncrypted": True,
        "kmsKeyId": KEY_ARN,
        "publiclyAccessible": False,
        "manageMasterUserPassword": True,
        "masterUserSecretKmsKeyId": KEY_ARN,
        "username": "datafly_admin",
        "dbName": "datafly",
        "port": 5432,
        "backupRetentionPeriod": 7,
        "copyTagsToSnapshot": True,
        "deleteAutomatedBackups": False,
        "skipFinalSnapshot": False,
        "performanceInsightsEnabled": True,
        "performanceInsightsKmsKeyId": KEY_ARN,
        "performanceInsightsRetentionPeriod": 7,
        "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
        "autoMinorVersionUpgrade": True,
        "allowMajorVersionUpgrade": True,
        "multiAz": False,
        "applyImmediately": False,
        "deletionProtection": True,
        "vpcSecurityGroupIds": [postgres_plan.outputs["sg"].value],
    }
    for key, value in expected.items():
        assert inputs[key] == value, key
    assert inputs["dbSubnetGroupName"].startswith("postgres-subnets-")
    assert inputs["parameterGroupName"].startswith("postgres-params-")
    assert {subnets.urn, params.urn} <= set(db.dependencies)
    assert subnets.inputs["subnetIds"] == SUBNETS
    assert db.protect is True


@pytest.mark.parametrize("export", ["postgresql", "upgrade"])
def test_exported_logs_have_retention_before_the_instance_exists(postgres_plan: PlanRun, export: str) -> None:
    group = one(postgres_plan, LOG_GROUP, f"postgres-logs-{export}")
    assert group.inputs == {"name": f"/aws/rds/instance/datafly-prod-acme/{export}", "retentionInDays": 30}
    assert group.protect is True
    assert group.urn in one(postgres_plan, RDS, "postgres-instance").dependencies


def test_postgres_has_no_password_anywhere(postgres_plan: PlanRun) -> None:
    db = one(postgres_plan, RDS, "postgres-instance")
    assert not {"password", "passwordWo", "passwordWoVersion"} & set(db.inputs)
    assert "[secret]" not in json.dumps(db.inputs)


def test_postgres_parameter_group_forces_tls(postgres_plan: PlanRun) -> None:
    params = one(postgres_plan, RDS_PARAMS, "postgres-params")
    assert params.inputs["family"] == "postgres16"
    by_name = {p["name"]: p for p in params.inputs["parameters"]}
    assert by_name["rds.force_ssl"] == {"name": "rds.force_ssl", "value": "1", "applyMethod": "immediate"}
    assert by_name["log_min_duration_statement"]["value"] == "1000"
    assert by_name["log_connections"]["value"] == "1"
    assert by_name["log_disconnections"]["value"] == "1"


@pytest.mark.parametrize(
    ("version", "family", "log_connections"),
    [("16", "postgres16", True), ("16.6", "postgres16", True), ("17.2", "postgres17", True), ("18", "postgres18", False)],
)
def test_parameter_family_follows_major_version(version: str, family: str, log_connections: bool) -> None:
    assert postgres_parameter_group_family(version) == family
    names = [p["name"] for p in postgres_parameters(version)]
    assert names == sorted(names)
    assert "rds.force_ssl" in names
    assert ("log_connections" in names) is log_connections
    assert all(p["apply_method"] == "immediate" for p in postgres_parameters(version))


def test_postgres_security_group_only_admits_the_client_group(postgres_plan: PlanRun) -> None:
    sg = one(postgres_plan, SG, "postgres-sg")
    assert sg.inputs["vpcId"] == VPC
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs
    rules = [r for r in of_type(postgres_plan, INGRESS)]
    assert len(rules) == 1
    rule = rules[0].inputs
    assert rule == {
        "securityGroupId": postgres_plan.outputs["sg"].value,
        "referencedSecurityGroupId": CLIENT_SG,
        "ipProtocol": "tcp",
        "fromPort": 5432,
        "toPort": 5432,
        "description": "PostgreSQL (TLS) from the workloads of customer acme",
    }
    assert "cidrIpv4" not in rule


@pytest.mark.parametrize("protect", [True, False])
def test_deletion_protection_follows_protect(protect: bool) -> None:
    p = plan_postgres(protect=protect)
    db = one(p, RDS, "postgres-instance")
    assert db.inputs["deletionProtection"] is protect
    assert db.protect is protect
    assert db.inputs["skipFinalSnapshot"] is False


@pytest.mark.parametrize(
    ("multi_az", "retention", "instance_class", "version"),
    [(False, 7, "db.t4g.medium", "16.13"), (True, 14, "db.r7g.large", "17.6"), (True, 35, "db.m7g.xlarge", "18")],
)
def test_postgres_config_flows_through(multi_az: bool, retention: int, instance_class: str, version: str) -> None:
    config = PostgresConfig(
        multi_az=multi_az,
        backup_retention_days=retention,
        instance_class=instance_class,
        engine_version=version,
        allocated_storage_gib=50,
        max_allocated_storage_gib=500,
        database_name="events",
    )
    p = plan_postgres(config=config)
    inputs = one(p, RDS, "postgres-instance").inputs
    assert inputs["multiAz"] is multi_az
    assert inputs["backupRetentionPeriod"] == retention >= 7
    assert inputs["instanceClass"] == instance_class
    assert inputs["engineVersion"] == version
    assert (inputs["allocatedStorage"], inputs["maxAllocatedStorage"]) == (50, 500)
    assert inputs["dbName"] == "events"
    assert one(p, RDS_PARAMS).inputs["family"] == f"postgres{version.split('.')[0]}"


def test_final_snapshot_identifier_format(postgres_plan: PlanRun) -> None:
    db = one(postgres_plan, RDS, "postgres-instance")
    suffix = one(postgres_plan, RANDOM_ID, "postgres-snapshot-suffix")
    name = db.inputs["finalSnapshotIdentifier"]
    assert name.startswith("datafly-prod-acme-unit-postgres-final-")
    generation = name.rsplit("-", 1)[1]
    assert len(generation) == 8 and int(generation, 16) >= 0
    assert suffix.urn in db.dependencies
    assert suffix.inputs == {
        "byteLength": 4,
        "keepers": {
            "engine": "postgres",
            "identifier": "datafly-prod-acme",
            "username": "datafly_admin",
            "dbName": "datafly",
            "storageEncrypted": "true",
            "kmsKeyId": KEY_ARN,
        },
    }


def test_final_snapshot_name_changes_with_every_instance_generation() -> None:
    # A replace-triggering change (here the KMS key) re-rolls the suffix, so the
    # replacement instance never reuses the deleted one's snapshot name.
    first = one(plan_postgres(), RDS, "postgres-instance").inputs["finalSnapshotIdentifier"]
    again = one(plan_postgres(), RDS, "postgres-instance").inputs["finalSnapshotIdentifier"]
    rekeyed = one(plan_postgres(kms_key_arn=OTHER_KEY_ARN), RDS, "postgres-instance").inputs[
        "finalSnapshotIdentifier"
    ]
    assert first == again
    assert rekeyed != first
    assert rekeyed.rsplit("-", 1)[0] == first.rsplit("-", 1)[0]


@pytest.mark.parametrize(
    ("customer", "stack", "expected"),
    [
        ("acme", "prod", "datafly-prod-acme-prod-postgres-final-0a1b2c3d"),
        ("acme", "Prod_EU.1", "datafly-prod-acme-prod-eu-1-postgres-final-0a1b2c3d"),
        ("b-2", "acme--x", "datafly-prod-b-2-acme-x-postgres-final-0a1b2c3d"),
    ],
)
def test_final_snapshot_identifier_is_a_valid_rds_name(customer: str, stack: str, expected: str) -> None:
    assert final_snapshot_identifier("prod", customer, stack, "postgres", "0a1b2c3d") == expected


@pytest.mark.parametrize("generation", ["", "XYZ", "0a1b2c3d" * 3])
def test_final_snapshot_identifier_refuses_bad_generation(generation: str) -> None:
    with pytest.raises(ValueError):
        final_snapshot_identifier("prod", "acme", "prod", "postgres", generation)


def test_postgres_outputs(postgres_plan: PlanRun) -> None:
    outputs = {k: v.value for k, v in postgres_plan.outputs.items()}
    assert outputs["address"].startswith("datafly-prod-acme.") and outputs["address"].endswith(
        ".us-east-1.rds.amazonaws.com"
    )
    assert outputs["port"] == 5432
    assert outputs["masterSecret"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-")
    assert outputs["sg"].startswith("sg-")
    assert outputs["instanceId"]


def test_identifier_refuses_double_hyphen() -> None:
    assert data_store_identifier("prod", "acme") == "datafly-prod-acme"
    with pytest.raises(ValueError):
        data_store_identifier("prod", "a--b")


# --- Redis ---------------------------------------------------------------------


def plan_redis(config: Optional[RedisConfig] = None, protect: bool = True) -> PlanRun:
    def program() -> dict[str, Any]:
        cache = Redis(
            "redis",
            RedisArgs(
                customer="acme",
                config=config or RedisConfig(),
                vpc_id=VPC,
                subnet_ids=SUBNETS,
                client_security_group_id=CLIENT_SG,
                kms_key_arn=KEY_ARN,
                auth_token=pulumi.Output.secret("a" * 64),
                protect=protect,
                environment="prod",
            ),
            _opts(),
        )
        return {"address": cache.address, "port": cache.port, "sg": cache.security_group_id}

    return run(program)


@pytest.fixture(scope="module")
def redis_plan() -> PlanRun:
    return plan_redis()


def test_redis_children_and_settings(redis_plan: PlanRun) -> None:
    component = one(redis_plan, "datafly:data:Redis", "redis")
    assert sorted((r.type, r.name) for r in children_of(redis_plan, component)) == sorted([
        (CACHE_SUBNETS, "redis-subnets"),
        (SG, "redis-sg"),
        (INGRESS, "redis-ingress-clients"),
        (CACHE, "redis-group"),
    ])
    _aws_children_use_explicit_providers(redis_plan, "datafly:data:Redis")
    group = one(redis_plan, CACHE, "redis-group")
    inputs = group.inputs
    assert inputs["replicationGroupId"] == "datafly-prod-acme"
    assert inputs["engine"] == "redis"
    assert inputs["engineVersion"] == "7.1"
    assert inputs["nodeType"] == "cache.t4g.small"
    assert inputs["port"] == 6379
    assert inputs["snapshotRetentionLimit"] == 1
    assert inputs["securityGroupIds"] == [redis_plan.outputs["sg"].value]
    assert inputs["subnetGroupName"].startswith("redis-subnets-")
    assert "parameterGroupName" not in inputs
    assert group.protect is True
    assert one(redis_plan, CACHE_SUBNETS).inputs["subnetIds"] == SUBNETS


def test_redis_encrypted_at_rest_and_in_transit_with_secret_auth_token(redis_plan: PlanRun) -> None:
    inputs = one(redis_plan, CACHE, "redis-group").inputs
    assert inputs["atRestEncryptionEnabled"] is True
    assert inputs["kmsKeyId"] == KEY_ARN
    assert inputs["transitEncryptionEnabled"] is True
    assert inputs["transitEncryptionMode"] == "required"
    assert inputs["authToken"] == "[secret]"
    assert "a" * 64 not in json.dumps([r.inputs for r in redis_plan.resources])


@pytest.mark.parametrize(("nodes", "failover"), [(1, False), (2, True), (3, True)])
def test_failover_iff_more_than_one_node(nodes: int, failover: bool) -> None:
    inputs = one(plan_redis(RedisConfig(num_nodes=nodes)), CACHE, "redis-group").inputs
    assert inputs["numCacheClusters"] == nodes
    assert inputs["automaticFailoverEnabled"] is failover
    assert inputs["multiAzEnabled"] is failover


def test_redis_security_group_only_admits_the_client_group(redis_plan: PlanRun) -> None:
    rules = of_type(redis_plan, INGRESS)
    assert [r.name for r in rules] == ["redis-ingress-clients"]
    assert rules[0].inputs == {
        "securityGroupId": redis_plan.outputs["sg"].value,
        "referencedSecurityGroupId": CLIENT_SG,
        "ipProtocol": "tcp",
        "fromPort": 6379,
        "toPort": 6379,
        "description": "redis (TLS, AUTH) from the workloads of customer acme",
    }


def test_redis_outputs_and_valkey(redis_plan: PlanRun) -> None:
    assert redis_plan.outputs["address"].value.startswith("master.datafly-prod-acme.")
    assert redis_plan.outputs["port"].value == 6379
    valkey = one(plan_redis(RedisConfig(engine="valkey", engine_version="8.0")), CACHE).inputs
    assert (valkey["engine"], valkey["engineVersion"]) == ("valkey", "8.0")


def test_redis_refuses_engines_without_required_tls() -> None:
    with pytest.raises(ValueError, match="too old"):
        RedisArgs("acme", RedisConfig(engine_version="6.2"), VPC, SUBNETS, CLIENT_SG, KEY_ARN,
                  pulumi.Output.secret("x" * 32), True, environment="prod")


# --- CustomerSecrets -------------------------------------------------------------


def plan_secrets(args: Any) -> PlanRun:
    def program() -> dict[str, Any]:
        secrets = CustomerSecrets("secrets", args() if callable(args) else args, _opts())
        return {
            "kmsKeyArn": secrets.kms_key_arn,
            "secretArn": secrets.secret_arn,
            "secretKmsKeyArn": secrets.secret_kms_key_arn,
            "redisAuthToken": secrets.redis_auth_token,
            "redisSecretArn": secrets.redis_secret_arn,
            "readerSecretArns": secrets.reader_secret_arns,
            "readerKmsKeyArns": secrets.reader_kms_key_arns,
        }

    return run(program)


@pytest.fixture(scope="module")
def secrets_plan() -> PlanRun:
    return plan_secrets(CustomerSecretsArgs.from_config("acme", SecretsConfig(), True, environment="prod"))


def test_customer_key_rotates_and_is_protected(secrets_plan: PlanRun) -> None:
    key = one(secrets_plan, KEY, "secrets-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    assert key.protect is True
    alias = one(secrets_plan, ALIAS, "secrets-key-alias")
    assert alias.inputs["name"] == "alias/datafly-prod-acme"
    assert key.urn in alias.dependencies
    _aws_children_use_explicit_providers(secrets_plan, "datafly:data:CustomerSecrets")


def test_generated_values(secrets_plan: PlanRun) -> None:
    jwt = one(secrets_plan, PASSWORD, "secrets-jwt-secret")
    token = one(secrets_plan, PASSWORD, "secrets-redis-auth-token")
    key = one(secrets_plan, BYTES, "secrets-encryption-key")
    assert jwt.inputs == {"length": 64, "special": False}
    assert token.inputs == {"length": 64, "special": False}
    assert key.inputs == {"length": 32}
    # The SDK asks the engine to keep the generated values secret.
    assert set(jwt.additional_secret_outputs) >= {"result"}
    assert set(key.additional_secret_outputs) >= {"hex", "base64"}


def test_app_secret_encrypted_with_customer_key(secrets_plan: PlanRun) -> None:
    secret = one(secrets_plan, SECRET, "secrets-app")
    version = one(secrets_plan, SECRET_VERSION, "secrets-app-version")
    assert secret.inputs["name"] == "datafly/prod/acme/app"
    assert secret.inputs["kmsKeyId"] == secrets_plan.outputs["kmsKeyArn"].value
    assert secret.inputs["recoveryWindowInDays"] == 30
    assert secret.protect is True
    assert version.inputs["secretString"] == "[secret]"
    assert secret.urn in version.dependencies
    assert [s.name for s in of_type(secrets_plan, SECRET)] == ["secrets-app"]


def test_app_secret_json_keys(secrets_plan: PlanRun) -> None:
    raw = one(secrets_plan, SECRET_VERSION, "secrets-app-version").raw_inputs["secretString"]
    document = json.loads(unwrap(raw))
    assert sorted(document) == ["ENCRYPTION_KEY", "JWT_SECRET", "REDIS_AUTH_TOKEN"]
    assert len(document["ENCRYPTION_KEY"]) == 64 and int(document["ENCRYPTION_KEY"], 16) >= 0
    assert len(document["JWT_SECRET"]) == 64
    assert document["REDIS_AUTH_TOKEN"] == secrets_plan.outputs["redisAuthToken"].value
    assert document["REDIS_AUTH_TOKEN"].isalnum() and 16 <= len(document["REDIS_AUTH_TOKEN"]) <= 128


def test_outputs_generated_mode(secrets_plan: PlanRun) -> None:
    outputs = secrets_plan.outputs
    assert outputs["redisAuthToken"].secret is True
    assert outputs["secretArn"].value.startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:datafly/prod/acme/app-")
    assert outputs["redisSecretArn"].value == outputs["secretArn"].value
    assert outputs["secretKmsKeyArn"].value == outputs["kmsKeyArn"].value
    assert outputs["readerSecretArns"].value == [outputs["secretArn"].value]
    assert outputs["readerKmsKeyArns"].value == [outputs["kmsKeyArn"].value]


def test_carried_over_values_replace_generation() -> None:
    def args() -> CustomerSecretsArgs:
        return CustomerSecretsArgs.from_config(
            "acme",
            SecretsConfig(jwt_secret="carried-jwt-0123456789abcdef0123456789", encryption_key="ab" * 32, vendor_credentials={"meta-capi": "tok"}),
            True,
            environment="prod",
        )

    p = plan_secrets(args)
    assert [r.name for r in of_type(p, PASSWORD)] == ["secrets-redis-auth-token"]
    assert of_type(p, BYTES) == []
    version = one(p, SECRET_VERSION, "secrets-app-version")
    assert version.inputs["secretString"] == "[secret]"
    document = json.loads(unwrap(version.raw_inputs["secretString"]))
    assert document["JWT_SECRET"] == "carried-jwt-0123456789abcdef0123456789"
    assert document["ENCRYPTION_KEY"] == "ab" * 32
    assert document["VENDOR_META_CAPI"] == "tok"
    assert "carried-jwt-0123456789abcdef0123456789" not in json.dumps([r.inputs for r in p.resources])


def test_config_values_must_reach_the_args() -> None:
    with pytest.raises(ValueError, match="jwtSecret"):
        CustomerSecretsArgs(customer="acme", config=SecretsConfig(jwt_secret="x" * 32), protect=True,
                            environment="prod")
    assert vendor_key("google-ads") == "VENDOR_GOOGLE_ADS"


EXISTING_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:acme/datafly-AbCdEf"


@pytest.mark.parametrize(
    ("existing_arn", "existing_key", "kubernetes_secret"),
    [(EXISTING_ARN, None, None), (EXISTING_ARN, OTHER_KEY_ARN, None), (None, None, "acme-app-secrets")],
)
def test_existing_mode_generates_no_app_secret(
    existing_arn: Optional[str], existing_key: Optional[str], kubernetes_secret: Optional[str]
) -> None:
    config = SecretsConfig(
        existing=ExistingSecrets(
            secret_arn=existing_arn, kms_key_arn=existing_key, kubernetes_secret=kubernetes_secret
        )
    )
    p = plan_secrets(CustomerSecretsArgs.from_config("acme", config, True, environment="prod"))
    assert [r.name for r in of_type(p, SECRET)] == ["secrets-redis"]
    assert [r.name for r in of_type(p, PASSWORD)] == ["secrets-redis-auth-token"]
    assert of_type(p, BYTES) == []
    redis_secret = one(p, SECRET, "secrets-redis")
    assert redis_secret.inputs["name"] == "datafly/prod/acme/redis"
    assert redis_secret.inputs["kmsKeyId"] == p.outputs["kmsKeyArn"].value
    assert one(p, SECRET_VERSION, "secrets-redis-version").inputs["secretString"] == "[secret]"
    outputs = {k: v.value for k, v in p.outputs.items()}
    assert outputs["secretArn"] == existing_arn
    assert outputs["secretKmsKeyArn"] == existing_key
    assert outputs["redisSecretArn"] == redis_secret_arn(p)
    assert outputs["readerSecretArns"] == [*([existing_arn] if existing_arn else []), redis_secret_arn(p)]
    assert outputs["readerKmsKeyArns"] == sorted({outputs["kmsKeyArn"], *([existing_key] if existing_key else [])})


def redis_secret_arn(p: PlanRun) -> str:
    return str(p.outputs["redisSecretArn"].value)


# --- IrsaRole --------------------------------------------------------------------


def test_irsa_role_trust_and_policy() -> None:
    policy = json.dumps(secrets_reader_policy([EXISTING_ARN], [KEY_ARN], "us-east-1"))

    def program() -> dict[str, Any]:
        role = IrsaRole(
            "management-api",
            IrsaRoleArgs(
                namespace="customer-acme",
                service_account="management-api",
                oidc_provider_arn=OIDC_ARN,
                oidc_provider_url=OIDC_URL,
                policy=policy,
                description="Datafly acme management-api",
            ),
            pulumi.ResourceOptions(provider=aws.Provider("aws", region="us-east-1")),
        )
        return {"arn": role.arn, "name": role.name}

    p = run(program)
    role = one(p, ROLE, "management-api-role")
    assert json.loads(role.inputs["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": OIDC_ARN},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF:sub": "system:serviceaccount:customer-acme:management-api",
                        "oidc.eks.us-east-1.amazonaws.com/id/ABCDEF:aud": "sts.amazonaws.com",
                    }
                },
            }
        ],
    }
    assert role.inputs["maxSessionDuration"] == 3600
    assert role.inputs["description"] == "Datafly acme management-api"
    inline = one(p, ROLE_POLICY, "management-api-policy")
    assert inline.inputs["policy"] == policy
    assert role.urn in inline.dependencies
    assert of_type(p, "aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    assert p.outputs["arn"].value.startswith("arn:aws:iam::123456789012:role/management-api-role-")
    assert p.outputs["name"].value == p.outputs["arn"].value.rsplit("/", 1)[1]
    _aws_children_use_explicit_providers(p, "datafly:iam:IrsaRole")


# --- policies ----------------------------------------------------------------------


def test_secrets_reader_policy_exact() -> None:
    assert secrets_reader_policy([EXISTING_ARN], [KEY_ARN], "eu-west-1") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadSecrets",
                "Effect": "Allow",
                "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
                "Resource": [EXISTING_ARN],
            },
            {
                "Sid": "DecryptSecrets",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": [KEY_ARN],
                "Condition": {"StringEquals": {"kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com"}},
            },
        ],
    }


def test_secrets_reader_policy_without_customer_managed_key() -> None:
    policy = secrets_reader_policy([EXISTING_ARN], [], "us-east-1")
    assert [s["Sid"] for s in policy["Statement"]] == ["ReadSecrets"]


@pytest.mark.parametrize(
    ("secrets", "keys", "region"),
    [
        ([], [KEY_ARN], "us-east-1"),
        (["arn:aws:secretsmanager:us-east-1:123456789012:secret:*"], [], "us-east-1"),
        (["*"], [], "us-east-1"),
        ([EXISTING_ARN], ["*"], "us-east-1"),
        ([EXISTING_ARN], ["arn:aws:kms:us-east-1:123456789012:alias/datafly-acme"], "us-east-1"),
        ([EXISTING_ARN], [KEY_ARN], "*"),
    ],
)
def test_secrets_reader_policy_refuses_wildcards(secrets: list[str], keys: list[str], region: str) -> None:
    with pytest.raises(ValueError):
        secrets_reader_policy(secrets, keys, region)


@pytest.mark.parametrize(("mode", "prefix"), [("shared", "acme."), ("dedicated", None)])
def test_customer_kafka_policy_composes_msk_policy(mode: Any, prefix: Optional[str]) -> None:
    assert customer_kafka_policy("acme", CLUSTER_ARN, mode) == kafka_client_policy(CLUSTER_ARN, prefix)


def _no_wildcard_actions(policy: dict[str, Any]) -> None:
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions)
        assert statement["Resource"] != "*" and "*" not in statement["Resource"]


customer_names = st.from_regex(r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$", fullmatch=True).filter(lambda n: "--" not in n)


def _customer_arns(customer: str) -> tuple[str, str]:
    # Distinct customers have distinct keys (a KMS key id is random, never derived from the name).
    digest = hashlib.sha256(customer.encode()).hexdigest()[:32]
    secret = f"arn:aws:secretsmanager:us-east-1:123456789012:secret:datafly/{customer}/app-AbC123"
    key = f"arn:aws:kms:us-east-1:123456789012:key/{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    return secret, key


@settings(max_examples=60, deadline=None)
@given(first=customer_names, second=customer_names)
def test_customers_never_reach_each_other(first: str, second: str) -> None:
    if first == second:
        return
    for me, other in ((first, second), (second, first)):
        my_secret, my_key = _customer_arns(me)
        other_secret, other_key = _customer_arns(other)
        reader = secrets_reader_policy([my_secret], [my_key], "us-east-1")
        kafka = customer_kafka_policy(me, CLUSTER_ARN, "shared")
        _no_wildcard_actions(reader)
        resources = [r for s in reader["Statement"] for r in s["Resource"]]
        assert other_secret not in resources and other_key not in resources
        assert f"datafly/{other}/" not in json.dumps(reader)
        # IAM matches `*` like fnmatch; none of the other customer's topics or groups
        # may match this customer's patterns.
        other_topic = f"arn:aws:kafka:us-east-1:123456789012:topic/datafly-prod/abcd1234-0123-abcd-5678-1234abcd0000-1/{customer_topic_prefix(other)}events"
        other_group = other_topic.replace(":topic/", ":group/")
        for statement in kafka["Statement"][1:]:
            assert not fnmatch.fnmatchcase(other_topic, statement["Resource"])
            assert not fnmatch.fnmatchcase(other_group, statement["Resource"])
        own_topic = other_topic.replace(customer_topic_prefix(other), customer_topic_prefix(me))
        assert fnmatch.fnmatchcase(own_topic, kafka["Statement"][1]["Resource"])
