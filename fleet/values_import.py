"""The Helm values import: map a customer's existing Helm values file (the chart's
documented layout) onto a `datafly:tenant` overlay, carry its secrets over as secrets, and
report every value not carried over, by key, with the reason.

Secret values are kept apart (`ValuesImport.secrets`): they are never put into the
overlay that becomes the stack file, never printed, and reach the stack only as Pulumi
secret config (fleet/onboard.py). Reasons and reports never quote a secret's value, nor a
URL's password.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from offline.run import safe_yaml
from stackconfig.workloads import RESERVED_ENV, SERVICE_DEFAULTS

_SERVICE_KEYS = tuple(SERVICE_DEFAULTS)
_HOST_ROLES = ("data", "app", "api")
_AUTOSCALING_KEYS = {
    "enabled": "enabled",
    "minReplicas": "minReplicas",
    "maxReplicas": "maxReplicas",
    "targetCPUUtilizationPercentage": "targetCPUUtilizationPercentage",
    "lagThreshold": "lagThreshold",
    "activationLagThreshold": "activationLagThreshold",
    # The chart's own names for the KEDA Kafka trigger's thresholds.
    "kafkaLagThreshold": "lagThreshold",
    "activationKafkaLagThreshold": "activationLagThreshold",
}
_ALB_CERTIFICATE = "alb.ingress.kubernetes.io/certificate-arn"
_ALB_SCHEME = "alb.ingress.kubernetes.io/scheme"
_INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
# Key names that hold credentials in charts; such values belong in a secret store.
_SECRETISH = re.compile(r"(secret|password|passwd|token|credential|api[-_]?key|private[-_]?key|encryption[-_]?key)",
                        re.IGNORECASE)
# Secrets the chart takes, by where they sit in a values file, and their stack setting
# (under `datafly:tenant.secrets.`). Vendor credentials are `vendorCredentials.<vendor>`.
_SECRET_CONFIG = {"jwtSecret": "jwtSecret", "encryptionKey": "encryptionKey"}
_SECRET_ENV = {"JWT_SECRET": "jwtSecret", "ENCRYPTION_KEY": "encryptionKey"}
_DATA_STORE_ENV = {"DATABASE_URL": "database", "REDIS_URL": "redis"}
SECRETS_PREFIX = "datafly:tenant.secrets."
# `scheme://user:password@host`: the password part.
_URL_PASSWORD = re.compile(r"(://[^/@:\s]*:)[^/@\s]*@")


# Where a customer's data moves: the new stack creates new, empty data stores.
DATA_MOVE = "README.md, section \"Moving a customer's data\""


class ValuesFileError(Exception):
    """The values file cannot be read: one line saying why and where."""


@dataclass(frozen=True)
class Unmapped:
    """A value of the Helm values file with no place in the stack file."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class SecretValue:
    """A secret carried over: from `source` in the values file to the stack's secret
    config `key`. The value is never printed (repr hides it)."""

    source: str
    setting: tuple[str, ...]          # under datafly:tenant.secrets, e.g. ("vendorCredentials", "ga4")
    value: str = field(repr=False)

    @property
    def key(self) -> str:
        return SECRETS_PREFIX + ".".join(self.setting)

    @property
    def masked(self) -> str:
        return f"{'*' * 8} ({len(self.value)} characters)"


@dataclass
class ValuesImport:
    tenant: dict[str, Any] = field(default_factory=dict)   # overlay on `datafly:tenant` (no secrets)
    mapped: list[str] = field(default_factory=list)        # values-file paths imported
    unmapped: list[Unmapped] = field(default_factory=list)
    secrets: list[SecretValue] = field(default_factory=list)

    def secret(self, source: str, setting: Sequence[str], value: Any) -> None:
        if not isinstance(value, str) or not value:
            self.skip(source, "expected a secret string (value not shown); not carried over")
            return
        for earlier in self.secrets:
            if earlier.setting == tuple(setting):
                same = "the same value" if earlier.value == value else "a different value (not shown)"
                self.skip(source, f"{earlier.source} already carries {earlier.key} over; this is {same} and is ignored")
                return
        self.secrets.append(SecretValue(source, tuple(setting), value))
        self.mapped.append(source)

    def with_secrets(self) -> dict[str, Any]:
        """The overlay plus the secrets, for validation only: never written."""
        merged: dict[str, Any] = json.loads(json.dumps(self.tenant))
        for item in self.secrets:
            node = merged.setdefault("secrets", {})
            for key in item.setting[:-1]:
                node = node.setdefault(key, {})
            node[item.setting[-1]] = item.value
        return merged

    def put(self, source: str, target: Sequence[str], value: Any) -> None:
        node = self.tenant
        for key in target[:-1]:
            node = node.setdefault(key, {})
        node[target[-1]] = value
        self.mapped.append(source)

    def skip(self, source: str, reason: str) -> None:
        self.unmapped.append(Unmapped(source, reason))


def _scrub(value: Any) -> Any:
    """The value as it may be shown: secret-looking keys' values and URL passwords hidden."""
    if isinstance(value, Mapping):
        return {str(k): "[secret]" if _SECRETISH.search(str(k)) or str(k).lower() == "url" else _scrub(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return _URL_PASSWORD.sub(r"\1[secret]@", value)
    return value


def _shown(value: Any) -> str:
    text = json.dumps(_scrub(value), default=str)
    return text if len(text) <= 60 else text[:57] + "..."


_SECRET_UNKNOWN = "looks like a secret, and no stack setting takes it: not carried over (value not shown)"


def _unknown(source: str, value: Any, result: ValuesImport, what: str = "no stack setting corresponds to it") -> None:
    if _SECRETISH.search(source.rsplit(".", 1)[-1]):
        result.skip(source, _SECRET_UNKNOWN)
    else:
        result.skip(source, f"{what} (value {_shown(value)})")


def _data_store(source: str, store: str, result: ValuesImport) -> None:
    what = "an RDS PostgreSQL database" if store == "database" else "an ElastiCache replication group"
    result.skip(source, f"not carried over (value not shown): the new stack creates {what} of its own, with "
                        f"generated credentials; to move the data see {DATA_MOVE}")


def _store_block(key: str, value: Any, result: ValuesImport) -> None:
    if not isinstance(value, Mapping):
        _data_store(key, key, result)
        return
    for name, item in value.items():
        source = f"{key}.{name}"
        if name in ("url", "uri", "connectionString") or _SECRETISH.search(str(name)):
            _data_store(source, key, result)
        else:
            result.skip(source, f"the new stack's {key} is configured under datafly:tenant."
                                f"{'postgres' if key == 'database' else 'redis'} (value {_shown(item)})")


def _jwt(value: Any, result: ValuesImport) -> None:
    if not isinstance(value, Mapping):
        result.secret("jwt", ("jwtSecret",), value)
        return
    for name, item in value.items():
        if name == "secret":
            result.secret("jwt.secret", ("jwtSecret",), item)
        else:
            _unknown(f"jwt.{name}", item, result, "the services' JWT settings are fixed by the release")


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
            result.secret(key, (_SECRET_CONFIG[key],), value)
        elif key == "jwt":
            _jwt(value, result)
        elif key in ("database", "redis"):
            _store_block(key, value, result)
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
        elif name in _SECRET_ENV:
            result.secret(f"{service}.env.{name}", (_SECRET_ENV[name],), item)
        elif name in _DATA_STORE_ENV:
            _data_store(source, _DATA_STORE_ENV[name], result)
        elif name in RESERVED_ENV:
            result.skip(source, f"{name} is set by the program from the customer's secrets and config; dropped")
        elif _SECRETISH.search(name):
            result.skip(source, f"{name} {_SECRET_UNKNOWN}")
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
        result.skip(key, "expected a mapping of secrets (value not shown); not carried over")
        return
    for name, item in value.items():
        source = f"{key}.{name}"
        if key == "vendorCredentials":
            result.secret(source, ("vendorCredentials", str(name)), item)
        elif name in _SECRET_CONFIG:
            result.secret(source, (_SECRET_CONFIG[str(name)],), item)
        elif name == "vendorCredentials" and isinstance(item, Mapping):
            for vendor, credential in item.items():
                result.secret(f"{source}.{vendor}", ("vendorCredentials", str(vendor)), credential)
        elif name == "existingSecret" and isinstance(item, str):
            result.put(source, ("secrets", "existing", "kubernetesSecret"), item)
        else:
            result.skip(source, _SECRET_UNKNOWN)


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



def read_values(path: Path) -> Mapping[str, Any]:
    """The values file as a mapping; ValuesFileError (one line, with the file and where)
    when it is unreadable, binary, not UTF-8, an alias bomb, repeats a key or is not YAML."""
    try:
        document = safe_yaml.load_file(path)
    except OSError as exc:
        raise ValuesFileError(f"cannot read values file {path}: {exc.strerror}") from None
    except safe_yaml.YamlFileError as exc:
        raise ValuesFileError(f"values file {exc}") from None
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise ValuesFileError(f"values file {path}: expected a mapping at the top level")
    return document


def lookup(values: Any, source: str) -> Any:
    """The value at a values-file path as the import names it (`jwt.secret`,
    `identityHub.env.ENCRYPTION_KEY` for both env forms); KeyError when absent."""
    node = values
    for part in source.split("."):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, list):
            named = [e for e in node if isinstance(e, Mapping) and e.get("name") == part]
            if not named:
                raise KeyError(source)
            node = named[0].get("value")
        else:
            raise KeyError(source)
    return node
