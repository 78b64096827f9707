"""Constrained scalar types shared by the stack configuration models.

Each type carries its rule in the type itself so that every error names what is
allowed; the constants here are the single source for those allowed values.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from .aws_data import rds_creatable_versions

# Kubernetes versions this program is validated against. The offline validators ship
# schemas for exactly these, and EKS offers them (standard or extended support) as of
# late 2026: https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html
KUBERNETES_VERSIONS = ("1.32", "1.33", "1.34", "1.35", "1.36")
DEFAULT_KUBERNETES_VERSION = "1.35"

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
    2192, 2557, 2922, 3288, 3653,
)

# The platform documentation requires PostgreSQL 16 or newer; 18 is the newest
# major RDS offers as of late 2026.
POSTGRES_MAJORS = (16, 17, 18)

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_QUANTITY_CPU = re.compile(r"^([0-9]+m|[0-9]+(\.[0-9]{1,3})?)$")
_QUANTITY_MEMORY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$")
_ACM_ARN = re.compile(r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}$")
_SECRET_ARN = re.compile(
    r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[\w/+=.@-]+$"
)
_KMS_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]{36}$")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_SUBNET_ID = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_STACK_REF = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _matching(pattern: re.Pattern[str], allowed: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"must be {allowed}")
        return value

    return AfterValidator(check)


def _dns_label(max_len: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > max_len or not _DNS_LABEL.fullmatch(value):
            raise ValueError(
                f"must be a DNS label: lowercase letters, digits and '-', starting with a "
                f"letter, at most {max_len} characters"
            )
        return value

    return AfterValidator(check)


def _one_of(values: tuple[Any, ...]) -> AfterValidator:
    def check(value: Any) -> Any:
        if value not in values:
            raise ValueError("must be one of " + ", ".join(str(v) for v in values))
        return value

    return AfterValidator(check)


def _cidr(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"must be an IPv4 CIDR block such as 10.0.0.0/16 ({exc})") from None
    return str(network)


def _postgres_version(value: str) -> str:
    match = re.fullmatch(r"([0-9]+)(\.[0-9]+)?", value)
    if not match:
        raise ValueError("must be a PostgreSQL version such as 16.9 or 17.6")
    if int(match.group(1)) not in POSTGRES_MAJORS:
        majors = ", ".join(str(m) for m in POSTGRES_MAJORS)
        raise ValueError(f"major version must be one of {majors} (PostgreSQL 16+ is required)")
    # RDS refuses to create a deprecated minor version (16.1-16.8 and 17.1-17.4 at the
    # pinned data), and cfn-lint's data lists the bare majors 16 and 17 as deprecated too.
    creatable = [v for v in rds_creatable_versions("postgres") if v.split(".", 1)[0] == match.group(1)]
    if value not in creatable:
        ordered = sorted(creatable, key=lambda v: [int(p) for p in v.split(".")])
        raise ValueError(
            f"RDS no longer creates PostgreSQL {value}; use one of {', '.join(ordered)} "
            "(RDS engine versions, as published in cfn-lint's data)"
        )
    return value


def _no_latest(value: str) -> str:
    # Registries treat tags case-sensitively, so `LATEST` is as mutable a name as `latest`.
    if value.lower() == "latest":
        raise ValueError("must be a release tag such as v1.2.0; 'latest' is not reproducible")
    return value


def _aws_identifier_part(value: str) -> str:
    # RDS and ElastiCache identifiers embed it and refuse two consecutive hyphens
    # (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.Constraints).
    if "--" in value:
        raise ValueError("must not contain two consecutive hyphens (AWS RDS and ElastiCache identifiers embed it)")
    return value


def _scalar_to_str(value: Any) -> Any:
    # YAML turns `tag: 1.2` into a float; name the fix instead of a type error.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(f"must be a string; quote it in the stack file ('{value}')")
    return value


DnsLabel = Annotated[str, _dns_label(63)]
CustomerName = Annotated[
    str, Field(min_length=2), _dns_label(20), AfterValidator(_aws_identifier_part),
]
# Letters and digits only: `datafly-<environment>` (a platform's names) and
# `datafly-<environment>-<customer>` (a customer's) then never spell the same name,
# as `prod-eu` and customer `eu` of `prod` would.
EnvironmentName = Annotated[
    str, _matching(re.compile(r"^[a-z][a-z0-9]{0,19}$"),
                   "lowercase letters and digits, starting with a letter, at most 20 characters"),
]
Domain = Annotated[str, _matching(_DOMAIN, "a lowercase DNS domain such as acme.com")]
CpuQuantity = Annotated[
    str,
    BeforeValidator(_scalar_to_str),
    _matching(_QUANTITY_CPU, "a CPU quantity such as 250m or 1"),
]
MemoryQuantity = Annotated[
    str,
    BeforeValidator(_scalar_to_str),
    _matching(_QUANTITY_MEMORY, "a memory quantity such as 256Mi or 1Gi"),
]
ImageTag = Annotated[
    str,
    BeforeValidator(_scalar_to_str),
    _matching(_IMAGE_TAG, "an OCI image tag (letters, digits, '_', '.', '-')"),
    AfterValidator(_no_latest),
]
ImageDigest = Annotated[str, _matching(_DIGEST, "an image digest such as sha256:<64 hex>")]
EnvName = Annotated[str, _matching(_ENV_NAME, "an environment variable name")]
Region = Annotated[str, _matching(_REGION, "an AWS region such as us-east-1")]
RoleArn = Annotated[str, _matching(_ROLE_ARN, "an IAM role ARN")]
AcmCertificateArn = Annotated[str, _matching(_ACM_ARN, "an ACM certificate ARN")]
SecretArn = Annotated[str, _matching(_SECRET_ARN, "a Secrets Manager secret ARN")]
KmsKeyArn = Annotated[str, _matching(_KMS_ARN, "a KMS key ARN")]
VpcId = Annotated[str, _matching(_VPC_ID, "a VPC id such as vpc-0123456789abcdef0")]
SubnetId = Annotated[str, _matching(_SUBNET_ID, "a subnet id such as subnet-0123456789abcdef0")]
StackName = Annotated[
    str, _matching(_STACK_REF, "a fully qualified stack name <organization>/<project>/<stack>")
]
Cidr = Annotated[str, AfterValidator(_cidr)]
KubernetesVersion = Annotated[str, BeforeValidator(_scalar_to_str), _one_of(KUBERNETES_VERSIONS)]
LogRetentionDays = Annotated[int, _one_of(LOG_RETENTION_DAYS)]
PostgresVersion = Annotated[str, BeforeValidator(_scalar_to_str), AfterValidator(_postgres_version)]

# A value that must arrive as a Pulumi secret (`pulumi config set --secret`). The
# marker is read by the loader, which rejects plaintext and hides the value in errors.
SECRET_MARKER = {"secret": True}
Secret = Annotated[str, Field(min_length=1, json_schema_extra=SECRET_MARKER)]
_HEX_32_BYTES = re.compile(r"^[0-9a-fA-F]{64}$")
# Carried-over application secrets must be as strong as the generated ones: identity-hub
# reads ENCRYPTION_KEY as 32 bytes of hex, and a JWT signing secret under 256 bits is
# guessable offline from any token.
EncryptionKeySecret = Annotated[
    str, Field(json_schema_extra=SECRET_MARKER),
    _matching(_HEX_32_BYTES, "64 hex characters (a 32-byte key, e.g. `openssl rand -hex 32`)"),
]
JwtSecret = Annotated[
    str, Field(min_length=32, json_schema_extra=SECRET_MARKER),
]
