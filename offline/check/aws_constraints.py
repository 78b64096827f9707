"""AWS's own constraints in every plan: each recorded AWS resource, mapped to the
CloudFormation resource that would create it (offline/check/cfn_mapping.py), judged by cfn-lint.

cfn-lint (pinned in requirements-dev.txt) carries the CloudFormation registry's resource
schemas (patterns, enums, lengths, ranges, required properties; per region) and its own
extension data: the RDS engine versions that can still be created, the DB instance classes
orderable per region and engine, the ElastiCache node types and engines. One template per
stack is linted with cfn-lint's own rules (`Runner.validate_template`), so nothing here
copies AWS's constraints by hand.

Values that are unknown at plan time are never judged: secrets (redacted to "[secret]"
before this layer sees them, so no secret can appear in a message), Pulumi's unknown
sentinel, and every value the mock runtime fabricated as another resource's output (ids,
ARNs, auto-generated names; and the platform's outputs read through a StackReference).
Such a value becomes `{"Ref": "PlanUnknownN"}`, a template parameter (one per value, so
two unknowns never look equal) that cfn-lint cannot resolve: it checks no pattern on it and
does not report the property as missing.
"""

from __future__ import annotations

import ast
import difflib
import functools
import hashlib
import importlib.metadata
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from offline.check.cfn_mapping import MAPPINGS, MAPPINGS_NOT_APPLICABLE, CfnMapping, NoEquivalent
from offline.check.kubernetes import Violation
from offline.run.runner import STACK_REFERENCE_TYPE, PlanRun, Resource
from offline.run.stackfile import CACHE_ROOT
from stackconfig.aws_data import schema_directory

__all__ = ["CFN_LINT_VERSION", "check_aws_constraints", "cfn_template", "unmapped_types"]

CFN_LINT_VERSION = importlib.metadata.version("cfn-lint")
UNKNOWN_PARAMETER = "PlanUnknown"
REDACTED = "[secret]"
PULUMI_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# cfn-lint reports these as warnings, but AWS refuses the request: they fail the plan.
BLOCKING_WARNINGS = frozenset({
    "W3691",  # RDS engine version deprecated: CreateDBInstance rejects it
})
# Template-level findings about the synthetic template itself, not about any input.
IGNORED_RULES = frozenset({"E1001", "W2001"})

_FABRICATED_MIN = 8  # shorter output strings ("vpc", "6379") collide with real inputs


@dataclass(frozen=True)
class CfnResource:
    logical_id: str
    resource: Resource
    cfn_type: str
    properties: dict[str, Any]
    origins: dict[tuple[str, ...], str]  # CFN property path prefix -> pulumi input name
    only_rules: frozenset[str] | None = None  # a shadow: the rules that count on it


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)


def fabricated_values(run: PlanRun) -> frozenset[str]:
    """Strings that exist only because the mock runtime answered for a resource: its id
    and the outputs it did not get from its own inputs."""
    region = str(run.stack.config.get("aws:region", ""))
    found: set[str] = set()
    for resource in run.resources:
        # Kubernetes objects' names are known at plan time; their mock outputs only echo.
        if not (resource.type.startswith("aws:") or resource.type == STACK_REFERENCE_TYPE):
            continue
        own = set(_leaves(resource.inputs))
        for text in _leaves(resource.outputs):
            if len(text) >= _FABRICATED_MIN and text not in own and text != region and text != REDACTED:
                found.add(text)
        if resource.type == STACK_REFERENCE_TYPE:
            continue
        if resource.resource_id and len(resource.resource_id) >= _FABRICATED_MIN:
            found.add(resource.resource_id)
    return frozenset(found)


class Unknowns:
    """Hands out one template parameter per unknown value."""

    def __init__(self, fabricated: frozenset[str]) -> None:
        self.fabricated = fabricated
        self._next = itertools.count(1)
        self.names: list[str] = []
        # Fabricated values by their first _FABRICATED_MIN characters (none is shorter):
        # whether a string holds one is a lookup per position, not a search per value.
        self._by_prefix: dict[str, list[str]] = {}
        for text in fabricated:
            self._by_prefix.setdefault(text[:_FABRICATED_MIN], []).append(text)
        self._short = any(len(text) < _FABRICATED_MIN for text in fabricated)

    def _holds_fabricated(self, value: str) -> bool:
        if self._short:
            return any(f in value for f in self.fabricated)
        by_prefix = self._by_prefix
        for start in range(len(value) - _FABRICATED_MIN + 1):
            candidates = by_prefix.get(value[start:start + _FABRICATED_MIN])
            if candidates and any(value.startswith(f, start) for f in candidates):
                return True
        return False

    def new(self) -> dict[str, str]:
        name = f"{UNKNOWN_PARAMETER}{next(self._next)}"
        self.names.append(name)
        return {"Ref": name}

    def replace(self, value: Any) -> Any:
        if isinstance(value, str):
            if value in (REDACTED, PULUMI_UNKNOWN) or value in self.fabricated or self._holds_fabricated(value):
                return self.new()
            return value
        if isinstance(value, dict):
            if set(value) == {"Ref"} and str(value["Ref"]).startswith(UNKNOWN_PARAMETER):
                return self.new()  # a transform's own placeholder
            return {k: self.replace(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.replace(v) for v in value]
        return value


def _merge(existing: Any, new: Any) -> Any:
    if (isinstance(existing, list) and isinstance(new, list) and len(existing) == len(new) == 1
            and isinstance(existing[0], dict) and isinstance(new[0], dict)):
        return [{**existing[0], **new[0]}]
    return new


def to_cfn(resource: Resource, mapping: CfnMapping, logical_id: str, unknowns: Unknowns) -> CfnResource:
    properties: dict[str, Any] = {}
    origins: dict[tuple[str, ...], str] = {}
    inner: dict[str, Any] = {}
    for key, value in resource.inputs.items():
        prop = mapping.props.get(key)
        if prop is None:
            continue  # ignored (the mapping test holds that every input is accounted for)
        name, transform = (prop, None) if isinstance(prop, str) else prop
        converted = unknowns.replace(transform(value) if transform else value)
        target, prefix = (inner, (mapping.container,)) if mapping.container and key not in mapping.top_level \
            else (properties, ())
        target[name] = _merge(target[name], converted) if name in target else converted
        origins[(*prefix, name)] = key
    if mapping.container:
        properties[mapping.container] = inner
    for name in mapping.computed:
        properties.setdefault(name, unknowns.new())
    for name, value in mapping.fixed.items():
        properties.setdefault(name, value)
    return CfnResource(logical_id, resource, mapping.cfn_type, properties, origins)


def _logical_id(index: int, resource: Resource) -> str:
    return f"R{index}" + re.sub(r"[^A-Za-z0-9]", "", resource.name.title())[:200]


def cfn_resources(run: PlanRun, unknowns: Unknowns | None = None) -> list[CfnResource]:
    unknowns = unknowns or Unknowns(fabricated_values(run))
    out = []
    for index, resource in enumerate(run.resources):
        mapping = MAPPINGS.get(resource.type)
        if isinstance(mapping, CfnMapping) and resource.read_id is None:
            logical_id = _logical_id(index, resource)
            out.append(to_cfn(resource, mapping, logical_id, unknowns))
            for n, shadow in enumerate(mapping.shadows):
                as_mapping = CfnMapping(shadow.cfn_type, shadow.props, fixed=shadow.fixed)
                judged = to_cfn(resource, as_mapping, f"{logical_id}As{n}", unknowns)
                out.append(replace(judged, only_rules=shadow.rules))
    return out


def cfn_template(resources: Iterable[CfnResource], unknowns: Unknowns) -> dict[str, Any]:
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {name: {"Type": "String"} for name in unknowns.names},
        "Resources": {r.logical_id: {"Type": r.cfn_type, "Properties": r.properties} for r in resources},
    }


def unmapped_types(run: PlanRun) -> set[str]:
    return {r.type for r in run.resources if r.type.startswith("aws:") and r.type not in MAPPINGS}


@functools.lru_cache(maxsize=8)
def _runner(region: str) -> Any:
    # Loading cfn-lint's rules and schemas takes ~1-2 s: once per process and region.
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(cli_args=[], regions=[region]))


def lint(template: Mapping[str, Any], region: str) -> list[Any]:
    from cfnlint.decode.decode import decode_str

    decoded, errors = decode_str(json.dumps(template))
    if errors or decoded is None:
        return list(errors)
    return list(_runner(region).validate_template(decoded))


_DATA_FILE = re.compile(r"SchemaDetails\(\s*(?:module=)?(cfnlint\.data[\w.]+),\s*(?:filename=)?\"([^\"]+)\"")


@functools.lru_cache(maxsize=256)
def _rule_data(module_name: str) -> tuple[str, ...]:
    """The cfn-lint data files a rule loads (its SchemaDetails), read from its source."""
    # cfn-lint loads its rules from files, under their bare module name (not importable).
    stem = module_name.rsplit(".", 1)[-1]
    paths = sorted((schema_directory().parent.parent / "rules").rglob(f"{stem}.py"))
    try:
        text = paths[0].read_text(encoding="utf-8") if paths else ""
    except OSError:
        return ()
    return tuple(f"{m.replace('.', '/')}/{f}" for m, f in _DATA_FILE.findall(text))


def _rule_source(rule: Any, cfn_type: str = "", region: str = "") -> str:
    """Where a rule's constraint comes from: the rule, and the cfn-lint data it loads
    (an extension file, or else the registry schema of the resource type)."""
    data = _rule_data(type(rule).__module__)
    where = ", data " + ", ".join(data) if data else ""
    if not data and cfn_type:
        where = f", registry schema of {cfn_type} in cfnlint/data/schemas/providers/{region}.json"
    return f"cfn-lint {CFN_LINT_VERSION} rule {rule.id} ({rule.shortdesc}){where}"


_ONE_OF = re.compile(r"^(?P<value>.*?) is not one of (?P<allowed>\[.*\])(?P<rest>.*)$", re.S)


def shorten(message: str) -> str:
    """Long enum lists (orderable instance classes: hundreds) shown as a count and the
    closest allowed values."""
    match = _ONE_OF.match(message)
    if not match or len(message) < 300:
        return message
    try:
        allowed = [str(a) for a in ast.literal_eval(match["allowed"])]
        value = str(ast.literal_eval(match["value"]))
    except (ValueError, SyntaxError):
        return message[:300] + "..."
    close = difflib.get_close_matches(value, allowed, n=3, cutoff=0.6)
    hint = f" (closest: {', '.join(repr(c) for c in close)})" if close else ""
    return f"{match['value']} is not one of the {len(allowed)} allowed values{match['rest']}{hint}"


def _camel(part: str | int) -> str:
    return f"[{part}]" if isinstance(part, int) else "." + part[:1].lower() + part[1:]


def _field(resource: CfnResource, cfn_path: list[Any], message: str, rule_text: str) -> tuple[str, str]:
    """(pulumi input path, CFN property path) of a finding."""
    shown = ".".join(str(p) for p in cfn_path)
    for size in range(len(cfn_path), 0, -1):
        key = resource.origins.get(tuple(cfn_path[:size]))
        if key is not None:
            return key + "".join(_camel(p) for p in cfn_path[size:]), shown
    # A finding on the whole resource (e.g. a deprecated engine version): the input whose
    # value the message quotes; of several, the one the rule is named after.
    quoted = [
        (cfn_name, key) for (*_, cfn_name), key in resource.origins.items()
        if isinstance(value := resource.resource.inputs.get(key), (str, int))
        and not isinstance(value, bool) and f"'{value}'" in message
    ]
    if quoted:
        named = re.sub(r"[^a-z]", "", f"{rule_text}".lower())
        cfn_name, key = max(quoted, key=lambda q: (q[0].lower() in named, len(q[0])))
        return key, shown or cfn_name
    return "", shown


_MAJOR_ONLY = re.compile(r"\d+")


def _not_applicable(resource: CfnResource, match: Any, by_id: Mapping[str, CfnResource]) -> bool:
    """Findings about the mapping rather than the input (each one documented)."""
    rule_id = match.rule.id
    if rule_id == "W3691":
        # cfn-lint's deprecated list also holds the bare major ("16", "17"), which its own
        # list of creatable versions (E3691) accepts too: CreateDBInstance resolves a major
        # to its current default minor, so only a pinned minor can be deprecated.
        version = resource.properties.get("EngineVersion")
        return isinstance(version, str) and _MAJOR_ONLY.fullmatch(version) is not None
    if rule_id in ("E3019",):
        # Identifiers shared with a resource the mapping folded into another type (an EKS
        # access policy association is an item of its AccessEntry) are not duplicates.
        mentioned = [r for lid, r in by_id.items() if lid in match.message]
        return any(rule_id in MAPPINGS_NOT_APPLICABLE.get(r.resource.type, ()) for r in [resource, *mentioned])
    return False


def _violations(resources: list[CfnResource], matches: Iterable[Any], region: str) -> Iterator[Violation]:
    by_id = {r.logical_id: r for r in resources}
    for match in matches:
        rule_id = match.rule.id
        if rule_id in IGNORED_RULES or not (rule_id.startswith("E") or rule_id in BLOCKING_WARNINGS):
            continue
        path = list(match.path or [])
        if len(path) < 2 or path[0] != "Resources" or path[1] not in by_id:
            yield Violation("cloudformation template", ".".join(map(str, path)),
                            f"{shorten(match.message)} [{_rule_source(match.rule)}]")
            continue
        resource = by_id[path[1]]
        if resource.only_rules is not None and rule_id not in resource.only_rules:
            continue
        if _not_applicable(resource, match, by_id):
            continue
        pulumi_path, cfn_path = _field(resource, path[3:], match.message, match.rule.shortdesc)
        cfn_where = resource.cfn_type + (f" {cfn_path}" if cfn_path else "")
        yield Violation(
            f"{resource.resource.type} {resource.resource.name}",
            pulumi_path,
            f"{shorten(match.message)} [AWS {cfn_where}; {_rule_source(match.rule, resource.cfn_type, region)}]",
        )


# Loading cfn-lint costs ~2 s per process and linting a stack up to ~1 s: the findings are
# cached by the template's content hash (with cfn-lint's version and the region), so an
# unchanged stack re-plans without importing cfn-lint at all.
CACHE_DIR = CACHE_ROOT / "cfn-lint"


def check_aws_constraints(run: PlanRun) -> Iterator[Violation]:
    """One cfn-lint pass over the stack's AWS resources; a plan rule (offline/check/checks.py)."""
    unknowns = Unknowns(fabricated_values(run))
    resources = cfn_resources(run, unknowns)
    if not resources:
        return
    region = str(run.stack.config.get("aws:region") or "us-east-1")
    template = cfn_template(resources, unknowns)
    names = {r.logical_id: (r.resource.type, r.resource.name) for r in resources}
    key = hashlib.sha256(json.dumps([CFN_LINT_VERSION, region, template, names], sort_keys=True,
                                    default=str).encode()).hexdigest()[:24]
    cached = CACHE_DIR / f"{key}.json"
    try:
        yield from (Violation(*v) for v in json.loads(cached.read_text(encoding="utf-8")))
        return
    except (OSError, ValueError, TypeError):
        pass
    found = list(_violations(resources, lint(template, region), region))
    try:
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps([[v.obj, v.path, v.message] for v in found]), encoding="utf-8")
        partial.replace(cached)
    except OSError:
        pass  # a read-only checkout: lint every time
    yield from found


__all__ += ["NoEquivalent", "schema_directory"]
