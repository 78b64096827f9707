"""Read `Pulumi.yaml` and `stacks/Pulumi.<stack>.yaml` the way the Pulumi CLI hands
config to a program: full keys (`namespace:name`), scalars as strings, structured values
as JSON text, `secure:` values decrypted (here: to deterministic placeholders) with their
top-level key listed as secret.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builders.yaml_text import safe_load
from offline.run import safe_yaml
from stackconfig import Problem, is_secret_path, plaintext_secret_problem

ROOT = Path(__file__).resolve().parents[2]
# What plans derive from unchanged inputs (parsed CRDs, cfn-lint findings), keyed by
# content. OFFLINE_PLAN_CACHE moves it: the benchmark times a first plan from an empty one.
CACHE_ROOT = Path(os.environ.get("OFFLINE_PLAN_CACHE") or ROOT / "out" / ".cache")


@dataclass(frozen=True)
class StackFile:
    project: str
    stack: str
    path: Path
    config: dict[str, str]
    secret_keys: frozenset[str]
    # Leaf paths (`datafly:tenant.secrets.jwtSecret`) whose values were `secure:`.
    secure_paths: frozenset[str]
    # Plaintext values in places that only take secrets: the CLI cannot tell these
    # apart once it has decrypted the file, so the offline reader reports them.
    plaintext_secrets: tuple[Problem, ...] = field(default=())
    # The stand-in values the secure entries decrypted to: none may appear in plaintext
    # anywhere in the plan.
    secret_values: frozenset[str] = field(default=frozenset())


class StackFileError(Exception):
    pass


def project_file(root: Path = ROOT) -> dict[str, Any]:
    path = root / "Pulumi.yaml"
    stat = path.stat()
    return copy.deepcopy(_project_file(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=16)
def _project_file(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    # Read once per version of the file: every stack read needs it (stackConfigDir).
    project: dict[str, Any] = safe_load(path.read_text(encoding="utf-8"))
    return project


def _config_dir(root: Path) -> Path:
    return root / str(project_file(root).get("stackConfigDir", "."))


def stack_names(root: Path = ROOT) -> list[str]:
    config_dir = _config_dir(root)
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in config_dir.glob("Pulumi.*.yaml"))


def stack_path(stack: str, root: Path = ROOT) -> Path:
    return _config_dir(root) / f"Pulumi.{stack}.yaml"


def placeholder(ciphertext: str) -> str:
    """Stand-in for a decrypted secret: stable, 64 hex characters (so it also passes as
    a 32-byte hex key), and obviously not a real value."""
    return hashlib.sha256(("offline-plan:" + ciphertext).encode()).hexdigest()


# The attributes of a stack settings file, as the Pulumi CLI reads it
# (https://www.pulumi.com/docs/iac/concepts/projects/stack-settings-file/): anything else,
# e.g. a mistyped `Config:`, would be ignored by the CLI and the stack run without its config.
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")


def read_document(path: Path, root: Path = ROOT) -> dict[str, Any]:
    """The stack file as a mapping, refused with one line (StackFileError) when it is not
    UTF-8, is binary, expands aliases without bound, repeats a key or has keys the CLI
    does not read."""
    shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        document = safe_yaml.load_file(path, shown) or {}
    except safe_yaml.YamlFileError as exc:
        raise StackFileError(str(exc)) from None
    except OSError as exc:
        raise StackFileError(f"cannot read {shown}: {exc.strerror}") from None
    if not isinstance(document, dict):
        raise StackFileError(f"{shown}: expected a mapping with a `config:` mapping")
    unknown = [str(k) for k in document if k not in STACK_FILE_KEYS]
    if unknown:
        raise StackFileError(f"{shown}: unknown top-level key(s) {', '.join(unknown)}; a stack file has "
                             f"{', '.join(STACK_FILE_KEYS)} (did you mean `config:`?)")
    if not isinstance(document.get("config") or {}, dict):
        raise StackFileError(f"{shown}: `config:` must be a mapping")
    return document


def read_stack(stack: str, root: Path = ROOT) -> StackFile:
    project = project_file(root)
    name = str(project["name"])
    path = stack_path(stack, root)
    if not path.exists():
        known = ", ".join(stack_names(root)) or "none"
        raise StackFileError(f"no stack file {path.relative_to(root)} (stacks: {known})")
    document = read_document(path, root)

    raw: dict[str, Any] = {}
    for key, spec in (project.get("config") or {}).items():
        if isinstance(spec, dict) and "value" in spec:
            raw[_full_key(key, name)] = spec["value"]
        elif isinstance(spec, dict) and "default" in spec:
            raw[_full_key(key, name)] = spec["default"]
        elif not isinstance(spec, dict):
            raw[_full_key(key, name)] = spec
    for key, value in (document.get("config") or {}).items():
        raw[_full_key(str(key), name)] = value

    config: dict[str, str] = {}
    secret_keys: set[str] = set()
    secure_paths: set[str] = set()
    plaintext: list[Problem] = []
    ciphertexts: list[str] = []
    for key, value in raw.items():
        decrypted, secure = _decrypt(value, key, secure_paths, ciphertexts)
        if secure:
            secret_keys.add(key)
        config[key] = _as_cli_string(decrypted)
        plaintext.extend(_plaintext_leaves(decrypted, key, secure_paths))
    return StackFile(
        project=name,
        stack=stack,
        path=path,
        config=config,
        secret_keys=frozenset(secret_keys),
        secure_paths=frozenset(secure_paths),
        plaintext_secrets=tuple(plaintext),
        secret_values=frozenset(placeholder(c) for c in ciphertexts),
    )


def _full_key(key: str, project: str) -> str:
    # As in the CLI, a key without a namespace belongs to the project.
    return key if ":" in key else f"{project}:{key}"


def _decrypt(value: Any, path: str, secure_paths: set[str], ciphertexts: list[str]) -> tuple[Any, bool]:
    if isinstance(value, dict) and set(value) == {"secure"}:
        secure_paths.add(path)
        ciphertexts.append(str(value["secure"]))
        return placeholder(str(value["secure"])), True
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        any_secure = False
        for key, item in value.items():
            out[key], secure = _decrypt(item, f"{path}.{key}", secure_paths, ciphertexts)
            any_secure = any_secure or secure
        return out, any_secure
    if isinstance(value, list):
        items = []
        any_secure = False
        for index, item in enumerate(value):
            decrypted, secure = _decrypt(item, f"{path}.{index}", secure_paths, ciphertexts)
            items.append(decrypted)
            any_secure = any_secure or secure
        return items, any_secure
    return value, False


def _plaintext_leaves(value: Any, path: str, secure_paths: set[str]) -> list[Problem]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _plaintext_leaves(v, f"{path}.{k}", secure_paths)]
    if value is not None and not isinstance(value, list) and is_secret_path(path) and path not in secure_paths:
        return [plaintext_secret_problem(path)]
    return []


def _as_cli_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)
