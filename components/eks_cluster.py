"""A hardened EKS cluster: KMS-encrypted secrets, control-plane logs with bounded
retention, access entries instead of aws-auth, IRSA, managed add-ons and one managed
node group on IMDSv2-only nodes."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from builders import eks as build
from builders.charts import SYSTEM_NODE_LABEL_KEY, SYSTEM_NODE_LABEL_VALUE, SYSTEM_TAINT_KEY, SYSTEM_TAINT_VALUE
from builders.iam import service_trust_policy
from builders.kubeconfig import kubeconfig_json
from stackconfig.platform import ClusterConfig

from .cluster_access import ClusterAccess
from .kubernetes_provider import kubernetes_provider

# KMS's longest pending-deletion window: a mistakenly scheduled deletion of the key that
# wraps every Kubernetes Secret is recoverable for a month.
KMS_DELETION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class EksClusterArgs:
    cluster_name: str
    config: ClusterConfig
    region: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[str]]
    protect: bool
    # Tags for node instances/volumes (the provider's default_tags do not reach them).
    tags: Mapping[str, str] = field(default_factory=dict)


class EksCluster(pulumi.ComponentResource):
    cluster: aws.eks.Cluster
    access: ClusterAccess
    provider: k8s.Provider
    ready: list[pulumi.Resource]
    kubeconfig: pulumi.Output[str]
    node_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: EksClusterArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:aws:EksCluster", name, None, opts)
        config = args.config
        partition = build.partition_for_region(args.region)
        admins = _admins(args)
        child = pulumi.ResourceOptions(parent=self)

        key, log_group = self._secrets_key_and_logs(name, args)
        cluster_role, cluster_role_deps = self._cluster_role(name, key, partition)
        cluster = self._control_plane(name, args, cluster_role, key, [log_group, *cluster_role_deps])
        self.cluster = cluster
        admin_grants = self._admin_grants(name, cluster, admins, partition)
        issuer, oidc = self._irsa(name, cluster)

        # --- Nodes ------------------------------------------------------------------------------
        node_role, node_role_attachments = self._node_role(name, partition)
        self.node_role_arn = node_role.arn
        # Both are DaemonSets: they become ACTIVE with zero nodes, and nodes only turn
        # Ready once the CNI is on them, so they go before the node group.
        vpc_cni = _addon(
            f"{name}-vpc-cni", cluster, "vpc-cni", child, build.vpc_cni_configuration()
        )
        kube_proxy = _addon(f"{name}-kube-proxy", cluster, "kube-proxy", child)
        launch_template = self._launch_template(name, args)
        node_group = self._node_group(
            name, args, cluster, node_role, launch_template, [*node_role_attachments, vpc_cni]
        )
        # A Deployment: with no nodes its pods stay Pending and the add-on never leaves
        # CREATING, so it waits for the node group.
        coredns = _addon(
            f"{name}-coredns", cluster, "coredns", pulumi.ResourceOptions(parent=self, depends_on=[node_group])
        )

        # --- What the rest of the program uses ----------------------------------------------
        certificate_authority = cluster.certificate_authority.apply(lambda ca: ca.data or "")
        region = pulumi.Output.from_input(args.region)
        self.access = _cluster_access(args, cluster, oidc, issuer, certificate_authority, region)
        api_access = self._api_access(name, args.cluster_name, cluster, config.private_access_cidrs)

        # Talking to the API needs an admin grant and a way in, so the provider waits for
        # them; objects that also need running pods (Helm releases that wait) depend on `ready`.
        self.provider = kubernetes_provider(
            f"{name}-k8s",
            self.access,
            pulumi.ResourceOptions(parent=self, depends_on=[*admin_grants, *api_access]),
        )
        self.ready = [node_group, vpc_cni, kube_proxy, coredns, *admin_grants, *api_access]

        # It holds no token, but names the private endpoint and CA: keep it out of logs.
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(cluster.name, cluster.endpoint, certificate_authority, region).apply(
                lambda v: kubeconfig_json(v[0], v[1], v[2], v[3])
            )
        )

        self.register_outputs(
            {
                "clusterName": cluster.name,
                "clusterArn": cluster.arn,
                "kubeconfig": self.kubeconfig,
                "nodeRoleArn": self.node_role_arn,
                **self.access.outputs(),
            }
        )

    def _secrets_key_and_logs(self, name: str, args: EksClusterArgs) -> tuple[aws.kms.Key, aws.cloudwatch.LogGroup]:
        child = pulumi.ResourceOptions(parent=self)
        protected = pulumi.ResourceOptions(parent=self, protect=args.protect)
        # --- Secrets envelope encryption -------------------------------------------------
        # The default key policy (account root, delegated to IAM policies) is enough: the
        # cluster role gets an inline policy for exactly this key below.
        key = aws.kms.Key(
            f"{name}-secrets-key",
            description=f"EKS {args.cluster_name}: Kubernetes Secrets envelope encryption",
            enable_key_rotation=True,
            deletion_window_in_days=KMS_DELETION_WINDOW_DAYS,
            opts=protected,
        )
        aws.kms.Alias(
            f"{name}-secrets-key-alias",
            name=build.kms_alias_name(args.cluster_name),
            target_key_id=key.key_id,
            opts=child,
        )

        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=build.cluster_log_group_name(args.cluster_name),
            retention_in_days=args.config.log_retention_days,
            opts=protected,
        )
        return key, log_group

    def _cluster_role(
        self, name: str, key: aws.kms.Key, partition: str
    ) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        child = pulumi.ResourceOptions(parent=self)
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            assume_role_policy=json.dumps(service_trust_policy("eks.amazonaws.com")),
            opts=child,
        )
        cluster_role_deps: list[pulumi.Resource] = [
            aws.iam.RolePolicyAttachment(
                f"{name}-cluster-role-{policy}",
                role=cluster_role.name,
                policy_arn=arn,
                opts=child,
            )
            for policy, arn in build.managed_policy_arns(build.CLUSTER_MANAGED_POLICIES, partition).items()
        ]
        cluster_role_deps.append(
            aws.iam.RolePolicy(
                f"{name}-cluster-role-kms",
                role=cluster_role.id,
                policy=key.arn.apply(lambda arn: json.dumps(build.cluster_kms_policy(arn))),
                opts=child,
            )
        )
        return cluster_role, cluster_role_deps

    def _control_plane(
        self,
        name: str,
        args: EksClusterArgs,
        cluster_role: aws.iam.Role,
        key: aws.kms.Key,
        depends_on: list[pulumi.Resource],
    ) -> aws.eks.Cluster:
        config = args.config
        public = bool(config.public_access_cidrs)
        return aws.eks.Cluster(
            f"{name}-cluster",
            name=args.cluster_name,
            version=config.kubernetes_version,
            role_arn=cluster_role.arn,
            enabled_cluster_log_types=list(build.CLUSTER_LOG_TYPES),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                resources=["secrets"],
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=key.arn),
            ),
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=args.private_subnet_ids,
                endpoint_private_access=True,
                endpoint_public_access=public,
                public_access_cidrs=list(config.public_access_cidrs) if public else None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API",
                # Admins come from the access entries below, not from whichever identity
                # happened to run the first `pulumi up` (an invisible, unrevocable grant).
                bootstrap_cluster_creator_admin_permissions=False,
            ),
            # vpc-cni, kube-proxy and coredns are installed as managed add-ons below;
            # skipping the self-managed copies leaves nothing for them to conflict with.
            bootstrap_self_managed_addons=False,
            deletion_protection=args.protect,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                # The log group must exist first, or EKS creates its own with no expiry.
                depends_on=depends_on,
            ),
        )

    def _admin_grants(
        self, name: str, cluster: aws.eks.Cluster, admins: Sequence[build.AdminAccessEntry], partition: str
    ) -> list[pulumi.Resource]:
        """Who may administer it: an access entry and the cluster-admin policy per role."""
        child = pulumi.ResourceOptions(parent=self)
        admin_policy_arn = build.cluster_access_policy_arn(build.CLUSTER_ADMIN_POLICY, partition)
        admin_grants: list[pulumi.Resource] = []
        for admin in admins:
            entry = aws.eks.AccessEntry(
                f"{name}-admin-{admin.key}",
                cluster_name=cluster.name,
                principal_arn=admin.principal_arn,
                type="STANDARD",
                opts=child,
            )
            admin_grants.append(
                aws.eks.AccessPolicyAssociation(
                    f"{name}-admin-{admin.key}-policy",
                    cluster_name=cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=admin_policy_arn,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=child,
                )
            )
        return admin_grants

    def _irsa(self, name: str, cluster: aws.eks.Cluster) -> tuple[pulumi.Output[str], aws.iam.OpenIdConnectProvider]:
        issuer = cluster.identities.apply(lambda ids: _issuer(ids))
        oidc = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=issuer,
            client_id_lists=[build.IRSA_AUDIENCE],
            # No thumbprint_lists: IAM verifies the EKS issuer's JWKS endpoint against its
            # own library of trusted root CAs and ignores thumbprints for such providers;
            # when the list is omitted IAM fills in the current one itself.
            # https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateOpenIDConnectProvider.html
            # https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateOpenIDConnectProviderThumbprint.html
            opts=pulumi.ResourceOptions(parent=self),
        )
        return issuer, oidc

    def _node_role(self, name: str, partition: str) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        child = pulumi.ResourceOptions(parent=self)
        node_role = aws.iam.Role(
            f"{name}-node-role",
            assume_role_policy=json.dumps(service_trust_policy("ec2.amazonaws.com")),
            opts=child,
        )
        node_role_attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-role-{policy}",
                role=node_role.name,
                policy_arn=arn,
                opts=child,
            )
            for policy, arn in build.managed_policy_arns(build.NODE_MANAGED_POLICIES, partition).items()
        ]
        return node_role, node_role_attachments

    def _launch_template(self, name: str, args: EksClusterArgs) -> aws.ec2.LaunchTemplate:
        tags = build.node_tags(args.cluster_name, dict(args.tags))
        return aws.ec2.LaunchTemplate(
            f"{name}-node-template",
            description=f"EKS {args.cluster_name} managed node group",
            # IMDSv2 only, and a hop limit of 1 so the metadata service answers the node
            # but not pods behind the extra network hop: pods cannot borrow the node
            # role's credentials. Add-ons that would discover region/VPC id from IMDS
            # (e.g. the load-balancer controller) are given them explicitly instead, from
            # ClusterAccess. Host-network pods such as aws-node still reach it.
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=1,
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    # The root device of the EKS-optimized Amazon Linux 2023 AMIs.
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=args.config.node_group.disk_size_gib,
                        volume_type="gp3",
                        encrypted="true",
                        delete_on_termination="true",
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags)
                for kind in ("instance", "volume", "network-interface")
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _node_group(
        self,
        name: str,
        args: EksClusterArgs,
        cluster: aws.eks.Cluster,
        node_role: aws.iam.Role,
        launch_template: aws.ec2.LaunchTemplate,
        depends_on: list[pulumi.Resource],
    ) -> aws.eks.NodeGroup:
        sizes = args.config.node_group
        return aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=cluster.name,
            # Follow the control plane's version, so a cluster upgrade is followed by a
            # rolling node upgrade rather than leaving nodes on the old minor.
            version=cluster.version,
            node_role_arn=node_role.arn,
            subnet_ids=args.private_subnet_ids,
            ami_type=build.node_ami_type(sizes.instance_types),
            instance_types=list(sizes.instance_types),
            capacity_type=sizes.capacity_type,
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                desired_size=sizes.desired_size,
                min_size=sizes.min_size,
                max_size=sizes.max_size,
            ),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=launch_template.id,
                version=launch_template.latest_version.apply(str),
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            # The system node group: only the controllers (which tolerate the taint and
            # select the label) run here; customer pods go to Karpenter's nodes.
            labels={SYSTEM_NODE_LABEL_KEY: SYSTEM_NODE_LABEL_VALUE},
            taints=[aws.eks.NodeGroupTaintArgs(key=SYSTEM_TAINT_KEY, value=SYSTEM_TAINT_VALUE, effect="NO_SCHEDULE")],
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends_on,
                # desiredSize is the starting point only: an operator (during an
                # incident) may move it, and every `pulumi up` resetting it would scale
                # the system nodes back mid-load. min/max stay managed. Customer load is
                # Karpenter's: it adds its own nodes, not this group's.
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )

    def _api_access(
        self, name: str, cluster_name: str, cluster: aws.eks.Cluster, cidrs: Sequence[str]
    ) -> list[aws.vpc.SecurityGroupIngressRule]:
        # The private endpoint admits what the cluster security group admits, and EKS
        # gives that group no rule for anything outside the cluster
        # (https://docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html): the
        # VPN, CI runners and peered networks that deploy get 443 here. Named after the
        # CIDR, so adding one never renames (and replaces) the others.
        cluster_security_group_id = cluster.vpc_config.apply(lambda vpc: vpc.cluster_security_group_id or "")
        return [
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-access-{build.cidr_key(cidr)}",
                security_group_id=cluster_security_group_id,
                cidr_ipv4=cidr,
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                description=f"Kubernetes API of {cluster_name} from {cidr} (privateAccessCidrs)",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for cidr in cidrs
        ]


def _admins(args: EksClusterArgs) -> list[build.AdminAccessEntry]:
    admins = build.admin_access_entries(args.config.admin_role_arns)
    if not admins:
        # Authentication mode API without the creator's bootstrap admin leaves a
        # cluster with no IAM principal able to reach the Kubernetes API.
        raise ValueError(
            f"cluster {args.cluster_name}: adminRoleArns is empty; list the IAM roles "
            "(including the one that runs `pulumi up`) that administer the cluster"
        )
    return admins


def _cluster_access(
    args: EksClusterArgs,
    cluster: aws.eks.Cluster,
    oidc: aws.iam.OpenIdConnectProvider,
    issuer: pulumi.Output[str],
    certificate_authority: pulumi.Output[str],
    region: pulumi.Output[str],
) -> ClusterAccess:
    return ClusterAccess(
        cluster_name=cluster.name,
        endpoint=cluster.endpoint,
        certificate_authority=certificate_authority,
        kubernetes_version=cluster.version,
        oidc_provider_arn=oidc.arn,
        oidc_provider_url=issuer.apply(build.oidc_issuer_host_path),
        vpc_id=pulumi.Output.from_input(args.vpc_id),
        private_subnet_ids=pulumi.Output.from_input(args.private_subnet_ids).apply(list),
        # EKS attaches the cluster security group to managed nodes (our launch template
        # names no security groups), so it is the group data stores admit nodes from.
        node_security_group_id=cluster.vpc_config.apply(lambda vpc: vpc.cluster_security_group_id or ""),
        region=region,
    )


def _addon(
    name: str,
    cluster: aws.eks.Cluster,
    addon: str,
    opts: pulumi.ResourceOptions,
    configuration_values: Optional[str] = None,
) -> aws.eks.Addon:
    return aws.eks.Addon(
        name,
        cluster_name=cluster.name,
        addon_name=addon,
        configuration_values=configuration_values,
        # On create, take over whatever a half-finished earlier attempt left behind; on
        # update, keep fields someone changed in the cluster on purpose instead of silently
        # reverting them to EKS defaults (our own configurationValues still apply).
        # https://docs.aws.amazon.com/eks/latest/APIReference/API_UpdateAddon.html
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="PRESERVE",
        opts=opts,
    )


def _issuer(identities: Optional[Sequence[aws.eks.outputs.ClusterIdentity]]) -> str:
    oidcs = identities[0].oidcs if identities else None
    issuer = oidcs[0].issuer if oidcs else None
    if not issuer:
        raise ValueError("the EKS cluster reported no OIDC issuer")
    return issuer
