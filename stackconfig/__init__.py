"""Typed stack configuration: models, loader and error reporting."""

from .loader import (
    ConfigError,
    Problem,
    is_secret_path,
    load_config,
    plaintext_secret_problem,
    platform_problems,
)
from .model import PlatformConfig, StackConfig, TenantConfig

__all__ = [
    "ConfigError",
    "PlatformConfig",
    "Problem",
    "StackConfig",
    "TenantConfig",
    "is_secret_path",
    "load_config",
    "plaintext_secret_problem",
    "platform_problems",
]
