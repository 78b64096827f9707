"""Run the Pulumi program (`__main__.py`, unchanged) for one stack under the SDK's mock
runtime, recording every RegisterResource request the way the engine would see it."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import runpy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import pulumi
from google.protobuf import struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import mocks, rpc, set_all_config
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from offline.run.stackfile import ROOT, StackFile
from stackconfig import ConfigError
from stackconfig.pulumi_source import ConfigRunError

from . import fabricate

SECRET = "[secret]"
STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference"


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    parent: Optional[str]
    custom: bool
    dependencies: list[str]
    protect: bool
    retain_on_delete: bool
    ignore_changes: list[str]
    delete_before_replace: bool
    provider: Optional[str]
    inputs: dict[str, Any]          # secrets redacted
    raw_inputs: dict[str, Any] = field(repr=False)  # secret wrappers kept, for validators
    replace_on_changes: list[str] = field(default_factory=list)
    additional_secret_outputs: list[str] = field(default_factory=list)
    deleted_with: Optional[str] = None
    custom_timeouts: dict[str, str] = field(default_factory=dict)
    aliases: int = 0
    # Set for resources read rather than managed (`get`, StackReference): their id.
    read_id: Optional[str] = None
    # What the mocks answered (secrets redacted): lets checks tell a value the plan knows
    # from one fabricated as another resource's output (offline/check/aws_constraints.py).
    resource_id: str = field(default="", repr=False)
    outputs: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "dependencies": self.dependencies,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "ignoreChanges": self.ignore_changes,
            "deleteBeforeReplace": self.delete_before_replace,
            "provider": self.provider,
            "replaceOnChanges": self.replace_on_changes,
            "additionalSecretOutputs": self.additional_secret_outputs,
            "deletedWith": self.deleted_with,
            "customTimeouts": self.custom_timeouts,
            "readId": self.read_id,
            "inputs": self.inputs,
        }


@dataclass
class StackOutput:
    value: Any
    secret: bool


@dataclass
class PlanRun:
    stack: StackFile
    resources: list[Resource]
    outputs: dict[str, StackOutput]
    root_urn: str
    # What the checks and the report derive from the recorded resources, derived once
    # (offline/report/artefacts.py, offline/check/checks.py): they all read the same.
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


class ProgramConfigError(Exception):
    """The program refused the stack's configuration (exit code 2)."""

    def __init__(self, error: ConfigError) -> None:
        super().__init__(str(error))
        self.error = error


def _walk(value: Any, secret: Callable[[Any], Any]) -> Any:
    if rpc.is_rpc_secret(value):
        return secret(value)
    if isinstance(value, float) and value.is_integer():
        # The wire format carries every number as a double; 3 is meant, not 3.0.
        return int(value)
    if isinstance(value, dict):
        return {k: _walk(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, secret) for v in value]
    return value


def redact(value: Any) -> Any:
    """Wire values with every secret replaced by "[secret]"."""
    return _walk(value, lambda _: SECRET)


def unwrap(value: Any) -> Any:
    """Wire values with secrets unwrapped (for answering StackReferences)."""
    return _walk(value, lambda v: unwrap(rpc.unwrap_rpc_secret(v)))


def _decodes_differently(value: Any) -> bool:
    """Whether properties decoded keeping unknowns (`value`) would decode otherwise
    without: an unknown is left out or None, and a reference to a resource whose ID is
    unknown gets None for it (pulumi/runtime/rpc.py, deserialize_property)."""
    if isinstance(value, dict):
        return any(_decodes_differently(v) for v in value.values())
    if isinstance(value, list):
        return any(_decodes_differently(v) for v in value)
    return isinstance(value, (Unknown, pulumi.Resource))


_PLAIN_SCALARS = (str, bool, int, float, type(None))


def _plain(value: Any) -> bool:
    """Whether `value` is made only of JSON values (dicts with string keys, lists,
    strings, numbers, booleans, None), as the mocks' answers almost always are."""
    kind = type(value)
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if kind is list:
        return all(_plain(v) for v in value)
    return kind in _PLAIN_SCALARS


def _plain_struct(state: dict[str, Any]) -> struct_pb2.Struct:
    """The Struct `rpc.serialize_properties(state, {})` builds for a state of JSON
    values (`_plain`), built directly: the SDK awaits each value in turn, a round trip
    through the event loop per value, to resolve Outputs and resources such a state
    cannot hold. As there, a None at the top level is left out (pulumi/runtime/rpc.py,
    pulumi 3.272.0)."""
    struct = struct_pb2.Struct()
    for key, value in state.items():
        if value is not None:
            struct[key] = value
    return struct


def _provider_urn(reference: str) -> Optional[str]:
    # Provider references are "<urn>::<id>".
    return reference.rsplit("::", 1)[0] if reference else None


class RecordingMonitor(mocks.MockMonitor):
    """Sees each RegisterResource request with its options, as the engine would."""

    def __init__(self, mock: mocks.Mocks) -> None:
        super().__init__(mock)
        self.recorded: list[Resource] = []
        self.root_urn = ""

    def RegisterResource(self, request: Any) -> Any:
        # MockMonitor.RegisterResource (pulumi/runtime/mocks.py, pulumi 3.272.0) with the
        # request's properties decoded once, not once for the mocks and again for the
        # record: the record keeps unknowns, and the mocks get them as upstream decodes
        # them, without (the same dict when there are none, as in almost every request).
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            self.root_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()  # type: ignore[no-untyped-call]
        raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
        inputs = rpc.deserialize_properties(request.object) if _decodes_differently(raw) else raw
        id_, state = self.mocks.new_resource(mocks.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
            transforms=mocks._resolve_callbacks(request.transforms),
        ))
        state_proto = _plain_struct(state) if _plain(state) else _sync_await(rpc.serialize_properties(state, {}))
        # An ID the mocks leave out is the empty string on the wire, as upstream sends it.
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, id_ or "", state)
        response = resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=state_proto)
        self.record(request, response, raw)
        return response

    def record(self, request: Any, response: Any, raw: dict[str, Any]) -> None:
        """Keep a registered resource: the request as the engine sees it, its decoded
        properties (`raw`) and what the mocks answered."""
        self.recorded.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=bool(request.custom),
                dependencies=sorted(set(request.dependencies)),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                ignore_changes=list(request.ignoreChanges),
                delete_before_replace=bool(request.deleteBeforeReplace),
                provider=_provider_urn(request.provider),
                inputs=redact(raw),
                raw_inputs=raw,
                replace_on_changes=list(request.replaceOnChanges),
                additional_secret_outputs=list(request.additionalSecretOutputs),
                deleted_with=request.deletedWith or None,
                custom_timeouts={
                    k: v for k, v in (
                        ("create", request.customTimeouts.create),
                        ("update", request.customTimeouts.update),
                        ("delete", request.customTimeouts.delete),
                    ) if v
                },
                aliases=len(request.aliases) + len(request.aliasURNs),
                resource_id=response.id,
                # What the mocks answered, as the mock monitor keeps it (the response
                # carries the same, serialized: no need to decode it again).
                outputs=redact(self.resources[response.urn].state),
            )
        )

    def ReadResource(self, request: Any) -> Any:
        response = super().ReadResource(request)  # type: ignore[no-untyped-call]
        raw = rpc.deserialize_properties(request.properties, keep_unknowns=True)
        self.recorded.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=True,
                dependencies=sorted(set(request.dependencies)),
                protect=False,
                retain_on_delete=False,
                ignore_changes=[],
                delete_before_replace=False,
                provider=_provider_urn(request.provider),
                inputs=redact(raw),
                raw_inputs=raw,
                additional_secret_outputs=list(request.additionalSecretOutputs),
                read_id=request.id,
            )
        )
        return response


class OfflineMocks(mocks.Mocks):
    def __init__(self, ctx: fabricate.Context, stack_references: Mapping[str, Mapping[str, StackOutput]]) -> None:
        self.ctx = ctx
        self.stack_references = stack_references

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[Optional[str], dict[str, Any]]:
        if args.typ == STACK_REFERENCE_TYPE:
            return self._stack_reference(args)
        return (
            fabricate.resource_id(args.typ, args.name, args.inputs, self.ctx),
            fabricate.resource_outputs(args.typ, args.name, args.inputs, self.ctx),
        )

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        return fabricate.invoke(args.token, args.args, self.ctx), []

    def _stack_reference(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        name = str(args.inputs.get("name") or args.name)
        outputs = self.stack_references.get(name)
        if outputs is None:
            raise LookupError(f"the offline plan cannot resolve StackReference {name!r}")
        return name, {
            "name": name,
            "outputs": {k: v.value for k, v in outputs.items()},
            "secretOutputNames": sorted(k for k, v in outputs.items() if v.secret),
        }


def run_program(
    stack: StackFile,
    region: str,
    stack_references: Mapping[str, Mapping[str, StackOutput]],
    program: Path = ROOT / "__main__.py",
) -> PlanRun:
    """Run the program (`__main__.py`, as the CLI would) for one stack."""

    def main() -> None:
        runpy.run_path(str(program), run_name="__main__")

    return run_function(main, stack, region, stack_references)


def run_function(
    main: Callable[[], Any],
    stack: StackFile,
    region: str,
    stack_references: Mapping[str, Mapping[str, StackOutput]] | None = None,
) -> PlanRun:
    """Run `main` as a Pulumi program, in a fresh context so runs never share runtime
    state (tests use this to plan a single component). Whatever `main` returns as a
    dict becomes stack outputs."""
    result: list[PlanRun] = []
    context = contextvars.Context()
    with collector_paused(), no_source_positions(), unknowns_found_without_cycles(), monitor_calls_inline():
        context.run(_run, stack, region, stack_references or {}, main, result.append)
    return result[0]


@contextlib.contextmanager
def monitor_calls_inline() -> Iterator[None]:
    """The SDK sends every monitor call (RegisterResource, Invoke, ...) through the event
    loop's default executor, a thread pool, because against the engine each is a blocking
    gRPC call (pulumi/runtime/resource.py, `run_in_executor(None, ...)`). Here the monitor
    is the in-process mock, which never blocks: each call runs at once on the loop's own
    thread, and its result reaches the awaiting coroutine through the loop's ready queue,
    in the order a pool's result would (asyncio.futures._chain_future schedules it with
    call_soon_threadsafe), without the thread hand-off or the wake-up write to the loop's
    self-pipe that a pool's result costs: together a tenth of a customer's plan."""
    loop: asyncio.AbstractEventLoop = _ensure_event_loop()  # type: ignore[no-untyped-call]
    upstream = loop.run_in_executor

    def run_in_executor(executor: Any, func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        if executor is not None:
            return upstream(executor, func, *args)
        future = loop.create_future()
        try:
            result = func(*args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting SDK code, as a pool would
            loop.call_soon(_settle, future, None, exc)
        else:
            loop.call_soon(_settle, future, result, None)
        return future

    loop.run_in_executor = run_in_executor  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        del loop.run_in_executor  # the class's method again


def _settle(future: asyncio.Future[Any], result: Any, exc: Optional[BaseException]) -> None:
    if future.cancelled():
        return  # as asyncio's _copy_future_state leaves a cancelled future
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


@contextlib.contextmanager
def no_source_positions() -> Iterator[None]:
    """The SDK walks and formats the whole Python call stack at every resource it
    registers, to send the engine the source position `pulumi up` shows in its
    diagnostics (pulumi/runtime/resource.py, `_get_stack_trace`, pulumi 3.272.0): about a
    tenth of a plan's time. The offline plan records no source positions, so while a
    program runs here the SDK is handed an empty trace, as it sends when it finds no
    user frame. tests/test_plan.py holds the SDK to having the function."""
    original = sdk_resource._get_stack_trace
    sdk_resource._get_stack_trace = _empty_stack_trace
    try:
        yield
    finally:
        sdk_resource._get_stack_trace = original


def _empty_stack_trace() -> source_pb2.StackTrace:
    return source_pb2.StackTrace()


@contextlib.contextmanager
def unknowns_found_without_cycles() -> Iterator[None]:
    """The SDK asks whether a value holds an unknown each time it resolves or sends an
    Output (pulumi/runtime/rpc.py, `contains_unknowns`, pulumi 3.272.0), some fifty
    times per resource, and each call defines a recursive inner function: a reference
    cycle (function, cell, annotations) that only the cyclic collector frees. That was
    three in five of the objects a customer's plan leaves for it. While a program runs
    here the SDK gets the same search as module-level functions, which leave nothing
    behind. tests/test_fleet_plan.py holds it to the SDK's answers."""
    original = rpc.contains_unknowns
    rpc.contains_unknowns = contains_unknowns
    try:
        yield
    finally:
        rpc.contains_unknowns = original


def contains_unknowns(val: Any) -> bool:
    """Whether `val` is, or holds in its dicts and lists, an unknown (each container
    looked at once, as upstream does; the SDK's parameter name, for keyword callers)."""
    return _holds_unknown(val, set())


def _holds_unknown(value: Any, seen: set[int]) -> bool:
    # Upstream marks every value seen; only a container's mark can change an answer
    # (a scalar holds no unknown), so only containers are marked here.
    if isinstance(value, Unknown):
        return True
    if not isinstance(value, (dict, list)) or id(value) in seen:
        return False
    seen.add(id(value))
    items = (value[key] for key in value) if isinstance(value, dict) else value
    return any(_holds_unknown(item, seen) for item in items)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a program registers its resources: nearly
    everything it allocates lives until the plan ends, so each pass would only rescan
    it (about a fifth of a plan's time). The previous state comes back afterwards;
    whoever plans many stacks in one process collects between them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _run(
    stack: StackFile,
    region: str,
    stack_references: Mapping[str, Mapping[str, StackOutput]],
    program: Callable[[], Any],
    done: Callable[[PlanRun], None],
) -> None:
    fabricate.load_fabricators()
    # Output tasks are tracked in a process-wide set; a run that failed may have left
    # some behind, which would otherwise be awaited (and re-raise) in the next run.
    pulumi.runtime.settings.SETTINGS.outputs.clear()
    ctx = fabricate.Context(region=region, stack=stack.stack)
    monitor = RecordingMonitor(OfflineMocks(ctx, stack_references))
    pulumi.runtime.set_mocks(
        monitor.mocks, project=stack.project, stack=stack.stack, preview=False, monitor=monitor
    )
    set_all_config(dict(stack.config), sorted(stack.secret_keys))

    def main() -> None:
        returned = program()
        if isinstance(returned, dict):
            for key, value in returned.items():
                pulumi.export(key, value)

    try:
        _sync_await(run_pulumi_func(main))
    except ConfigRunError as exc:
        raise ProgramConfigError(exc.error) from None
    except pulumi.RunError as exc:
        cause = exc.__cause__
        if isinstance(cause, ConfigError):
            raise ProgramConfigError(cause) from None
        raise
    root = pulumi.runtime.settings.get_root_resource()
    outputs: dict[str, StackOutput] = {}
    for key, value in getattr(root, "outputs", {}).items():
        output = pulumi.Output.from_input(value)
        resolved = _sync_await(output.future())
        outputs[key] = StackOutput(value=unwrap(resolved), secret=bool(_sync_await(output.is_secret())))
    # Registration order depends on how the event loop resolves outputs; sorting by URN
    # makes two plans of the same program identical, so they diff cleanly.
    resources = sorted(monitor.recorded, key=lambda r: r.urn)
    done(PlanRun(stack=stack, resources=resources, outputs=outputs, root_urn=monitor.root_urn))
