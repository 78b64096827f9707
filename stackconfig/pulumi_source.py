"""Read every config key the Pulumi engine handed to this program.

`pulumi.Config` answers one key at a time, but rejecting unknown keys needs them all.
The engine passes config as the PULUMI_CONFIG environment variable (JSON) and the
secret key list as PULUMI_CONFIG_SECRET_KEYS; the mock runtime sets the same maps
through `set_all_config`. Both are read here, and nowhere else.
"""

from __future__ import annotations

from typing import Any

from pulumi.errors import RunError
from pulumi.runtime import config as runtime_config

from .loader import ConfigError


def read_config() -> tuple[dict[str, Any], set[str]]:
    values: dict[str, Any] = dict(runtime_config.get_config_env())
    values.update(runtime_config.CONFIG.get())
    secret_keys = set(runtime_config.get_config_secret_keys_env())
    secret_keys.update(k for k in values if runtime_config.is_config_secret(k))
    return values, secret_keys


class ConfigRunError(RunError):
    """A config problem the program finds only once it runs (e.g. from a platform
    stack's outputs): printed by the engine without a traceback, like a RunError, and
    carrying the problems so the offline plan reports them as bad configuration (exit 2)."""

    def __init__(self, error: ConfigError) -> None:
        super().__init__("invalid stack configuration:\n" + str(error))
        self.error = error
