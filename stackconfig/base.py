"""The strict base model every config group derives from, and the checks they share.

A cross-field rule raises a ``FieldError`` naming the sub-key it is about; the loader
(``loader.py``) prefixes it with the model's key path when it reports the problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Model(BaseModel):
    """Base for every config group: unknown keys are errors, values are immutable, and
    types are strict: YAML's `true` is not the replica count 1, `1.5` is not an int and
    `"3"` is not a number (pydantic's lax mode would coerce all three)."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        validate_default=True,
    )


class FieldError(ValueError):
    """A cross-field rule that names the sub-key it is about, relative to the model."""

    def __init__(self, path: str, value: Any, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.value = value
        self.reason = reason


def field_error(path: str, value: Any, reason: str) -> FieldError:
    return FieldError(path, value, reason)


def unique(path: str, values: Sequence[Any]) -> None:
    for index, value in enumerate(values):
        if value in values[:index]:
            raise field_error(f"{path}.{index}", value, f"duplicates {path}.{list(values).index(value)}")


# Set by the program on every AWS resource (components/stack.py): ownership and cost
# allocation must not be relabelled from a stack file.
RESERVED_TAG_KEYS = ("managed-by", "app", "stack", "environment", "datafly:tenant")


def check_tags(tags: dict[str, str]) -> None:
    for key, value in tags.items():
        if key in RESERVED_TAG_KEYS:
            raise field_error(f"tags.{key}", value, "is set by the program on every resource; "
                              f"reserved keys: {', '.join(RESERVED_TAG_KEYS)}")
        if key.lower().startswith("aws:") or not 1 <= len(key) <= 128 or len(value) > 256:
            raise field_error(f"tags.{key}", value, "AWS tag keys are 1-128 characters, not starting "
                              "with aws:, and values at most 256 characters")


def snake(camel: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in camel)
