"""Onboard a customer: create `stacks/Pulumi.<name>.yaml` from a template, optionally
importing the customer's existing Helm values file.

    python -m fleet.onboard NAME DOMAIN [--values helm-values.yaml] [--platform org/datafly/platform]

The new stack runs on the shared platform stack, with the documented service defaults
and the release most of the fleet runs. The values import (fleet/values_import.py)
carries the customer's secrets over as Pulumi secret config, never into the stack file
and never onto the terminal: through the Automation API where the Pulumi CLI is
installed, otherwise as `pulumi config set --secret` commands that read each value from
the values file. Every value not carried over is listed with the reason.

Before writing anything the new stack is validated, on its own and against the fleet
(offline/check/fleet_checks.py: customer, namespace, hosts, domain, region, shared Kafka).

Exit codes: 0 created; 2 refused (existing or invalid name, invalid domain, unreadable
values file, imported values that fail the stack configuration's validation, or a clash
with another stack).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, TextIO

from pydantic import TypeAdapter, ValidationError

from offline.check.fleet_checks import FleetEntry, check_fleet, load_entries, problems_for
from offline.run.stackfile import ROOT, stack_path
from stackconfig import ConfigError, load_config
from stackconfig.types import CustomerName, Domain, StackName

from .stack_writer import fleet_release, platform_environment, platform_region, render, tenant_config, tenant_documents
from .values_import import SecretValue, ValuesFileError, ValuesImport, import_values, read_values

__all__ = ["import_values", "onboard", "main", "OnboardError", "ValuesImport"]

EXIT_OK, EXIT_REFUSED = 0, 2
DEFAULT_PLATFORM = "datafly/datafly/platform"
# How the printed commands run this project's Python (the Makefile's virtualenv).
PYTHON = ".venv/bin/python"


class OnboardError(Exception):
    """Refused: one line saying why."""


# ---------------------------------------------------------------------------
# The stack file
# ---------------------------------------------------------------------------


def _first_error(adapter: TypeAdapter[str], value: str) -> Optional[str]:
    try:
        adapter.validate_python(value)
    except ValidationError as exc:
        message = str(exc.errors()[0]["msg"])
        return message.removeprefix("Value error, ")
    return None


_NAME = TypeAdapter(CustomerName)
_DOMAIN = TypeAdapter(Domain)
_STACK = TypeAdapter(StackName)


def check_new(name: str, domain: str, platform: str, root: Path) -> None:
    """Refuse a name or domain the stack configuration would refuse, or that exists."""
    problem = _first_error(_NAME, name)
    if problem:
        raise OnboardError(f"invalid customer name {name!r}: {problem}")
    problem = _first_error(_DOMAIN, domain)
    if problem:
        raise OnboardError(f"invalid domain {domain!r}: {problem}")
    problem = _first_error(_STACK, platform)
    if problem:
        raise OnboardError(f"invalid platform stack {platform!r}: {problem}")
    path = stack_path(name, root)
    if path.exists():
        raise OnboardError(f"stack {name!r} already exists ({path.relative_to(root)}); pick another name")
    for stack, tenant in tenant_documents(root).items():
        if tenant.get("name") == name:
            raise OnboardError(f"customer name {name!r} is already used by stack {stack!r} "
                               f"(namespace customer-{name} would be shared)")



@dataclass
class Onboarded:
    path: Path
    tag: str
    imported: Optional[ValuesImport]


def onboard(name: str, domain: str, root: Path = ROOT, platform: str = DEFAULT_PLATFORM,
            values: Optional[Path] = None, tag: Optional[str] = None, region: Optional[str] = None) -> Onboarded:
    """Create the stack file; raises OnboardError (nothing written) when refused.
    Secrets carried over are in `Onboarded.imported.secrets`, never in the file."""
    check_new(name, domain, platform, root)
    imported: Optional[ValuesImport] = None
    if values is not None:
        try:
            imported = import_values(read_values(values))
        except ValuesFileError as exc:
            raise OnboardError(str(exc)) from None
    release = tag or fleet_release(root)
    try:
        environment = platform_environment(root, platform)
    except ValueError as exc:
        raise OnboardError(str(exc)) from None
    tenant = tenant_config(name, domain, platform, release, imported.tenant if imported else None,
                           environment=environment)
    region = region or platform_region(root, platform)
    # Validated with the secrets in (as Pulumi would hand them over, marked secret), so a
    # carried-over key that the model refuses (too short, not hex) is refused here.
    candidate = tenant_config(name, domain, platform, release, imported.with_secrets() if imported else None,
                              environment=environment)
    raw = {"aws:region": region, "datafly:tenant": json.dumps(candidate)}
    try:
        config = load_config(raw, {"datafly:tenant"})
    except ConfigError as exc:
        source = f" (from {values})" if values is not None else ""
        raise OnboardError(f"the new stack would not validate{source}: " + "; ".join(str(p) for p in exc.problems)) from None
    clashes = problems_for(name, check_fleet([*load_entries(root, skip=(name,)), FleetEntry(name, config, raw)]))
    if clashes:
        raise OnboardError("the new stack clashes with the fleet: " + "; ".join(str(p) for p in clashes))
    path = stack_path(name, root)
    path.write_text(render(name, platform, region, tenant, values.name if values else None), encoding="utf-8")
    return Onboarded(path, release, imported)


def _set_with_automation(stack: str, root: Path, secrets: Sequence[SecretValue]) -> None:
    """`pulumi config set --secret --path` for each, through the Automation API: the value
    goes to the CLI, which encrypts it with the stack's secrets provider."""
    from pulumi import automation as auto  # only with a CLI; the offline paths never need it

    workspace = auto.create_or_select_stack(stack_name=stack, work_dir=str(root))
    for item in secrets:
        workspace.set_config(item.key, auto.ConfigValue(value=item.value, secret=True), path=True)


def secret_commands(stack: str, values: Path, secrets: Sequence[SecretValue]) -> list[str]:
    """One shell line per secret: the value is read from the values file and piped into
    `pulumi config set`, which reads a value from stdin when none is given
    (https://www.pulumi.com/docs/iac/cli/commands/pulumi_config_set/): it is never on a
    command line, in the shell history or on the terminal."""
    lines = []
    for item in secrets:
        lines.append(f"{PYTHON} -m fleet.secret_value "
                     f"{shlex.quote(str(values))} {shlex.quote(item.source)} | "
                     f"pulumi config set --secret --path {shlex.quote(item.key)} --stack {shlex.quote(stack)}"
                     f"    # {item.source}: {item.masked}")
    return lines


def report_secrets(stack: str, values: Path, secrets: Sequence[SecretValue], root: Path, out: TextIO) -> None:
    if not secrets:
        return
    if shutil.which("pulumi"):
        try:
            _set_with_automation(stack, root, secrets)
        except Exception as exc:  # noqa: BLE001 - any CLI failure: fall back to the commands
            # The CLI's message may quote the command, never a value: values go over stdin/args
            # of set_config only; keep just its first line.
            print(f"The Pulumi CLI could not set the secrets ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
                  "set them with:", file=out)
        else:
            print(f"Set {len(secrets)} secret(s) as Pulumi secret config of stack {stack} (Automation API, "
                  "secret=True): " + ", ".join(f"{s.key} (from {s.source})" for s in secrets) + ".", file=out)
            return
    else:
        print(f"Carried over {len(secrets)} secret(s); no Pulumi CLI here, so none is stored yet. "
              "Nothing secret was written to the stack file. Run, where the Pulumi CLI is logged in:", file=out)
    for line in secret_commands(stack, values, secrets):
        print(f"  {line}", file=out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet.onboard", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="customer id (DNS label, 2-20 characters); the stack is named after it")
    parser.add_argument("domain", help="customer domain; hosts default to data/app/api.<domain>")
    parser.add_argument("--values", type=Path, help="the customer's Helm values file to import")
    parser.add_argument("--platform", default=DEFAULT_PLATFORM, help=f"platform stack (default {DEFAULT_PLATFORM})")
    parser.add_argument("--tag", help="release tag (default: the release most customer stacks run)")
    parser.add_argument("--region", help="AWS region (default: the platform stack's region)")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        done = onboard(args.name, args.domain, args.root, args.platform, args.values, args.tag, args.region)
    except OnboardError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    shown = done.path.relative_to(args.root) if done.path.is_relative_to(args.root) else done.path
    print(f"Created {shown} (customer {args.name}, domain {args.domain}, release {done.tag}, "
          f"platform {args.platform}).")
    if done.imported is not None:
        print(f"Imported {len(done.imported.mapped)} value(s) from {args.values}; "
              f"{len(done.imported.unmapped)} not imported:")
        for item in done.imported.unmapped:
            print(f"  {item}")
        assert args.values is not None
        report_secrets(args.name, args.values, done.imported.secrets, args.root, sys.stdout)
    print(f"Next: make plan STACK={args.name}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
