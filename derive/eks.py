"""The EKS node group's AMI type, derived from its instance types (the config model
refuses mixed architectures; builders/eks.py re-exports it for the cluster component)."""

from __future__ import annotations

import re
from collections.abc import Sequence

# Graviton families: a generation digit followed by `g` (m7g, c7gn, r6gd, t4g, im4gn, g5g).
_ARM_FAMILY = re.compile(r"^[a-z]+[0-9]+g[a-z]*$")


def node_ami_type(instance_types: Sequence[str]) -> str:
    """The EKS-optimized Amazon Linux 2023 AMI type matching the instance architecture.
    Mixed architectures cannot share one node group's AMI."""
    arm = {bool(_ARM_FAMILY.match(t.split(".", 1)[0])) for t in instance_types}
    if len(arm) != 1:
        raise ValueError(
            f"instance types {list(instance_types)} mix arm64 and x86_64; "
            "one node group runs one AMI architecture"
        )
    return "AL2023_ARM_64_STANDARD" if arm.pop() else "AL2023_x86_64_STANDARD"
