"""Fleet operations: onboarding and the Helm values import, the promotion's wave logic
(against a fake Automation API) and its offline dry run, the deploy-time estimate, the
CI stack selection and the workflows' schema."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Optional

import pulumi_aws as aws
import pytest
import yaml

from fleet import bench, ci, onboard, promote
from offline import plan
from offline.report import deploy_time
from offline.run.runner import PlanRun, Resource
from offline.run.stackfile import ROOT, read_stack, stack_names, stack_path
from stackconfig import load_config
from tests.harness import synthetic_stack

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


# ---------------------------------------------------------------------------
# Onboarding
# ---------------------------------------------------------------------------


def test_an_onboarded_customer_plans_clean_right_away(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert onboard.main(["hooli", "hooli.com", "--root", str(project)]) == onboard.EXIT_OK
    out = capsys.readouterr().out
    assert "Created stacks/Pulumi.hooli.yaml (customer hooli, domain hooli.com, release v1.2.0" in out
    stack = read_stack("hooli", project)
    config = load_config(stack.config, stack.secret_keys)
    assert config.region == "us-east-1"  # the platform stack's region
    assert config.tenant is not None
    assert (config.tenant.name, config.tenant.domain, config.tenant.image.tag) == ("hooli", "hooli.com", "v1.2.0")
    assert config.tenant.platform is not None and config.tenant.platform.stack == "datafly/datafly/platform"
    assert config.tenant.services.ingestion_gateway.cors_origins == ["https://www.hooli.com"]
    assert config.tenant.services.ingestion_gateway.cookie_domain == ".hooli.com"
    assert [config.tenant.host(r) for r in ("data", "app", "api")] == ["data.hooli.com", "app.hooli.com", "api.hooli.com"]
    result = plan.Planner(project).plan("hooli")
    assert result.exit_code == plan.EXIT_OK, result.problems + [str(v) for v in result.violations]


def test_the_stack_file_is_commented_and_ordered_like_the_examples(project: Path) -> None:
    onboard.onboard("hooli", "hooli.com", project, tag="v1.3.0")
    text = stack_path("hooli", project).read_text(encoding="utf-8")
    assert text.startswith("# hooli: onboarded with `make tenant` on the shared platform datafly/datafly/platform.\n")
    tenant = yaml.safe_load(text)["config"]["datafly:tenant"]
    assert list(tenant) == ["name", "environment", "domain", "platform", "image", "services", "ingress"]
    assert tenant["environment"] == "prod"  # the platform stack's own environment
    assert tenant["image"] == {"tag": "v1.3.0"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["acme", "acme.org"], "error: stack 'acme' already exists (stacks/Pulumi.acme.yaml); pick another name"),
        (["platform", "p.com"], "error: stack 'platform' already exists (stacks/Pulumi.platform.yaml); pick another name"),
        (["hooli", "hooli_com"], "error: invalid domain 'hooli_com': must be a lowercase DNS domain such as acme.com"),
        (["hooli", "Hooli.com"], "error: invalid domain 'Hooli.com': must be a lowercase DNS domain such as acme.com"),
        (["Hooli", "hooli.com"], "error: invalid customer name 'Hooli': must be a DNS label: lowercase letters, "
                                 "digits and '-', starting with a letter, at most 20 characters"),
        (["a-very-long-customer-name", "x.com"], "error: invalid customer name 'a-very-long-customer-name': must be "
                                                 "a DNS label: lowercase letters, digits and '-', starting with a "
                                                 "letter, at most 20 characters"),
        (["hooli", "hooli.com", "--platform", "platform"],
         "error: invalid platform stack 'platform': must be a fully qualified stack name "
         "<organization>/<project>/<stack>"),
    ],
)
def test_onboarding_refuses_with_one_line_and_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = sorted(p.name for p in (project / "stacks").iterdir())
    assert onboard.main([*argv, "--root", str(project)]) == onboard.EXIT_REFUSED
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [message]
    assert captured.out == ""
    assert sorted(p.name for p in (project / "stacks").iterdir()) == before


def test_a_customer_name_used_by_another_stack_file_is_refused(project: Path) -> None:
    shutil.copy(stack_path("acme", project), stack_path("acme-old", project))
    (project / "stacks" / "Pulumi.acme.yaml").unlink()
    with pytest.raises(onboard.OnboardError, match="customer name 'acme' is already used by stack 'acme-old'"):
        onboard.onboard("acme", "acme.com", project)


HELM_VALUES: dict[str, Any] = {
    "image": {"repository": "registry.example.com/datafly", "tag": "v1.2.0", "pullPolicy": "Always",
              "pullSecrets": ["regcred"]},
    "ingestionGateway": {
        "replicas": 3,
        "env": {"CORS_ORIGINS": "https://www.hooli.com, https://shop.hooli.com", "COOKIE_DOMAIN": ".hooli.com",
                "LOG_LEVEL": "info", "DATABASE_URL": "postgres://u:p@db/x"},
        "resources": {"requests": {"memory": "256Mi", "cpu": "250m"},
                      "limits": {"memory": "1Gi", "cpu": 1, "ephemeral-storage": "1Gi"}},
    },
    "eventProcessor": {"replicas": 2, "env": [{"name": "BATCH_SIZE", "value": 500},
                                              {"name": "SENTRY_TOKEN", "value": "s3cr3t"},
                                              {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]},
    "deliveryWorkers": {"replicas": 3, "nodeSelector": {"pool": "x"}},
    "ingress": {
        "enabled": True,
        "className": "nginx",
        "hosts": [{"host": "data.hooli.com", "paths": ["/v1"]}, "app.hooli.com", "api.hooli.com", "collect.hooli.com"],
        "tls": [{"secretName": "hooli-tls", "hosts": ["data.hooli.com"]}, {"secretName": "other-tls"}],
    },
    "autoscaling": {
        "deliveryWorkers": {"enabled": True, "minReplicas": 3, "maxReplicas": 12,
                            "targetCPUUtilizationPercentage": 60},
        "identityHub": {"enabled": False, "targetMemoryUtilizationPercentage": 80},
    },
    "metricsProvider": "keda",
    # Secrets of valid shape (the import validates them), each marked so a test can look for a leak.
    "jwtSecret": "do-not-copy-jwt-0000000000000000000000",
    "secrets": {"encryptionKey": "dec0de" * 10 + "dec0", "vendorCredentials": {"ga4": "do-not-copy-ga4"}},
    "nameOverride": "signal",
}


def test_the_values_import_maps_every_mappable_value() -> None:
    imported = onboard.import_values(HELM_VALUES)
    assert imported.tenant == {
        "image": {"registry": "registry.example.com/datafly", "tag": "v1.2.0", "pullPolicy": "Always"},
        "services": {
            "ingestionGateway": {
                "replicas": 3,
                "corsOrigins": ["https://www.hooli.com", "https://shop.hooli.com"],
                "cookieDomain": ".hooli.com",
                "env": {"LOG_LEVEL": "info"},
                "resources": {"requests": {"memory": "256Mi", "cpu": "250m"}, "limits": {"memory": "1Gi", "cpu": "1"}},
            },
            "eventProcessor": {"replicas": 2, "env": {"BATCH_SIZE": "500"}},
            "deliveryWorkers": {"replicas": 3},
        },
        "ingress": {"className": "nginx", "hosts": {"data": "data.hooli.com", "app": "app.hooli.com",
                                                    "api": "api.hooli.com"},
                    "tls": {"secretName": "hooli-tls"}},
        "autoscaling": {
            "deliveryWorkers": {"enabled": True, "minReplicas": 3, "maxReplicas": 12,
                                "targetCPUUtilizationPercentage": 60},
            "identityHub": {"enabled": False},
            "metricsProvider": "keda",
        },
    }


def test_the_values_import_reports_every_value_it_cannot_map_without_showing_secrets() -> None:
    imported = onboard.import_values(HELM_VALUES)
    assert [u.path for u in imported.unmapped] == [
        "image.pullSecrets",
        "ingestionGateway.env.DATABASE_URL",
        "ingestionGateway.resources.limits.ephemeral-storage",
        "eventProcessor.env.1",
        "eventProcessor.env.2",
        "deliveryWorkers.nodeSelector",
        "ingress.hosts.0.paths",
        "ingress.hosts.3",
        "ingress.tls.1.secretName",
        "autoscaling.identityHub.targetMemoryUtilizationPercentage",
        "nameOverride",
    ]
    # The three secrets with a home are carried over (as secret config), not reported as lost.
    assert [(s.source, s.key) for s in imported.secrets] == [
        ("jwtSecret", "datafly:tenant.secrets.jwtSecret"),
        ("secrets.encryptionKey", "datafly:tenant.secrets.encryptionKey"),
        ("secrets.vendorCredentials.ga4", "datafly:tenant.secrets.vendorCredentials.ga4"),
    ]
    report = "\n".join(str(u) for u in imported.unmapped) + repr(imported.secrets)
    assert "do-not-copy" not in report and "dec0de" not in report and "s3cr3t" not in report and "u:p@db" not in report
    assert ("eventProcessor.env.1: SENTRY_TOKEN looks like a secret, and no stack setting takes it: "
            "not carried over (value not shown)") in report
    assert ("ingestionGateway.env.DATABASE_URL: not carried over (value not shown): the new stack creates an RDS "
            "PostgreSQL database of its own") in report
    assert "ingress.hosts.3: collect.hooli.com: cannot tell which of data/app/api it serves" in report
    assert "secrets" not in imported.tenant


def test_an_alb_customer_keeps_no_tls_secret_and_takes_certificates_from_annotations() -> None:
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0f0e0d0c-0b0a-0908-0706-050403020100"
    imported = onboard.import_values({"ingress": {
        "annotations": {"alb.ingress.kubernetes.io/certificate-arn": arn, "alb.ingress.kubernetes.io/group.name": "g"},
        "tls": [{"secretName": "hooli-tls"}],
    }})
    assert imported.tenant == {"ingress": {"tls": {"certificateArns": [arn]}}}
    assert [u.path for u in imported.unmapped] == ["ingress.annotations.alb.ingress.kubernetes.io/group.name",
                                                   "ingress.tls.0.secretName"]


def test_an_imported_values_file_onboards_and_plans(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    values = project / "values.yaml"
    values.write_text(yaml.safe_dump(HELM_VALUES), encoding="utf-8")
    assert onboard.main(["hooli", "hooli.com", "--values", str(values), "--root", str(project)]) == 0
    out = capsys.readouterr().out
    assert f"Imported 28 value(s) from {values}; 11 not imported:" in out
    assert "do-not-copy" not in out and "dec0de" not in out
    stack = read_stack("hooli", project)
    config = load_config(stack.config, stack.secret_keys)
    assert config.tenant is not None
    assert config.tenant.ingress.class_name == "nginx" and config.tenant.ingress.tls.secret_name == "hooli-tls"
    assert config.tenant.autoscaling.delivery_workers.target_cpu_utilization_percentage == 60


def test_imported_values_that_do_not_validate_are_refused_whole(project: Path) -> None:
    values = project / "values.yaml"
    values.write_text(yaml.safe_dump({"eventProcessor": {"replicas": 50}}), encoding="utf-8")
    with pytest.raises(onboard.OnboardError, match=r"datafly:tenant.services.eventProcessor.replicas: got 50; "
                                                   r"must lie within autoscaling.eventProcessor minReplicas 2"):
        onboard.onboard("hooli", "hooli.com", project, values=values)
    assert not stack_path("hooli", project).exists()


EXAMPLE_VALUES = ROOT / "docs" / "examples" / "acme-values.yaml"


def _example_secrets() -> dict[str, str]:
    values = yaml.safe_load(EXAMPLE_VALUES.read_text(encoding="utf-8"))
    return {"jwt.secret": values["jwt"]["secret"], "vendorCredentials.ga4": values["vendorCredentials"]["ga4"],
            "identityHub.env.ENCRYPTION_KEY": values["identityHub"]["env"]["ENCRYPTION_KEY"],
            "database password": "FAKE-db-password-0000", "redis password": "FAKE-redis-password-0000"}


def _every_file(root: Path) -> str:
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in root.rglob("*") if p.is_file())


@pytest.fixture
def acme_free(project: Path) -> Path:
    """The project without acme: the documented acme values file onboards a new acme."""
    stack_path("acme", project).unlink()
    return project


def test_the_documented_values_file_without_a_cli_prints_and_writes_no_secret(
        acme_free: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(onboard.shutil, "which", lambda _: None)
    assert onboard.main(["acme", "acme.com", "--values", str(EXAMPLE_VALUES), "--root", str(acme_free)]) == 0
    captured = capsys.readouterr()
    secrets = _example_secrets()
    assert "database password" in secrets and "FAKE-db-password-0000" in EXAMPLE_VALUES.read_text()
    for value in secrets.values():
        assert value not in captured.out + captured.err
        assert value not in _every_file(acme_free)
    lines = captured.out.splitlines()
    commands = [line.strip() for line in lines if "pulumi config set" in line]
    assert [c.split(" | ")[1].split("    #")[0] for c in commands] == [
        f"pulumi config set --secret --path datafly:tenant.secrets.{key} --stack acme"
        for key in ("jwtSecret", "vendorCredentials.ga4", "encryptionKey")]
    assert commands[2].endswith("# identityHub.env.ENCRYPTION_KEY: ******** (64 characters)")
    assert any(line.startswith("  database.url: not carried over (value not shown): the new stack creates an RDS")
               and "README.md, section \"Moving a customer's data\"" in line for line in lines)
    # The kafka lag threshold has a home.
    stack = read_stack("acme", acme_free)
    config = load_config(stack.config, stack.secret_keys)
    assert config.tenant is not None
    assert config.tenant.autoscaling.event_processor.lag_threshold == 5000
    assert config.tenant.secrets.jwt_secret is None and config.tenant.secrets.encryption_key is None


@pytest.mark.parametrize("source", ["jwt.secret", "vendorCredentials.ga4", "identityHub.env.ENCRYPTION_KEY"])
def test_each_printed_command_pipes_the_value_the_values_file_holds(source: str) -> None:
    """The printed pipe carries the value over unchanged, and only through the pipe."""
    result = subprocess.run([sys.executable, "-m", "fleet.secret_value", str(EXAMPLE_VALUES), source],
                            cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout == _example_secrets()[source] and result.stderr == ""


class FakeWorkspace:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, bool, bool]] = []

    def set_config(self, key: str, value: Any, path: bool = False) -> None:
        self.calls.append((key, value.value, value.secret, path))


def test_the_documented_values_file_with_a_cli_sets_secret_config_through_the_automation_api(
        acme_free: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from pulumi import automation as auto

    workspace = FakeWorkspace()
    opened: list[tuple[str, str]] = []

    def create_or_select_stack(stack_name: str, work_dir: str) -> FakeWorkspace:
        opened.append((stack_name, work_dir))
        return workspace

    monkeypatch.setattr(onboard.shutil, "which", lambda _: "/usr/local/bin/pulumi")
    monkeypatch.setattr(auto, "create_or_select_stack", create_or_select_stack)
    assert onboard.main(["acme", "acme.com", "--values", str(EXAMPLE_VALUES), "--root", str(acme_free)]) == 0
    secrets = _example_secrets()
    assert opened == [("acme", str(acme_free))]
    assert workspace.calls == [
        ("datafly:tenant.secrets.jwtSecret", secrets["jwt.secret"], True, True),
        ("datafly:tenant.secrets.vendorCredentials.ga4", secrets["vendorCredentials.ga4"], True, True),
        ("datafly:tenant.secrets.encryptionKey", secrets["identityHub.env.ENCRYPTION_KEY"], True, True),
    ]
    captured = capsys.readouterr()
    assert "Set 3 secret(s) as Pulumi secret config of stack acme (Automation API, secret=True)" in captured.out
    for value in secrets.values():
        assert value not in captured.out + captured.err
        assert value not in _every_file(acme_free)


# ---------------------------------------------------------------------------
# Promotion
# ---------------------------------------------------------------------------


class FakeAutomation:
    """Stands in for the Automation API: records calls, fails where told."""

    def __init__(self, fail: tuple[str, str] | None = None, root: Path | None = None) -> None:
        self.fail = fail
        self.root = root
        self.calls: list[tuple[str, str, str]] = []

    def _step(self, step: str, stack: str) -> str:
        tag = promote.read_release(stack_path(stack, self.root)).tag if self.root else ""
        self.calls.append((step, stack, tag))
        if self.fail == (step, stack):
            raise RuntimeError(f"{step} of {stack} failed:\n  error: boom")
        return f"{step} ok"

    def preview(self, stack: str) -> str:
        return self._step("preview", stack)

    def up(self, stack: str) -> str:
        return self._step("up", stack)


WAVES = [promote.Wave("canary", ("acme",)), promote.Wave("rest", ("globex", "initech", "umbrella"))]
V130 = promote.Release("v1.3.0")


def _tags(root: Path) -> dict[str, str]:
    return {s: promote.read_release(stack_path(s, root)).tag for s in ("acme", "globex", "initech", "umbrella")}


def test_waves_run_in_order_preview_before_up_on_the_edited_stack_file(project: Path) -> None:
    fake = FakeAutomation(root=project)
    result = promote.promote(WAVES, V130, fake, project, log=lambda _: None)
    assert fake.calls == [(step, stack, "v1.3.0") for stack in ("acme", "globex", "initech", "umbrella")
                          for step in ("preview", "up")]
    assert result.ok and [r.status for r in result.results] == ["promoted"] * 4
    assert result.on_release() == {"v1.3.0": ["acme", "globex", "initech", "umbrella"]}
    assert _tags(project) == dict.fromkeys(("acme", "globex", "initech", "umbrella"), "v1.3.0")


def test_a_failed_preview_stops_everything_and_restores_that_stack_file(project: Path) -> None:
    original = stack_path("globex", project).read_text(encoding="utf-8")
    fake = FakeAutomation(fail=("preview", "globex"))
    result = promote.promote(WAVES, V130, fake, project, log=lambda _: None)
    assert [(c[0], c[1]) for c in fake.calls] == [("preview", "acme"), ("up", "acme"), ("preview", "globex")]
    assert [(r.stack, r.wave, r.status) for r in result.results] == [
        ("acme", "canary", "promoted"), ("globex", "rest", "preview failed"),
        ("initech", "rest", "not attempted"), ("umbrella", "rest", "not attempted"),
    ]
    assert result.results[1].detail == "preview of globex failed: error: boom"
    assert stack_path("globex", project).read_text(encoding="utf-8") == original
    assert result.on_release() == {"v1.3.0": ["acme"], "v1.2.0": ["globex", "initech"],
                                   "v1.3.0 (6 digest(s))": ["umbrella"]}
    assert not result.ok


def test_a_failed_up_stops_and_reports_the_stack_as_partly_on_the_release(project: Path) -> None:
    result = promote.promote(WAVES, V130, FakeAutomation(fail=("up", "acme")), project, log=lambda _: None)
    assert [r.status for r in result.results] == ["up failed", "not attempted", "not attempted", "not attempted"]
    assert _tags(project)["acme"] == "v1.3.0"  # the stack may be partly updated: its file says so
    assert result.on_release()["v1.3.0 (partly: up failed)"] == ["acme"]
    lines = result.lines()
    assert lines[0].split() == ["stack", "wave", "status", "release"]
    assert lines[1].split()[:4] == ["acme", "canary", "up", "failed"]


def test_the_command_line_runs_the_waves_and_exits_1_on_failure(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["v1.3.0", "--wave", "canary=acme", "--wave", "rest=globex", "--root", str(project)]
    assert promote.main(argv, operations=FakeAutomation(fail=("up", "globex"))) == promote.EXIT_FAILED
    out = capsys.readouterr().out
    assert "Stacks by release:\n  v1.3.0: acme\n  v1.3.0 (partly: up failed): globex\n" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["v1.3.0", "--wave", "a=acme", "--wave", "b=acme"], "error: stack 'acme' is in waves 'a' and 'b'"),
        (["v1.3.0", "platform"], "error: Pulumi.platform.yaml is not a customer stack (no datafly:tenant); "
                                 "only customers are promoted"),
        (["v1.3.0", "nobody"], "error: no stack file stacks/Pulumi.nobody.yaml for stack 'nobody'"),
        (["latest", "acme"], "error: invalid tag 'latest': must be a release tag such as v1.2.0; 'latest' is not "
                             "reproducible"),
        (["v1.3.0", "--digest", "managementApi=sha256:abc", "acme"],
         "error: invalid digest 'sha256:abc': must be an image digest such as sha256:<64 hex>"),
        # A digest names one image: a bare digest for "the release" is refused.
        (["v1.3.0", "--digest", "sha256:" + "ab" * 32, "acme"],
         "error: invalid --digest 'sha256:" + "ab" * 32 + "': expected IMAGE=sha256:<64 hex>, IMAGE one of "
         "ingestionGateway, eventProcessor, deliveryWorkers, identityHub, managementApi, managementUi, migrations"),
        (["v1.3.0", "--wave", "canary"], "error: --wave 'canary': expected NAME=stack[,stack...]"),
        (["v1.3.0"], "error: no stacks to promote: name stacks, --wave NAME=a,b or --waves-file"),
    ],
)
def test_bad_promotions_change_nothing_and_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    fake = FakeAutomation()
    assert promote.main([*argv, "--root", str(project)], operations=fake) == promote.EXIT_USAGE
    assert capsys.readouterr().err.splitlines() == [message]
    assert fake.calls == []
    assert _tags(project) == {"acme": "v1.2.0", "globex": "v1.2.0", "initech": "v1.2.0", "umbrella": "v1.3.0"}


def test_the_waves_file_orders_waves_and_only_wave_selects_one(project: Path) -> None:
    waves = promote.read_waves_file(ROOT / "fleet" / "waves.yaml")
    assert waves == WAVES
    fake = FakeAutomation()
    argv = ["v1.3.0", "--waves-file", str(ROOT / "fleet" / "waves.yaml"), "--only-wave", "rest", "--root", str(project)]
    assert promote.main(argv, operations=fake) == promote.EXIT_OK
    assert [c[1] for c in fake.calls if c[0] == "up"] == ["globex", "initech", "umbrella"]


@pytest.mark.parametrize("stack", ci.stacks_of_role("tenant"))
def test_rewriting_a_stack_file_with_its_own_release_changes_no_byte(project: Path, stack: str) -> None:
    path = stack_path(stack, project)
    original = path.read_text(encoding="utf-8")
    promote.set_release(path, promote.read_release(path))
    assert path.read_text(encoding="utf-8") == original


def test_a_release_edit_keeps_comments_and_key_order(project: Path) -> None:
    acme, umbrella = stack_path("acme", project), stack_path("umbrella", project)
    before_acme, before_umbrella = acme.read_text().splitlines(), umbrella.read_text().splitlines()
    api, ui = "sha256:" + "ab" * 32, "sha256:" + "cd" * 32
    promote.set_release(acme, promote.Release("v1.10", (("managementApi", api), ("managementUi", ui))))
    after = acme.read_text().splitlines()
    index = before_acme.index("      tag: v1.2.0")
    assert after == [*before_acme[:index], "      tag: v1.10", "      digests:",
                     f"        managementApi: {api}", f"        managementUi: {ui}", *before_acme[index + 1:]]
    # A new tag without digests drops the digests that pinned the old tag.
    promote.set_release(umbrella, promote.Release("v1.4.0"))
    removed = [line for line in before_umbrella if line not in umbrella.read_text().splitlines()]
    assert removed == ["      tag: v1.3.0", "      digests:",
                       *(line for line in before_umbrella if line.startswith("        ") and ": sha256:" in line)]
    assert len(removed) == 2 + 6
    # A tag YAML would read as a number is quoted.
    promote.set_release(acme, promote.Release("1.10"))
    assert "      tag: '1.10'" in acme.read_text().splitlines()
    assert promote.read_release(acme) == promote.Release("1.10")


def test_the_dry_run_of_a_release_bump_on_acme_changes_only_its_deployments_and_migrations_job(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = stack_path("acme").read_text(encoding="utf-8")
    assert promote.main(["v1.3.0", "acme", "--dry-run"]) == promote.EXIT_OK
    out = capsys.readouterr().out
    assert stack_path("acme").read_text(encoding="utf-8") == before  # the real file is untouched
    changed = [line.strip() for line in out.splitlines() if line.startswith("  ~ ")]
    assert changed == [
        *(f"~ kubernetes:apps/v1:Deployment acme-workloads-deployment-{s}" for s in (
            "delivery-workers", "event-processor", "identity-hub", "ingestion-gateway", "management-api",
            "management-ui")),
        "~ kubernetes:batch/v1:Job acme-workloads-migrations (replaced: db-migrate-v1-2-0 -> db-migrate-v1-3-0)",
        # The Job's own credentials Secret is named like the Job.
        "~ kubernetes:external-secrets.io/v1:ExternalSecret acme-workloads-migrations-secret "
        "(replaced: db-migrate-v1-2-0 -> db-migrate-v1-3-0)",
    ]
    assert "--- a/out/acme/plan.json\n+++ b/out/acme/plan.json\n" in out
    assert '-                  "image": "ghcr.io/datafly/ingestion-gateway:v1.2.0",' in out
    assert '+                  "image": "ghcr.io/datafly/ingestion-gateway:v1.3.0",' in out
    assert "OK: only the customer's Deployments and its migrations Job change." in out


def _resource(urn: str, type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    return {"urn": urn, "type": type_, "name": name, "inputs": inputs}


def test_the_dry_run_flags_any_other_change() -> None:
    deployment = _resource("u:d", promote.DEPLOYMENT, "acme-workloads-deployment-x",
                           {"metadata": {"name": "x", "namespace": "customer-acme"}, "image": "a:1"})
    other_ns = _resource("u:o", promote.DEPLOYMENT, "globex-x", {"metadata": {"name": "x", "namespace": "customer-globex"}})
    rds = _resource("u:r", "aws:rds/instance:Instance", "acme-data-postgres-instance", {"engineVersion": "16"})
    before = {"resources": [deployment, other_ns, rds], "outputs": {"a": 1}}
    after = {"resources": [
        {**deployment, "inputs": {**deployment["inputs"], "image": "a:2"}},
        {**other_ns, "inputs": {"metadata": {"name": "y", "namespace": "customer-globex"}}},
        {**rds, "inputs": {"engineVersion": "17"}},
        _resource("u:n", "aws:kms/key:Key", "acme-new-key", {}),
    ], "outputs": {"a": 2}}
    result = promote.compare_plans("acme", "acme", before, after)
    assert result.changed == ["kubernetes:apps/v1:Deployment acme-workloads-deployment-x",
                              "kubernetes:apps/v1:Deployment globex-x (replaced: x -> y)",
                              "aws:rds/instance:Instance acme-data-postgres-instance"]
    assert result.violations == [
        "+ aws:kms/key:Key acme-new-key: would be created",
        "~ kubernetes:apps/v1:Deployment globex-x: changes, but a release bump may change only the customer's "
        "Deployments and its migrations Job",
        "~ aws:rds/instance:Instance acme-data-postgres-instance: changes, but a release bump may change only the "
        "customer's Deployments and its migrations Job",
        "stack outputs change",
    ]


def test_a_dry_run_over_worker_processes_finds_what_a_serial_one_does() -> None:
    serial = promote.dry_run(["umbrella", "acme"], V130, jobs=1)
    parallel = promote.dry_run(["umbrella", "acme"], V130, jobs=2)
    assert [(r.stack, r.changed, r.violations, r.diff) for r in parallel] == \
        [(r.stack, r.changed, r.violations, r.diff) for r in serial]
    assert parallel == serial
    assert all(r.ok and len(r.changed) == 8 and r.diff for r in parallel)


def test_a_dry_run_returns_its_stacks_in_the_order_given_however_they_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    # Which worker finishes first is up to the machine: here the last stack always comes back first.
    arrived: list[str] = []
    workers = promote.map_unordered

    def last_first(task: Any, items: list[str], jobs: int) -> Any:
        for result in sorted(workers(task, items, jobs), key=lambda r: items.index(r.stack), reverse=True):
            arrived.append(result.stack)
            yield result

    monkeypatch.setattr(promote, "map_unordered", last_first)
    results = promote.dry_run(["umbrella", "acme"], V130, jobs=2)
    assert arrived == ["acme", "umbrella"]
    assert [r.stack for r in results] == ["umbrella", "acme"]


# ---------------------------------------------------------------------------
# Deploy time
# ---------------------------------------------------------------------------


def _r(name: str, type_: str, deps: tuple[str, ...] = (), provider: str | None = None,
       parent: str | None = None, custom: bool = True) -> Resource:
    return Resource(urn=f"urn:{name}", type=type_, name=name, parent=parent and f"urn:{parent}", custom=custom,
                    dependencies=[f"urn:{d}" for d in deps], protect=False, retain_on_delete=False,
                    ignore_changes=[], delete_before_replace=False, provider=provider and f"urn:{provider}",
                    inputs={}, raw_inputs={})


def _synthetic_run() -> PlanRun:
    resources = [
        _r("vpc", "t:vpc"),
        _r("cluster", "t:cluster", ("vpc",)),
        _r("nodes", "t:nodes", ("cluster",)),
        _r("db", "t:db", ("vpc",)),
        _r("k8s", "pulumi:providers:kubernetes", ("cluster",)),
        _r("addons", "t:component", custom=False),
        _r("chart", "t:helm", ("nodes",), provider="k8s", parent="addons"),
        _r("crd-user", "t:unknown", ("addons",), provider="k8s"),  # on the component: waits for its chart
        _r("job", "t:job", ("db",), provider="k8s"),
    ]
    return PlanRun(stack=synthetic_stack(), resources=resources, outputs={}, root_urn="urn:stack")


TIMES = deploy_time.CreationTimes(default=5, by_type={
    "t:vpc": 10, "t:cluster": 600, "t:nodes": 300, "t:db": 720, "t:helm": 120, "t:job": 60,
    "pulumi:providers:kubernetes": 0,
})


def test_the_critical_path_follows_dependencies_providers_and_components() -> None:
    estimate = deploy_time.estimate(_synthetic_run(), TIMES)
    assert [(s.resource.name, s.start, s.seconds) for s in estimate.critical_path] == [
        ("vpc", 0, 10), ("cluster", 10, 600), ("nodes", 610, 300), ("chart", 910, 120), ("crd-user", 1030, 5),
    ]
    assert estimate.total == 1035
    assert estimate.sum_all == 10 + 600 + 300 + 720 + 0 + 120 + 5 + 60


def test_the_deploy_time_lines_name_the_path_and_the_serial_sum() -> None:
    lines = deploy_time.deploy_time_lines(_synthetic_run(), TIMES)
    assert lines[:3] == [
        "Estimated first `pulumi up` (typical creation times per type, offline/report/creation_times.yaml):",
        "    critical path  17m 15s",
        "    sum of all     30m 15s  (1.8x the critical path: what parallel creation saves)",
    ]
    assert lines[4].split() == ["0s", "->", "10s", "t:vpc", "vpc"]
    assert lines[-1].split() == ["17m", "10s", "->", "17m", "15s", "t:unknown", "crd-user"]


def test_every_creation_time_has_a_source_and_covers_the_slow_types() -> None:
    data = yaml.safe_load((ROOT / "offline" / "report" / "creation_times.yaml").read_text(encoding="utf-8"))
    assert all(entry["source"] and entry["seconds"] >= 0 for entry in data["types"].values())
    times = deploy_time.load_creation_times()
    assert times.by_type["aws:msk/cluster:Cluster"] > times.by_type["aws:rds/instance:Instance"] \
        > times.by_type["aws:eks/cluster:Cluster"] > times.by_type["aws:eks/nodeGroup:NodeGroup"] > times.default


# ---------------------------------------------------------------------------
# CI
# ---------------------------------------------------------------------------

STACKS = ["acme", "globex", "platform"]


@pytest.mark.parametrize(
    ("changed", "expected"),
    [
        (["stacks/Pulumi.acme.yaml"], ["acme"]),
        (["stacks/Pulumi.acme.yaml", "README.md", "docs/fleet.md", "tests/test_fleet.py"], ["acme"]),
        (["stacks/Pulumi.gone.yaml"], []),
        (["offline/plan.py", ".github/workflows/main.yml", "fleet/promote.py", "requirements-dev.txt"], []),
        (["components/customer.py"], STACKS),
        (["stacks/Pulumi.acme.yaml", "builders/workloads.py"], STACKS),
        (["Pulumi.yaml"], STACKS),
        (["requirements.txt"], STACKS),
        (["__main__.py"], STACKS),
    ],
)
def test_a_pull_request_previews_the_stacks_its_changes_affect(changed: list[str], expected: list[str]) -> None:
    assert ci.stacks_to_preview(changed, STACKS) == expected


def test_the_roles_split_the_stacks() -> None:
    assert ci.stacks_of_role("platform") == ["platform"]
    assert ci.stacks_of_role("tenant") == ["acme", "globex", "initech", "umbrella"]


def test_the_workflows_validate_against_the_github_workflow_schema() -> None:
    assert {p.name for p in WORKFLOWS} == {"pull-request.yml", "main.yml", "promote.yml"}
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _workflow(name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text(encoding="utf-8"))
    return document


def _uses(job: dict[str, Any], action: str) -> dict[str, Any]:
    (step,) = [s for s in job["steps"] if str(s.get("uses", "")).startswith(action + "@")]
    found: dict[str, Any] = step
    return found


def test_pull_requests_preview_each_affected_stack_with_oidc_and_comment_the_diff() -> None:
    workflow = _workflow("pull-request.yml")
    assert list(workflow[True]) == ["pull_request"]  # YAML 1.1 reads the `on` key as true
    checks = [s.get("run") for s in workflow["jobs"]["checks"]["steps"]]
    assert {"make typecheck", ".venv/bin/ruff check .", ".venv/bin/python -m pytest -n auto --dist worksteal",
            "make plan-all"} <= set(checks)
    preview = workflow["jobs"]["preview"]
    assert preview["permissions"]["id-token"] == "write"
    assert preview["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.affected.outputs.stacks) }}"
    assert "role-to-assume" in _uses(preview, "aws-actions/configure-aws-credentials")["with"]
    pulumi = _uses(preview, "pulumi/actions")["with"]
    assert (pulumi["command"], pulumi["comment-on-pr"], pulumi["diff"]) == ("preview", True, True)


def test_main_deploys_the_environment_stacks_and_promotion_has_an_approval_per_wave() -> None:
    main = _workflow("main.yml")
    assert main[True] == {"push": {"branches": ["main"]}}
    assert _uses(main["jobs"]["up"], "pulumi/actions")["with"]["command"] == "up"
    promotion = _workflow("promote.yml")
    assert list(promotion[True]) == ["workflow_dispatch"]
    waves = [w.name for w in promote.read_waves_file(ROOT / "fleet" / "waves.yaml")]
    assert [promotion["jobs"][w]["environment"] for w in waves] == [f"promote-{w}" for w in waves]
    assert promotion["jobs"]["canary"]["needs"] == "dry-run" and promotion["jobs"]["rest"]["needs"] == "canary"
    for wave in waves:
        runs = " ".join(str(s.get("run", "")) for s in promotion["jobs"][wave]["steps"])
        assert f"--only-wave {wave}" in runs


# ---------------------------------------------------------------------------
# Bench (its functions only; `make bench` itself takes minutes)
# ---------------------------------------------------------------------------


def test_the_bench_generates_customer_stacks_that_fit_their_platform(tmp_path: Path) -> None:
    names = bench.generate_fleet(3, tmp_path)
    assert names == ["bench001", "bench002", "bench003"]
    assert stack_names(tmp_path) == ["bench001", "bench002", "bench003", "platform"]
    for name in names:
        stack = read_stack(name, tmp_path)
        load_config(stack.config, stack.secret_keys)
    platform_stack = read_stack("platform", tmp_path)
    assert load_config(platform_stack.config, platform_stack.secret_keys).platform is not None
    # The generated fleet plans clean, capacity included (the nodePool limits grow with it).
    assert plan.main(["--all", "--jobs", "1", "--root", str(tmp_path), "--out", str(tmp_path / "out")]) == plan.EXIT_OK


def test_the_bench_measures_a_process_tree() -> None:
    measured = bench.measure([sys.executable, "-c", "import time; time.sleep(0.6)"], sample_every=0.1)
    assert measured.exit_code == 0 and 0.6 <= measured.seconds < 10
    assert measured.peak_rss_mib > 1 and measured.peak_pss_mib > 1


def _timing(seconds: float) -> dict[str, Any]:
    return {"runs": [], "medianSeconds": seconds, "peakPssMib": 180.0, "peakRssMib": 200.0}


def _fleet_row(customers: int, seconds: float, pss: float) -> dict[str, Any]:
    return {"customers": customers, "stacks": customers + 1, "seconds": seconds, "peak_pss_mib": pss,
            "peak_rss_mib": 190.0, "exit_code": 0, "perStackSeconds": round(seconds / (customers + 1), 3)}


@pytest.mark.parametrize(("one", "fleet25", "at50", "at200", "memory200", "missed"), [
    (1.3, 3.9, 7.0, 26.0, 340.0, []),
    (1.7, 3.9, 7.0, 26.0, 340.0, ["one stack (warm) / floor"]),
    (1.3, 4.0, 7.0, 26.0, 340.0, ["25 stacks / one stack (warm)"]),
    (1.3, 3.9, 7.0, 31.5, 340.0, ["per-stack cost at 200 / at 50 (warm)"]),
    (1.3, 3.9, 7.0, 26.0, 420.0, ["peak memory at 200 / at 50 (warm)"]),
])
def test_the_bench_judges_each_target(one: float, fleet25: float, at50: float, at200: float, memory200: float,
                                      missed: list[str]) -> None:
    data = bench.summarize("acme", _timing(1.6), _timing(one), _timing(2.0), [
        _fleet_row(25, fleet25, 300.0), _fleet_row(50, at50, 320.0), _fleet_row(200, at200, memory200)])
    assert [t["what"] for t in data["targets"] if not t["met"]] == missed
    text = bench.report_markdown(data)
    assert f"| 200 | warm | {at200:.2f} | {at200 / 201:.3f} | {memory200:.0f} | 190 |" in text
    assert ("MISSED" in text) == bool(missed)
    json.dumps(data)


def test_the_cold_fleet_ratio_is_reported_with_its_cause_and_not_judged() -> None:
    rows = [{**_fleet_row(n, s, 300.0), "caches": caches} for n, s, caches in (
        (25, 3.8, "warm"), (25, 9.0, "cold"), (50, 6.0, "warm"), (50, 15.0, "cold"),
        (200, 19.0, "warm"), (200, 50.0, "cold"))]
    data = bench.summarize("acme", _timing(1.8), _timing(1.35), _timing(1.7), rows, first=_timing(2.5))
    assert data["ratios"]["fleet25ToOneStack_cold"] == 3.6
    assert [t["what"] for t in data["targets"]] == [
        "one stack (warm) / floor", "25 stacks / one stack (warm)", "per-stack cost at 200 / at 50 (warm)",
        "peak memory at 200 / at 50 (warm)", "per-stack cost at 200 / at 50 (cold)",
        "peak memory at 200 / at 50 (cold)"]
    assert all(t["met"] for t in data["targets"])
    text = bench.report_markdown(data)
    assert "25 stacks take 3.60 x one stack's first plan" in text
    assert f"{15.0 / 51 - 6.0 / 51:.3f} s a stack more at 50 stacks" in text


def test_a_fleet_is_timed_unsampled_and_its_memory_sampled_in_a_run_of_its_own(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, Any]] = []

    def measured(argv: list[str], cwd: Path = ROOT, env: Optional[dict[str, str]] = None,
                 sample_every: Optional[float] = None) -> bench.Measurement:
        assert env is not None
        calls.append((Path(argv[argv.index("--out") + 1]).name, Path(env["OFFLINE_PLAN_CACHE"]).name, sample_every))
        return bench.Measurement(9.0 if sample_every else 2.0 + len(calls) / 10, 300.0 if sample_every else 150.0,
                                 170.0 if sample_every else 160.0, 0)

    monkeypatch.setattr(bench, "measure", measured)
    cold, warm = bench._fleet_rows(tmp_path, 25, 3)
    # Each cold run starts with every cache empty; the warm runs reuse what the first left.
    assert calls == [("out-cold-0", "cache-cold-0", None), ("out-cold-1", "cache-cold-1", None),
                     ("out-cold-2", "cache-cold-2", None), ("out-cold-3", "cache-cold-3", bench.SAMPLE_SECONDS),
                     *[("out-cold-0", "cache-cold-0", None)] * 3, ("out-cold-0", "cache-cold-0", bench.SAMPLE_SECONDS)]
    assert (cold["caches"], cold["runs"], cold["seconds"], cold["sampledSeconds"]) == ("cold", [2.1, 2.2, 2.3], 2.2, 9.0)
    assert (cold["peak_pss_mib"], cold["peak_rss_mib"], cold["perStackSeconds"]) == (300.0, 170.0, round(2.2 / 26, 3))
    assert (warm["caches"], warm["runs"], warm["seconds"]) == ("warm", [2.5, 2.6, 2.7], 2.6)
    assert [bench.fleet_runs(5, n) for n in (1, 50, 200)] == [3, 3, 1]


def test_the_bench_plots_time_and_memory_against_the_stack_count(tmp_path: Path) -> None:
    data = bench.summarize("acme", _timing(1.6), _timing(1.3), _timing(2.0),
                           [_fleet_row(1, 1.5, 200.0), _fleet_row(10, 2.5, 260.0)])
    bench.plot(data, tmp_path / "benchmark.png")
    assert (tmp_path / "benchmark.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_dry_run_fails_when_a_plan_fails_only_on_a_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    class PublicInstance(aws.rds.Instance):
        """A careless edit of components/postgres.py: only the policy pack catches it."""

        def __init__(self, resource_name: str, *args: Any, **kwargs: Any) -> None:
            kwargs["publicly_accessible"] = True
            super().__init__(resource_name, *args, **kwargs)

    monkeypatch.setattr(aws.rds, "Instance", PublicInstance)
    (result,) = promote.dry_run(["acme"], promote.Release("v1.3.0"))
    assert not result.ok
    assert result.violations == [
        "the offline plan fails: policy rds-not-public: aws:rds/instance:Instance acme-data-postgres-instance: "
        "publiclyAccessible is true: the database gets a public endpoint",
    ] * 2  # before and after the bump


def test_real_previews_and_ups_run_the_policy_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    class Stack:
        def preview(self, **kwargs: Any) -> Any:
            calls.append(("preview", kwargs))
            return SimpleNamespace(change_summary={})

        def up(self, **kwargs: Any) -> Any:
            calls.append(("up", kwargs))
            return SimpleNamespace(summary=SimpleNamespace(resource_changes={}))

    automation = promote.PulumiAutomation(ROOT)
    monkeypatch.setattr(automation, "_select", lambda stack: Stack())
    automation.preview("acme")
    automation.up("acme")
    assert [(step, kwargs["policy_packs"]) for step, kwargs in calls] == [
        ("preview", [str(ROOT / "policies")]), ("up", [str(ROOT / "policies")])]


def test_the_values_import_does_not_pin_six_images_with_one_digest() -> None:
    # A digest names one image manifest; the chart's single image.digest cannot be mapped.
    imported = onboard.import_values({"image": {"tag": "v1.2.0", "digest": "sha256:" + "ab" * 32}})
    assert imported.tenant == {"image": {"tag": "v1.2.0"}}
    assert [u.path for u in imported.unmapped] == ["image.digest"]
