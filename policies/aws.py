"""AWS resource policies: data stores, Kafka, EKS, IAM, KMS and Secrets Manager."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from ._util import Registry, as_list, get, is_set, json_document, truthy

RDS_INSTANCE = "aws:rds/instance:Instance"
ELASTICACHE_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
MSK_CLUSTER = "aws:msk/cluster:Cluster"
MSK_SERVERLESS = "aws:msk/serverlessCluster:ServerlessCluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
KMS_KEY = "aws:kms/key:Key"
SECRET = "aws:secretsmanager/secret:Secret"
IAM_ROLE = "aws:iam/role:Role"
IAM_POLICY_DOCUMENT_TYPES = {
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/policy:Policy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
}

MIN_BACKUP_DAYS = 7
MIN_POSTGRES_MAJOR = 16
EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
WORLD = frozenset({"0.0.0.0/0", "::/0"})
DEFAULT_SECRETS_MANAGER_KEY = "alias/aws/secretsmanager"


def register(registry: Registry) -> None:
    _register_rds(registry)
    _register_elasticache(registry)
    _register_msk(registry)
    _register_eks(registry)
    _register_iam_kms_secrets(registry)


def _register_rds(registry: Registry) -> None:
    """RDS policies."""
    registry.resource(
        "rds-not-public", [RDS_INSTANCE],
        "RDS instances are not publicly accessible.",
        "CKV_AWS_17; AWS FSBP RDS.2",
        _rds_not_public,
    )
    registry.resource(
        "rds-storage-encrypted", [RDS_INSTANCE],
        "RDS storage is encrypted at rest.",
        "CKV_AWS_16; AWS FSBP RDS.3",
        lambda a: [] if truthy(a.props.get("storageEncrypted")) else ["storageEncrypted is not true"],
    )
    registry.resource(
        "rds-backup-retention", [RDS_INSTANCE],
        f"RDS keeps automated backups for at least {MIN_BACKUP_DAYS} days.",
        "CKV_AWS_133; AWS FSBP RDS.11",
        _rds_backups,
    )
    registry.resource(
        "rds-deletion-protection", [RDS_INSTANCE],
        "A protected RDS instance has deletion protection on and takes a final snapshot.",
        "CKV_AWS_293; AWS FSBP RDS.8",
        _rds_deletion_protection,
    )
    registry.resource(
        "rds-postgres-version", [RDS_INSTANCE],
        f"RDS PostgreSQL runs major version {MIN_POSTGRES_MAJOR} or later.",
        "Datafly Signal requirement: PostgreSQL 16+; AWS RDS PostgreSQL version policy",
        _rds_postgres_version,
    )
    registry.resource(
        "rds-managed-master-password", [RDS_INSTANCE],
        "The RDS master password is generated and rotated by Secrets Manager, never passed in.",
        "AWS RDS User Guide: password management with Amazon RDS and AWS Secrets Manager",
        _rds_managed_password,
    )


def _register_elasticache(registry: Registry) -> None:
    """ElastiCache policies."""
    registry.resource(
        "elasticache-encryption-at-rest", [ELASTICACHE_GROUP],
        "ElastiCache replication groups encrypt data at rest.",
        "CKV_AWS_29; AWS FSBP ElastiCache.4",
        lambda a: [] if truthy(a.props.get("atRestEncryptionEnabled")) else ["atRestEncryptionEnabled is not true"],
    )
    registry.resource(
        "elasticache-encryption-in-transit", [ELASTICACHE_GROUP],
        "ElastiCache replication groups require TLS (in-transit encryption, mode required).",
        "CKV_AWS_30; AWS FSBP ElastiCache.5",
        _elasticache_transit,
    )
    registry.resource(
        "elasticache-auth", [ELASTICACHE_GROUP],
        "ElastiCache clients authenticate: an AUTH token or RBAC user groups.",
        "CKV_AWS_31; AWS FSBP ElastiCache.6",
        _elasticache_auth,
    )


def _register_msk(registry: Registry) -> None:
    """MSK policies."""
    registry.resource(
        "msk-tls-only", [MSK_CLUSTER],
        "MSK brokers accept TLS only, between clients and brokers and within the cluster.",
        "CKV_AWS_81; AWS FSBP MSK.1",
        _msk_tls,
    )
    registry.resource(
        "msk-encryption-at-rest-cmk", [MSK_CLUSTER],
        "MSK encrypts data at rest with a customer-managed KMS key.",
        "CKV_AWS_81; AWS MSK Developer Guide: encryption at rest",
        lambda a: [] if is_set(get(a.props, "encryptionInfo", "encryptionAtRestKmsKeyArn"))
        else ["encryptionInfo.encryptionAtRestKmsKeyArn is not set (the AWS-managed key would be used)"],
    )
    registry.resource(
        "msk-iam-auth", [MSK_CLUSTER, MSK_SERVERLESS],
        "MSK clients authenticate with IAM; unauthenticated access is off.",
        "AWS MSK Developer Guide: IAM access control",
        _msk_iam,
    )
    registry.resource(
        "msk-broker-logs", [MSK_CLUSTER],
        "MSK broker logs are delivered (CloudWatch Logs, Firehose or S3).",
        "CKV_AWS_80",
        _msk_logs,
    )


def _register_eks(registry: Registry) -> None:
    """EKS policies."""
    registry.resource(
        "eks-secrets-encryption", [EKS_CLUSTER],
        "EKS envelope-encrypts Kubernetes Secrets with a KMS key.",
        "CIS EKS 5.3.1; CKV_AWS_58; AWS EKS Best Practices: encrypt secrets",
        _eks_secrets,
    )
    registry.resource(
        "eks-control-plane-logs", [EKS_CLUSTER],
        "EKS ships every control-plane log type, audit included.",
        "CIS EKS 2.1.1; CKV_AWS_37",
        _eks_logs,
    )
    registry.resource(
        "eks-endpoint-not-public", [EKS_CLUSTER],
        "The EKS API endpoint is private, or public only to listed CIDRs (never 0.0.0.0/0).",
        "CIS EKS 5.4.1, 5.4.2; CKV_AWS_38, CKV_AWS_39",
        _eks_endpoint,
    )
    registry.resource(
        "eks-nodes-imdsv2", [LAUNCH_TEMPLATE, EKS_NODE_GROUP],
        "EKS nodes require IMDSv2 with a hop limit of 1, through the node group's launch template.",
        "AWS EKS Best Practices: restrict access to the instance profile; CKV_AWS_79, CKV_AWS_341",
        _imdsv2,
    )


def _register_iam_kms_secrets(registry: Registry) -> None:
    """IAM, KMS, Secrets Manager policies."""
    registry.resource(
        "iam-no-wildcard-actions", [*IAM_POLICY_DOCUMENT_TYPES, IAM_ROLE],
        "IAM policies never allow `*` or `service:*` actions (nor Allow with NotAction).",
        "CKV_AWS_1, CKV_AWS_63; CIS AWS Foundations 1.16",
        _iam_wildcards,
    )
    registry.resource(
        "iam-irsa-trust-scoped", [IAM_ROLE],
        "IRSA trust policies pin the service account with StringEquals on `:sub` and `:aud` (sts.amazonaws.com).",
        "AWS EKS Best Practices: scope the IRSA trust policy to the service account; CIS EKS 5.2.1",
        _irsa_trust,
    )
    registry.resource(
        "kms-key-rotation", [KMS_KEY],
        "Symmetric customer-managed KMS keys rotate yearly.",
        "CKV_AWS_7; CIS AWS Foundations: rotation of customer-created symmetric keys",
        _kms_rotation,
    )
    registry.resource(
        "secretsmanager-cmk", [SECRET],
        "Secrets Manager secrets are encrypted with a customer-managed KMS key.",
        "CKV_AWS_149",
        lambda a: [] if is_set(a.props.get("kmsKeyId")) and a.props.get("kmsKeyId") != DEFAULT_SECRETS_MANAGER_KEY
        else ["kmsKeyId is not a customer-managed KMS key"],
    )


# ---------------------------------------------------------------------- RDS checks


def _rds_not_public(args: ResourceValidationArgs) -> Iterator[str]:
    if truthy(args.props.get("publiclyAccessible")):
        yield "publiclyAccessible is true: the database gets a public endpoint"


def _rds_backups(args: ResourceValidationArgs) -> Iterator[str]:
    days = args.props.get("backupRetentionPeriod")
    if not isinstance(days, (int, float)) or days < MIN_BACKUP_DAYS:
        yield f"backupRetentionPeriod is {days!r}; at least {MIN_BACKUP_DAYS} days are required"


def _rds_deletion_protection(args: ResourceValidationArgs) -> Iterator[str]:
    if not args.opts.protect:
        return  # an environment being torn down (protect: false) may be deleted
    if not truthy(args.props.get("deletionProtection")):
        yield "the resource is protected but deletionProtection is not true"
    if truthy(args.props.get("skipFinalSnapshot")):
        yield "the resource is protected but skipFinalSnapshot is true"


def _is_postgres(props: Mapping[str, Any]) -> bool:
    return str(props.get("engine") or "").startswith("postgres") or str(props.get("engine") or "") == "aurora-postgresql"


def _rds_postgres_version(args: ResourceValidationArgs) -> Iterator[str]:
    if not _is_postgres(args.props):
        return
    version = str(args.props.get("engineVersion") or "")
    match = re.match(r"(\d+)", version)
    if match is None:
        yield f"engineVersion {version!r} does not name a PostgreSQL major version"
    elif int(match.group(1)) < MIN_POSTGRES_MAJOR:
        yield f"engineVersion {version!r} is below PostgreSQL {MIN_POSTGRES_MAJOR}"


def _rds_managed_password(args: ResourceValidationArgs) -> Iterator[str]:
    if not truthy(args.props.get("manageMasterUserPassword")):
        yield "manageMasterUserPassword is not true"
    if is_set(args.props.get("password")):
        yield "a master password is passed in (it would live in the stack state)"


# ---------------------------------------------------------------------- ElastiCache checks


def _elasticache_transit(args: ResourceValidationArgs) -> Iterator[str]:
    if not truthy(args.props.get("transitEncryptionEnabled")):
        yield "transitEncryptionEnabled is not true"
    elif args.props.get("transitEncryptionMode") == "preferred":
        yield 'transitEncryptionMode is "preferred": plaintext clients are still accepted'


def _elasticache_auth(args: ResourceValidationArgs) -> Iterator[str]:
    if not is_set(args.props.get("authToken")) and not is_set(args.props.get("userGroupIds")):
        yield "neither authToken nor userGroupIds is set: any client in the network can connect"


# ---------------------------------------------------------------------- MSK checks


def _msk_tls(args: ResourceValidationArgs) -> Iterator[str]:
    transit = get(args.props, "encryptionInfo", "encryptionInTransit")
    # AWS defaults both to TLS when encryptionInTransit is absent.
    client_broker = get(transit, "clientBroker")
    if client_broker not in (None, "TLS"):
        yield f"encryptionInfo.encryptionInTransit.clientBroker is {client_broker!r}, not \"TLS\""
    if get(transit, "inCluster") is False:
        yield "encryptionInfo.encryptionInTransit.inCluster is false"


def _msk_iam(args: ResourceValidationArgs) -> Iterator[str]:
    auth = args.props.get("clientAuthentication")
    if not truthy(get(auth, "sasl", "iam")):
        yield "clientAuthentication.sasl.iam is not true"
    if truthy(get(auth, "unauthenticated")):
        yield "clientAuthentication.unauthenticated is true"


def _msk_logs(args: ResourceValidationArgs) -> Iterator[str]:
    logs = get(args.props, "loggingInfo", "brokerLogs")
    if not any(truthy(get(logs, sink, "enabled")) for sink in ("cloudwatchLogs", "firehose", "s3")):
        yield "loggingInfo.brokerLogs delivers to no destination"


# ---------------------------------------------------------------------- EKS checks


def _eks_secrets(args: ResourceValidationArgs) -> Iterator[str]:
    config = args.props.get("encryptionConfig")
    if "secrets" not in as_list(get(config, "resources")) or not is_set(get(config, "provider", "keyArn")):
        yield "encryptionConfig does not encrypt secrets with a KMS key"


def _eks_logs(args: ResourceValidationArgs) -> Iterator[str]:
    enabled = set(as_list(args.props.get("enabledClusterLogTypes")))
    missing = [t for t in EKS_LOG_TYPES if t not in enabled]
    if missing:
        yield f"enabledClusterLogTypes lacks {', '.join(missing)}"


def _eks_endpoint(args: ResourceValidationArgs) -> Iterator[str]:
    vpc = args.props.get("vpcConfig")
    # The EKS API defaults to a public endpoint open to 0.0.0.0/0.
    public = get(vpc, "endpointPublicAccess")
    if public is False or public == "false":
        return
    cidrs = as_list(get(vpc, "publicAccessCidrs"))
    if not cidrs:
        yield "the API endpoint is public to 0.0.0.0/0 (endpointPublicAccess without publicAccessCidrs)"
    elif WORLD & set(cidrs):
        yield f"the API endpoint is public to {sorted(WORLD & set(cidrs))[0]}"
    if not truthy(get(vpc, "endpointPrivateAccess")):
        yield "endpointPrivateAccess is not true: nodes reach the API over the internet"


def _imdsv2(args: ResourceValidationArgs) -> Iterator[str]:
    if args.resource_type == EKS_NODE_GROUP:
        if not is_set(get(args.props, "launchTemplate", "id")) and not is_set(get(args.props, "launchTemplate", "name")):
            yield "the node group has no launch template, so its nodes keep the default IMDS settings (IMDSv1 allowed)"
        return
    metadata = args.props.get("metadataOptions")
    if get(metadata, "httpTokens") != "required":
        yield "metadataOptions.httpTokens is not \"required\" (IMDSv1 allowed)"
    hops = get(metadata, "httpPutResponseHopLimit")
    if not isinstance(hops, (int, float)) or hops > 1:
        yield f"metadataOptions.httpPutResponseHopLimit is {hops!r}; 1 keeps pods off the node's credentials"


# ---------------------------------------------------------------------- IAM, KMS checks


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def _documents(args: ResourceValidationArgs) -> Iterator[tuple[str, Any]]:
    if args.resource_type == IAM_ROLE:
        for index, inline in enumerate(as_list(args.props.get("inlinePolicies"))):
            yield f"inlinePolicies[{index}].policy", get(inline, "policy")
    else:
        key = IAM_POLICY_DOCUMENT_TYPES[args.resource_type]
        yield key, args.props.get(key)


def _wildcard(action: Any) -> bool:
    return isinstance(action, str) and (action == "*" or action.endswith(":*"))


def _iam_wildcards(args: ResourceValidationArgs) -> Iterator[str]:
    for where, raw in _documents(args):
        if raw is None:
            continue
        document = json_document(raw)
        if document is None:
            yield f"{where} is not a JSON policy document"
            continue
        for index, statement in enumerate(_statements(document)):
            if statement.get("Effect") != "Allow":
                continue
            wild = [a for a in as_list(statement.get("Action")) if _wildcard(a)]
            if wild:
                yield f"{where} Statement[{index}] allows {', '.join(map(str, wild))}"
            if "NotAction" in statement:
                yield f"{where} Statement[{index}] allows everything but NotAction"


def _irsa_trust(args: ResourceValidationArgs) -> Iterator[str]:
    document = json_document(args.props.get("assumeRolePolicy"))
    if document is None:
        yield "assumeRolePolicy is not a JSON policy document"
        return
    for index, statement in enumerate(_statements(document)):
        if "sts:AssumeRoleWithWebIdentity" not in as_list(statement.get("Action")):
            continue
        if statement.get("Effect") != "Allow":
            continue
        federated = as_list(get(statement, "Principal", "Federated"))
        if not any(isinstance(p, str) and ":oidc-provider/" in p for p in federated):
            continue  # another web identity (Cognito, GitHub) is not IRSA
        equals = get(statement, "Condition", "StringEquals")
        keys = dict(equals) if isinstance(equals, Mapping) else {}
        subjects = [v for k, v in keys.items() if str(k).endswith(":sub")]
        audiences = [v for k, v in keys.items() if str(k).endswith(":aud")]
        where = f"Statement[{index}]"
        if not subjects:
            yield f"{where} trusts the OIDC provider without StringEquals on :sub (any service account could assume it)"
        for subject in subjects:
            for value in as_list(subject):
                if not isinstance(value, str) or not value.startswith("system:serviceaccount:") or "*" in value:
                    yield f"{where} :sub {value!r} is not one service account"
        if audiences != ["sts.amazonaws.com"] and audiences != [["sts.amazonaws.com"]]:
            yield f"{where} does not pin :aud to sts.amazonaws.com with StringEquals"


def _kms_rotation(args: ResourceValidationArgs) -> Iterator[str]:
    spec = args.props.get("customerMasterKeySpec") or args.props.get("keySpec") or "SYMMETRIC_DEFAULT"
    if spec == "SYMMETRIC_DEFAULT" and not truthy(args.props.get("enableKeyRotation")):
        yield "enableKeyRotation is not true"
