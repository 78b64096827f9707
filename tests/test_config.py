"""The stack configuration: every shipped stack validates, bad values name their key
path, value and what is allowed, and nothing but the clean error ever escapes."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from offline import plan
from offline.run.stackfile import ROOT, read_stack, stack_names
from stackconfig import ConfigError, load_config

ACME = yaml.safe_load((ROOT / "stacks" / "Pulumi.acme.yaml").read_text())["config"]


def _changed(config: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """A copy of config with `a__b__c=value` path changes applied (None deletes)."""
    config = copy.deepcopy(config)
    for path, value in changes.items():
        node = config
        parts = path.split("__")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return config


def acme(**changes: Any) -> dict[str, Any]:
    """acme's tenant config with changes applied."""
    return _changed(ACME["datafly:tenant"], changes)


def load_tenant(tenant: Any, secret: bool = False) -> Any:
    raw = {"aws:region": "us-east-1", "datafly:tenant": json.dumps(tenant)}
    return load_config(raw, ["datafly:tenant"] if secret else [])


@pytest.mark.parametrize("stack", stack_names())
def test_every_stack_file_validates(stack: str) -> None:
    stack_file = read_stack(stack)
    assert stack_file.plaintext_secrets == ()
    config = load_config(stack_file.config, stack_file.secret_keys)
    assert config.role in ("platform", "tenant")


def test_acme_reproduces_its_documented_values() -> None:
    tenant = load_tenant(acme()).tenant
    services = tenant.services
    assert [s.replicas for s in (services.ingestion_gateway, services.event_processor, services.delivery_workers,
                                 services.identity_hub, services.management_api, services.management_ui)] == [2, 2, 3, 1, 1, 1]
    assert services.ingestion_gateway.cors_origins == ["https://www.acme.com", "https://shop.acme.com"]
    assert services.ingestion_gateway.cookie_domain == ".acme.com"
    assert (tenant.autoscaling.delivery_workers.min_replicas, tenant.autoscaling.delivery_workers.max_replicas) == (3, 12)
    assert tenant.autoscaling.event_processor.lag_threshold == 10000
    assert tenant.image.tag == "v1.2.0" and tenant.image.registry == "ghcr.io/datafly"
    assert [tenant.host(h) for h in ("data", "app", "api")] == ["data.acme.com", "app.acme.com", "api.acme.com"]


def test_partial_service_override_keeps_documented_resources() -> None:
    tenant = load_tenant(acme(services__eventProcessor={"replicas": 3})).tenant
    processor = tenant.services.event_processor
    assert processor.replicas == 3
    assert (processor.resources.requests.memory, processor.resources.requests.cpu) == ("512Mi", "500m")
    assert (processor.resources.limits.memory, processor.resources.limits.cpu) == ("1Gi", "1000m")


CERT = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"

INVALID = [
    (acme(services__eventProcessor={"replicas": -1}),
     "datafly:tenant.services.eventProcessor.replicas: got -1; expected greater than or equal to 0"),
    (acme(services__eventProcessor={"replicaz": 2}),
     "datafly:tenant.services.eventProcessor.replicaz: got 2; unknown key; check its spelling against the configuration reference"),
    (acme(image__tag="latest"),
     "datafly:tenant.image.tag: got 'latest'; must be a release tag such as v1.2.0; 'latest' is not reproducible"),
    (acme(image__tag=1.2),
     "datafly:tenant.image.tag: got 1.2; must be a string; quote it in the stack file ('1.2')"),
    (acme(image=None),
     "datafly:tenant.image: missing; required"),
    (acme(postgres={"engineVersion": "15.4"}),
     "datafly:tenant.postgres.engineVersion: got '15.4'; major version must be one of 16, 17, 18 (PostgreSQL 16+ is required)"),
    (acme(autoscaling__deliveryWorkers={"minReplicas": 5, "maxReplicas": 4}),
     "datafly:tenant.autoscaling.deliveryWorkers.minReplicas: got 5; must not exceed maxReplicas 4"),
    (acme(services__deliveryWorkers={"replicas": 20}),
     "datafly:tenant.services.deliveryWorkers.replicas: got 20; must lie within autoscaling.deliveryWorkers minReplicas 3 and maxReplicas 12"),
    (acme(services__identityHub={"resources": {"requests": {"cpu": "2"}}}),
     "datafly:tenant.services.identityHub.resources.requests.cpu: got '2'; must not exceed limits.cpu 250m"),
    (acme(services__identityHub={"resources": {"limits": {"memory": "1GB"}}}),
     "datafly:tenant.services.identityHub.resources.limits.memory: got '1GB'; must be a memory quantity such as 256Mi or 1Gi"),
    (acme(ingress__className="traefik"),
     "datafly:tenant.ingress.className: got 'traefik'; expected 'alb' or 'nginx'"),
    (acme(ingress__className="nginx"),
     "datafly:tenant.ingress.tls.secretName: missing; required when className is nginx (TLS for all hosts)"),
    (acme(name="Acme Corp"),
     "datafly:tenant.name: got 'Acme Corp'; must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most 20 characters"),
    (acme(name="acme\n"),
     "datafly:tenant.name: got 'acme\\n'; must be a DNS label: lowercase letters, digits and '-', starting with a letter, at most 20 characters"),
    (acme(postgres={"engineVersion": "16\n"}),
     "datafly:tenant.postgres.engineVersion: got '16\\n'; must be a PostgreSQL version such as 16.9 or 17.6"),
    (acme(platform=None),
     "datafly:tenant.platform: missing; set exactly one of platform (shared cluster) or dedicatedCluster"),
    (acme(services__ingestionGateway={"corsOrigins": ["http://www.acme.com"]}),
     "datafly:tenant.services.ingestionGateway.corsOrigins.0: got 'http://www.acme.com'; must be an https origin without a trailing slash, e.g. https://www.acme.com"),
    (acme(services__managementApi={"env": {"DATABASE_URL": "postgres://x"}}),
     "datafly:tenant.services.managementApi.env.DATABASE_URL: got 'postgres://x'; is set by the program from the customer's secrets and config; remove it"),
    (acme(autoscaling__eventProcessor={"activationLagThreshold": 20000}),
     "datafly:tenant.autoscaling.eventProcessor.activationLagThreshold: got 20000; must be below lagThreshold 10000"),
    (acme(tags={"managed-by": "terraform"}),
     "datafly:tenant.tags.managed-by: got 'terraform'; is set by the program on every resource; "
     "reserved keys: managed-by, app, stack, environment, datafly:tenant"),
    # --- YAML types are taken strictly: no lax coercion of bools, floats or strings ---
    (acme(services__eventProcessor={"replicas": True}),
     "datafly:tenant.services.eventProcessor.replicas: got true; expected a valid integer"),
    (acme(services__eventProcessor={"replicas": 2.0}),
     "datafly:tenant.services.eventProcessor.replicas: got 2.0; expected a valid integer"),
    (acme(services__eventProcessor={"replicas": "-1"}),
     "datafly:tenant.services.eventProcessor.replicas: got '-1'; expected a valid integer"),
    (acme(postgres={"multiAz": "yes"}),
     "datafly:tenant.postgres.multiAz: got 'yes'; expected a valid boolean"),
    # --- hosts, cookie domain and origins must fit the customer's domain ---
    (acme(ingress__hosts={"data": "app.acme.com", "app": "app.acme.com"}),
     "datafly:tenant.ingress.hosts.app: got 'app.acme.com'; equals ingress.hosts.data: each host routes to a "
     "different service"),
    (acme(ingress__hosts={"api": "api.evil.com"}),
     "datafly:tenant.ingress.hosts.api: got 'api.evil.com'; must be acme.com or a host under it (the customer's domain)"),
    (acme(image__tag="LATEST"),
     "datafly:tenant.image.tag: got 'LATEST'; must be a release tag such as v1.2.0; 'latest' is not reproducible"),
    (acme(services__ingestionGateway={"cookieDomain": ".evil.com"}),
     "datafly:tenant.services.ingestionGateway.cookieDomain: got '.evil.com'; must be the customer's domain .acme.com "
     "(or a domain between it and the data host data.acme.com); a browser drops a cookie for any other domain"),
    (acme(services__ingestionGateway={"cookieDomain": ".com"}),
     "datafly:tenant.services.ingestionGateway.cookieDomain: got '.com'; must be the customer's domain .acme.com "
     "(or a domain between it and the data host data.acme.com); a browser drops a cookie for any other domain"),
    (acme(services__ingestionGateway={"corsOrigins": ["https://www.acme.com/shop"]}),
     "datafly:tenant.services.ingestionGateway.corsOrigins.0: got 'https://www.acme.com/shop'; must be an https "
     "origin without a trailing slash, e.g. https://www.acme.com"),
    (acme(services__ingestionGateway={"corsOrigins": ["*"]}),
     "datafly:tenant.services.ingestionGateway.corsOrigins.0: got '*'; must be an https origin without a trailing "
     "slash, e.g. https://www.acme.com"),
    (acme(services__ingestionGateway={"corsOrigins": ["https://www.acme.com", "https://www.acme.com"]}),
     "datafly:tenant.services.ingestionGateway.corsOrigins.1: got 'https://www.acme.com'; duplicates corsOrigins.0"),
    # --- what RDS and ElastiCache create (cfn-lint's AWS data) ---
    (acme(postgres={"engineVersion": "16.6"}),
     "datafly:tenant.postgres.engineVersion: got '16.6'; RDS no longer creates PostgreSQL 16.6; use one of 16.9, "
     "16.10, 16.11, 16.12, 16.13, 16.14, 16.15 (RDS engine versions, as published in cfn-lint's data)"),
    (acme(postgres={"engineVersion": "17.4"}),
     "datafly:tenant.postgres.engineVersion: got '17.4'; RDS no longer creates PostgreSQL 17.4; use one of 17.5, "
     "17.6, 17.7, 17.8, 17.9, 17.10, 17.11 (RDS engine versions, as published in cfn-lint's data)"),
    (acme(postgres={"instanceClass": "db.t4g.mediun"}),
     "datafly:tenant.postgres.instanceClass: got 'db.t4g.mediun'; is not an RDS for PostgreSQL instance class "
     "orderable in us-east-1 (e.g. db.t4g.2xlarge, db.t4g.large, db.t4g.medium, db.t4g.micro, db.t4g.small, "
     "db.t4g.xlarge)"),
    (acme(postgres={"allocatedStorageGib": 100, "maxAllocatedStorageGib": 105}),
     "datafly:tenant.postgres.maxAllocatedStorageGib: got 105; must be at least 1.1 x allocatedStorageGib 100, "
     "i.e. 110 (RDS storage autoscaling)"),
    (acme(redis={"engine": "redis", "engineVersion": "7.2"}),
     "datafly:tenant.redis.engineVersion: got '7.2'; ElastiCache offers redis only as 4.0.10, 5.0.6, 6.0, 6.2, 7.0, 7.1"),
    (acme(redis={"engine": "valkey", "engineVersion": "7.1"}),
     "datafly:tenant.redis.engineVersion: got '7.1'; ElastiCache offers valkey only as 7.2, 8.0, 8.1, 8.2, 9.0, 9.1"),
    (acme(redis={"nodeType": "cache.t4g.smal"}),
     "datafly:tenant.redis.nodeType: got 'cache.t4g.smal'; is not an ElastiCache node type offered in us-east-1 "
     "(e.g. cache.t4g.medium, cache.t4g.micro, cache.t4g.small)"),
    # --- names AWS identifiers embed ---
    (acme(ingress__tls={"certificateArns": [CERT, CERT]}),
     f"datafly:tenant.ingress.tls.certificateArns.1: got '{CERT[:76]}...; duplicates tls.certificateArns.0"),
    (acme(name="ac--me"),
     "datafly:tenant.name: got 'ac--me'; must not contain two consecutive hyphens (AWS RDS and ElastiCache "
     "identifiers embed it)"),
    (acme(name="a" * 20, environment="production1234"),
     "datafly:tenant.name: got 'aaaaaaaaaaaaaaaaaaaa'; with environment 'production1234' names the RDS instance and "
     "ElastiCache group 'datafly-production1234-aaaaaaaaaaaaaaaaaaaa', 43 characters; ElastiCache allows at most 40: "
     "shorten the name or the environment"),
    (acme(environment=None), "datafly:tenant.environment: missing; required"),
    (acme(environment="prod-eu"),
     "datafly:tenant.environment: got 'prod-eu'; must be lowercase letters and digits, starting with a letter, "
     "at most 20 characters"),
    (acme(domain="a" * 55 + ".example.com", ingress={"className": "alb", "route53ZoneId": "Z0123456789ABCDEFGHIJ"},
          services__ingestionGateway={"corsOrigins": [], "cookieDomain": None}),
     "datafly:tenant.ingress.hosts.data: got 'data." + "a" * 55 + ".example.com'; is the Common Name of the "
     "certificate this stack issues; ACM allows at most 64 characters (72 here): set a shorter ingress.hosts.data"),
]

PLATFORM = yaml.safe_load((ROOT / "stacks" / "Pulumi.platform.yaml").read_text())["config"]


def platform(**changes: Any) -> dict[str, Any]:
    """The platform stack's config with changes applied."""
    return _changed(PLATFORM["datafly:platform"], changes)


INVALID_PLATFORM = [
    (platform(network__cidr="10.0.0.0/24"),
     "datafly:platform.network.cidr: got '10.0.0.0/24'; VPC CIDR 10.0.0.0/24 is too small for 3 availability "
     "zones: each AZ gets a private /27 and a public /30 subnet, and AWS subnets can be no smaller than /28; "
     "use a /22 or larger VPC CIDR"),
    (platform(cluster__nodeGroup__instanceTypes=["t3.medium", "m7g.large"]),
     "datafly:platform.cluster.nodeGroup.instanceTypes: got [\"t3.medium\", \"m7g.large\"]; instance types "
     "['t3.medium', 'm7g.large'] mix arm64 and x86_64; one node group runs one AMI architecture"),
    (platform(cluster__publicAccessCidrs=["0.0.0.0/0"]),
     "datafly:platform.cluster.publicAccessCidrs.0: got '0.0.0.0/0'; must not open the API endpoint to the whole "
     "internet; list your office or VPN CIDRs (each /16 or narrower), or leave empty for a private endpoint"),
    (platform(cluster__publicAccessCidrs=["203.0.113.0/24", "128.0.0.0/1"]),
     "datafly:platform.cluster.publicAccessCidrs.1: got '128.0.0.0/1'; must not open the API endpoint to the whole "
     "internet; list your office or VPN CIDRs (each /16 or narrower), or leave empty for a private endpoint"),
    (platform(network__availability_zones=3),
     "datafly:platform.network.availability_zones: got 3; unknown key; check its spelling against the "
     "configuration reference"),
    (platform(cluster__nodeGroup__desiredSize=9),
     "datafly:platform.cluster.nodeGroup.desiredSize: got 9; must lie between minSize 2 and maxSize 5"),
    (platform(tags={"environment": "dev"}),
     "datafly:platform.tags.environment: got 'dev'; is set by the program on every resource; "
     "reserved keys: managed-by, app, stack, environment, datafly:tenant"),
    (platform(cluster__privateAccessCidrs=None),
     "datafly:platform.cluster.privateAccessCidrs: missing; required when publicAccessCidrs is empty: the API "
     "endpoint is then private-only and nothing outside the VPC can reach it; list the VPN, CI runner or peered "
     "CIDRs that deploy, or set publicAccessCidrs"),
    (platform(cluster__privateAccessCidrs=["10.200.0.0/16", "10.200.0.0/16"]),
     "datafly:platform.cluster.privateAccessCidrs.1: got '10.200.0.0/16'; duplicates privateAccessCidrs.0"),
    (platform(network={"mode": "existing", "vpcId": "vpc-0123456789abcdef0",
                       "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"]}),
     "datafly:platform.network.privateSubnetIds.1: got 'subnet-0123456789abcdef0'; duplicates privateSubnetIds.0"),
    (platform(protect="true"), "datafly:platform.protect: got 'true'; expected a valid boolean"),
    (platform(cluster__nodeGroup__instanceTypes=["t3.medium", "t3.medium"]),
     "datafly:platform.cluster.nodeGroup.instanceTypes.1: got 't3.medium'; duplicates instanceTypes.0"),
    (platform(environment="prod--eu"),
     "datafly:platform.environment: got 'prod--eu'; must be lowercase letters and digits, starting with a letter, "
     "at most 20 characters"),
]


def test_the_dedicated_tier_is_refused_a_private_endpoint_with_no_way_in() -> None:
    dedicated = yaml.safe_load((ROOT / "stacks" / "Pulumi.initech.yaml").read_text())["config"]["datafly:tenant"]
    tenant = _changed(dedicated, {"dedicatedCluster__cluster__privateAccessCidrs": None})
    with pytest.raises(ConfigError) as caught:
        load_tenant(tenant)
    assert str(caught.value).startswith(
        "datafly:tenant.dedicatedCluster.cluster.privateAccessCidrs: missing; required when publicAccessCidrs is empty")



def _assert_nothing_planned(out: Path) -> None:
    """A refused config writes no plan artefact: only the marker saying the plan failed."""
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) if out.exists() else []
    assert written == ["bad/PLAN-FAILED.txt"]
    assert "exit 2 (bad configuration or stack file)" in (out / "bad" / "PLAN-FAILED.txt").read_text()

def _plan_tenant(tmp_path: Path, capsys: pytest.CaptureFixture[str], region: str, tenant: dict[str, Any]) -> list[str]:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    document = {"config": {"aws:region": region, "datafly:tenant": tenant}}
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump(document))
    assert plan.main(["bad", "--root", str(tmp_path), "--out", str(tmp_path / "out")]) == plan.EXIT_CONFIG
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    _assert_nothing_planned(tmp_path / "out")
    return captured.err.splitlines()


def test_a_customer_in_another_region_than_its_platform_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The fixture platform (offline/fixtures/platform-external.json) is in us-east-1.
    tenant = acme(platform={"stack": "datafly/datafly/platform-external"}, environment="external")
    assert _plan_tenant(tmp_path, capsys, "eu-west-1", tenant) == [
        "error: stack bad: invalid stack configuration:",
        "  aws:region: got 'eu-west-1'; must be the region of platform stack datafly/datafly/platform-external "
        "(us-east-1): the customer's data stores live in the platform's VPC and reach its cluster privately",
    ]


def test_a_customer_in_another_environment_than_its_platform_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tenant = acme(platform={"stack": "datafly/datafly/platform-external"}, environment="staging")
    assert _plan_tenant(tmp_path, capsys, "us-east-1", tenant) == [
        "error: stack bad: invalid stack configuration:",
        "  datafly:tenant.environment: got 'staging'; must be the environment of platform stack "
        "datafly/datafly/platform-external ('external')",
    ]


@pytest.mark.parametrize(("config", "message"), INVALID_PLATFORM,
                         ids=[m.split(":")[1].split(" ")[0] for _, m in INVALID_PLATFORM])
def test_invalid_platform_value_names_key_path_value_and_rule(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"aws:region": "us-east-1", "datafly:platform": json.dumps(config)})
    assert str(caught.value) == message


@pytest.mark.parametrize(("namespace", "config", "message"),
                         [("datafly:tenant", c, m) for c, m in INVALID]
                         + [("datafly:platform", c, m) for c, m in INVALID_PLATFORM],
                         ids=[m.split(":")[1].split(" ")[0] for _, m in INVALID + INVALID_PLATFORM])
def test_every_invalid_value_fails_the_plan_with_exit_2_before_anything_is_registered(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], namespace: str, config: dict[str, Any],
        message: str) -> None:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    document = {"config": {"aws:region": "us-east-1", namespace: config}}
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump(document))
    assert plan.main(["bad", "--root", str(tmp_path), "--out", str(tmp_path / "out")]) == plan.EXIT_CONFIG
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert captured.err.splitlines() == ["error: stack bad: invalid stack configuration:", f"  {message}"]
    _assert_nothing_planned(tmp_path / "out")


@pytest.mark.parametrize(("tenant", "message"), INVALID, ids=[m.split(":")[1].split(" ")[0] for _, m in INVALID])
def test_invalid_value_names_key_path_value_and_rule(tenant: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_tenant(tenant)
    assert str(caught.value) == message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_tenant(acme(services__eventProcessor={"replicas": -1}, image__tag="latest", colour="blue"))
    assert [p.path for p in caught.value.problems] == [
        "datafly:tenant.colour", "datafly:tenant.image.tag", "datafly:tenant.services.eventProcessor.replicas",
    ]


def test_unknown_key_in_project_namespace_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"aws:region": "us-east-1", "datafly:tenant": json.dumps(acme()), "datafly:replicas": "3"})
    assert str(caught.value) == (
        "datafly:replicas: got '3'; unknown key; check its spelling against the configuration reference"
    )


def test_other_namespaces_belong_to_providers() -> None:
    config = load_config({"aws:region": "us-east-1", "aws:profile": "prod", "kubernetes:context": "x",
                          "datafly:tenant": json.dumps(acme())})
    assert config.region == "us-east-1"


def test_region_is_required() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"datafly:tenant": json.dumps(acme())})
    assert str(caught.value) == "aws:region: missing; required; set it with `pulumi config set aws:region us-east-1`"


def test_exactly_one_role() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"aws:region": "us-east-1"})
    assert "set exactly one of datafly:platform (an environment) or datafly:tenant (a customer)" in str(caught.value)


# A value each secret key accepts (64 hex characters), so only its plaintext-ness is wrong.
STRONG_SECRET = "5e0f" * 16


@pytest.mark.parametrize("path", ["jwtSecret", "encryptionKey", "vendorCredentials"])
def test_plaintext_secret_is_rejected_and_never_echoed(path: str) -> None:
    value = {"vendorCredentials": {"ga4": STRONG_SECRET}} if path == "vendorCredentials" else {path: STRONG_SECRET}
    full = "datafly:tenant.secrets." + ("vendorCredentials.ga4" if path == "vendorCredentials" else path)
    with pytest.raises(ConfigError) as caught:
        load_tenant(acme(secrets=value))
    assert str(caught.value) == (
        f"{full}: got [secret]; plaintext is not allowed for a secret; "
        f"set it with `pulumi config set --secret --path '{full}' <value>`"
    )
    assert STRONG_SECRET not in str(caught.value)
    assert load_tenant(acme(secrets=value), secret=True).tenant is not None


@pytest.mark.parametrize(("secrets", "message"), [
    ({"encryptionKey": "not-hex-at-all"}, "datafly:tenant.secrets.encryptionKey: got [secret]; must be 64 hex "
                                          "characters (a 32-byte key, e.g. `openssl rand -hex 32`)"),
    ({"jwtSecret": "short-jwt"}, "datafly:tenant.secrets.jwtSecret: got [secret]; must have at least 32 characters"),
])
def test_carried_over_secrets_are_as_strong_as_generated_ones(secrets: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_tenant(acme(secrets=secrets), secret=True)
    assert str(caught.value) == message


def test_a_plaintext_secret_that_is_also_invalid_is_reported_as_plaintext() -> None:
    with pytest.raises(ConfigError) as caught:
        load_tenant(acme(secrets={"jwtSecret": "short-jwt"}))
    assert str(caught.value).startswith("datafly:tenant.secrets.jwtSecret: got [secret]; plaintext is not allowed")
    assert "short-jwt" not in str(caught.value)


def test_invalid_secret_value_is_never_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        load_tenant(acme(secrets={"jwtSecret": ""}), secret=True)
    assert str(caught.value).startswith("datafly:tenant.secrets.jwtSecret: got [secret];")


# --- the plan command's behaviour on bad input ----------------------------------------

def _temp_root(tmp_path: Path, tenant: Any, extra: str = "") -> Path:
    (tmp_path / "stacks").mkdir()
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    document = {"config": {"aws:region": "us-east-1", "datafly:tenant": tenant}}
    (tmp_path / "stacks" / "Pulumi.bad.yaml").write_text(yaml.safe_dump(document) + extra)
    return tmp_path


def test_plan_exits_2_with_key_path_and_no_traceback(tmp_path: Path) -> None:
    root = _temp_root(tmp_path, acme(services__eventProcessor={"replicas": -1}))
    result = subprocess.run(
        [sys.executable, "-m", "offline.plan", "bad", "--root", str(root), "--out", str(tmp_path / "out")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stderr.splitlines() == [
        "error: stack bad: invalid stack configuration:",
        "  datafly:tenant.services.eventProcessor.replicas: got -1; expected greater than or equal to 0",
    ]
    _assert_nothing_planned(tmp_path / "out")


def test_plan_rejects_plaintext_secret_leaf_even_when_another_leaf_is_secure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tenant = acme(secrets={"jwtSecret": {"secure": "v1:AAAA"}, "vendorCredentials": {"ga4": "plain"}})
    root = _temp_root(tmp_path, tenant)
    code = plan.main(["bad", "--root", str(root), "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "datafly:tenant.secrets.vendorCredentials.ga4: got [secret]; plaintext is not allowed" in err
    assert "plain" not in err.replace("plaintext", "")


def test_missing_stack_file_is_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["no-such-stack"]) == 2
    assert "no stack file stacks/Pulumi.no-such-stack.yaml" in capsys.readouterr().err


# --- fuzzing: junk never escapes as anything but ConfigError; what validates plans -------
#
# One property over 500+ configurations a run, half of them drawn within (or just past)
# the model's bounds so that many validate: every configuration either ends in the clean
# key-path error, or validates and then plans offline with no violation and no policy
# failure. The platform is the fixture stack, so each plan costs one tenant program run.
#
# Each property runs as a few shards (the `shard` parameter) whose example counts add up
# to the run's total: one hypothesis test cannot be split, and as one test the tenant
# property alone would keep a worker busy for most of a parallel run (`pytest -n auto`).
# Parametrized, each shard is a test of its own to pytest and to hypothesis (its own
# database key and its own draws), so the workers share them; each shard writes one stack file of
# its test's own project, and the shards that share a worker run one after another.

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                      st.text(max_size=12))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)
known_keys = st.sampled_from(["name", "domain", "platform", "image", "services", "autoscaling", "ingress",
                              "postgres", "redis", "kafka", "secrets", "dedicatedCluster", "migrations"])
FIXTURE_PLATFORM = {"stack": "datafly/datafly/platform-external"}
SERVICE_KEYS = ["ingestionGateway", "eventProcessor", "deliveryWorkers", "identityHub", "managementApi",
                "managementUi"]
SCALED_KEYS = ["ingestionGateway", "eventProcessor", "deliveryWorkers"]
UNSCALED_KEYS = [key for key in SERVICE_KEYS if key not in SCALED_KEYS]


@st.composite
def mutated_acme(draw: st.DrawFn) -> Any:
    """acme with whole groups replaced by junk."""
    tenant = acme(platform=FIXTURE_PLATFORM, environment="external")
    for _ in range(draw(st.integers(1, 3))):
        key = draw(known_keys)
        tenant[key] = draw(json_value)
    return tenant


@st.composite
def varied_acme(draw: st.DrawFn) -> Any:
    """acme varied across the options a customer sets, within the model's bounds; one in
    four gets exactly one value just past a bound (a negative count, min above max,
    `latest`, PostgreSQL 15, six days of backups)."""
    name = draw(st.from_regex(r"[a-z][a-z0-9]{1,11}", fullmatch=True))
    tenant = acme(platform=FIXTURE_PLATFORM, environment="external", name=name, domain=f"{name}.example.com",
                  ingress__hosts=None, services__ingestionGateway__corsOrigins=[f"https://www.{name}.example.com"],
                  services__ingestionGateway__cookieDomain=f".{name}.example.com")
    tenant["image"]["tag"] = draw(st.from_regex(r"v[0-9]{1,2}\.[0-9]{1,2}\.[0-9]{1,2}", fullmatch=True))
    if draw(st.booleans()):
        # One digest per image: a digest names one manifest.
        digests = draw(st.lists(st.from_regex(r"[a-f0-9]{64}", fullmatch=True), min_size=6, max_size=6, unique=True))
        tenant["image"]["digests"] = {key: "sha256:" + d for key, d in zip(
            ("ingestionGateway", "eventProcessor", "deliveryWorkers", "identityHub", "managementApi", "managementUi"),
            digests, strict=True)}
    for key in draw(st.lists(st.sampled_from(UNSCALED_KEYS), unique=True, max_size=3)):
        tenant["services"].setdefault(key, {})["replicas"] = draw(st.integers(0, 6))
    tenant["autoscaling"] = {"metricsProvider": draw(st.sampled_from(["keda", "prometheus", "none"]))}
    if tenant["autoscaling"]["metricsProvider"] == "prometheus":
        # KEDA's prometheus scaler reads the lag from here.
        tenant["autoscaling"]["prometheus"] = {"serverAddress": "http://prometheus.monitoring.svc:9090"}
    for key in draw(st.lists(st.sampled_from(SCALED_KEYS), unique=True, max_size=3)):
        low = draw(st.integers(1, 6))
        tenant["autoscaling"][key] = {"enabled": draw(st.booleans()), "minReplicas": low,
                                      "maxReplicas": low + draw(st.integers(0, 10)),
                                      "targetCPUUtilizationPercentage": draw(st.integers(10, 95))}
        # Fixed replicas must lie within the autoscaling range (the model holds that).
        tenant["services"].setdefault(key, {})["replicas"] = low
    if draw(st.booleans()):
        tenant["ingress"] = {"className": "nginx", "tls": {"secretName": f"{name}-tls"}}
    tenant["postgres"] = {"engineVersion": draw(st.sampled_from(["16.13", "17.6", "18"])),
                          "multiAz": draw(st.booleans()),
                          "backupRetentionDays": draw(st.integers(7, 35))}
    engine = draw(st.sampled_from(["redis", "valkey"]))
    tenant["redis"] = {"engine": engine,
                       "engineVersion": draw(st.sampled_from(["7.0", "7.1"] if engine == "redis" else ["7.2", "8.0"])),
                       "numNodes": draw(st.integers(1, 3))}
    tenant["protect"] = draw(st.booleans())
    if draw(st.integers(0, 3)) == 3:  # hypothesis favours 0: keep that the valid case
        broken: dict[str, Any] = draw(st.sampled_from([
            {"image": {**tenant["image"], "tag": "latest"}},
            {"services": {**tenant["services"], "identityHub": {"replicas": -1}}},
            {"autoscaling": {"eventProcessor": {"enabled": True, "minReplicas": 5, "maxReplicas": 4}}},
            {"postgres": {"engineVersion": "15"}},
            {"postgres": {"engineVersion": "16.6"}},
            {"services": {**tenant["services"], "identityHub": {"replicas": True}}},
            {"postgres": {"backupRetentionDays": 6}},
            {"redis": {"numNodes": 0}},
        ]))
        tenant.update(broken)
    return tenant


def _fuzz_project(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    root = tmp_path_factory.mktemp(name)
    (root / "stacks").mkdir()
    (root / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    return root


# One project per property, so that neither plans with the other's last stack file
# beside its own, whichever order the tests run in.
@pytest.fixture(scope="module")
def fuzz_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _fuzz_project(tmp_path_factory, "fuzz")


@pytest.fixture(scope="module")
def fuzz_platform_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _fuzz_project(tmp_path_factory, "fuzzplatform")


TENANT_SHARDS, TENANT_EXAMPLES = 4, 125  # 500 tenant configurations a run
PLATFORM_SHARDS, PLATFORM_EXAMPLES = 2, 75  # 150 platform configurations a run


@pytest.mark.parametrize("shard", range(TENANT_SHARDS))
@settings(max_examples=TENANT_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_value, mutated_acme(), varied_acme()))
def test_any_config_ends_in_the_clean_error_or_plans_clean(fuzz_root: Path, shard: int, tenant: Any) -> None:
    try:
        config = load_tenant(tenant, secret=True)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        assert lines and all(line.startswith(("datafly:", "aws:")) for line in lines)
        assert all(": got " in line or ": missing; " in line for line in lines)
        event("rejected with the key-path error")
        return
    event("valid, planned")
    assert config.tenant is not None
    document = {"config": {"aws:region": "us-east-1", "datafly:tenant": tenant}}
    (fuzz_root / "stacks" / "Pulumi.fuzz.yaml").write_text(yaml.safe_dump(document))
    result = plan.Planner(fuzz_root, fuzz_root / "out").plan("fuzz")
    assert (result.exit_code, result.problems, result.violations, result.policy_violations) == (
        plan.EXIT_OK, [], [], []), tenant


@st.composite
def varied_platform(draw: st.DrawFn) -> Any:
    """The platform stack varied across network, cluster and Kafka sizing: whole groups
    of junk, or values drawn around their bounds (small CIDRs, mixed architectures,
    broker counts, open endpoints)."""
    config = platform()
    if draw(st.integers(0, 4)) == 4:
        config[draw(st.sampled_from(["network", "cluster", "addons", "kafka", "tags", "environment"]))] = (
            draw(json_value))
        return config
    config["network"].update(
        cidr=draw(st.sampled_from(["10.40.0.0/16", "10.1.0.0/20", "172.16.0.0/22", "10.9.0.0/24"])),
        availabilityZones=draw(st.integers(2, 4)), natGateways=draw(st.sampled_from(["perAz", "single"])))
    low = draw(st.integers(1, 4))
    config["cluster"]["nodeGroup"] = {
        "instanceTypes": draw(st.sampled_from([["t3.medium"], ["m7g.large", "c7g.large"], ["t3.medium", "m7g.large"]])),
        "minSize": low, "desiredSize": low + draw(st.integers(0, 2)), "maxSize": low + draw(st.integers(1, 6)),
        "capacityType": draw(st.sampled_from(["ON_DEMAND", "SPOT"])),
    }
    config["cluster"]["publicAccessCidrs"] = draw(st.sampled_from([[], ["203.0.113.0/24"], ["0.0.0.0/0"]]))
    config["kafka"]["brokersPerAz"] = draw(st.integers(0, 2))
    config["addons"]["ingressNginx"] = {"enabled": draw(st.booleans())}
    config["protect"] = draw(st.booleans())
    return config


@pytest.mark.parametrize("shard", range(PLATFORM_SHARDS))
@settings(max_examples=PLATFORM_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(varied_platform())
def test_any_platform_config_ends_in_the_clean_error_or_plans_clean(
        fuzz_platform_root: Path, shard: int, config: Any) -> None:
    try:
        load_config({"aws:region": "us-east-1", "datafly:platform": json.dumps(config)})
    except ConfigError as exc:
        lines = str(exc).splitlines()
        assert lines and all(line.startswith("datafly:platform") for line in lines)
        assert all(": got " in line or ": missing; " in line for line in lines)
        event("rejected with the key-path error")
        return
    event("valid, planned")
    document = {"config": {"aws:region": "us-east-1", "datafly:platform": config}}
    (fuzz_platform_root / "stacks" / "Pulumi.fuzzplatform.yaml").write_text(yaml.safe_dump(document))
    result = plan.Planner(fuzz_platform_root, fuzz_platform_root / "out").plan("fuzzplatform")
    assert (result.exit_code, result.problems, result.violations, result.policy_violations) == (
        plan.EXIT_OK, [], [], []), config
