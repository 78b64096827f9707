"""A customer's key and application secrets: one customer KMS key that encrypts all of
the customer's data at rest, and the Secrets Manager secret the workloads read
(JWT_SECRET, ENCRYPTION_KEY, REDIS_AUTH_TOKEN and vendor credentials).

Generated values are `pulumi_random` resources: created once, kept in (encrypted)
state, and stable across updates; nothing re-rolls them except replacing the resource.
The random resources need a `random` provider, inherited like the AWS one: give the
component `opts.providers` with both (default providers are disabled).

With `config.existing`, the customer manages its own application secret (in Secrets
Manager, or as a Kubernetes Secret): nothing for it is generated and no app secret is
created. The Redis AUTH token is then still
generated here and kept in its own secret `datafly/<environment>/<customer>/redis`, because the
program creates the Redis replication group and must know its token, and it cannot
(and should not) read values out of a secret it does not own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from builders.data_stores import customer_resource_name
from builders.external_secrets import vendor_key
from stackconfig.tenant import SecretsConfig

# Secrets Manager's longest recovery window: a deleted secret can be restored for 30
# days (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html).
RECOVERY_WINDOW_DAYS = 30
KEY_DELETION_WINDOW_DAYS = 30
# 64 characters from [A-Za-z0-9] carry ~381 bits, above the 256 HS256 wants.
JWT_SECRET_LENGTH = 64
ENCRYPTION_KEY_BYTES = 32
# ElastiCache AUTH tokens: 16-128 printable characters, special characters limited to
# !&#$^<>- (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth.html);
# alphanumerics only sidesteps both the rule and URL-escaping in REDIS_URL.
REDIS_AUTH_TOKEN_LENGTH = 64


@dataclass(frozen=True)
class CustomerSecretsArgs:
    customer: str
    # Only `existing` is read from here; carried-over values come in as the secret
    # Outputs below, so plaintext never travels through the args.
    config: SecretsConfig
    protect: bool
    jwt_secret: Optional[pulumi.Output[str]] = None
    encryption_key: Optional[pulumi.Output[str]] = None
    vendor_credentials: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    _: KW_ONLY
    # KMS aliases and secret names are unique per account and region: both carry it.
    environment: str

    def __post_init__(self) -> None:
        # A value in config that did not make it into the args would silently be
        # replaced by a freshly generated one: every issued token or encrypted field
        # would stop validating. Refuse instead.
        missing = [
            key
            for key, configured, given in (
                ("jwtSecret", self.config.jwt_secret, self.jwt_secret),
                ("encryptionKey", self.config.encryption_key, self.encryption_key),
            )
            if configured is not None and given is None
        ]
        missing += [
            f"vendorCredentials.{name}" for name in self.config.vendor_credentials if name not in self.vendor_credentials
        ]
        if missing:
            raise ValueError(
                f"secrets.{', '.join(missing)} set in config but not passed to CustomerSecretsArgs; "
                "use CustomerSecretsArgs.from_config"
            )

    @classmethod
    def from_config(cls, customer: str, config: SecretsConfig, protect: bool, *,
                    environment: str) -> "CustomerSecretsArgs":
        """Wrap the carried-over values from config as secret Outputs."""
        return cls(
            customer=customer,
            config=config,
            protect=protect,
            environment=environment,
            jwt_secret=pulumi.Output.secret(config.jwt_secret) if config.jwt_secret is not None else None,
            encryption_key=(
                pulumi.Output.secret(config.encryption_key) if config.encryption_key is not None else None
            ),
            vendor_credentials={
                name: pulumi.Output.secret(value) for name, value in sorted(config.vendor_credentials.items())
            },
        )


class CustomerSecrets(pulumi.ComponentResource):
    kms_key_arn: pulumi.Output[str]
    # The app secret's ARN; None when an existing app secret is a Kubernetes Secret.
    secret_arn: Optional[pulumi.Output[str]]
    # The key the application secret is encrypted with; None when an existing secret
    # uses the AWS managed key (which needs no IAM grant).
    secret_kms_key_arn: Optional[pulumi.Output[str]]
    redis_auth_token: pulumi.Output[str]
    # Where REDIS_AUTH_TOKEN lives: the app secret, or datafly/<environment>/<customer>/redis.
    redis_secret_arn: pulumi.Output[str]
    # What the workloads' secrets-reader policy must name.
    reader_secret_arns: pulumi.Output[list[str]]
    reader_kms_key_arns: pulumi.Output[list[str]]

    def __init__(self, name: str, args: CustomerSecretsArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__("datafly:data:CustomerSecrets", name, None, opts)
        customer = args.customer
        child = pulumi.ResourceOptions(parent=self)
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect)

        # One key per customer, so revoking or auditing a customer's data is one key
        # policy; the default key policy delegates to IAM in this account.
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Datafly customer {customer}: data at rest and secrets",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            tags={"datafly:customer": customer},
            opts=stateful,
        )
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{customer_resource_name(args.environment, customer)}", target_key_id=key.key_id, opts=child)

        redis_token = random.RandomPassword(
            f"{name}-redis-auth-token",
            length=REDIS_AUTH_TOKEN_LENGTH,
            special=False,
            opts=child,
        )
        # The SDK marks `result` secret through the engine (additional_secret_outputs);
        # wrapping again keeps it secret wherever this Output travels, engine or not.
        self.redis_auth_token = pulumi.Output.secret(redis_token.result)

        existing = args.config.existing
        if existing is None:
            jwt_secret = args.jwt_secret
            if jwt_secret is None:
                jwt_secret = random.RandomPassword(
                    f"{name}-jwt-secret", length=JWT_SECRET_LENGTH, special=False, opts=child
                ).result
            encryption_key = args.encryption_key
            if encryption_key is None:
                encryption_key = random.RandomBytes(
                    f"{name}-encryption-key", length=ENCRYPTION_KEY_BYTES, opts=child
                ).hex
            values: dict[str, pulumi.Output[str]] = {
                "JWT_SECRET": jwt_secret,
                "ENCRYPTION_KEY": encryption_key,
                "REDIS_AUTH_TOKEN": self.redis_auth_token,
            }
            for vendor, credential in sorted(args.vendor_credentials.items()):
                values[vendor_key(vendor)] = credential
            app_secret = self._secret(name, "app", f"datafly/{args.environment}/{customer}/app", key, values, stateful)
            self.secret_arn = app_secret
            self.secret_kms_key_arn = key.arn
            self.redis_secret_arn = app_secret
            self.reader_secret_arns = pulumi.Output.all(app_secret).apply(list)
            self.reader_kms_key_arns = pulumi.Output.all(key.arn).apply(list)
        else:
            redis_secret = self._secret(
                name, "redis", f"datafly/{args.environment}/{customer}/redis", key, {"REDIS_AUTH_TOKEN": self.redis_auth_token}, stateful
            )
            # An existing app secret is either in Secrets Manager (`secretArn`) or a
            # Kubernetes Secret the services read directly (`kubernetesSecret`): then
            # there is no ARN for the workloads' IAM policy to name.
            existing_arns = [existing.secret_arn] if existing.secret_arn is not None else []
            existing_keys = [existing.kms_key_arn] if existing.kms_key_arn is not None else []
            self.secret_arn = pulumi.Output.from_input(existing_arns[0]) if existing_arns else None
            self.secret_kms_key_arn = pulumi.Output.from_input(existing_keys[0]) if existing_keys else None
            self.redis_secret_arn = redis_secret
            self.reader_secret_arns = pulumi.Output.all(*existing_arns, redis_secret).apply(list)
            self.reader_kms_key_arns = pulumi.Output.all(key.arn, *existing_keys).apply(
                lambda arns: sorted(set(arns))
            )
        self.kms_key_arn = key.arn
        self.register_outputs(
            {
                "kmsKeyArn": self.kms_key_arn,
                "secretArn": self.secret_arn,
                "secretKmsKeyArn": self.secret_kms_key_arn,
                "redisAuthToken": self.redis_auth_token,
                "redisSecretArn": self.redis_secret_arn,
                "readerSecretArns": self.reader_secret_arns,
                "readerKmsKeyArns": self.reader_kms_key_arns,
            }
        )

    def _secret(
        self,
        name: str,
        role: str,
        secret_name: str,
        key: aws.kms.Key,
        values: Mapping[str, pulumi.Output[str]],
        stateful: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        secret = aws.secretsmanager.Secret(
            f"{name}-{role}",
            name=secret_name,
            description=f"Datafly application secrets ({role})",
            kms_key_id=key.arn,
            recovery_window_in_days=RECOVERY_WINDOW_DAYS,
            opts=stateful,
        )
        document: pulumi.Output[str] = pulumi.Output.secret(pulumi.Output.json_dumps(dict(values)))
        aws.secretsmanager.SecretVersion(
            f"{name}-{role}-version",
            secret_id=secret.id,
            secret_string=document,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return secret.arn
