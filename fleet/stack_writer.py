"""The new customer's stack file: its `datafly:tenant` block (documented defaults, the
fleet's release, the values import's overlay) rendered like the example stacks."""

from __future__ import annotations

import copy
import io
import json
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from offline.run.stackfile import ROOT, StackFileError, read_document, stack_names, stack_path

DEFAULT_REGION = "us-east-1"
# Used only when no customer stack exists yet to take the fleet's release from.
FALLBACK_TAG = "v1.2.0"


def tenant_documents(root: Path) -> dict[str, dict[str, Any]]:
    """The `datafly:tenant` mapping of every customer stack file, by stack name."""
    documents = {}
    for stack in stack_names(root):
        try:
            document = read_document(stack_path(stack, root), root)
        except StackFileError:
            continue  # its own plan reports it
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
        str(t["image"]["tag"]) for t in tenant_documents(root).values()
        if isinstance(t.get("image"), dict) and t["image"].get("tag")
    )
    if not tags:
        return FALLBACK_TAG
    return max(tags, key=lambda t: (tags[t], _version_key(t)))


def platform_region(root: Path, platform: str) -> str:
    # A customer runs in its platform's region; read it when that stack lives here.
    path = stack_path(platform.rsplit("/", 1)[-1], root)
    if path.exists():
        try:
            document = read_document(path, root)
        except StackFileError:
            return DEFAULT_REGION  # the platform's own plan reports its file
        region = (document.get("config") or {}).get("aws:region")
        if isinstance(region, str):
            return region
    return DEFAULT_REGION


# Outputs of platform stacks that live outside this repository (offline/fixtures/<stack>.json).
FIXTURES = ROOT / "offline" / "fixtures"


def platform_environment(root: Path, platform: str) -> str:
    """The platform's `environment`, from its stack file when it lives here, else from its
    offline fixture: the customer's AWS names carry it, and the plan refuses a mismatch."""
    stack = platform.rsplit("/", 1)[-1]
    path = stack_path(stack, root)
    if path.exists():
        try:
            document = read_document(path, root)
        except StackFileError as exc:
            raise ValueError(str(exc)) from exc
        environment = ((document.get("config") or {}).get("datafly:platform") or {}).get("environment")
        if isinstance(environment, str):
            return environment
    fixture = FIXTURES / f"{stack}.json"
    if fixture.exists():
        environment = json.loads(fixture.read_text(encoding="utf-8")).get("outputs", {}).get("environment")
        if isinstance(environment, str):
            return environment
    raise ValueError(f"cannot tell the environment of platform stack {platform!r}: no stack file "
                     f"stacks/Pulumi.{stack}.yaml here and no offline fixture")


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

