"""IAM policy documents that upstream projects publish and this repository vendors as
data (see schemas/SOURCES.md), loaded unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"

# kubernetes-sigs/aws-load-balancer-controller `docs/install/iam_policy.json` at the
# controller tag the chart ships (schemas/SOURCES.md records tag and blob id).
AWS_LOAD_BALANCER_CONTROLLER_POLICY_FILE = SCHEMAS / "crds" / "aws-load-balancer-controller" / "iam_policy.json"


def aws_load_balancer_controller_policy() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(AWS_LOAD_BALANCER_CONTROLLER_POLICY_FILE.read_text(encoding="utf-8"))
    return document


def policy_json(document: dict[str, Any]) -> str:
    """Compact JSON, so the plan and its diffs carry the document's content rather than
    the upstream file's indentation (IAM ignores whitespace, also for the 6,144-character
    managed policy limit)."""
    return json.dumps(document, separators=(",", ":"), sort_keys=False)
