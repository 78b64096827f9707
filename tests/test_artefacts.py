"""The artefact writers: plan.json's text is json.dumps's, byte for byte; manifests
carry no YAML anchors."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from offline.report import artefacts
from offline.report.json_text import dumps_indented

_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text()
            | st.sampled_from(["", "é", "\u2028", "\x00", '"\\/', "\U0001f600", "line\nbreak"]))
_JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                     | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(_JSON)
def test_plan_json_text_is_what_json_dumps_writes(value: Any) -> None:
    assert dumps_indented(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize("value", [
    {}, [], {"a": {}}, [[]], 0, -0.0, 1e16, 1.5e-7, math.inf, -math.inf, math.nan, 2**70, True, None, "x",
    {"resources": [{"inputs": {"b": 1, "a": [1.0, None, False]}}], "outputs": {}},
])
def test_plan_json_text_edge_values(value: Any) -> None:
    assert dumps_indented(value) == json.dumps(value, indent=2)


def test_plan_json_refuses_what_it_cannot_write_as_json_dumps_does() -> None:
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        dumps_indented({"a": {1, 2}})
    with pytest.raises(TypeError, match="keys are strings, not int"):
        dumps_indented({1: "one"})


def test_manifests_write_shared_objects_in_full_without_anchors() -> None:
    shared = {"app": "event-processor"}
    text = artefacts.render_yaml([{"metadata": {"labels": shared}, "spec": {"selector": shared}}])
    assert "&" not in text and "*" not in text
    assert yaml.safe_load(text) == {"metadata": {"labels": shared}, "spec": {"selector": shared}}
    assert text == "---\nmetadata:\n  labels:\n    app: event-processor\nspec:\n  selector:\n    app: event-processor\n"
