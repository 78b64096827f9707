"""Helm releases: the `status` the provider reports after a successful install, so code
that `.apply`s on `release.status` runs offline."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from offline.run.fabricate import Context, outputs_for


@outputs_for("kubernetes:helm.sh/v3:Release")
def _release(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {
        "status": {
            "name": inputs.get("name", name),
            "namespace": inputs.get("namespace", "default"),
            "status": "deployed",
            "version": inputs.get("version", ""),
            "chart": inputs.get("chart", ""),
            # A first install: the plan describes the desired state from scratch.
            "revision": 1,
        }
    }
