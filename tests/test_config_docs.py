from offline.run.stackfile import ROOT
from tools.config_docs import render


def test_configuration_reference_matches_the_models() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render(), "docs/configuration.md is stale: run `make docs`"


def test_reference_lists_documented_defaults() -> None:
    text = render()
    assert "| `datafly:tenant.services.eventProcessor.resources.limits.memory` | string | `\"1Gi\"` |" in text
    assert "| `datafly:tenant.autoscaling.deliveryWorkers.maxReplicas` | integer | `12` |" in text
    assert "| `datafly:platform.cluster.nodeGroup.instanceTypes` | list of string | `[\"t3.medium\"]` |" in text
    assert "| `datafly:tenant.secrets.jwtSecret` | string (*secret*) | unset |" in text
