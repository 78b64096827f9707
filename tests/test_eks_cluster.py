"""EksCluster: the hardened EKS control plane, access, IRSA, add-ons and nodes."""

from __future__ import annotations

import json
from typing import Any, Optional

import pulumi
import pulumi_aws as aws
import pydantic
import pytest

from builders import eks as build
from components.eks_cluster import EksCluster, EksClusterArgs
from offline.run.runner import PlanRun, Resource
from stackconfig.platform import ClusterConfig
from tests.harness import children_of, of_type, one, run

ADMIN_A = "arn:aws:iam::123456789012:role/platform-admin"
ADMIN_B = "arn:aws:iam::123456789012:role/break-glass"
SUBNETS = ["subnet-0aaa", "subnet-0bbb", "subnet-0ccc"]

CLUSTER = "aws:eks/cluster:Cluster"
KEY = "aws:kms/key:Key"
ADDON = "aws:eks/addon:Addon"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
COMPONENT = "datafly:aws:EksCluster"


def plan(
    config: Optional[dict[str, Any]] = None,
    protect: bool = True,
    region: str = "eu-west-1",
) -> PlanRun:
    cluster_config = ClusterConfig.model_validate(
        {"adminRoleArns": [ADMIN_A], "privateAccessCidrs": [VPN], **(config or {})})

    def program() -> dict[str, Any]:
        provider = aws.Provider("aws", region=region)
        eks = EksCluster(
            "platform",
            EksClusterArgs(
                cluster_name="datafly-prod",
                config=cluster_config,
                region=region,
                vpc_id="vpc-0123",
                private_subnet_ids=SUBNETS,
                protect=protect,
                tags={"environment": "prod"},
            ),
            pulumi.ResourceOptions(providers={"aws": provider}),
        )
        return {
            "kubeconfig": eks.kubeconfig,
            "nodeRoleArn": eks.node_role_arn,
            "ready": [r.urn for r in eks.ready],
            **eks.access.outputs(),
        }

    return run(program, region=region)


@pytest.fixture(scope="module")
def default_plan() -> PlanRun:
    return plan()


def component(p: PlanRun) -> Resource:
    return one(p, COMPONENT, "platform")


# --- Children, parentage, provider ----------------------------------------------------------


def test_every_aws_child_is_parented_and_uses_the_explicit_provider(default_plan: PlanRun) -> None:
    eks = component(default_plan)
    children = children_of(default_plan, eks)
    assert {r.name for r in children} == {
        "platform-secrets-key",
        "platform-secrets-key-alias",
        "platform-control-plane-logs",
        "platform-cluster-role",
        "platform-cluster-role-AmazonEKSClusterPolicy",
        "platform-cluster-role-kms",
        "platform-cluster",
        f"platform-admin-{build.principal_key(ADMIN_A)}",
        f"platform-admin-{build.principal_key(ADMIN_A)}-policy",
        "platform-oidc",
        "platform-node-role",
        "platform-node-role-AmazonEKSWorkerNodePolicy",
        "platform-node-role-AmazonEKS_CNI_Policy",
        "platform-node-role-AmazonEC2ContainerRegistryReadOnly",
        "platform-vpc-cni",
        "platform-kube-proxy",
        "platform-node-template",
        "platform-nodes",
        "platform-coredns",
        "platform-api-access-10-200-0-0-16",
        "platform-k8s",
    }
    for r in children:
        if r.type.startswith("aws:"):
            assert r.provider is not None and r.provider.endswith("pulumi:providers:aws::aws"), r.name


# --- Secrets encryption -------------------------------------------------------------------------


def test_secrets_are_envelope_encrypted_with_a_rotating_key(default_plan: PlanRun) -> None:
    key = one(default_plan, KEY, "platform-secrets-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == 30
    alias = one(default_plan, "aws:kms/alias:Alias", "platform-secrets-key-alias")
    assert alias.inputs["name"] == "alias/datafly-prod-eks-secrets"

    cluster = one(default_plan, CLUSTER, "platform-cluster")
    [encryption] = [cluster.inputs["encryptionConfig"]]
    assert encryption["resources"] == ["secrets"]
    assert encryption["provider"]["keyArn"].startswith("arn:aws:kms:eu-west-1:123456789012:key/")
    assert key.urn in cluster.dependencies


def test_cluster_role_may_use_only_its_key(default_plan: PlanRun) -> None:
    cluster = one(default_plan, CLUSTER, "platform-cluster")
    policy = one(default_plan, "aws:iam/rolePolicy:RolePolicy", "platform-cluster-role-kms")
    document = json.loads(policy.inputs["policy"])
    [statement] = document["Statement"]
    assert statement["Action"] == ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]
    assert statement["Resource"] == cluster.inputs["encryptionConfig"]["provider"]["keyArn"]
    # EKS checks the key at creation, so the grant must exist first.
    assert policy.urn in cluster.dependencies


# --- Control-plane logs -------------------------------------------------------------------------


def test_control_plane_logs_include_the_security_streams(default_plan: PlanRun) -> None:
    cluster = one(default_plan, CLUSTER, "platform-cluster")
    assert {"api", "audit", "authenticator"} <= set(cluster.inputs["enabledClusterLogTypes"])


@pytest.mark.parametrize("retention", [30, 90, 365])
def test_log_group_exists_before_the_cluster_with_bounded_retention(retention: int) -> None:
    p = plan({"logRetentionDays": retention})
    group = one(p, "aws:cloudwatch/logGroup:LogGroup", "platform-control-plane-logs")
    assert group.inputs["name"] == "/aws/eks/datafly-prod/cluster"
    assert group.inputs["retentionInDays"] == retention
    cluster = one(p, CLUSTER, "platform-cluster")
    assert cluster.inputs["name"] == "datafly-prod"
    assert group.urn in cluster.dependencies


# --- Endpoint and authentication --------------------------------------------------------------


@pytest.mark.parametrize(
    "cidrs",
    [[], ["203.0.113.0/24"], ["203.0.113.0/24", "198.51.100.7/32"]],
    ids=["private-only", "one-cidr", "two-cidrs"],
)
def test_endpoint_is_private_and_public_only_for_given_cidrs(cidrs: list[str]) -> None:
    p = plan({"publicAccessCidrs": cidrs})
    vpc = one(p, CLUSTER, "platform-cluster").inputs["vpcConfig"]
    assert vpc["subnetIds"] == SUBNETS
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is bool(cidrs)
    if cidrs:
        assert vpc["publicAccessCidrs"] == cidrs
    else:
        assert "publicAccessCidrs" not in vpc


def test_authentication_is_access_entries_only(default_plan: PlanRun) -> None:
    cluster = one(default_plan, CLUSTER, "platform-cluster")
    assert cluster.inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": False,
    }
    assert cluster.inputs["version"] == "1.35"
    assert cluster.inputs["bootstrapSelfManagedAddons"] is False


@pytest.mark.parametrize("admins", [[ADMIN_A, ADMIN_B], [ADMIN_B, ADMIN_A]], ids=["a-b", "b-a"])
def test_one_admin_entry_and_policy_per_role_named_by_role_not_position(admins: list[str]) -> None:
    p = plan({"adminRoleArns": admins})
    entries = of_type(p, "aws:eks/accessEntry:AccessEntry")
    associations = of_type(p, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
    expected = {f"platform-admin-{build.principal_key(arn)}": arn for arn in (ADMIN_A, ADMIN_B)}
    assert {e.name: e.inputs["principalArn"] for e in entries} == expected
    assert {a.name: a.inputs["principalArn"] for a in associations} == {
        f"{name}-policy": arn for name, arn in expected.items()
    }
    for entry in entries:
        assert entry.inputs["clusterName"] == "datafly-prod"
        assert entry.inputs["type"] == "STANDARD"
    for association in associations:
        assert association.inputs["policyArn"] == (
            "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        )
        assert association.inputs["accessScope"] == {"type": "cluster"}
        entry = one(p, "aws:eks/accessEntry:AccessEntry", association.name.removesuffix("-policy"))
        assert entry.urn in association.dependencies


VPN = "10.200.0.0/16"


@pytest.mark.parametrize("cidrs", [[VPN], [VPN, "10.201.8.0/24"], ["10.201.8.0/24", VPN]])
def test_private_access_cidrs_get_443_on_the_cluster_security_group_named_by_cidr(cidrs: list[str]) -> None:
    p = plan({"privateAccessCidrs": cidrs})
    rules = {r.name: r for r in of_type(p, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
             if "-api-access-" in r.name}
    assert {name: r.inputs["cidrIpv4"] for name, r in rules.items()} == {
        f"platform-api-access-{build.cidr_key(cidr)}": cidr for cidr in cidrs}
    for rule in rules.values():
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == ("tcp", 443, 443)
        assert rule.inputs["securityGroupId"].startswith("sg-")
    provider = one(p, "pulumi:providers:kubernetes", "platform-k8s")
    assert {r.urn for r in rules.values()} <= set(provider.dependencies)


def test_no_admin_roles_is_refused_by_the_config() -> None:
    # With API authentication and no creator bootstrap, nobody could reach the cluster.
    with pytest.raises(pydantic.ValidationError, match="adminRoleArns"):
        ClusterConfig.model_validate({"adminRoleArns": []})


# --- IRSA -----------------------------------------------------------------------------------------


def test_oidc_provider_trusts_the_cluster_issuer_for_sts(default_plan: PlanRun) -> None:
    oidc = one(default_plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "platform-oidc")
    assert oidc.inputs["url"].startswith("https://oidc.eks.eu-west-1.amazonaws.com/id/")
    assert oidc.inputs["clientIdLists"] == ["sts.amazonaws.com"]
    assert "thumbprintLists" not in oidc.inputs
    outputs = default_plan.outputs
    assert outputs["oidcProviderUrl"].value == oidc.inputs["url"].removeprefix("https://")
    assert outputs["oidcProviderArn"].value == (
        "arn:aws:iam::123456789012:oidc-provider/" + outputs["oidcProviderUrl"].value
    )


# --- Add-ons --------------------------------------------------------------------------------------


def test_vpc_cni_enforces_network_policies(default_plan: PlanRun) -> None:
    cni = one(default_plan, ADDON, "platform-vpc-cni")
    assert cni.inputs["addonName"] == "vpc-cni"
    assert cni.inputs["configurationValues"] == '{"enableNetworkPolicy": "true"}'


@pytest.mark.parametrize("addon", ["vpc-cni", "kube-proxy", "coredns"])
def test_managed_addons_conflict_policy(default_plan: PlanRun, addon: str) -> None:
    resource = one(default_plan, ADDON, f"platform-{addon}")
    assert resource.inputs["addonName"] == addon
    assert resource.inputs["clusterName"] == "datafly-prod"
    assert resource.inputs["resolveConflictsOnCreate"] == "OVERWRITE"
    assert resource.inputs["resolveConflictsOnUpdate"] == "PRESERVE"


def test_cni_before_nodes_and_coredns_after(default_plan: PlanRun) -> None:
    nodes = one(default_plan, NODE_GROUP, "platform-nodes")
    cni = one(default_plan, ADDON, "platform-vpc-cni")
    coredns = one(default_plan, ADDON, "platform-coredns")
    assert cni.urn in nodes.dependencies
    assert nodes.urn in coredns.dependencies
    for policy in build.NODE_MANAGED_POLICIES:
        attachment = one(default_plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment", f"platform-node-role-{policy}")
        assert attachment.inputs["policyArn"] == f"arn:aws:iam::aws:policy/{policy}"
        assert attachment.urn in nodes.dependencies


# --- Nodes ----------------------------------------------------------------------------------------


def test_launch_template_requires_imdsv2_with_hop_limit_one(default_plan: PlanRun) -> None:
    template = one(default_plan, "aws:ec2/launchTemplate:LaunchTemplate", "platform-node-template")
    assert template.inputs["metadataOptions"] == {
        "httpEndpoint": "enabled",
        "httpTokens": "required",
        "httpPutResponseHopLimit": 1,
    }
    [device] = template.inputs["blockDeviceMappings"]
    assert device["ebs"] == {
        "volumeSize": 50,
        "volumeType": "gp3",
        "encrypted": "true",
        "deleteOnTermination": "true",
    }
    kinds = {spec["resourceType"]: spec["tags"] for spec in template.inputs["tagSpecifications"]}
    assert set(kinds) == {"instance", "volume", "network-interface"}
    assert kinds["instance"] == {"environment": "prod", "Name": "datafly-prod-node"}


def test_node_group_defaults(default_plan: PlanRun) -> None:
    nodes = one(default_plan, NODE_GROUP, "platform-nodes")
    assert nodes.inputs["scalingConfig"] == {"desiredSize": 3, "minSize": 2, "maxSize": 5}
    assert nodes.inputs["instanceTypes"] == ["t3.medium"]
    assert nodes.inputs["capacityType"] == "ON_DEMAND"
    assert nodes.inputs["amiType"] == "AL2023_x86_64_STANDARD"
    assert nodes.inputs["subnetIds"] == SUBNETS
    assert nodes.inputs["updateConfig"] == {"maxUnavailable": 1}
    assert nodes.inputs["launchTemplate"]["id"].startswith("lt-")
    assert nodes.inputs["launchTemplate"]["version"] == "1"
    assert nodes.inputs["nodeRoleArn"].startswith("arn:aws:iam::123456789012:role/platform-node-role-")
    assert "diskSize" not in nodes.inputs  # the launch template owns the disk
    assert nodes.ignore_changes == ["scalingConfig.desiredSize"]


def test_node_group_sizes_and_arm_instances_follow_config() -> None:
    p = plan({"nodeGroup": {"instanceTypes": ["m7g.large", "c7g.large"], "capacityType": "SPOT",
                            "desiredSize": 4, "minSize": 3, "maxSize": 9, "diskSizeGib": 80}})
    nodes = one(p, NODE_GROUP, "platform-nodes")
    assert nodes.inputs["scalingConfig"] == {"desiredSize": 4, "minSize": 3, "maxSize": 9}
    assert nodes.inputs["capacityType"] == "SPOT"
    assert nodes.inputs["amiType"] == "AL2023_ARM_64_STANDARD"
    template = one(p, "aws:ec2/launchTemplate:LaunchTemplate", "platform-node-template")
    assert template.inputs["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 80


@pytest.mark.parametrize(
    ("instance_types", "ami_type"),
    [
        (["t3.medium"], "AL2023_x86_64_STANDARD"),
        (["m7i-flex.large", "m6a.large"], "AL2023_x86_64_STANDARD"),
        (["t4g.medium"], "AL2023_ARM_64_STANDARD"),
        (["c7gn.xlarge", "r6gd.large", "im4gn.large"], "AL2023_ARM_64_STANDARD"),
        (["g6e.xlarge"], "AL2023_x86_64_STANDARD"),
    ],
)
def test_node_ami_type(instance_types: list[str], ami_type: str) -> None:
    assert build.node_ami_type(instance_types) == ami_type


def test_mixed_architectures_are_refused() -> None:
    with pytest.raises(ValueError, match="mix arm64 and x86_64"):
        build.node_ami_type(["t3.medium", "t4g.medium"])


# --- Protection -----------------------------------------------------------------------------------


@pytest.mark.parametrize("protect", [True, False])
def test_stateful_resources_follow_protect(protect: bool) -> None:
    p = plan(protect=protect)
    assert one(p, CLUSTER, "platform-cluster").protect is protect
    assert one(p, KEY, "platform-secrets-key").protect is protect
    assert one(p, "aws:cloudwatch/logGroup:LogGroup", "platform-control-plane-logs").protect is protect
    assert one(p, CLUSTER, "platform-cluster").inputs["deletionProtection"] is protect
    # Replaceable plumbing stays unprotected either way.
    assert one(p, NODE_GROUP, "platform-nodes").protect is False


# --- Kubernetes provider and outputs ------------------------------------------------------------


def test_kubernetes_provider_is_a_child_that_authenticates_with_get_token(default_plan: PlanRun) -> None:
    eks = component(default_plan)
    provider = one(default_plan, "pulumi:providers:kubernetes", "platform-k8s")
    assert provider.parent == eks.urn
    config = json.loads(provider.inputs["kubeconfig"])
    args = config["users"][0]["user"]["exec"]["args"]
    assert " ".join(args).startswith("eks get-token --cluster-name datafly-prod --region eu-west-1")
    assert config["clusters"][0]["cluster"]["server"].endswith(".gr7.eu-west-1.eks.amazonaws.com")
    # It may only talk to the API once an admin grant exists.
    for association in of_type(default_plan, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"):
        assert association.urn in provider.dependencies


def test_outputs_describe_the_cluster_for_customer_stacks(default_plan: PlanRun) -> None:
    out = {key: value.value for key, value in default_plan.outputs.items()}
    assert out["clusterName"] == "datafly-prod"
    assert out["clusterEndpoint"].startswith("https://")
    assert out["clusterCertificateAuthority"]
    assert out["kubernetesVersion"] == "1.35"
    assert out["vpcId"] == "vpc-0123"
    assert out["privateSubnetIds"] == SUBNETS
    assert out["nodeSecurityGroupId"].startswith("sg-")
    assert out["region"] == "eu-west-1"
    assert out["nodeRoleArn"].startswith("arn:aws:iam::123456789012:role/platform-node-role-")
    assert default_plan.outputs["kubeconfig"].secret is True
    assert "get-token" in out["kubeconfig"]
    ready = set(out["ready"])
    for name in ("platform-nodes",):
        assert one(default_plan, NODE_GROUP, name).urn in ready
    for addon in ("vpc-cni", "kube-proxy", "coredns"):
        assert one(default_plan, ADDON, f"platform-{addon}").urn in ready

