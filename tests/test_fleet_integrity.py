"""The fleet as a whole, and hostile or broken YAML, through the commands a user runs:
`python -m offline.plan <stack>` (what `make plan` runs) and `python -m fleet.onboard`.

Each clash between stack files is one line naming both stacks and the key; each broken
file is one line naming the file and where; all exit 2 and write no plan artefact.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleet import onboard
from offline import plan
from offline.run.stackfile import ROOT

HOSTS = ("data", "app", "api")


def _load(root: Path, stack: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((root / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return document


def _write(root: Path, stack: str, document: dict[str, Any]) -> None:
    (root / "stacks" / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")


def _on_domain(tenant: dict[str, Any], domain: str) -> None:
    tenant["domain"] = domain
    tenant["ingress"]["hosts"] = {role: f"{role}.{domain}" for role in HOSTS}
    tenant["services"]["ingestionGateway"]["cookieDomain"] = f".{domain}"
    tenant["services"]["ingestionGateway"]["corsOrigins"] = [f"https://www.{domain}"]


def _plan(root: Path, stack: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Plan one stack as `make plan` does; it must be refused with exit 2, no traceback
    and no plan artefact. Returns the problem lines."""
    code = plan.main([stack, "--root", str(root), "--out", str(root / "out")])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert code == plan.EXIT_CONFIG, captured.err
    written = sorted(p.name for p in (root / "out" / stack).iterdir())
    assert written == ["PLAN-FAILED.txt"]
    lines = captured.err.splitlines()
    assert lines[0] == f"error: stack {stack}: invalid stack configuration:"
    return [line.strip() for line in lines[1:]]


# ---------------------------------------------------------------------------
# Clashes between stacks
# ---------------------------------------------------------------------------


def _same_customer_twice(root: Path) -> str:
    document = _load(root, "acme")
    _on_domain(document["config"]["datafly:tenant"], "acme-two.com")
    _write(root, "acme-two", document)
    return "acme-two"


def _domain_and_hosts_claimed_twice(root: Path) -> str:
    document = _load(root, "acme")
    document["config"]["datafly:tenant"]["name"] = "hooli"
    _write(root, "hooli", document)
    return "hooli"


def _platform_environment_twice(root: Path) -> str:
    _write(root, "platform-two", _load(root, "platform"))
    return "platform-two"


def _customer_in_another_region(root: Path) -> str:
    document = _load(root, "acme")
    document["config"]["aws:region"] = "eu-west-1"
    _write(root, "acme", document)
    return "acme"


def _shared_kafka_on_a_platform_without_kafka(root: Path) -> str:
    platform = _load(root, "platform")
    config = platform["config"]["datafly:platform"]
    config.update(environment="qa", kafka={"mode": "none"})
    config["cluster"].pop("name")
    config["network"]["cidr"] = "10.50.0.0/16"
    _write(root, "platform-qa", platform)
    customer = _load(root, "acme")
    tenant = customer["config"]["datafly:tenant"]
    tenant.update(environment="qa", platform={"stack": "datafly/datafly/platform-qa"})
    tenant.pop("kafka", None)
    _on_domain(tenant, "qa.acme.com")
    _write(root, "acme-qa", customer)
    return "acme-qa"


@pytest.mark.parametrize(("make", "expected"), [
    (_same_customer_twice, [
        "datafly:tenant.name: stacks acme and acme-two are both customer 'acme' in environment 'prod' (the same "
        "namespace customer-acme and AWS names); one customer has one stack per environment"]),
    (_domain_and_hosts_claimed_twice, [
        "datafly:tenant.domain: 'acme.com' is claimed by stacks acme and hooli",
        *(f"datafly:tenant.ingress.hosts.{role}: '{role}.acme.com' is claimed by stacks acme (hosts.{role}) and "
          f"hooli (hosts.{role}); the load balancer would send one customer's traffic to the other" for role in HOSTS)]),
    (_platform_environment_twice, [
        "datafly:platform.environment: stacks platform and platform-two are both environment 'prod' in region "
        "us-east-1 and the same account; their AWS names (cluster, roles, MSK, KMS aliases) would collide"]),
    (_customer_in_another_region, [
        "aws:region: stack acme is in eu-west-1 but its platform stack platform is in us-east-1; a customer runs in "
        "its platform's region"]),
    (_shared_kafka_on_a_platform_without_kafka, [
        "datafly:tenant.kafka.mode: stack acme-qa shares the platform's Kafka, but its platform stack platform-qa has "
        "datafly:platform.kafka.mode none (no MSK cluster); use kafka.mode dedicated or give the platform one"]),
], ids=["same-customer", "domain-and-hosts", "platform-environment", "region", "shared-kafka-without-kafka"])
def test_a_clash_between_stacks_is_one_line_naming_both_and_the_key(
        project: Path, capsys: pytest.CaptureFixture[str], make: Callable[[Path], str], expected: list[str]) -> None:
    assert _plan(project, make(project), capsys) == expected


def test_the_same_customer_in_another_environment_is_no_clash(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Staging and prod of one customer: its AWS names carry the environment."""
    stack = _shared_kafka_on_a_platform_without_kafka(project)
    document = _load(project, stack)
    document["config"]["datafly:tenant"]["kafka"] = {"mode": "dedicated"}
    _write(project, stack, document)
    from offline.check.fleet_checks import check_fleet, load_entries, problems_for

    assert problems_for(stack, check_fleet(load_entries(project))) == []


def test_the_platform_plan_reports_a_clash_among_its_customers(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _domain_and_hosts_claimed_twice(project)
    lines = _plan(project, "platform", capsys)
    assert "datafly:tenant.domain: 'acme.com' is claimed by stacks acme and hooli" in lines


def test_onboarding_refuses_a_clash_before_it_writes(project: Path) -> None:
    with pytest.raises(onboard.OnboardError, match="'acme.com' is claimed by stacks acme and hooli"):
        onboard.onboard("hooli", "acme.com", project)
    assert not (project / "stacks" / "Pulumi.hooli.yaml").exists()


# ---------------------------------------------------------------------------
# Hostile or broken YAML
# ---------------------------------------------------------------------------


def _alias_bomb() -> bytes:
    """About 400 bytes that expand to 9^9 (387 million) strings."""
    lines = ["config:", "  aws:region: us-east-1", '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(8):
        previous, name = chr(97 + index), chr(98 + index)
        lines.append(f"  {name}: &{name} [{', '.join(['*' + previous] * 9)}]")
    return ("\n".join(lines) + "\n").encode()


ACME = (ROOT / "stacks" / "Pulumi.acme.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize(("content", "expected"), [
    (ACME.replace("      eventProcessor:\n", "      eventProcessor:\n        replicas: 1\n        replicas: 0\n", 1).encode(),
     "stacks/Pulumi.bad.yaml: line 27: duplicate key config.datafly:tenant.services.eventProcessor.replicas "
     "(first at line 26); YAML would silently keep the last one"),
    (("Config:\n  x: 1\n" + ACME).encode(),
     "stacks/Pulumi.bad.yaml: unknown top-level key(s) Config; a stack file has config, secretsprovider, "
     "encryptedkey, encryptionsalt, environment (did you mean `config:`?)"),
    (ACME.replace("# ", "# caf\xe9 ", 1).encode("latin-1"),
     "stacks/Pulumi.bad.yaml: not UTF-8 text: byte 0xe9 at byte offset 5 (YAML files must be UTF-8, comments included)"),
    (bytes(range(256)) * 4, "stacks/Pulumi.bad.yaml: a binary file, not YAML (NUL byte at byte offset 0)"),
    (ACME.replace("datafly:tenant:\n", 'datafly:tenant:\n    protect: "no"\n', 1).encode(),
     "datafly:tenant.protect: got 'no'; expected a valid boolean"),
], ids=["duplicate-key", "unknown-top-level-key", "non-utf8-comment", "binary", "protect-string"])
def test_a_broken_stack_file_is_one_line_naming_the_file_and_where(
        project: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str) -> None:
    (project / "stacks" / "Pulumi.bad.yaml").write_bytes(content)
    assert _plan(project, "bad", capsys) == [expected]


def _limit_memory() -> None:
    # 1 GiB of address space: the expanded bomb needs tens of GiB; the plan itself ~0.5 GiB.
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))


def test_an_alias_bomb_is_refused_before_it_expands_within_bounded_memory(project: Path) -> None:
    (project / "stacks" / "Pulumi.bomb.yaml").write_bytes(_alias_bomb())
    result = subprocess.run(
        [sys.executable, "-m", "offline.plan", "bomb", "--root", str(project), "--out", str(project / "out")],
        cwd=ROOT, capture_output=True, text=True, check=False, preexec_fn=_limit_memory, timeout=120,
    )
    assert result.returncode == plan.EXIT_CONFIG, result.stderr
    assert result.stderr.splitlines() == [
        "error: stack bomb: invalid stack configuration:",
        "  stacks/Pulumi.bomb.yaml: line 8: aliases expand config.f to more than 100000 nodes (an alias bomb?); "
        "refused before expanding it",
    ]


@pytest.mark.parametrize(("content", "expected"), [
    (b"image:\n  tag: v1\n  tag: v2\n", "line 3: duplicate key image.tag (first at line 2)"),
    (b"image:\x00\x01\x02", "a binary file, not YAML (NUL byte at byte offset 6)"),
    (b"# caf\xe9\nimage: {}\n", "not UTF-8 text: byte 0xe9 at byte offset 5"),
], ids=["duplicate-key", "binary", "non-utf8"])
def test_a_broken_values_file_is_refused_by_onboarding_with_nothing_written(
        project: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str) -> None:
    values = project / "values.yaml"
    values.write_bytes(content)
    code = onboard.main(["hooli", "hooli.com", "--values", str(values), "--root", str(project)])
    captured = capsys.readouterr()
    assert code == onboard.EXIT_REFUSED and "Traceback" not in captured.err
    assert captured.err.startswith(f"error: values file {values}: {expected}")
    assert not (project / "stacks" / "Pulumi.hooli.yaml").exists()
