"""Stack policies: what only the whole stack shows — tenant isolation in a customer
stack, the RDS parameter group an instance really uses, and who owns a Deployment's
replica count."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Optional

from pulumi_policy import PolicyResource, StackValidationArgs

from ._util import Registry, as_list, get, is_kubernetes_object, object_label

CUSTOMER_TYPE = "datafly:tenant:Customer"
PLATFORM_TYPE = "datafly:platform:Platform"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"

# Kinds that live outside any namespace. A kind not listed here but also given no
# namespace is treated as cluster-scoped too: the object is refused either way.
CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "StorageClass", "CSIDriver", "CSINode", "VolumeAttachment",
    "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "APIService", "PriorityClass",
    "RuntimeClass", "IngressClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "PodSecurityPolicy",
    "CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration",
    # CRD kinds of the add-ons this program installs
    "ClusterSecretStore", "ClusterExternalSecret", "ClusterTriggerAuthentication", "IngressClassParams",
    "ClusterIssuer",
})
NamedViolation = tuple[str, Optional[str]]


def register(registry: Registry) -> None:
    tenant = "customer stacks (with a datafly:tenant:Customer)"
    registry.stack(
        "tenant-namespace-confinement", tenant,
        "Every namespaced object of a customer stack is in the customer's own namespace.",
        "CIS EKS 4.6.1; AWS EKS Best Practices (multi-tenancy): namespace per tenant",
        _confinement,
    )
    registry.stack(
        "tenant-no-cluster-scoped-objects", tenant,
        "A customer stack creates no cluster-scoped object (no ClusterSecretStore, ClusterRole, …) "
        "but its Namespace.",
        "AWS EKS Best Practices (multi-tenancy): soft multi-tenancy; CIS EKS 4.1.x",
        _cluster_scoped,
    )
    registry.stack(
        "tenant-default-deny-network-policy", tenant,
        "The customer namespace has a default-deny NetworkPolicy (all pods, Ingress and Egress, no rules).",
        "CIS EKS 4.3.2; AWS EKS Best Practices: default-deny network policies",
        lambda args: _needs_in_namespace(args, "NetworkPolicy", _is_default_deny, "a default-deny NetworkPolicy"),
    )
    registry.stack(
        "tenant-resource-quota", tenant,
        "The customer namespace has a ResourceQuota.",
        "AWS EKS Best Practices (multi-tenancy): quotas per tenant namespace",
        lambda args: _needs_in_namespace(args, "ResourceQuota", lambda _: True, "a ResourceQuota"),
    )
    registry.stack(
        "tenant-limit-range", tenant,
        "The customer namespace has a LimitRange.",
        "AWS EKS Best Practices (multi-tenancy): default limits per tenant namespace",
        lambda args: _needs_in_namespace(args, "LimitRange", lambda _: True, "a LimitRange"),
    )
    registry.stack(
        "k8s-ingress-tls", "every stack",
        "Every Ingress terminates TLS for each host it routes.",
        "CIS EKS 5.4.5; AWS EKS Best Practices: TLS on every load balancer",
        _ingress_tls,
    )
    registry.stack(
        "k8s-autoscaled-without-replicas", "every stack",
        "A Deployment scaled by a KEDA ScaledObject or an HPA does not set spec.replicas "
        "(each apply would reset the autoscaler's count).",
        "Kubernetes docs: HPA — migrating Deployments to horizontal autoscaling; KEDA docs: ScaledObject",
        _autoscaled_replicas,
    )
    registry.stack(
        "rds-force-ssl", "every stack",
        "Every RDS PostgreSQL instance uses a parameter group of the stack that sets rds.force_ssl = 1.",
        "CKV2_AWS_69; AWS RDS User Guide: requiring SSL/TLS for PostgreSQL",
        _rds_force_ssl,
    )


# ---------------------------------------------------------------------- stack shape


def _ancestors(resource: PolicyResource) -> Iterator[PolicyResource]:
    node = resource.parent
    seen: set[str] = set()
    while node is not None and node.urn not in seen:
        seen.add(node.urn)
        yield node
        node = node.parent


def _in_platform(resource: PolicyResource) -> bool:
    """The dedicated tier builds its own platform (add-on namespaces included) in the
    customer stack; that part is held to the platform's rules, not the tenant's."""
    return any(a.resource_type == PLATFORM_TYPE for a in _ancestors(resource))


def _is_customer_stack(args: StackValidationArgs) -> bool:
    return any(r.resource_type == CUSTOMER_TYPE for r in args.resources)


def _tenant_objects(args: StackValidationArgs) -> list[PolicyResource]:
    return [
        r for r in args.resources
        if is_kubernetes_object(r.resource_type, r.props) and not _in_platform(r)
    ]


def _kind(resource: PolicyResource) -> str:
    return str(resource.props.get("kind"))


def _namespace(resource: PolicyResource) -> Any:
    return get(resource.props, "metadata", "namespace")


def _customer_namespace(objects: list[PolicyResource]) -> Optional[str]:
    names = [get(r.props, "metadata", "name") for r in objects if _kind(r) == "Namespace"]
    return names[0] if len(names) == 1 and isinstance(names[0], str) else None


def _is_cluster_scoped(resource: PolicyResource) -> bool:
    return _kind(resource) in CLUSTER_SCOPED_KINDS


# ---------------------------------------------------------------------- tenant isolation


def _confinement(args: StackValidationArgs) -> Iterator[NamedViolation]:
    if not _is_customer_stack(args):
        return
    objects = _tenant_objects(args)
    namespaces = [r for r in objects if _kind(r) == "Namespace"]
    if len(namespaces) != 1:
        found = ", ".join(sorted(str(get(r.props, "metadata", "name")) for r in namespaces)) or "none"
        yield f"a customer stack must create exactly one Namespace outside its platform; found {found}", None
        return
    home = _customer_namespace(objects)
    for resource in objects:
        if _is_cluster_scoped(resource):
            continue
        namespace = _namespace(resource)
        if namespace != home:
            where = f"namespace {namespace!r}" if namespace else "no metadata.namespace (the provider's default)"
            yield f"{object_label(resource.props)} is in {where}, not the customer namespace {home!r}", resource.urn


def _cluster_scoped(args: StackValidationArgs) -> Iterator[NamedViolation]:
    if not _is_customer_stack(args):
        return
    objects = _tenant_objects(args)
    namespaces = [r for r in objects if _kind(r) == "Namespace"]
    for resource in objects:
        if not _is_cluster_scoped(resource):
            continue
        if _kind(resource) == "Namespace" and len(namespaces) == 1:
            continue
        yield f"{object_label(resource.props)} is cluster-scoped: a customer stack may not create it", resource.urn


def _is_default_deny(resource: PolicyResource) -> bool:
    spec = resource.props.get("spec")
    selector = get(spec, "podSelector")
    selects_all = isinstance(selector, Mapping) and not get(selector, "matchLabels") and not get(
        selector, "matchExpressions")
    types = set(as_list(get(spec, "policyTypes")))
    return (
        selects_all
        and {"Ingress", "Egress"} <= types
        and not as_list(get(spec, "ingress"))
        and not as_list(get(spec, "egress"))
    )


def _needs_in_namespace(
    args: StackValidationArgs, kind: str, accept: Any, what: str
) -> Iterator[NamedViolation]:
    if not _is_customer_stack(args):
        return
    objects = _tenant_objects(args)
    home = _customer_namespace(objects)
    if home is None:
        return  # tenant-namespace-confinement reports the missing namespace
    if not any(_kind(r) == kind and _namespace(r) == home and accept(r) for r in objects):
        yield f"the customer namespace {home!r} lacks {what}", None


# ---------------------------------------------------------------------- every stack


def _ingress_tls(args: StackValidationArgs) -> Iterator[NamedViolation]:
    for resource in args.resources:
        if not is_kubernetes_object(resource.resource_type, resource.props) or _kind(resource) != "Ingress":
            continue
        spec = resource.props.get("spec")
        tls = [t for t in as_list(get(spec, "tls")) if isinstance(t, Mapping)]
        label = object_label(resource.props)
        if not tls:
            yield f"{label} has no spec.tls: it serves plain HTTP", resource.urn
            continue
        covered = {h for t in tls for h in as_list(t.get("hosts"))}
        for rule in as_list(get(spec, "rules")):
            host = get(rule, "host")
            if host and host not in covered:
                yield f"{label} routes host {host!r} without TLS for it", resource.urn


def _autoscaled_replicas(args: StackValidationArgs) -> Iterator[NamedViolation]:
    targets: set[tuple[Any, Any]] = set()
    for resource in args.resources:
        if not is_kubernetes_object(resource.resource_type, resource.props):
            continue
        if _kind(resource) in ("ScaledObject", "HorizontalPodAutoscaler"):
            ref = get(resource.props, "spec", "scaleTargetRef")
            if (get(ref, "kind") or "Deployment") == "Deployment":  # KEDA's default kind
                targets.add((_namespace(resource), get(ref, "name")))
    for resource in args.resources:
        if not is_kubernetes_object(resource.resource_type, resource.props) or _kind(resource) != "Deployment":
            continue
        key = (_namespace(resource), get(resource.props, "metadata", "name"))
        if key in targets and get(resource.props, "spec", "replicas") is not None:
            yield (f"{object_label(resource.props)} is autoscaled but sets spec.replicas", resource.urn)


def _force_ssl(group: PolicyResource) -> bool:
    return any(
        get(p, "name") == "rds.force_ssl" and str(get(p, "value")) == "1"
        for p in as_list(group.props.get("parameters"))
    )


def _rds_force_ssl(args: StackValidationArgs) -> Iterator[NamedViolation]:
    groups = [r for r in args.resources if r.resource_type == RDS_PARAMETER_GROUP]
    for instance in args.resources:
        if instance.resource_type != RDS_INSTANCE:
            continue
        engine = str(instance.props.get("engine") or "")
        if not engine.startswith("postgres") and engine != "aurora-postgresql":
            continue
        name = instance.props.get("parameterGroupName")
        dependencies = {d.urn for d in instance.dependencies}
        # Matched by physical name (outputs, under the CLI) or by the dependency the
        # name's Output carries (inputs, offline, where the auto-name is unknown).
        used = [g for g in groups if g.urn in dependencies or (name and g.props.get("name") == name)]
        label = f"RDS instance {instance.name}"
        if not used:
            shown = f"{name!r}" if name else "the engine default"
            yield f"{label} uses parameter group {shown}, not one of this stack that forces SSL", instance.urn
        elif not any(_force_ssl(g) for g in used):
            yield f"{label}: its parameter group does not set rds.force_ssl = 1", instance.urn
