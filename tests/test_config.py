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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from offline import plan
from offline.stackfile import ROOT, read_stack, stack_names
from stackconfig import ConfigError, load_config

ACME = yaml.safe_load((ROOT / "stacks" / "Pulumi.acme.yaml").read_text())["config"]


def acme(**changes: Any) -> dict[str, Any]:
    """acme's tenant config with dotted-path changes applied (None deletes)."""
    tenant = copy.deepcopy(ACME["datafly:tenant"])
    for path, value in changes.items():
        node = tenant
        parts = path.split("__")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if value is None:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return tenant


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
     "datafly:tenant.postgres.engineVersion: got '16\\n'; must be a PostgreSQL version such as 16 or 16.6"),
    (acme(platform=None),
     "datafly:tenant.platform: missing; set exactly one of platform (shared cluster) or dedicatedCluster"),
    (acme(services__ingestionGateway={"corsOrigins": ["http://www.acme.com"]}),
     "datafly:tenant.services.ingestionGateway.corsOrigins.0: got 'http://www.acme.com'; must be an https origin without a trailing slash, e.g. https://www.acme.com"),
    (acme(services__managementApi={"env": {"DATABASE_URL": "postgres://x"}}),
     "datafly:tenant.services.managementApi.env.DATABASE_URL: got 'postgres://x'; is set by the program from the customer's secrets and config; remove it"),
    (acme(autoscaling__eventProcessor={"activationLagThreshold": 20000}),
     "datafly:tenant.autoscaling.eventProcessor.activationLagThreshold: got 20000; must be below lagThreshold 10000"),
]


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


@pytest.mark.parametrize("path", ["jwtSecret", "encryptionKey", "vendorCredentials"])
def test_plaintext_secret_is_rejected_and_never_echoed(path: str) -> None:
    value = {"vendorCredentials": {"ga4": "s3cr3t-value"}} if path == "vendorCredentials" else {path: "s3cr3t-value"}
    full = "datafly:tenant.secrets." + ("vendorCredentials.ga4" if path == "vendorCredentials" else path)
    with pytest.raises(ConfigError) as caught:
        load_tenant(acme(secrets=value))
    assert str(caught.value) == (
        f"{full}: got [secret]; plaintext is not allowed for a secret; "
        f"set it with `pulumi config set --secret --path '{full}' <value>`"
    )
    assert "s3cr3t-value" not in str(caught.value)
    assert load_tenant(acme(secrets=value), secret=True).tenant is not None


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
    assert not (tmp_path / "out").exists()


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


# --- fuzzing: junk never escapes as anything but ConfigError ---------------------------

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=False),
                      st.text(max_size=12))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=10), inner, max_size=4)), max_leaves=12)
known_keys = st.sampled_from(["name", "domain", "platform", "image", "services", "autoscaling", "ingress",
                              "postgres", "redis", "kafka", "secrets", "dedicatedCluster", "migrations"])


@st.composite
def mutated_acme(draw: st.DrawFn) -> Any:
    tenant = acme()
    for _ in range(draw(st.integers(1, 3))):
        key = draw(known_keys)
        tenant[key] = draw(json_value)
    return tenant


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_value, mutated_acme()))
def test_junk_config_ends_in_clean_error_or_valid_config(tenant: Any) -> None:
    try:
        config = load_tenant(tenant, secret=True)
    except ConfigError as exc:
        lines = str(exc).splitlines()
        assert lines and all(line.startswith(("datafly:", "aws:")) for line in lines)
        assert all(": got " in line or ": missing; " in line for line in lines)
    else:
        assert config.tenant is not None
