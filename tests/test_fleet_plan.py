"""Planning many stacks: on worker processes, streamed, each platform once, nothing of
one stack leaking into the next; a platform's outputs reused from an earlier plan only
while its inputs are unchanged; and the SDK hosting that makes a plan cheap."""

from __future__ import annotations

import gc
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pulumi.output import UNKNOWN as UNKNOWN_VALUE
from pulumi.runtime.rpc import UNKNOWN

from offline import fleet_plan, plan
from offline.run import outputs_cache, runner, workers
from offline.run.stackfile import ROOT

ARTEFACTS = ("plan.json", "manifests.yaml", "releases.yaml", "graph.dot")


def _artefacts(out: Path, stacks: list[str]) -> dict[str, bytes]:
    return {f"{s}/{name}": (out / s / name).read_bytes() for s in stacks for name in ARTEFACTS}


def _count_runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stacks whose program runs, in order (the planner's runs, counted)."""
    ran: list[str] = []
    original = plan.Planner._run_uncached

    def counted(self: plan.Planner, stack: str) -> plan.PlanResult:
        ran.append(stack)
        return original(self, stack)

    monkeypatch.setattr(plan.Planner, "_run_uncached", counted)
    return ran


# --- plan-all on workers ---------------------------------------------------------------


def test_plan_all_on_two_workers_writes_what_each_stack_planned_alone_writes(project: Path, tmp_path: Path,
                                                                               capsys: pytest.CaptureFixture[str]) -> None:
    stacks = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (project / "stacks").glob("Pulumi.*.yaml"))
    alone = tmp_path / "alone"
    for stack in stacks:
        assert plan.main([stack, "--root", str(project), "--out", str(alone), "--fresh"]) == plan.EXIT_OK
    capsys.readouterr()
    together = tmp_path / "together"
    assert plan.main(["--all", "--jobs", "2", "--root", str(project), "--out", str(together)]) == plan.EXIT_OK
    printed = capsys.readouterr().out
    # Workers plan many stacks each: none sees another's registrations.
    assert _artefacts(together, stacks) == _artefacts(alone, stacks)
    # Streamed as each finishes, counted, then the table.
    headers = [line for line in printed.splitlines() if line.startswith("=== ")]
    assert sorted(h.split()[1] for h in headers) == stacks
    assert [h.split("[")[1].split(",")[0] for h in headers] == [f"{i}/{len(stacks)}" for i in range(1, len(stacks) + 1)]
    table = printed[printed.index("stack     exit  problems"):].splitlines()
    assert [row.split()[0] for row in table[1:1 + len(stacks)]] == stacks
    assert f"All {len(stacks)} stacks planned clean" in printed
    assert "on 2 worker(s) (1 platform program(s) run first for their customers)." in printed


def test_the_exit_code_is_the_worst_stacks_and_the_table_names_it(project: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    document = yaml.safe_load((project / "stacks" / "Pulumi.umbrella.yaml").read_text(encoding="utf-8"))
    document["config"]["datafly:tenant"]["postgres"] = {"engineVersion": "15"}
    (project / "stacks" / "Pulumi.umbrella.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    code = plan.main(["acme", "umbrella", "globex", "--jobs", "2", "--root", str(project), "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == plan.EXIT_CONFIG
    rows = {line.split()[0]: line.split()[1] for line in captured.out.splitlines()
            if line.split() and line.split()[0] in ("acme", "umbrella", "globex") and len(line.split()) > 1
            and line.split()[1].isdigit()}
    assert rows == {"acme": "0", "umbrella": "2", "globex": "0"}
    assert "FAILED: 1 of 3 stacks (umbrella); exit 2 (bad configuration or stack file)" in captured.out
    assert "datafly:tenant.postgres.engineVersion" in captured.err


def test_each_platform_is_planned_once_per_run(project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    ran = _count_runs(monkeypatch)
    # In one process (jobs 1): every run is counted here.
    assert plan.main(["acme", "globex", "umbrella", "--jobs", "1", "--root", str(project), "--out", str(tmp_path)]) == 0
    assert sorted(ran) == ["acme", "globex", "platform", "umbrella"]
    assert ran[0] == "platform"  # read once, before its customers, not by each


def test_a_progress_bar_shows_on_a_terminal_and_plain_lines_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    report = fleet_plan.StackReport("acme", 0, "-", "the plan\n", "", 1.0)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    terminal = Terminal()
    display = fleet_plan.Display(2, terminal, io.StringIO())
    assert display.progress is not None
    with display.shown():
        display.stack_done(report)
    assert "=== acme === [1/2, exit 0, 1.0 s]" in terminal.getvalue()
    assert "planning" in terminal.getvalue()  # the bar's label

    monkeypatch.setenv("CI", "true")
    log = Terminal()
    plain = fleet_plan.Display(2, log, io.StringIO())
    assert plain.progress is None
    with plain.shown():
        plain.stack_done(report)
    assert log.getvalue() == "=== acme === [1/2, exit 0, 1.0 s]\nthe plan\n"


# --- workers ---------------------------------------------------------------------------


def _pid_and_value(item: int) -> tuple[int, int]:
    return os.getpid(), item * item


def test_workers_run_every_item_in_other_processes_and_keep_nothing_frozen() -> None:
    results = list(workers.map_unordered(_pid_and_value, range(8), jobs=2))
    assert sorted(value for _, value in results) == [i * i for i in range(8)]
    assert os.getpid() not in {pid for pid, _ in results}
    assert len({pid for pid, _ in results}) <= 2
    assert gc.get_freeze_count() == 0  # the parent's heap is unfrozen again
    # One item, or one job: in this process, which gets its collector back as it was.
    assert list(workers.map_unordered(_pid_and_value, [3], jobs=2)) == [(os.getpid(), 9)]
    assert list(workers.map_unordered(_pid_and_value, [1, 2], jobs=1)) == [(os.getpid(), 1), (os.getpid(), 4)]
    assert gc.isenabled() and gc.get_freeze_count() == 0 and workers._TASK is None


def test_a_worker_plans_stack_after_stack_without_growing(project: Path, tmp_path: Path) -> None:
    planner = plan.Planner(project, tmp_path)
    planner.plan("platform")
    tracked = []
    workers._TASK = lambda name: fleet_plan._pooled(planner, name)
    try:
        for _ in range(4):
            workers._run_task("acme")  # as a worker runs each task
            tracked.append(len(gc.get_objects()) + gc.get_freeze_count())
    finally:
        workers._TASK = None
        gc.unfreeze()
    # What a stack's plan leaves is collected; the survivors are the same after each.
    assert max(tracked[1:]) - min(tracked[1:]) < 100, tracked


# --- the platform's outputs, reused -----------------------------------------------------


def test_a_customer_reuses_its_platforms_outputs_until_the_platform_changes(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = plan.Planner(project, tmp_path).plan("acme")
    ran = _count_runs(monkeypatch)
    again = plan.Planner(project, tmp_path).plan("acme")
    assert ran == ["acme"]  # the platform program did not run again
    assert [r.to_json() for r in again.run.resources] == [r.to_json() for r in first.run.resources]  # type: ignore[union-attr]
    assert (again.exit_code, again.violations, again.policy_violations) == (plan.EXIT_OK, [], [])

    ran.clear()
    assert plan.Planner(project, tmp_path, reuse_outputs=False).plan("acme").exit_code == plan.EXIT_OK
    assert ran == ["acme", "platform"]  # --fresh

    ran.clear()
    path = project / "stacks" / "Pulumi.platform.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["config"]["datafly:platform"]["cluster"]["nodePool"]["limits"]["cpu"] = "50"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    assert plan.Planner(project, tmp_path).plan("acme").exit_code == plan.EXIT_OK
    assert ran == ["acme", "platform"]  # a changed platform stack file is planned again


def test_the_key_covers_the_code_the_project_and_the_stack(project: Path) -> None:
    stack = plan.Planner(project)._run("platform").run.stack  # type: ignore[union-attr]
    project_file = (project / "Pulumi.yaml").read_bytes()
    key = outputs_cache.entry_key(stack, project_file)
    assert outputs_cache.entry_key(stack, project_file + b"\n# changed\n") != key
    changed = type(stack)(**{**stack.__dict__, "config": {**stack.config, "aws:region": "eu-west-1"}})
    assert outputs_cache.entry_key(changed, project_file) != key
    assert {"components", "builders", "stackconfig", "offline/run", "requirements.txt"} <= set(outputs_cache.CODE_PATHS)


def test_secret_outputs_are_never_written_to_the_cache(project: Path, tmp_path: Path) -> None:
    result = plan.Planner(project, tmp_path).plan("platform")
    assert result.run is not None and result.run.outputs["kubeconfig"].secret
    entry = json.loads((tmp_path / ".cache" / "platform-outputs" / "platform.json").read_text(encoding="utf-8"))
    assert entry["outputs"]["kubeconfig"] == {"value": "[secret]", "secret": True}
    text = json.dumps(entry)
    assert str(result.run.outputs["kubeconfig"].value) not in text
    assert "clusters" not in text


# --- how the SDK is hosted --------------------------------------------------------------


def test_monitor_calls_run_on_the_planning_thread_and_no_stack_is_walked(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[int] = set()
    original = runner.RecordingMonitor.RegisterResource

    def seen(self: runner.RecordingMonitor, request: Any) -> Any:
        threads.add(threading.get_ident())
        return original(self, request)

    monkeypatch.setattr(runner.RecordingMonitor, "RegisterResource", seen)
    assert plan.Planner().plan("acme").exit_code == plan.EXIT_OK
    assert threads == {threading.get_ident()}
    # The pinned SDK has the function the plan replaces while a program runs, and gets it back.
    from pulumi.runtime import resource as sdk_resource

    assert sdk_resource._get_stack_trace is not runner._empty_stack_trace
    with runner.no_source_positions():
        assert sdk_resource._get_stack_trace is runner._empty_stack_trace


def _upstream_register(self: runner.RecordingMonitor, request: Any) -> Any:
    """The mock monitor's own RegisterResource, the request decoded again for the record."""
    from pulumi.runtime import mocks, rpc

    response = mocks.MockMonitor.RegisterResource(self, request)  # type: ignore[no-untyped-call]
    if request.type == runner.STACK_TYPE:
        self.root_urn = response.urn
        return response
    self.record(request, response, rpc.deserialize_properties(request.object, keep_unknowns=True))
    return response


def test_the_recording_monitor_registers_what_the_sdks_mock_monitor_registers(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    ours = tmp_path / "ours"
    assert plan.main(["platform", "acme", "--fresh", "--out", str(ours)]) == plan.EXIT_OK
    monkeypatch.setattr(runner.RecordingMonitor, "RegisterResource", _upstream_register)
    upstream = tmp_path / "upstream"
    assert plan.main(["platform", "acme", "--fresh", "--out", str(upstream)]) == plan.EXIT_OK
    assert _artefacts(ours, ["platform", "acme"]) == _artefacts(upstream, ["platform", "acme"])


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8)
                     | st.just(UNKNOWN),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                 max_size=4),
                     max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _JSON, max_size=5))
def test_properties_decode_the_same_without_unknowns_exactly_when_the_monitor_says_so(value: dict[str, Any]) -> None:
    from google.protobuf import struct_pb2
    from pulumi.runtime import rpc

    struct = struct_pb2.Struct()
    struct.update(value)
    kept = rpc.deserialize_properties(struct, keep_unknowns=True)
    if not runner._decodes_differently(kept):
        assert rpc.deserialize_properties(struct) == kept
    else:
        assert rpc.deserialize_properties(struct) != kept


def test_monitor_calls_complete_through_the_ready_queue_in_order_and_the_loop_gets_its_method_back() -> None:
    import asyncio
    import concurrent.futures

    from pulumi.runtime.sync_await import _ensure_event_loop

    loop = _ensure_event_loop()
    seen: list[str] = []

    def fail() -> None:
        raise LookupError("no such resource")

    async def calls() -> None:
        first = loop.run_in_executor(None, seen.append, "first ran")
        second = loop.run_in_executor(None, fail)
        # Both ran at once, on this thread; neither result is delivered before the loop turns.
        assert seen == ["first ran"] and not first.done() and not second.done()
        cancelled = loop.run_in_executor(None, seen.append, "ran, result dropped")
        cancelled.cancel()
        assert await first is None
        with pytest.raises(LookupError, match="no such resource"):
            await second
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            assert await loop.run_in_executor(pool, threading.get_ident) != threading.get_ident()

    with runner.monitor_calls_inline():
        loop.run_until_complete(calls())
    assert seen == ["first ran", "ran, result dropped"]
    assert "run_in_executor" not in vars(loop)
    assert loop.run_in_executor.__func__ is asyncio.BaseEventLoop.run_in_executor


_WITH_UNKNOWNS = st.recursive(
    st.none() | st.integers() | st.text(max_size=4) | st.builds(lambda: UNKNOWN_VALUE),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    | st.tuples(inner, inner),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(_WITH_UNKNOWNS)
def test_the_plans_unknowns_search_answers_as_the_sdks_does(value: Any) -> None:
    from pulumi.runtime import rpc

    assert runner.contains_unknowns(value) is rpc.contains_unknowns(value)


def test_the_unknowns_search_stops_at_a_container_it_has_seen_and_is_swapped_in_only_for_a_run() -> None:
    from pulumi.runtime import rpc

    looped: list[Any] = [1]
    looped.append(looped)
    shared = {"a": [2]}
    for value in (looped, [shared, shared, {"b": UNKNOWN_VALUE}], {"x": (UNKNOWN_VALUE,)}):
        assert runner.contains_unknowns(value) is rpc.contains_unknowns(value)
    upstream = rpc.contains_unknowns
    with runner.unknowns_found_without_cycles():
        assert rpc.contains_unknowns is runner.contains_unknowns
    assert rpc.contains_unknowns is upstream is not runner.contains_unknowns


# --- the floor the benchmark measures against ------------------------------------------


def test_the_floor_script_registers_the_plans_resources_with_the_sdk_alone(tmp_path: Path) -> None:
    plan.Planner(out_dir=tmp_path).plan("platform")
    assert plan.main(["platform", "acme", "--out", str(tmp_path)]) == plan.EXIT_OK
    modules = tmp_path / "modules.txt"
    modules.write_text("pulumi_aws\npulumi_kubernetes\n", encoding="utf-8")
    done = subprocess.run([sys.executable, str(ROOT / "fleet" / "floor.py"), str(modules),
                           str(tmp_path / "platform" / "plan.json"), str(tmp_path / "acme" / "plan.json")],
                          cwd=tmp_path, capture_output=True, text=True, check=True)
    count = sum(len(json.loads((tmp_path / s / "plan.json").read_text())["resources"]) for s in ("platform", "acme"))
    assert done.stdout == f"floor: registered {count} resources from 2 stack(s)\n"


def test_a_program_that_fails_on_a_worker_exits_3_with_its_traceback(project: Path, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    from components import customer_alarms

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug in the alarms component")

    # Forked workers inherit the patched component.
    monkeypatch.setattr(customer_alarms.CustomerAlarms, "__init__", broken)
    code = plan.main(["acme", "globex", "--jobs", "2", "--root", str(project), "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == plan.EXIT_PROGRAM
    assert captured.err.count("RuntimeError: a bug in the alarms component") == 2
    assert "FAILED: 2 of 2 stacks (acme, globex); exit 3 (the program failed (a bug))" in captured.out
