import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pydantic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders.msk import (
    DEFAULT_PARTITIONS,
    cluster_uuid,
    group_arn_prefix,
    kafka_client_policy,
    server_properties,
    topic_arn_prefix,
)
from components.msk_cluster import MskCluster, MskClusterArgs
from offline.run.runner import PlanRun
from stackconfig.platform import KafkaClusterConfig
from tests.harness import children_of, of_type, one, run

CLUSTER = "aws:msk/cluster:Cluster"
CONFIGURATION = "aws:msk/configuration:Configuration"
KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
COMPONENT = "datafly:aws:MskCluster"

SUBNETS = ["subnet-a", "subnet-b", "subnet-c"]
CLIENT_SGS = {"cluster": "sg-0cluster", "nodes": "sg-0nodes"}
ARN = "arn:aws:kafka:us-east-1:123456789012:cluster/datafly-prod/abcd1234-0123-abcd-5678-1234abcd0000-1"


def plan(
    *,
    azs: int = 3,
    config: KafkaClusterConfig | None = None,
    protect: bool = True,
    client_sgs: dict[str, str] | None = None,
    topic_prefix: str | None = "acme.",
) -> PlanRun:
    def program() -> dict[str, Any]:
        provider = aws.Provider("aws", region="us-east-1")
        msk = MskCluster(
            "kafka",
            MskClusterArgs(
                cluster_name="datafly-prod",
                config=config or KafkaClusterConfig(),
                vpc_id="vpc-0123",
                subnet_ids=SUBNETS,
                client_security_group_ids=client_sgs or CLIENT_SGS,
                availability_zones=azs,
                protect=protect,
            ),
            pulumi.ResourceOptions(provider=provider),
        )
        return {
            "clusterArn": msk.cluster_arn,
            "clusterName": msk.cluster_name,
            "clusterUuid": msk.cluster_uuid,
            "bootstrap": msk.bootstrap_brokers_iam,
            "sg": msk.security_group_id,
            "kmsKeyArn": msk.kms_key_arn,
            "logGroup": msk.log_group_name,
            "policy": msk.client_policy_json(topic_prefix),
        }

    return run(program)


@pytest.fixture(scope="module")
def default_plan() -> PlanRun:
    return plan()


# --- structure ---------------------------------------------------------------


def test_children_named_and_parented_with_explicit_provider(default_plan: PlanRun) -> None:
    component = one(default_plan, COMPONENT, "kafka")
    names = sorted((r.type, r.name) for r in children_of(default_plan, component))
    assert names == sorted([
        (SG, "kafka-brokers"),
        (INGRESS, "kafka-ingress-cluster"),
        (INGRESS, "kafka-ingress-nodes"),
        (KEY, "kafka-key"),
        (LOG_GROUP, "kafka-broker-logs"),
        (CONFIGURATION, "kafka-config"),
        (CLUSTER, "kafka-cluster"),
        ("aws:appautoscaling/target:Target", "kafka-storage-target"),
        ("aws:appautoscaling/policy:Policy", "kafka-storage-policy"),
    ])
    for resource in children_of(default_plan, component):
        assert resource.provider is not None and resource.provider.endswith("pulumi:providers:aws::aws")


@pytest.mark.parametrize(
    ("azs", "per_az", "brokers", "subnets"),
    [(3, 1, 3, SUBNETS), (2, 2, 4, SUBNETS[:2]), (3, 2, 6, SUBNETS)],
)
def test_broker_count_and_subnets(azs: int, per_az: int, brokers: int, subnets: list[str]) -> None:
    p = plan(azs=azs, config=KafkaClusterConfig(brokers_per_az=per_az))
    cluster = one(p, CLUSTER, "kafka-cluster")
    assert cluster.inputs["numberOfBrokerNodes"] == brokers
    assert cluster.inputs["brokerNodeGroupInfo"]["clientSubnets"] == subnets
    config = one(p, CONFIGURATION, "kafka-config")
    assert config.inputs["serverProperties"] == server_properties(brokers)


def test_cluster_settings(default_plan: PlanRun) -> None:
    cluster = one(default_plan, CLUSTER, "kafka-cluster")
    sg = one(default_plan, SG, "kafka-brokers")
    assert cluster.inputs["clusterName"] == "datafly-prod"
    assert cluster.inputs["kafkaVersion"] == "3.8.x"
    assert cluster.inputs["enhancedMonitoring"] == "PER_TOPIC_PER_PARTITION"
    assert cluster.inputs["brokerNodeGroupInfo"] == {
        "instanceType": "kafka.m7g.large",
        "clientSubnets": SUBNETS,
        "securityGroups": [default_plan.outputs["sg"].value],
        "storageInfo": {"ebsStorageInfo": {"volumeSize": 100}},
    }
    assert sg.urn in cluster.dependencies
    # Storage autoscaling owns the volume size after creation.
    assert cluster.ignore_changes == ["brokerNodeGroupInfo.storageInfo.ebsStorageInfo.volumeSize"]


def test_storage_autoscaling_up_to_the_ceiling(default_plan: PlanRun) -> None:
    cluster = one(default_plan, CLUSTER, "kafka-cluster")
    target = one(default_plan, "aws:appautoscaling/target:Target", "kafka-storage-target")
    policy = one(default_plan, "aws:appautoscaling/policy:Policy", "kafka-storage-policy")
    assert {k: target.inputs[k] for k in ("serviceNamespace", "scalableDimension", "minCapacity", "maxCapacity")} == {
        "serviceNamespace": "kafka", "scalableDimension": "kafka:broker-storage:VolumeSize",
        "minCapacity": 1, "maxCapacity": 1000,
    }
    assert cluster.urn in target.dependencies
    assert policy.inputs["policyType"] == "TargetTrackingScaling"
    assert policy.inputs["targetTrackingScalingPolicyConfiguration"] == {
        "targetValue": 60,
        "predefinedMetricSpecification": {"predefinedMetricType": "KafkaBrokerStorageUtilization"},
        "disableScaleIn": True,
    }


def test_storage_ceiling_below_initial_size_is_a_config_error() -> None:
    with pytest.raises(pydantic.ValidationError, match="must be at least storageGib 500"):
        KafkaClusterConfig.model_validate({"storageGib": 500, "maxStorageGib": 100})


def test_tls_only_in_cluster_encryption_and_iam_only_auth(default_plan: PlanRun) -> None:
    cluster = one(default_plan, CLUSTER, "kafka-cluster")
    assert cluster.inputs["encryptionInfo"]["encryptionInTransit"] == {"clientBroker": "TLS", "inCluster": True}
    assert cluster.inputs["clientAuthentication"] == {
        "sasl": {"iam": True, "scram": False},
        "unauthenticated": False,
    }
    assert "tls" not in cluster.inputs["clientAuthentication"]


def test_kms_key_wired_in(default_plan: PlanRun) -> None:
    key = one(default_plan, KEY, "kafka-key")
    cluster = one(default_plan, CLUSTER, "kafka-cluster")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    key_arn = default_plan.outputs["kmsKeyArn"].value
    assert key_arn.startswith("arn:aws:kms:us-east-1:123456789012:key/")
    assert cluster.inputs["encryptionInfo"]["encryptionAtRestKmsKeyArn"] == key_arn
    assert key.urn in cluster.dependencies


@pytest.mark.parametrize("retention", [7, 30, 365])
def test_broker_logs_go_to_the_log_group(retention: int) -> None:
    p = plan(config=KafkaClusterConfig(log_retention_days=retention))
    log_group = one(p, LOG_GROUP, "kafka-broker-logs")
    cluster = one(p, CLUSTER, "kafka-cluster")
    assert log_group.inputs["name"] == "/aws/msk/datafly-prod/broker"
    assert log_group.inputs["retentionInDays"] == retention
    assert cluster.inputs["loggingInfo"] == {
        "brokerLogs": {"cloudwatchLogs": {"enabled": True, "logGroup": "/aws/msk/datafly-prod/broker"}}
    }
    assert log_group.urn in cluster.dependencies


def test_configuration_attached_at_latest_revision(default_plan: PlanRun) -> None:
    config = one(default_plan, CONFIGURATION, "kafka-config")
    cluster = one(default_plan, CLUSTER, "kafka-cluster")
    assert config.inputs["name"] == "datafly-prod"
    assert config.inputs["kafkaVersions"] == ["3.8.x"]
    info = cluster.inputs["configurationInfo"]
    assert info["arn"].startswith("arn:aws:kafka:us-east-1:123456789012:configuration/datafly-prod/")
    assert info["revision"] == 1
    assert config.urn in cluster.dependencies


@pytest.mark.parametrize(
    "client_sgs",
    [{"cluster": "sg-0cluster"}, {"cluster": "sg-0cluster", "nodes": "sg-0nodes", "pods": "sg-0pods"}],
)
def test_ingress_only_9098_from_each_client_group(client_sgs: dict[str, str]) -> None:
    p = plan(client_sgs=client_sgs)
    sg = one(p, SG, "kafka-brokers")
    assert sg.inputs["vpcId"] == "vpc-0123"
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs
    assert of_type(p, EGRESS) == []
    rules = {r.name: r for r in of_type(p, INGRESS)}
    assert sorted(rules) == sorted(f"kafka-ingress-{role}" for role in client_sgs)
    for role, group in client_sgs.items():
        rule = rules[f"kafka-ingress-{role}"]
        assert {k: v for k, v in rule.inputs.items() if k != "description"} == {
            "securityGroupId": p.outputs["sg"].value,
            "referencedSecurityGroupId": group,
            "ipProtocol": "tcp",
            "fromPort": 9098,
            "toPort": 9098,
        }
        assert sg.urn in rule.dependencies


@pytest.mark.parametrize("protect", [True, False])
def test_protect_stateful_only(protect: bool) -> None:
    p = plan(protect=protect)
    for type_, name in [(CLUSTER, "kafka-cluster"), (KEY, "kafka-key"), (LOG_GROUP, "kafka-broker-logs")]:
        assert one(p, type_, name).protect is protect
    for type_, name in [(SG, "kafka-brokers"), (CONFIGURATION, "kafka-config"), (INGRESS, "kafka-ingress-nodes")]:
        assert one(p, type_, name).protect is False


def test_outputs(default_plan: PlanRun) -> None:
    out = {k: v.value for k, v in default_plan.outputs.items()}
    arn = out["clusterArn"]
    assert arn.startswith("arn:aws:kafka:us-east-1:123456789012:cluster/datafly-prod/")
    assert out["clusterUuid"] == arn.rsplit("/", 1)[1] and out["clusterUuid"].endswith("-1")
    assert out["clusterName"] == "datafly-prod"
    brokers = out["bootstrap"].split(",")
    assert len(brokers) == 3
    assert all(b.startswith(f"b-{i}.datafly-prod.") and b.endswith(".c2.kafka.us-east-1.amazonaws.com:9098")
               for i, b in enumerate(brokers, 1))
    assert out["sg"].startswith("sg-")
    assert json.loads(out["policy"]) == kafka_client_policy(arn, "acme.")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"availability_zones": 4}, "2 or 3 availability zones"),
        ({"availability_zones": 1}, "2 or 3 availability zones"),
        ({"cluster_name": "1bad"}, "must start with a letter"),
        ({"client_security_group_ids": {}}, "at least one client security group"),
        ({"client_security_group_ids": {"Nodes": "sg-1"}}, "lowercase DNS label"),
    ],
)
def test_args_rejected(change: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = dict(
        cluster_name="datafly-prod", config=KafkaClusterConfig(), vpc_id="vpc-1", subnet_ids=SUBNETS,
        client_security_group_ids=CLIENT_SGS, availability_zones=3, protect=True,
    )
    with pytest.raises(ValueError, match=message):
        MskClusterArgs(**{**fields, **change})


# --- builders: server.properties ---------------------------------------------


def _properties(text: str) -> dict[str, str]:
    assert text.endswith("\n")
    return dict(line.split("=", 1) for line in text.splitlines())


@pytest.mark.parametrize(
    ("brokers", "rf", "isr"),
    [(2, 2, 1), (3, 3, 2), (4, 3, 2), (6, 3, 2), (30, 3, 2)],
)
def test_server_properties(brokers: int, rf: int, isr: int) -> None:
    assert _properties(server_properties(brokers)) == {
        "auto.create.topics.enable": "false",
        "default.replication.factor": str(rf),
        "min.insync.replicas": str(isr),
        "num.partitions": str(DEFAULT_PARTITIONS),
        "log.retention.hours": "168",
        "unclean.leader.election.enable": "false",
        "offsets.topic.replication.factor": str(rf),
        "transaction.state.log.replication.factor": str(rf),
        "transaction.state.log.min.isr": str(isr),
    }


def test_server_properties_topic_retention_and_bounds() -> None:
    assert _properties(server_properties(3, topic_retention_hours=72))["log.retention.hours"] == "72"
    with pytest.raises(ValueError):
        server_properties(0)
    with pytest.raises(ValueError):
        server_properties(3, topic_retention_hours=0)


# --- builders: client policy ---------------------------------------------------

TOPICS = "arn:aws:kafka:us-east-1:123456789012:topic/datafly-prod/abcd1234-0123-abcd-5678-1234abcd0000-1/"
GROUPS = "arn:aws:kafka:us-east-1:123456789012:group/datafly-prod/abcd1234-0123-abcd-5678-1234abcd0000-1/"


def test_arn_derivation() -> None:
    assert cluster_uuid(ARN) == "abcd1234-0123-abcd-5678-1234abcd0000-1"
    assert topic_arn_prefix(ARN) == TOPICS
    assert group_arn_prefix(ARN) == GROUPS
    with pytest.raises(ValueError, match="not an MSK cluster ARN"):
        cluster_uuid("arn:aws:kafka:us-east-1:123456789012:configuration/x/y")


@pytest.mark.parametrize(
    ("prefix", "topics", "groups"),
    [("acme.", TOPICS + "acme.*", GROUPS + "acme.*"), (None, TOPICS + "*", GROUPS + "*")],
    ids=["shared", "dedicated"],
)
def test_client_policy(prefix: str | None, topics: str, groups: str) -> None:
    assert kafka_client_policy(ARN, prefix) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Cluster",
                "Effect": "Allow",
                "Action": [
                    "kafka-cluster:Connect",
                    "kafka-cluster:DescribeCluster",
                    "kafka-cluster:WriteDataIdempotently",
                ],
                "Resource": ARN,
            },
            {
                "Sid": "Topics",
                "Effect": "Allow",
                "Action": [
                    "kafka-cluster:CreateTopic",
                    "kafka-cluster:DescribeTopic",
                    "kafka-cluster:DescribeTopicDynamicConfiguration",
                    "kafka-cluster:ReadData",
                    "kafka-cluster:WriteData",
                ],
                "Resource": topics,
            },
            {
                "Sid": "ConsumerGroups",
                "Effect": "Allow",
                "Action": ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"],
                "Resource": groups,
            },
        ],
    }


@pytest.mark.parametrize("prefix", ["", "acme*", "acme/", "ac?me", "acme .", "a:b"])
def test_client_policy_rejects_prefixes_that_escape(prefix: str) -> None:
    with pytest.raises(ValueError, match="topic prefix"):
        kafka_client_policy(ARN, prefix)


@settings(max_examples=200, deadline=None)
@given(customer=st.from_regex(r"[a-z]([-a-z0-9]{0,18}[a-z0-9])", fullmatch=True))
def test_client_policy_confines_every_customer(customer: str) -> None:
    prefix = f"{customer}."
    policy = kafka_client_policy(ARN, prefix)
    statements = {s["Sid"]: s for s in policy["Statement"]}
    for sid, head in [("Topics", TOPICS), ("ConsumerGroups", GROUPS)]:
        resource = statements[sid]["Resource"]
        assert resource.startswith(head)
        assert resource == f"{head}{prefix}*"
        assert prefix in resource
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert all("*" not in action for action in statement["Action"])
