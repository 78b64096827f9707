"""Karpenter policies: what its NodePools and EC2NodeClasses may launch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from ._util import Registry, as_list, get, truthy

NODE_POOL = "kubernetes:karpenter.sh/v1:NodePool"
EC2_NODE_CLASS = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"
SUBNET = "aws:ec2/subnet:Subnet"
# The AWS Load Balancer Controller's tag for internet-facing load balancers' subnets:
# the program's public subnets carry it (builders/network.py).
PUBLIC_SUBNET_TAG = "kubernetes.io/role/elb"
DISCOVERY_TAG = "karpenter.sh/discovery"
NamedViolation = tuple[str, Any]


def register(registry: Registry) -> None:
    registry.resource(
        "karpenter-nodepool-limits", [NODE_POOL],
        "Every Karpenter NodePool sets CPU and memory limits (no unbounded scale-out).",
        "Karpenter docs: NodePools, spec.limits; AWS EKS Best Practices (Karpenter): limit the resources a NodePool may create",
        _limits,
    )
    registry.resource(
        "karpenter-nodes-imdsv2", [EC2_NODE_CLASS],
        "Karpenter nodes require IMDSv2 with a hop limit of 1.",
        "AWS EKS Best Practices: restrict access to the instance profile; CKV_AWS_79; Karpenter docs: EC2NodeClass metadataOptions",
        _imdsv2,
    )
    registry.resource(
        "karpenter-volumes-encrypted", [EC2_NODE_CLASS],
        "Karpenter nodes' EBS volumes are declared and encrypted.",
        "CKV_AWS_3 (EBS encryption); AWS FSBP EC2.7; Karpenter docs: EC2NodeClass blockDeviceMappings",
        _volumes,
    )
    registry.resource(
        "karpenter-private-subnets-only", [EC2_NODE_CLASS],
        "An EC2NodeClass selects subnets by the discovery tag or by id, never public ones by their load-balancer tag.",
        "AWS EKS Best Practices: worker nodes in private subnets; AWS FSBP EC2.15",
        _subnet_terms,
    )
    registry.stack(
        "karpenter-discovery-not-public", "every stack",
        "No subnet tagged for public load balancers also carries Karpenter's discovery tag.",
        "AWS EKS Best Practices: worker nodes in private subnets; AWS FSBP EC2.15",
        _discovery_not_public,
    )


def _limits(args: ResourceValidationArgs) -> Iterator[str]:
    limits = get(args.props, "spec", "limits") or {}
    for resource in ("cpu", "memory"):
        if not limits.get(resource):
            yield f"spec.limits.{resource} is not set"


def _imdsv2(args: ResourceValidationArgs) -> Iterator[str]:
    options = get(args.props, "spec", "metadataOptions") or {}
    if options.get("httpTokens") != "required":
        yield "spec.metadataOptions.httpTokens is not required"
    if options.get("httpPutResponseHopLimit") != 1:
        yield "spec.metadataOptions.httpPutResponseHopLimit is not 1"


def _volumes(args: ResourceValidationArgs) -> Iterator[str]:
    mappings = as_list(get(args.props, "spec", "blockDeviceMappings"))
    # Without mappings the AMI family's defaults apply, whose encryption is the
    # account's EBS default: not something the program can vouch for.
    if not mappings:
        yield "spec.blockDeviceMappings is not set"
    for index, mapping in enumerate(mappings):
        if not truthy(get(mapping, "ebs", "encrypted")):
            yield f"spec.blockDeviceMappings[{index}].ebs.encrypted is not true"


def _subnet_terms(args: ResourceValidationArgs) -> Iterator[str]:
    terms = as_list(get(args.props, "spec", "subnetSelectorTerms"))
    for index, term in enumerate(terms):
        tags = term.get("tags") if isinstance(term, dict) else None
        if isinstance(tags, dict):
            if PUBLIC_SUBNET_TAG in tags:
                yield f"spec.subnetSelectorTerms[{index}] selects public subnets ({PUBLIC_SUBNET_TAG})"
            elif DISCOVERY_TAG not in tags or tags.get(DISCOVERY_TAG) in ("*", ""):
                yield f"spec.subnetSelectorTerms[{index}] does not select by {DISCOVERY_TAG}: <cluster>"
        elif not (isinstance(term, dict) and term.get("id")):
            yield f"spec.subnetSelectorTerms[{index}] selects neither by tag nor by id"


def _discovery_not_public(args: StackValidationArgs) -> Iterator[NamedViolation]:
    for resource in args.resources:
        if resource.resource_type != SUBNET:
            continue
        tags = resource.props.get("tags") or {}
        if PUBLIC_SUBNET_TAG in tags and DISCOVERY_TAG in tags:
            yield (f"public subnet {resource.name} carries {DISCOVERY_TAG}: Karpenter would launch nodes there",
                   resource.urn)
