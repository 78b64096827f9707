"""Promote a release (image tag, optionally a digest per image) to customer stacks, wave by wave.

    python -m fleet.promote v1.3.0 acme globex                 # one wave
    python -m fleet.promote v1.3.0 --wave canary=acme --wave rest=globex,initech,umbrella
    python -m fleet.promote v1.3.0 --waves-file fleet/waves.yaml [--only-wave canary]
    python -m fleet.promote v1.3.0 --digest ingestionGateway=sha256:... acme
    python -m fleet.promote v1.3.0 acme --dry-run               # offline: what would change

Per stack, in order: set `datafly:tenant.image` in stacks/Pulumi.<stack>.yaml (comments
and key order kept), `pulumi preview`, then `pulumi up` through the Pulumi Automation
API. The first failure stops the promotion; the report says which stack is on which
release. A failed preview restores the stack file (nothing was deployed); a failed up
keeps it (the stack is partly on the new release: fix and re-run).

`--dry-run` needs no Pulumi CLI: it plans each target offline before and after the edit
(on a copy of the stacks, over worker processes, one per core: `--jobs N`) and prints the
diff of plan.json. A release bump may change only that customer's six Deployments and its
migrations Job; anything else fails.

Exit codes: 0 promoted (or a clean dry run); 1 a stack failed (or the dry run changed
something a release bump must not); 2 bad arguments or stack files.
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional, Protocol

import yaml
from pydantic import TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.scalarstring import SingleQuotedScalarString

from offline.fleet_plan import platforms_first
from offline.plan import EXIT_OK as PLAN_OK
from offline.plan import Planner
from offline.report import artefacts as report
from offline.run.stackfile import ROOT, StackFileError, stack_path
from offline.run.workers import default_jobs, map_unordered
from stackconfig.types import ImageDigest, ImageTag
from stackconfig.workloads import SERVICE_DEFAULTS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
EXTERNAL_SECRET = "kubernetes:external-secrets.io/v1:ExternalSecret"
JOB = "kubernetes:batch/v1:Job"

_TAG = TypeAdapter(ImageTag)
_DIGEST = TypeAdapter(ImageDigest)
_DIGEST_KEYS = (*SERVICE_DEFAULTS, "migrations")


class PromoteError(Exception):
    """Bad arguments or stack files: nothing was changed."""


@dataclass(frozen=True)
class Release:
    tag: str
    # (image key, digest): a digest names one image, so each image has its own
    # (`image.digests.<service>` / `.migrations` in the stack file).
    digests: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.tag} ({len(self.digests)} digest(s))" if self.digests else self.tag

    @classmethod
    def parse(cls, tag: str, digests: Sequence[str] = ()) -> "Release":
        pairs: list[tuple[str, str]] = []
        checks: list[tuple[TypeAdapter[str], str, str]] = [(_TAG, tag, "tag")]
        for item in digests:
            key, sep, value = item.partition("=")
            if not sep or key not in _DIGEST_KEYS:
                raise PromoteError(f"invalid --digest {item!r}: expected IMAGE=sha256:<64 hex>, "
                                   f"IMAGE one of {', '.join(_DIGEST_KEYS)}")
            checks.append((_DIGEST, value, "digest"))
            pairs.append((key, value))
        for adapter, value, what in checks:
            try:
                adapter.validate_python(value)
            except ValidationError as exc:
                raise PromoteError(f"invalid {what} {value!r}: "
                                   + str(exc.errors()[0]["msg"]).removeprefix("Value error, ")) from None
        return cls(tag, tuple(pairs))


@dataclass(frozen=True)
class Wave:
    name: str
    stacks: tuple[str, ...]


# ---------------------------------------------------------------------------
# Stack files: read and set the release, keeping comments and key order
# ---------------------------------------------------------------------------


def _yaml() -> YAML:
    handler = YAML()
    handler.preserve_quotes = True
    # The example stacks indent sequences under their key (`key:\n  - item`).
    handler.indent(mapping=2, sequence=4, offset=2)
    handler.width = 4096
    return handler


def _tenant(document: Any, path: Path) -> Any:
    config = document.get("config") if isinstance(document, Mapping) else None
    tenant = config.get("datafly:tenant") if isinstance(config, Mapping) else None
    if not isinstance(tenant, Mapping):
        raise PromoteError(f"{path.name} is not a customer stack (no datafly:tenant); only customers are promoted")
    image = tenant.get("image")
    if not isinstance(image, Mapping) or "tag" not in image:
        raise PromoteError(f"{path.name}: datafly:tenant.image.tag is missing")
    return tenant


def read_release(path: Path) -> Release:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    image = _tenant(document, path)["image"]
    digests = image.get("digests") or {}
    return Release(str(image["tag"]), tuple((str(k), str(v)) for k, v in digests.items() if v))


def customer_name(path: Path) -> str:
    return str(_tenant(yaml.safe_load(path.read_text(encoding="utf-8")), path)["name"])


def set_release(path: Path, release: Release) -> None:
    """Write `release` into the stack file's `datafly:tenant.image`, leaving every other
    byte as it was. A tag without digests drops the old digests: they pinned the old tag."""
    handler = _yaml()
    document = handler.load(path.read_text(encoding="utf-8"))
    image: CommentedMap = _tenant(document, path)["image"]
    # A tag YAML would read as a number (`1.10`) must be quoted, or it changes meaning.
    tag: Any = release.tag if isinstance(yaml.safe_load(release.tag), str) else SingleQuotedScalarString(release.tag)
    image["tag"] = tag
    if release.digests:
        if dict(image.get("digests") or {}) != dict(release.digests):
            pinned = CommentedMap(release.digests)
            if "digests" in image:
                image["digests"] = pinned
            else:
                image.insert(list(image).index("tag") + 1, "digests", pinned)
    elif "digests" in image:
        del image["digests"]
    stream = io.StringIO()
    handler.dump(document, stream)
    path.write_text(stream.getvalue(), encoding="utf-8")


# ---------------------------------------------------------------------------
# The Automation API boundary
# ---------------------------------------------------------------------------


class StackOperations(Protocol):
    """What the wave logic needs from Pulumi: each call raises when the step fails and
    returns a one-line summary when it succeeds."""

    def preview(self, stack: str) -> str: ...

    def up(self, stack: str) -> str: ...


class PulumiCliMissing(Exception):
    """A real promotion needs the Pulumi CLI; this says so plainly."""


class PulumiAutomation:
    """`pulumi preview` / `pulumi up` of this project's stacks through the Automation
    API (a local workspace on the project directory, so the CLI reads the edited stack
    files). Needs the Pulumi CLI and a logged-in backend. The project's policy pack
    (policies/) runs in every preview and up, so a real deployment is held to the same
    mandatory policies as the offline plan."""

    def __init__(self, work_dir: Path = ROOT, organization: Optional[str] = None,
                 on_output: Optional[Callable[[str], None]] = None) -> None:
        self.work_dir = work_dir
        self.organization = organization
        self.on_output = on_output
        self.policy_packs = [str(work_dir / "policies")]

    def _select(self, stack: str) -> Any:
        from pulumi import automation as auto  # imported here: the dry run and tests never need it

        if shutil.which("pulumi") is None:
            raise PulumiCliMissing(
                "the Pulumi CLI is not installed here (no `pulumi` on PATH): a real promotion runs "
                "`pulumi preview` and `pulumi up` through it; install it (https://www.pulumi.com/docs/install/) "
                "and log in, or use --dry-run for the offline plan")

        name = f"{self.organization}/{stack}" if self.organization else stack
        return auto.select_stack(stack_name=name, work_dir=str(self.work_dir))

    def preview(self, stack: str) -> str:
        result = self._select(stack).preview(diff=True, on_output=self.on_output, policy_packs=self.policy_packs)
        return "preview: " + _changes(result.change_summary)

    def up(self, stack: str) -> str:
        result = self._select(stack).up(diff=True, on_output=self.on_output, policy_packs=self.policy_packs)
        return "up: " + _changes(result.summary.resource_changes or {})


def _changes(summary: Mapping[Any, int]) -> str:
    parts = [f"{getattr(op, 'value', op)} {count}" for op, count in sorted(summary.items(), key=lambda i: str(i[0]))]
    return ", ".join(parts) or "no changes"


# ---------------------------------------------------------------------------
# Waves
# ---------------------------------------------------------------------------

Status = Literal["promoted", "preview failed", "up failed", "not attempted"]


@dataclass
class StackResult:
    stack: str
    wave: str
    before: Release
    status: Status
    detail: str = ""

    def release(self, target: Release) -> str:
        if self.status == "promoted":
            return str(target)
        if self.status == "up failed":
            return f"{target} (partly: up failed)"
        return str(self.before)


@dataclass
class Promotion:
    release: Release
    results: list[StackResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status == "promoted" for r in self.results)

    def on_release(self) -> dict[str, list[str]]:
        """Which stacks are on which release."""
        groups: dict[str, list[str]] = {}
        for result in self.results:
            groups.setdefault(result.release(self.release), []).append(result.stack)
        return groups

    def lines(self) -> list[str]:
        width = max([len(r.stack) for r in self.results] + [5]) + 2
        wave_width = max([len(r.wave) for r in self.results] + [4]) + 2
        lines = [f"{'stack'.ljust(width)}{'wave'.ljust(wave_width)}{'status'.ljust(15)}release"]
        for r in self.results:
            detail = f"  ({r.detail})" if r.detail else ""
            lines.append(f"{r.stack.ljust(width)}{r.wave.ljust(wave_width)}{r.status.ljust(15)}"
                         f"{r.release(self.release)}{detail}")
        lines.append("")
        lines.append("Stacks by release:")
        for release, stacks in self.on_release().items():
            lines.append(f"  {release}: {', '.join(stacks)}")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "release": {"tag": self.release.tag, "digests": dict(self.release.digests)},
            "ok": self.ok,
            "stacks": [{"stack": r.stack, "wave": r.wave, "status": r.status, "before": str(r.before),
                        "release": r.release(self.release), "detail": r.detail} for r in self.results],
            "byRelease": self.on_release(),
        }


def check_targets(waves: Sequence[Wave], root: Path) -> None:
    seen: dict[str, str] = {}
    if not any(w.stacks for w in waves):
        raise PromoteError("no stacks to promote: name stacks, --wave NAME=a,b or --waves-file")
    for wave in waves:
        for stack in wave.stacks:
            if stack in seen:
                raise PromoteError(f"stack {stack!r} is in waves {seen[stack]!r} and {wave.name!r}")
            seen[stack] = wave.name
            path = stack_path(stack, root)
            if not path.exists():
                raise PromoteError(f"no stack file {path.relative_to(root)} for stack {stack!r}")
            read_release(path)


def promote(waves: Sequence[Wave], release: Release, operations: StackOperations, root: Path = ROOT,
            log: Callable[[str], None] = print) -> Promotion:
    """Promote wave after wave, stack after stack; the first failure stops everything."""
    check_targets(waves, root)
    promotion = Promotion(release)
    failed = False
    for wave in waves:
        if not failed:
            log(f"== wave {wave.name}: {', '.join(wave.stacks)}")
        for stack in wave.stacks:
            path = stack_path(stack, root)
            before = read_release(path)
            if failed:
                promotion.results.append(StackResult(stack, wave.name, before, "not attempted"))
                continue
            original = path.read_text(encoding="utf-8")
            set_release(path, release)
            log(f"{stack}: {before} -> {release}")
            try:
                log(f"{stack}: " + operations.preview(stack))
            except Exception as exc:  # noqa: BLE001 - any failure of the step stops the promotion
                path.write_text(original, encoding="utf-8")
                promotion.results.append(StackResult(stack, wave.name, before, "preview failed", _one_line(exc)))
                failed = True
                continue
            try:
                log(f"{stack}: " + operations.up(stack))
            except Exception as exc:  # noqa: BLE001
                promotion.results.append(StackResult(stack, wave.name, before, "up failed", _one_line(exc)))
                failed = True
                continue
            promotion.results.append(StackResult(stack, wave.name, before, "promoted"))
    return promotion


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def parse_wave(spec: str) -> Wave:
    name, sep, stacks = spec.partition("=")
    names = tuple(s.strip() for s in stacks.split(",") if s.strip())
    if not sep or not name.strip() or not names:
        raise PromoteError(f"--wave {spec!r}: expected NAME=stack[,stack...]")
    return Wave(name.strip(), names)


def read_waves_file(path: Path) -> list[Wave]:
    """`{waves: {canary: [acme], rest: [globex, ...]}}` or the mapping alone, in order."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PromoteError(f"cannot read waves file {path}: {' '.join(str(exc).split())}") from None
    if isinstance(document, Mapping) and isinstance(document.get("waves"), Mapping):
        document = document["waves"]
    if not isinstance(document, Mapping) or not all(
        isinstance(v, list) and all(isinstance(s, str) for s in v) for v in document.values()
    ):
        raise PromoteError(f"waves file {path}: expected a mapping of wave name to a list of stacks")
    return [Wave(str(k), tuple(v)) for k, v in document.items()]


# ---------------------------------------------------------------------------
# Dry run: the offline plan before and after
# ---------------------------------------------------------------------------


@dataclass
class DryRun:
    stack: str
    before: Release
    changed: list[str] = field(default_factory=list)      # "type name" of changed resources
    violations: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def _copy_project(root: Path, into: Path) -> Path:
    shutil.copy(root / "Pulumi.yaml", into / "Pulumi.yaml")
    config_dir = stack_path("x", root).parent
    shutil.copytree(config_dir, into / config_dir.relative_to(root))
    return into


def _plan_document(planner: Planner, stack: str) -> tuple[Optional[dict[str, Any]], list[str]]:
    result = planner.plan(stack)
    if result.run is None or result.exit_code != PLAN_OK:
        reasons = [*result.problems, *(str(v) for v in result.violations),
                   *(f"policy {v.path}: {v.obj}: {v.message}" for v in result.policy_violations)]
        return None, reasons or [f"exit code {result.exit_code}"]
    return report.plan_json(result.run), []


def allowed_changes(plan: Mapping[str, Any], customer: str) -> set[str]:
    """URNs a release bump may change: the customer's Deployments and its migrations Job
    (with the Job's own per-release Secret, named like the Job)."""
    namespace = f"customer-{customer}"
    allowed = set()
    for resource in plan["resources"]:
        metadata = resource["inputs"].get("metadata") or {}
        if resource["type"] == DEPLOYMENT and metadata.get("namespace") == namespace:
            allowed.add(resource["urn"])
        if resource["type"] == JOB and resource["name"] == f"{customer}-workloads-migrations":
            allowed.add(resource["urn"])
        if resource["type"] == EXTERNAL_SECRET and resource["name"] == f"{customer}-workloads-migrations-secret":
            allowed.add(resource["urn"])
    return allowed


def compare_plans(stack: str, customer: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> DryRun:
    result = DryRun(stack, Release(""))
    old = {r["urn"]: r for r in before["resources"]}
    new = {r["urn"]: r for r in after["resources"]}
    allowed = allowed_changes(before, customer)
    for urn in sorted(old.keys() | new.keys()):
        resource = old.get(urn) or new[urn]
        label = f"{resource['type']} {resource['name']}"
        if urn not in new:
            result.violations.append(f"- {label}: would be deleted")
        elif urn not in old:
            result.violations.append(f"+ {label}: would be created")
        elif old[urn] != new[urn]:
            old_name = (old[urn]["inputs"].get("metadata") or {}).get("name")
            new_name = (new[urn]["inputs"].get("metadata") or {}).get("name")
            # A Kubernetes object renamed in place is replaced: the new one is created first.
            renamed = f" (replaced: {old_name} -> {new_name})" if old_name != new_name else ""
            result.changed.append(label + renamed)
            if urn not in allowed:
                result.violations.append(f"~ {label}: changes, but a release bump may change only the "
                                         f"customer's Deployments and its migrations Job")
    if before.get("outputs") != after.get("outputs"):
        result.violations.append("stack outputs change")
    result.diff = list(difflib.unified_diff(_plan_lines(before), _plan_lines(after),
                                            f"a/out/{stack}/plan.json", f"b/out/{stack}/plan.json"))
    return result


def _plan_lines(plan: Mapping[str, Any]) -> list[str]:
    # As report.write_outputs writes plan.json, so the diff reads like `diff` of two plans.
    return (json.dumps(plan, indent=2) + "\n").splitlines(keepends=True)


def dry_run(stacks: Iterable[str], release: Release, root: Path = ROOT, jobs: int = default_jobs()) -> list[DryRun]:
    """Plan each stack offline as it is and with `release`, on copies of the stacks, on
    `jobs` worker processes; the results in the order of `stacks`."""
    stacks = list(stacks)
    check_targets([Wave("dry-run", tuple(stacks))], root)
    with tempfile.TemporaryDirectory(prefix="promote-before-") as before_dir, \
            tempfile.TemporaryDirectory(prefix="promote-after-") as after_dir:
        before_root = _copy_project(root, Path(before_dir))
        after_root = _copy_project(root, Path(after_dir))
        for stack in stacks:
            set_release(stack_path(stack, after_root), release)
        planners = Planner(before_root), Planner(after_root)
        for planner in planners:
            _warm(planner, stacks)
        task: Callable[[str], DryRun] = lambda stack: _dry_run_stack(planners, stack, root)  # noqa: E731
        # Consumed whole inside the `with`: the workers are gone before the copies are.
        results = {result.stack: result for result in map_unordered(task, stacks, jobs)}
    return [results[stack] for stack in stacks]


def _warm(planner: Planner, stacks: Sequence[str]) -> None:
    """Before the fork, what every stack's plan reads: the fleet checks and the platforms
    the stacks run on, so that each worker inherits them and no worker plans a platform."""
    planner.fleet_problems()
    _, _, platforms = platforms_first(planner, stacks)  # the stacks are customers (check_targets)
    for platform in platforms:
        try:
            planner.reference_outputs(platform)
        except StackFileError:
            pass  # each of its customers reports it


def _dry_run_stack(planners: tuple[Planner, Planner], stack: str, root: Path) -> DryRun:
    """One stack planned before and after the edit, and compared (a worker's task)."""
    before_planner, after_planner = planners
    try:
        before, problems = _plan_document(before_planner, stack)
        after, after_problems = _plan_document(after_planner, stack)
    finally:
        # Nothing of a stack's plans outlives its task: a worker's memory stays flat
        # however many stacks it plans (the platforms stay, warmed before the fork).
        before_planner.forget(stack)
        after_planner.forget(stack)
    current = read_release(stack_path(stack, root))
    if before is None or after is None:
        failed = DryRun(stack, current)
        failed.violations = [f"the offline plan fails: {p}" for p in [*problems, *after_problems]]
        return failed
    compared = compare_plans(stack, customer_name(stack_path(stack, root)), before, after)
    compared.before = current
    return compared


def dry_run_lines(results: Sequence[DryRun], release: Release, show_diff: bool = True) -> list[str]:
    lines = []
    for result in results:
        lines.append(f"=== {result.stack}: {result.before} -> {release} (offline plan, before and after)")
        if show_diff:
            lines.extend(line.rstrip("\n") for line in result.diff)
        lines.append(f"{len(result.changed)} resource(s) would change:")
        lines.extend(f"  ~ {label}" for label in result.changed)
        if result.violations:
            lines.append(f"NOT a clean release bump ({len(result.violations)} problem(s)):")
            lines.extend(f"  {v}" for v in result.violations)
        else:
            lines.append("OK: only the customer's Deployments and its migrations Job change.")
    return lines


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def _waves(args: argparse.Namespace) -> list[Wave]:
    waves: list[Wave] = []
    if args.stacks:
        waves.append(Wave("all", tuple(args.stacks)))
    waves.extend(parse_wave(spec) for spec in args.wave)
    if args.waves_file is not None:
        waves.extend(read_waves_file(args.waves_file))
    if args.only_wave is not None:
        waves = [w for w in waves if w.name == args.only_wave]
        if not waves:
            raise PromoteError(f"--only-wave {args.only_wave!r}: no such wave")
    return waves


def main(argv: Optional[Sequence[str]] = None, operations: Optional[StackOperations] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fleet.promote", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tag", help="release tag, e.g. v1.3.0")
    parser.add_argument("stacks", nargs="*", help="customer stacks, promoted in this order (one wave)")
    parser.add_argument("--digest", action="append", default=[], metavar="IMAGE=sha256:...",
                        help="digest pinning one image of the tag (a service key or migrations); repeat")
    parser.add_argument("--wave", action="append", default=[], metavar="NAME=STACK[,STACK...]",
                        help="a wave of stacks; repeat, in order")
    parser.add_argument("--waves-file", type=Path, help="YAML mapping of wave name to stacks, in order")
    parser.add_argument("--only-wave", help="run only this wave (CI runs one wave per approved job)")
    parser.add_argument("--dry-run", action="store_true", help="offline: plan before/after and diff, change nothing")
    parser.add_argument("--no-diff", action="store_true", help="with --dry-run: list changes without the diff")
    parser.add_argument("--jobs", type=int, default=default_jobs(),
                        help="with --dry-run: worker processes planning the stacks (default: one per core)")
    parser.add_argument("--organization", help="Pulumi organization of the stacks (default: the backend's)")
    parser.add_argument("--report", type=Path, help="also write the result as JSON here")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    # Intermixed: `promote v1.3.0 --digest managementApi=sha256:... acme globex` reads as written.
    args = parser.parse_intermixed_args(argv)
    try:
        release = Release.parse(args.tag, args.digest)
        waves = _waves(args)
        if args.dry_run:
            results = dry_run([s for w in waves for s in w.stacks], release, args.root, args.jobs)
            for line in dry_run_lines(results, release, show_diff=not args.no_diff):
                print(line)
            if args.report is not None:
                _write(args.report, {"release": str(release), "ok": all(r.ok for r in results),
                                     "stacks": {r.stack: {"changed": r.changed, "violations": r.violations}
                                                for r in results}})
            return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED
        if operations is None and shutil.which("pulumi") is None:
            raise PromoteError("a real promotion runs `pulumi preview` and `pulumi up`, and the Pulumi CLI is not "
                               "installed here (no `pulumi` on PATH); install it and log in, or use --dry-run")
        ops = operations or PulumiAutomation(args.root, args.organization,
                                             on_output=lambda line: print(line, end=""))
        promotion = promote(waves, release, ops, args.root)
    except PromoteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print()
    for line in promotion.lines():
        print(line)
    if args.report is not None:
        _write(args.report, promotion.to_json())
    return EXIT_OK if promotion.ok else EXIT_FAILED


def _write(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
