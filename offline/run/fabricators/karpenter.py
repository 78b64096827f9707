"""Outputs of the AWS resources Karpenter needs: the SQS interruption queue and the
EventBridge rules feeding it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from offline.run.fabricate import ACCOUNT_ID, Context, outputs_for


@outputs_for("aws:sqs/queue:Queue")
def _queue(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    queue_name = str(inputs.get("name") or f"{name}-{ctx.hex('queue', name, length=7)}")
    return {
        "name": queue_name,
        # SQS ARNs carry no resource type: arn:aws:sqs:<region>:<account>:<name>.
        "arn": ctx.arn("sqs", queue_name),
        "url": f"https://sqs.{ctx.region}.amazonaws.com/{ACCOUNT_ID}/{queue_name}",
    }


@outputs_for("aws:cloudwatch/eventRule:EventRule")
def _event_rule(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    rule_name = str(inputs.get("name") or f"{name}-{ctx.hex('rule', name, length=7)}")
    return {"name": rule_name, "arn": ctx.arn("events", f"rule/{rule_name}")}
