"""Outputs for the metrics and alerting resources (AMP, SNS, CloudWatch alarms)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from offline.run.fabricate import ACCOUNT_ID, PARTITION, Context, outputs_for


@outputs_for("aws:amp/workspace:Workspace")
def workspace(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    # AMP workspace ids: `ws-` and a UUID; the query endpoint is per region and workspace.
    workspace_id = "ws-" + str(uuid.UUID(ctx.hex("amp", name, length=32)))
    return {
        "id": workspace_id,
        "arn": ctx.arn("aps", f"workspace/{workspace_id}"),
        "prometheusEndpoint": f"https://aps-workspaces.{ctx.region}.amazonaws.com/workspaces/{workspace_id}/",
    }


@outputs_for("aws:amp/scraper:Scraper")
def scraper(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    scraper_id = "s-" + str(uuid.UUID(ctx.hex("amp-scraper", name, length=32)))
    return {
        "arn": ctx.arn("aps", f"scraper/{scraper_id}"),
        # The service-linked role AMP creates for each scraper.
        "roleArn": f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/aws-service-role/scraper.aps.amazonaws.com/"
        f"AWSServiceRoleForAmazonPrometheusScraper_{ctx.hex('amp-slr', name, length=15)}",
    }


@outputs_for("aws:sns/topic:Topic")
def topic(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    # SNS topic ARNs have no resource-type prefix: arn:aws:sns:<region>:<account>:<name>.
    return {"arn": ctx.arn("sns", str(inputs.get("name") or name))}


@outputs_for("aws:cloudwatch/metricAlarm:MetricAlarm")
def metric_alarm(name: str, inputs: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    return {"arn": ctx.arn("cloudwatch", f"alarm:{inputs.get('name') or name}")}
