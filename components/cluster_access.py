"""What a customer stack needs to know about the cluster it runs on: the contract
between the platform stack's outputs and the customer stacks that read them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

# The platform stack exports exactly these names (see components/stack.py); a customer
# stack reads them through a StackReference.
OUTPUT_NAMES = (
    "clusterName",
    "clusterEndpoint",
    "clusterCertificateAuthority",
    "kubernetesVersion",
    "oidcProviderArn",
    "oidcProviderUrl",
    "vpcId",
    "privateSubnetIds",
    "nodeSecurityGroupId",
    "region",
)


@dataclass(frozen=True)
class ClusterAccess:
    cluster_name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    kubernetes_version: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    oidc_provider_url: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    private_subnet_ids: pulumi.Output[list[str]]
    node_security_group_id: pulumi.Output[str]
    region: pulumi.Output[str]

    @staticmethod
    def from_stack_reference(reference: pulumi.StackReference) -> "ClusterAccess":
        def out(key: str) -> pulumi.Output:  # type: ignore[type-arg]
            return reference.require_output(key)

        return ClusterAccess(
            cluster_name=out("clusterName"),
            endpoint=out("clusterEndpoint"),
            certificate_authority=out("clusterCertificateAuthority"),
            kubernetes_version=out("kubernetesVersion"),
            oidc_provider_arn=out("oidcProviderArn"),
            oidc_provider_url=out("oidcProviderUrl"),
            vpc_id=out("vpcId"),
            private_subnet_ids=out("privateSubnetIds"),
            node_security_group_id=out("nodeSecurityGroupId"),
            region=out("region"),
        )

    def outputs(self) -> dict[str, pulumi.Output]:  # type: ignore[type-arg]
        return {
            "clusterName": self.cluster_name,
            "clusterEndpoint": self.endpoint,
            "clusterCertificateAuthority": self.certificate_authority,
            "kubernetesVersion": self.kubernetes_version,
            "oidcProviderArn": self.oidc_provider_arn,
            "oidcProviderUrl": self.oidc_provider_url,
            "vpcId": self.vpc_id,
            "privateSubnetIds": self.private_subnet_ids,
            "nodeSecurityGroupId": self.node_security_group_id,
            "region": self.region,
        }
