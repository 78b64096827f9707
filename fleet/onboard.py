"""Onboard a customer: create `stacks/Pulumi.<name>.yaml` from a template, optionally
importing the customer's existing Helm values file.

    python -m fleet.onboard NAME DOMAIN [--values helm-values.yaml] [--platform org/datafly/platform]

The new stack runs on the shared platform stack, with the documented service defaults
and the release most of the fleet runs. Values the Helm chart had that this program
takes elsewhere (secrets) or not at all are listed, never copied.

Exit codes: 0 created; 2 refused (existing or invalid name, invalid domain, unreadable
values file, or imported values that fail the stack configuration's validation).
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import re
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from offline.plan import FIXTURES
from offline.stackfile import ROOT, stack_names, stack_path
from stackconfig import ConfigError, load_config
from stackconfig.model import RESERVED_ENV, SERVICE_DEFAULTS
from stackconfig.types import CustomerName, Domain, StackName

EXIT_OK, EXIT_REFUSED = 0, 2
DEFAULT_PLATFORM = "datafly/datafly/platform"
DEFAULT_REGION = "us-east-1"
# Used only when no customer stack exists yet to take the fleet's release from.
FALLBACK_TAG = "v1.2.0"

_SERVICE_KEYS = tuple(SERVICE_DEFAULTS)
_HOST_ROLES = ("data", "app", "api")
_AUTOSCALING_KEYS = {
    "enabled": "enabled",
    "minReplicas": "minReplicas",
    "maxReplicas": "maxReplicas",
    "targetCPUUtilizationPercentage": "targetCPUUtilizationPercentage",
    "lagThreshold": "lagThreshold",
    "activationLagThreshold": "activationLagThreshold",
}
_ALB_CERTIFICATE = "alb.ingress.kubernetes.io/certificate-arn"
_ALB_SCHEME = "alb.ingress.kubernetes.io/scheme"
_INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
# Key names that hold credentials in charts; such values belong in a secret store.
_SECRETISH = re.compile(r"(secret|password|passwd|token|credential|api[-_]?key|private[-_]?key|encryption[-_]?key)",
                        re.IGNORECASE)
_SECRET_CONFIG = {
    "jwtSecret": "datafly:tenant.secrets.jwtSecret",
    "encryptionKey": "datafly:tenant.secrets.encryptionKey",
}


class OnboardError(Exception):
    """Refused: one line saying why."""


@dataclass(frozen=True)
class Unmapped:
    """A value of the Helm values file with no place in the stack file."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class ValuesImport:
    tenant: dict[str, Any] = field(default_factory=dict)   # overlay on `datafly:tenant`
    mapped: list[str] = field(default_factory=list)        # values-file paths imported
    unmapped: list[Unmapped] = field(default_factory=list)

    def put(self, source: str, target: Sequence[str], value: Any) -> None:
        node = self.tenant
        for key in target[:-1]:
            node = node.setdefault(key, {})
        node[target[-1]] = value
        self.mapped.append(source)

    def skip(self, source: str, reason: str) -> None:
        self.unmapped.append(Unmapped(source, reason))


def _shown(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _secret_reason(path: str) -> str:
    return (f"looks like a secret: not copied into the stack file; store it with "
            f"`pulumi config set --secret --path '{path}' <value>` or in Secrets Manager")


def _unknown(source: str, value: Any, result: ValuesImport, what: str = "no stack setting corresponds to it") -> None:
    if _SECRETISH.search(source.rsplit(".", 1)[-1]):
        result.skip(source, "looks like a secret: not copied into the stack file; keep it in Secrets Manager")
    else:
        result.skip(source, f"{what} (value {_shown(value)})")


def import_values(values: Mapping[str, Any]) -> ValuesImport:
    """Map a Helm values document (the chart's documented layout: `image`, one block
    per service with `replicas`/`env`/`resources`, `ingress` hosts and tls,
    `autoscaling` per service, `metricsProvider`) onto a `datafly:tenant` overlay."""
    result = ValuesImport()
    ingress = values.get("ingress")
    class_name = _ingress_class(ingress) if isinstance(ingress, Mapping) else None
    for key, value in values.items():
        key = str(key)
        if key == "image":
            _image(value, result)
        elif key in _SERVICE_KEYS:
            _service(key, value, result)
        elif key == "ingress":
            _ingress(value, class_name, result)
        elif key == "autoscaling":
            _autoscaling(value, result)
        elif key == "metricsProvider":
            _metrics_provider("metricsProvider", value, result)
        elif key == "existingSecret":
            if isinstance(value, str) and value:
                result.put(key, ("secrets", "existing", "kubernetesSecret"), value)
            else:
                result.skip(key, f"expected the name of a Kubernetes Secret (value {_shown(value)})")
        elif key in _SECRET_CONFIG:
            result.skip(key, _secret_reason(_SECRET_CONFIG[key]))
        elif key in ("secrets", "vendorCredentials"):
            _secrets(key, value, result)
        else:
            _unknown(key, value, result)
    return result


def _image(value: Any, result: ValuesImport) -> None:
    if not isinstance(value, Mapping):
        result.skip("image", f"expected a mapping (value {_shown(value)})")
        return
    targets = {"repository": "registry", "registry": "registry", "tag": "tag", "pullPolicy": "pullPolicy"}
    for key, item in value.items():
        source = f"image.{key}"
        if key == "digest":
            # The chart's one digest would pin six different images; a digest names one.
            result.skip(source, "one digest cannot pin six images; set image.digests.<service> per image")
        elif key == "pullSecrets":
            result.skip(source, "no stack setting for image pull secrets (the Deployments reference none)")
        elif key == "tag" and not isinstance(item, str):
            # YAML reads `tag: 1.10` as the number 1.1: guessing the string would deploy the wrong image.
            result.skip(source, f"is a number ({_shown(item)}), not a string: quote it in the values file")
        elif key in targets:
            result.put(source, ("image", targets[str(key)]), item)
        else:
            _unknown(source, item, result)


def _service(service: str, value: Any, result: ValuesImport) -> None:
    if not isinstance(value, Mapping):
        result.skip(service, f"expected a mapping (value {_shown(value)})")
        return
    for key, item in value.items():
        source = f"{service}.{key}"
        if key == "replicas":
            result.put(source, ("services", service, "replicas"), item)
        elif key == "env":
            _env(service, item, result)
        elif key == "resources":
            _resources(service, item, result)
        elif key == "autoscaling":
            _service_autoscaling(service, source, item, result)
        else:
            _unknown(source, item, result)


def _env_items(value: Any) -> list[tuple[str, Any, str]]:
    """(name, value, source-suffix) for both `env: {NAME: value}` and the Kubernetes
    `env: [{name, value}]` form."""
    if isinstance(value, Mapping):
        return [(str(k), v, str(k)) for k, v in value.items()]
    if isinstance(value, list):
        items = []
        for index, entry in enumerate(value):
            if isinstance(entry, Mapping) and "name" in entry:
                raw = entry.get("value") if set(entry) <= {"name", "value"} else dict(entry)
                items.append((str(entry["name"]), raw, str(index)))
            else:
                items.append(("", entry, str(index)))
        return items
    return []


def _env(service: str, value: Any, result: ValuesImport) -> None:
    if not isinstance(value, (Mapping, list)):
        result.skip(f"{service}.env", f"expected a mapping or a list (value {_shown(value)})")
        return
    for name, item, suffix in _env_items(value):
        source = f"{service}.env.{suffix}"
        if not name:
            result.skip(source, f"expected {{name, value}} (value {_shown(item)})")
        elif isinstance(item, dict):
            result.skip(source, f"{name} takes its value from elsewhere (valueFrom); the stack sets literal values only")
        elif service == "ingestionGateway" and name == "CORS_ORIGINS":
            origins = [o.strip() for o in str(item).split(",") if o.strip()]
            result.put(source, ("services", service, "corsOrigins"), origins)
        elif service == "ingestionGateway" and name == "COOKIE_DOMAIN":
            result.put(source, ("services", service, "cookieDomain"), str(item))
        elif name in RESERVED_ENV:
            result.skip(source, f"{name} is set by the program from the customer's secrets and config; dropped")
        elif _SECRETISH.search(name):
            result.skip(source, f"{name} looks like a secret: not copied into the stack file; keep it in Secrets Manager")
        else:
            # Env values are strings in a pod spec; YAML may have read `8080` as a number.
            text = item if isinstance(item, str) else json.dumps(item)
            result.put(source, ("services", service, "env", name), text)


def _resources(service: str, value: Any, result: ValuesImport) -> None:
    if not isinstance(value, Mapping):
        result.skip(f"{service}.resources", f"expected a mapping (value {_shown(value)})")
        return
    for group, amounts in value.items():
        source = f"{service}.resources.{group}"
        if group not in ("requests", "limits") or not isinstance(amounts, Mapping):
            _unknown(source, amounts, result)
            continue
        for resource, amount in amounts.items():
            leaf = f"{source}.{resource}"
            if resource in ("memory", "cpu"):
                # Helm accepts `cpu: 1`; the stack file takes quantities as strings.
                text = amount if isinstance(amount, str) else format(amount, "g")
                result.put(leaf, ("services", service, "resources", str(group), str(resource)), text)
            else:
                result.skip(leaf, f"only cpu and memory are managed per service (value {_shown(amount)})")


def _service_autoscaling(service: str, source: str, value: Any, result: ValuesImport) -> None:
    if not isinstance(value, Mapping):
        result.skip(source, f"expected a mapping (value {_shown(value)})")
        return
    for key, item in value.items():
        leaf = f"{source}.{key}"
        if key in _AUTOSCALING_KEYS:
            result.put(leaf, ("autoscaling", service, _AUTOSCALING_KEYS[str(key)]), item)
        elif key == "targetMemoryUtilizationPercentage":
            result.skip(leaf, "services scale on CPU and Kafka consumer lag only")
        else:
            _unknown(leaf, item, result)


def _autoscaling(value: Any, result: ValuesImport) -> None:
    if not isinstance(value, Mapping):
        result.skip("autoscaling", f"expected a mapping (value {_shown(value)})")
        return
    for key, item in value.items():
        source = f"autoscaling.{key}"
        if key in _SERVICE_KEYS:
            _service_autoscaling(str(key), source, item, result)
        elif key == "metricsProvider":
            _metrics_provider(source, item, result)
        elif key in ("pollingInterval", "cooldownPeriod"):
            result.put(source, ("autoscaling", str(key)), item)
        else:
            _unknown(source, item, result)


def _metrics_provider(source: str, value: Any, result: ValuesImport) -> None:
    result.put(source, ("autoscaling", "metricsProvider"), value)


def _secrets(key: str, value: Any, result: ValuesImport) -> None:
    if not isinstance(value, Mapping):
        result.skip(key, _secret_reason("datafly:tenant.secrets"))
        return
    for name, item in value.items():
        source = f"{key}.{name}"
        if key == "vendorCredentials":
            result.skip(source, _secret_reason(f"datafly:tenant.secrets.vendorCredentials.{name}"))
        elif name in _SECRET_CONFIG:
            result.skip(source, _secret_reason(_SECRET_CONFIG[str(name)]))
        elif name == "vendorCredentials" and isinstance(item, Mapping):
            for vendor in item:
                result.skip(f"{source}.{vendor}",
                            _secret_reason(f"datafly:tenant.secrets.vendorCredentials.{vendor}"))
        elif name == "existingSecret" and isinstance(item, str):
            result.put(source, ("secrets", "existing", "kubernetesSecret"), item)
        else:
            result.skip(source, "looks like a secret: not copied into the stack file; keep it in Secrets Manager")


def _ingress_class(ingress: Mapping[str, Any]) -> Optional[str]:
    for key in ("className", "ingressClassName", "class"):
        if isinstance(ingress.get(key), str):
            return str(ingress[key])
    annotations = ingress.get("annotations")
    if isinstance(annotations, Mapping) and isinstance(annotations.get(_INGRESS_CLASS_ANNOTATION), str):
        return str(annotations[_INGRESS_CLASS_ANNOTATION])
    return None


def _ingress(value: Any, class_name: Optional[str], result: ValuesImport) -> None:
    if not isinstance(value, Mapping):
        result.skip("ingress", f"expected a mapping (value {_shown(value)})")
        return
    effective = class_name or "alb"
    for key, item in value.items():
        source = f"ingress.{key}"
        if key == "enabled":
            if item is not True:
                result.skip(source, "the program always creates the customer's Ingress")
        elif key in ("className", "ingressClassName", "class"):
            if item in ("alb", "nginx"):
                result.put(source, ("ingress", "className"), item)
            else:
                result.skip(source, f"only the alb and nginx classes are supported (value {_shown(item)})")
        elif key == "annotations":
            _annotations(item, result)
        elif key == "hosts":
            _hosts(item, result)
        elif key == "tls":
            _tls(item, effective, result)
        else:
            _unknown(source, item, result)


def _annotations(value: Any, result: ValuesImport) -> None:
    if not isinstance(value, Mapping):
        result.skip("ingress.annotations", f"expected a mapping (value {_shown(value)})")
        return
    for key, item in value.items():
        source = f"ingress.annotations.{key}"
        if key == _ALB_CERTIFICATE:
            arns = [a.strip() for a in str(item).split(",") if a.strip()]
            result.put(source, ("ingress", "tls", "certificateArns"), arns)
        elif key == _ALB_SCHEME:
            result.put(source, ("ingress", "scheme"), item)
        elif key == _INGRESS_CLASS_ANNOTATION and item in ("alb", "nginx"):
            result.put(source, ("ingress", "className"), item)
        else:
            result.skip(source, f"Ingress annotations are set by the program (value {_shown(item)})")


def _hosts(value: Any, result: ValuesImport) -> None:
    if not isinstance(value, list):
        result.skip("ingress.hosts", f"expected a list (value {_shown(value)})")
        return
    for index, entry in enumerate(value):
        source = f"ingress.hosts.{index}"
        host = entry.get("host") if isinstance(entry, Mapping) else entry
        if not isinstance(host, str):
            result.skip(source, f"expected a host name (value {_shown(entry)})")
            continue
        role = host.split(".", 1)[0]
        if role not in _HOST_ROLES:
            result.skip(source, f"{host}: cannot tell which of data/app/api it serves; set "
                                "datafly:tenant.ingress.hosts.<data|app|api> by hand")
            continue
        result.put(source, ("ingress", "hosts", role), host)
        if isinstance(entry, Mapping):
            for extra in entry:
                if extra != "host":
                    result.skip(f"{source}.{extra}", "routes are fixed by the program (data → ingestion-gateway "
                                                     "/v1 and /d.js, app → management-ui, api → management-api)")


def _tls(value: Any, class_name: str, result: ValuesImport) -> None:
    if not isinstance(value, list):
        result.skip("ingress.tls", f"expected a list (value {_shown(value)})")
        return
    secret_name: Optional[str] = None
    for index, entry in enumerate(value):
        source = f"ingress.tls.{index}"
        if not isinstance(entry, Mapping):
            result.skip(source, f"expected {{secretName, hosts}} (value {_shown(entry)})")
            continue
        for key, item in entry.items():
            leaf = f"{source}.{key}"
            if key == "hosts":
                continue  # TLS always covers all three hosts
            if key != "secretName":
                _unknown(leaf, item, result)
            elif class_name != "nginx":
                result.skip(leaf, "the ALB terminates TLS with ACM certificates (ingress.tls.certificateArns, or "
                                  "discovered by host); a Kubernetes TLS secret is not used")
            elif secret_name is None:
                secret_name = str(item)
                result.put(leaf, ("ingress", "tls", "secretName"), secret_name)
            elif item != secret_name:
                result.skip(leaf, f"one TLS secret covers all hosts; {secret_name!r} is used")


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


def _tenant_documents(root: Path) -> dict[str, dict[str, Any]]:
    """The `datafly:tenant` mapping of every customer stack file, by stack name."""
    documents = {}
    for stack in stack_names(root):
        try:
            document = yaml.safe_load(stack_path(stack, root).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue
        tenant = (document.get("config") or {}).get("datafly:tenant")
        if isinstance(tenant, dict):
            documents[stack] = tenant
    return documents


def _version_key(tag: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"[0-9]+", tag))


def fleet_release(root: Path) -> str:
    """The release most customer stacks run (the newest on a tie): a new customer
    starts where the fleet is, not on a canary."""
    tags = Counter(
        str(t["image"]["tag"]) for t in _tenant_documents(root).values()
        if isinstance(t.get("image"), dict) and t["image"].get("tag")
    )
    if not tags:
        return FALLBACK_TAG
    return max(tags, key=lambda t: (tags[t], _version_key(t)))


def _platform_environment(root: Path, platform: str) -> str:
    """The platform's `environment`, from its stack file when it lives here, else from its
    offline fixture: the customer's AWS names carry it, and the plan refuses a mismatch."""
    stack = platform.rsplit("/", 1)[-1]
    path = stack_path(stack, root)
    if path.exists():
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        environment = ((document.get("config") or {}).get("datafly:platform") or {}).get("environment")
        if isinstance(environment, str):
            return environment
    fixture = FIXTURES / f"{stack}.json"
    if fixture.exists():
        environment = json.loads(fixture.read_text(encoding="utf-8")).get("outputs", {}).get("environment")
        if isinstance(environment, str):
            return environment
    raise OnboardError(f"cannot tell the environment of platform stack {platform!r}: no stack file "
                       f"stacks/Pulumi.{stack}.yaml here and no offline fixture")


def _platform_region(root: Path, platform: str) -> str:
    # A customer runs in its platform's region; read it when that stack lives here.
    path = stack_path(platform.rsplit("/", 1)[-1], root)
    if path.exists():
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        region = (document.get("config") or {}).get("aws:region")
        if isinstance(region, str):
            return region
    return DEFAULT_REGION


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
    for stack, tenant in _tenant_documents(root).items():
        if tenant.get("name") == name:
            raise OnboardError(f"customer name {name!r} is already used by stack {stack!r} "
                               f"(namespace customer-{name} would be shared)")


def _merge(base: dict[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# Key order of the generated `datafly:tenant` block, as in the example stacks.
_ORDER = ("name", "environment", "domain", "platform", "image", "secrets", "services", "autoscaling", "ingress")


def tenant_config(name: str, domain: str, platform: str, tag: str,
                  overlay: Optional[Mapping[str, Any]] = None, environment: str = "prod") -> dict[str, Any]:
    """The new customer's `datafly:tenant` block: documented defaults (left to the
    model), the customer's hosts and origins, then whatever the values import set."""
    base: dict[str, Any] = {
        "name": name,
        "environment": environment,
        "domain": domain,
        "platform": {"stack": platform},
        "image": {"tag": tag},
        "services": {
            "ingestionGateway": {"corsOrigins": [f"https://www.{domain}"], "cookieDomain": f".{domain}"},
        },
        "ingress": {"className": "alb"},
    }
    merged = _merge(base, overlay or {})
    return {k: merged[k] for k in sorted(merged, key=lambda k: _ORDER.index(k) if k in _ORDER else len(_ORDER))}


def render(name: str, platform: str, region: str, tenant: Mapping[str, Any], values_file: Optional[str]) -> str:
    document = CommentedMap()
    config = CommentedMap()
    config["aws:region"] = region
    config["datafly:tenant"] = _commented(tenant)
    document["config"] = config
    origin = f", imported from the Helm values {values_file}" if values_file else ""
    document.yaml_set_start_comment(
        f"{name}: onboarded with `make tenant` on the shared platform {platform}{origin}.\n"
        "Defaults not written here come from the documented service table (docs/configuration.md)."
    )
    dumper = YAML()
    dumper.indent(mapping=2, sequence=4, offset=2)
    dumper.width = 120
    stream = io.StringIO()
    dumper.dump(document, stream)
    return stream.getvalue()


def _commented(value: Any) -> Any:
    if isinstance(value, Mapping):
        out = CommentedMap()
        for key, item in value.items():
            out[key] = _commented(item)
        return out
    if isinstance(value, list):
        return [_commented(v) for v in value]
    return value


@dataclass
class Onboarded:
    path: Path
    tag: str
    imported: Optional[ValuesImport]


def onboard(name: str, domain: str, root: Path = ROOT, platform: str = DEFAULT_PLATFORM,
            values: Optional[Path] = None, tag: Optional[str] = None, region: Optional[str] = None) -> Onboarded:
    """Create the stack file; raises OnboardError (nothing written) when refused."""
    check_new(name, domain, platform, root)
    imported: Optional[ValuesImport] = None
    if values is not None:
        imported = import_values(_read_values(values))
    release = tag or fleet_release(root)
    tenant = tenant_config(name, domain, platform, release, imported.tenant if imported else None,
                           environment=_platform_environment(root, platform))
    region = region or _platform_region(root, platform)
    try:
        load_config({"aws:region": region, "datafly:tenant": json.dumps(tenant)})
    except ConfigError as exc:
        source = f" (from {values})" if values is not None else ""
        raise OnboardError(f"the new stack would not validate{source}: " + "; ".join(str(p) for p in exc.problems)) from None
    path = stack_path(name, root)
    path.write_text(render(name, platform, region, tenant, values.name if values else None), encoding="utf-8")
    return Onboarded(path, release, imported)


def _read_values(path: Path) -> Mapping[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OnboardError(f"cannot read values file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise OnboardError(f"values file {path} is not valid YAML: {' '.join(str(exc).split())}") from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise OnboardError(f"values file {path}: expected a mapping at the top level")
    return document


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
    print(f"Next: make plan STACK={args.name}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
