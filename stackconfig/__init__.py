"""Typed stack configuration: models, loader and error reporting.

Layer (.importlinter): stackconfig imports only derive (the pure name, subnet-plan and
AMI-type helpers its validators share with builders), never builders or anything above;
every other package of the project may import it.
"""

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
