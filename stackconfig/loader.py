"""Turn the raw Pulumi config of a stack into a validated ``StackConfig``.

All problems are collected and reported together, one line each, naming the full key
path (``datafly:tenant.services.eventProcessor.replicas``), the value received (never a
secret's) and what is allowed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Union

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from .base import FieldError
from .model import StackConfig
from .types import SECRET_MARKER

PROJECT = "datafly"
# Namespaces whose keys this program reads; every other namespace belongs to providers
# (aws:profile, kubernetes:...) or the engine (pulumi:...) and is left alone.
OWNED_NAMESPACE = PROJECT + ":"
READ_KEYS = ("aws:region",)
_MAX_VALUE_CHARS = 80


@dataclass(frozen=True)
class Problem:
    path: str
    value: Any
    allowed: str
    secret: bool = False
    missing: bool = False

    def __str__(self) -> str:
        if self.missing:
            return f"{self.path}: missing; {self.allowed}"
        shown = "[secret]" if self.secret else _short(self.value)
        return f"{self.path}: got {shown}; {self.allowed}"


class ConfigError(Exception):
    """The stack configuration is invalid; ``str()`` is one line per problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: p.path)
        super().__init__("\n".join(str(p) for p in self.problems))


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def _decode(key: str, value: Any) -> Any:
    # The Pulumi CLI hands structured config to the program as JSON text.
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def secret_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Yield the config paths (with `*` for map keys) whose values must be secrets."""
    for name, field in model.model_fields.items():
        key = field.alias or name
        path = f"{prefix}.{key}" if prefix else key
        if _is_secret(field):
            yield path
        for inner in _models_in(field.annotation):
            yield from secret_paths(inner, path)
        if _is_secret_map(field):
            yield path + ".*"


def _is_secret(field: FieldInfo) -> bool:
    return _secret_in(field.json_schema_extra) or any(
        _secret_in(getattr(m, "json_schema_extra", None)) for m in _annotation_metadata(field.annotation)
    )


def _is_secret_map(field: FieldInfo) -> bool:
    args: tuple[Any, ...] = getattr(field.annotation, "__args__", ())
    origin = getattr(field.annotation, "__origin__", None)
    if origin is dict and len(args) == 2:
        values = args[1]
        return any(_secret_in(getattr(m, "json_schema_extra", None)) for m in getattr(values, "__metadata__", ()))
    return False


def _secret_in(extra: Any) -> bool:
    return isinstance(extra, dict) and extra.get("secret") == SECRET_MARKER["secret"]


def _annotation_metadata(annotation: Any) -> Iterator[Any]:
    yield from getattr(annotation, "__metadata__", ())
    for arg in getattr(annotation, "__args__", ()):
        yield from getattr(arg, "__metadata__", ())


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in getattr(annotation, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            yield arg


SECRET_PATHS = frozenset(secret_paths(StackConfig))


def is_secret_path(path: str) -> bool:
    """True when a dotted config path (`datafly:tenant.secrets.jwtSecret`) holds a secret."""
    parts = path.split(".")
    for pattern in SECRET_PATHS:
        pattern_parts = pattern.split(".")
        if len(pattern_parts) <= len(parts) and all(
            p in ("*", q) for p, q in zip(pattern_parts, parts, strict=False)
        ):
            return True
    return False


def _lookup(data: Any, loc: tuple[Union[int, str], ...]) -> tuple[bool, Any]:
    node = data
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False, None
    return True, node


def _allowed(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    message: str = error["msg"]
    if kind == "extra_forbidden":
        return "unknown key; check its spelling against the configuration reference"
    if kind == "missing":
        return "required"
    if message.startswith("Value error, "):
        return message[len("Value error, "):]
    if message.startswith("Input should be "):
        return "expected " + message[len("Input should be "):]
    if message.startswith("String should "):
        return "must " + message[len("String should "):]
    if message.startswith("List should "):
        return "must " + message[len("List should "):]
    return message[0].lower() + message[1:]


def _problems(exc: ValidationError, data: Mapping[str, Any]) -> list[Problem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        # Union/Optional members add their type name to the location; drop those.
        loc = tuple(p for p in loc if not (isinstance(p, str) and p[:1].isupper()))
        ctx_error = (error.get("ctx") or {}).get("error")
        reason = _allowed(error)
        value_known = True
        if isinstance(ctx_error, FieldError):
            loc = loc + tuple(_split(ctx_error.path))
            reason = ctx_error.reason
            found, value = _lookup(data, loc)
            value = value if found else ctx_error.value
            value_known = found or ctx_error.value is not None
        else:
            found, value = _lookup(data, loc)
            value = value if found else error.get("input")
        path = _join(loc)
        problems.append(
            Problem(
                path=path,
                value=value,
                allowed=reason,
                secret=is_secret_path(path),
                missing=error["type"] == "missing" or not value_known,
            )
        )
    return problems


def _split(path: str) -> list[Union[int, str]]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_:/-]+$")


def _join(loc: tuple[Union[int, str], ...]) -> str:
    """Dotted path; a key that is empty or holds dots, spaces or control characters is
    quoted so the problem stays on one readable line."""
    return ".".join(str(p) if _PLAIN_KEY.fullmatch(str(p)) else json.dumps(str(p)) for p in loc)


def load_config(raw: Mapping[str, Any], secret_keys: Collection[str] = ()) -> StackConfig:
    """Validate a stack's raw config (full keys → values, as Pulumi hands them over).

    Raises ConfigError listing every problem; registers nothing.
    """
    problems: list[Problem] = []
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith(OWNED_NAMESPACE) or key in READ_KEYS:
            data[key] = _decode(key, value)
    if "aws:region" not in data:
        problems.append(
            Problem("aws:region", None, "required; set it with `pulumi config set aws:region us-east-1`", missing=True)
        )
    try:
        config = StackConfig.model_validate(data)
    except ValidationError as exc:
        # A plaintext secret is reported as such even when its value is also invalid:
        # the fix is `pulumi config set --secret` either way.
        plaintext = {p.path: p for p in _plaintext_secrets(data, secret_keys)}
        problems.extend(plaintext.pop(p.path, p) for p in _problems(exc, data)
                        if p.path != "aws:region" or "aws:region" in data)
        problems.extend(plaintext.values())
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    problems.extend(_plaintext_secrets(data, secret_keys))
    if problems:
        raise ConfigError(problems)
    return config


def _plaintext_secrets(data: Mapping[str, Any], secret_keys: Collection[str]) -> Iterator[Problem]:
    """A secret value must reach the program as a Pulumi secret. The CLI marks the whole
    top-level key secret when any value under it is `secure:`, so this is as exact as
    the program can be; the offline plan also checks each leaf in the stack file."""
    for path in _set_secret_paths(data):
        top = path.split(".", 1)[0]
        if top not in secret_keys:
            yield plaintext_secret_problem(path)


def plaintext_secret_problem(path: str) -> Problem:
    return Problem(
        path,
        None,
        f"plaintext is not allowed for a secret; set it with "
        f"`pulumi config set --secret --path '{path}' <value>`",
        secret=True,
    )


def _set_secret_paths(data: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(data, Mapping):
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if value is not None and is_secret_path(path) and not isinstance(value, Mapping):
                yield path
            else:
                yield from _set_secret_paths(value, path)


def platform_problems(config: StackConfig, outputs: Mapping[str, Any]) -> list[Problem]:
    """What a customer stack's config contradicts in its platform's outputs (`region`,
    `environment`, as components/stack.py exports them).

    A customer in another region than its platform could reach neither the cluster's
    private endpoint nor its VPC (subnets and security groups are regional); a customer
    in another environment would name its resources after the wrong one."""
    tenant = config.tenant
    if tenant is None or tenant.platform is None:
        return []
    problems = []
    stack = tenant.platform.stack
    region = outputs.get("region")
    if region is not None and region != config.region:
        problems.append(Problem(
            "aws:region", config.region,
            f"must be the region of platform stack {stack} ({region}): the customer's data stores "
            "live in the platform's VPC and reach its cluster privately",
        ))
    environment = outputs.get("environment")
    if environment is not None and environment != tenant.environment:
        problems.append(Problem(
            "datafly:tenant.environment", tenant.environment,
            f"must be the environment of platform stack {stack} ({environment!r})",
        ))
    return problems
