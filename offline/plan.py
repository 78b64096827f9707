"""The offline plan: run the program for a stack under the mock runtime, print a
preview tree, write out/<stack>/, validate every Kubernetes object and evaluate the
policy pack (policies/) against every recorded resource.

    python -m offline.plan acme            # one stack
    python -m offline.plan --all           # every stacks/Pulumi.*.yaml

Exit codes: 0 clean, 1 validation or mandatory-policy violations, 2 bad configuration (or stack file),
3 the program itself failed (a bug: the traceback is printed).
"""

from __future__ import annotations

import gc
import sys

if __name__ == "__main__":
    # A plan is short-lived and its objects live until it ends: the cyclic collector
    # would only rescan them (a fifth of the run). Multi-stack plans collect between
    # stacks instead (offline/run/runner.py). Before the imports below, which allocate most.
    gc.disable()

import argparse
import json
import os
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn, Optional, TextIO

from offline.check import capacity
from offline.check.behaviour import warnings as behaviour_warnings
from offline.check.cel import evaluate_objects as evaluate_cel_rules
from offline.check.checks import Violation, check_plan
from offline.check.fleet_checks import FleetEntry, FleetProblem, check_fleet, load_entries, problems_for
from offline.check.policy_check import evaluate_policies
from offline.report import artefacts as report
from offline.report.deploy_time import deploy_time_lines
from offline.run.outputs_cache import OutputsCache, entry_key
from offline.run.runner import PlanRun, ProgramConfigError, StackOutput, run_program
from offline.run.stackfile import ROOT, StackFile, StackFileError, read_stack, stack_names, stack_path
from policies import POLICIES
from stackconfig import ConfigError, StackConfig, load_config, platform_problems

EXIT_OK, EXIT_VIOLATIONS, EXIT_CONFIG, EXIT_PROGRAM = 0, 1, 2, 3
EXIT_MEANINGS = {
    EXIT_OK: "clean",
    EXIT_VIOLATIONS: "validation or mandatory-policy violations",
    EXIT_CONFIG: "bad configuration or stack file",
    EXIT_PROGRAM: "the program failed (a bug)",
}
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@dataclass
class PlanResult:
    stack: str
    exit_code: int
    run: Optional[PlanRun] = None
    problems: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    policy_violations: list[Violation] = field(default_factory=list)
    kubernetes_version: str = ""
    capacity: Optional[capacity.CapacityReport] = None


class Planner:
    """Plans stacks, answering StackReferences from the referenced stack's own plan."""

    def __init__(self, root: Path = ROOT, out_dir: Optional[Path] = None, reuse_outputs: bool = True) -> None:
        self.root = root
        self.out_dir = out_dir if out_dir is not None else root / "out"
        # A platform's outputs from an earlier plan of the same inputs (offline/run/outputs_cache.py).
        self.outputs_cache = OutputsCache(self.out_dir / ".cache" / "platform-outputs") if reuse_outputs else None
        self._runs: dict[str, PlanResult] = {}
        self._results: dict[str, PlanResult] = {}
        self._fleet: Optional[list[FleetProblem]] = None
        self._entries: list[FleetEntry] = []

    def fleet_problems(self) -> list[FleetProblem]:
        """Clashes between this project's stack files (offline/check/fleet_checks.py), found once."""
        if self._fleet is None:
            self._entries = load_entries(self.root)
            self._fleet = check_fleet(self._entries)
        return self._fleet

    def plan(self, stack: str) -> PlanResult:
        if stack not in self._results:
            ran = self._run(stack)
            # A platform's plan judges its customers as a fleet too. Only here, not in
            # _run: the customers read the platform's outputs through _run, and one
            # customer's clash must not stop the others' plans.
            theirs = [p for p in problems_for(stack, self.fleet_problems(), self._entries)
                      if stack not in p.stacks] if ran.run is not None else []
            self._results[stack] = (PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in theirs]) if theirs
                                    else self._check(ran))
        return self._results[stack]

    def _run(self, stack: str) -> PlanResult:
        """Read, validate and run the stack's program; no checks yet (a stack read only
        for its outputs, through a StackReference, needs none)."""
        if stack not in self._runs:
            self._runs[stack] = self._run_uncached(stack)
        return self._runs[stack]

    def _run_uncached(self, stack: str) -> PlanResult:
        try:
            stack_file = read_stack(stack, self.root)
        except StackFileError as exc:
            return PlanResult(stack, EXIT_CONFIG, problems=[str(exc)])
        try:
            config = load_config(stack_file.config, stack_file.secret_keys)
        except ConfigError as exc:
            return PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in exc.problems])
        if stack_file.plaintext_secrets:
            return PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in stack_file.plaintext_secrets])
        clashes = problems_for(stack, self.fleet_problems())
        if clashes:
            return PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in clashes])
        references = self._references(config)
        if config.tenant is not None and config.tenant.platform is not None:
            outputs = references.get(config.tenant.platform.stack, {})
            mismatch = platform_problems(config, {k: v.value for k, v in outputs.items()})
            if mismatch:
                return PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in mismatch])
        try:
            run = run_program(stack_file, config.region, references)
        except ProgramConfigError as exc:
            return PlanResult(stack, EXIT_CONFIG, problems=[str(p) for p in exc.error.problems])
        if config.platform is not None and self.outputs_cache is not None:
            self.outputs_cache.store(stack, self._cache_key(stack_file), run.outputs)
        return PlanResult(stack, EXIT_OK, run=run, kubernetes_version=_kubernetes_version(config, references),
                          capacity=capacity.for_stack(stack, config, self.root))

    @staticmethod
    def _check(ran: PlanResult) -> PlanResult:
        if ran.run is None:
            return ran
        violations = check_plan(ran.run, ran.kubernetes_version)
        policy_violations = evaluate_policies(ran.run)
        failed = bool(violations or policy_violations or (ran.capacity and ran.capacity.failed))
        return replace(ran, exit_code=EXIT_VIOLATIONS if failed else EXIT_OK, violations=violations,
                       policy_violations=policy_violations)

    def _references(self, config: StackConfig) -> dict[str, dict[str, StackOutput]]:
        names = []
        if config.tenant is not None and config.tenant.platform is not None:
            names.append(config.tenant.platform.stack)
        return {name: self.reference_outputs(name) for name in names}

    def reference_outputs(self, qualified: str) -> dict[str, StackOutput]:
        """Outputs of `<org>/<project>/<stack>`: the local stack's own offline plan when
        its stack file is here, otherwise the fixture offline/fixtures/<stack>.json."""
        stack = qualified.rsplit("/", 1)[-1]
        if stack_path(stack, self.root).exists():
            cached = self._cached_outputs(stack)
            if cached is not None:
                return cached
            result = self._run(stack)
            if result.run is None:
                raise StackFileError(
                    f"stack reference {qualified}: its stack {stack!r} does not plan: "
                    + "; ".join(result.problems)
                )
            return result.run.outputs
        fixture = FIXTURES / f"{stack}.json"
        if not fixture.exists():
            raise StackFileError(
                f"stack reference {qualified}: no stacks/Pulumi.{stack}.yaml and no fixture "
                f"offline/fixtures/{stack}.json to answer it"
            )
        data = json.loads(fixture.read_text(encoding="utf-8"))
        secret = set(data.get("secretOutputNames", []))
        return {k: StackOutput(v, k in secret) for k, v in data["outputs"].items()}


    def _cache_key(self, stack_file: StackFile) -> str:
        return entry_key(stack_file, (self.root / "Pulumi.yaml").read_bytes())

    def _cached_outputs(self, stack: str) -> Optional[dict[str, StackOutput]]:
        """The stack's outputs from an earlier plan of the same inputs, unless this run
        planned it already (then those) or a fleet clash now stops it from planning."""
        if self.outputs_cache is None or stack in self._runs or problems_for(stack, self.fleet_problems()):
            return None
        try:
            stack_file = read_stack(stack, self.root)
        except StackFileError:
            return None
        return self.outputs_cache.load(stack, self._cache_key(stack_file))


def _kubernetes_version(config: StackConfig, references: dict[str, dict[str, StackOutput]]) -> str:
    if config.tenant is not None and config.tenant.platform is not None:
        platform = references.get(config.tenant.platform.stack, {})
        version = platform.get("kubernetesVersion")
        if version is not None:
            return str(version.value)
    return config.kubernetes_version


def print_result(result: PlanResult, out: TextIO, out_dir: Path, root: Path) -> None:
    if result.run is None:
        what = "invalid stack configuration" if result.exit_code == EXIT_CONFIG else "plan failed"
        print(f"error: stack {result.stack}: {what}:", file=sys.stderr)
        for line in result.problems:
            print(f"  {line}", file=sys.stderr)
        report.mark_failed(out_dir / result.stack, result.exit_code, EXIT_MEANINGS[result.exit_code], result.problems)
        return
    run = result.run
    print(f"Previewing update ({run.stack.project}/{run.stack.stack}) offline, under the mock runtime:", file=out)
    print(file=out)
    for line in report.tree_lines(run):
        print(line, file=out)
    print(file=out)
    for line in report.summary_lines(run):
        print(line, file=out)
    print(file=out)
    for line in deploy_time_lines(run):
        print(line, file=out)
    print(file=out)
    if run.outputs:
        print("Outputs:", file=out)
        width = max(len(k) for k in run.outputs) + 2
        for key, output in sorted(run.outputs.items()):
            shown = "[secret]" if output.secret else json.dumps(output.value)
            print(f"    {key.ljust(width)}{shown}", file=out)
        print(file=out)
    if result.capacity is not None:
        print(result.capacity.title, file=out)
        for line in result.capacity.lines:
            print(line, file=out)
        for line in result.capacity.warnings:
            print(f"  warning: {line}", file=out)
        for line in result.capacity.errors:
            print(f"  error: {line}", file=out)
        print(file=out)
    paths = report.write_outputs(run, out_dir / result.stack)
    print("Wrote " + ", ".join(str(p.relative_to(root)) if p.is_relative_to(root) else str(p)
                              for p in paths.values()), file=out)
    for line in behaviour_warnings(run):
        print(line, file=out)
    if result.violations:
        print(f"\n{len(result.violations)} validation violation(s):", file=out)
        for violation in result.violations:
            print(f"  {violation}", file=out)
    else:
        print("Validation: every Kubernetes object and plan rule passed.", file=out)
    print(evaluate_cel_rules(report.kubernetes_objects(run)).summary() + ".", file=out)
    if result.policy_violations:
        print(f"\n{len(result.policy_violations)} mandatory policy violation(s) (policy pack policies/):", file=out)
        for violation in result.policy_violations:
            print(f"  policy {violation.path}: {violation.obj}: {violation.message}", file=out)
    else:
        print(f"Policies: all {len(POLICIES)} policies of the pack passed.", file=out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.plan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stacks", nargs="*", help="stack names (stacks/Pulumi.<name>.yaml)")
    parser.add_argument("--all", action="store_true", help="plan every stack file")
    parser.add_argument("--out", type=Path, default=ROOT / "out", help="output directory (default out/)")
    parser.add_argument("--fresh", action="store_true",
                        help="plan a customer's platform stack again even when its outputs from an "
                             "earlier plan of the same code and stack file are in out/.cache/")
    # Where Pulumi.yaml and the stack files are read from (tests point it elsewhere).
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    names: list[str] = stack_names(args.root) if args.all else list(args.stacks)
    if not names:
        parser.error("name a stack, or pass --all")
    planner = Planner(args.root, args.out, reuse_outputs=not args.fresh)
    worst = EXIT_OK
    results: list[PlanResult] = []
    for name in names:
        try:
            result = planner.plan(name)
        except StackFileError as exc:
            result = PlanResult(name, EXIT_CONFIG, problems=[str(exc)])
        except Exception:  # noqa: BLE001 - a program bug: show it, exit 3
            traceback.print_exc()
            result = PlanResult(name, EXIT_PROGRAM, problems=["the program failed; see the traceback above"])
        if len(names) > 1:
            print(f"=== {name} ===")
        print_result(result, sys.stdout, args.out, args.root)
        results.append(result)
        worst = max(worst, result.exit_code)
    if len(names) > 1:
        print()
        for line in summary_table(results):
            print(line)
    return worst


def _problem_summary(result: PlanResult) -> str:
    parts = []
    if result.problems:
        parts.append(f"{len(result.problems)} config problem(s)" if result.exit_code == EXIT_CONFIG
                     else "; ".join(result.problems))
    if result.violations:
        parts.append(f"{len(result.violations)} validation violation(s)")
    if result.policy_violations:
        parts.append(f"{len(result.policy_violations)} policy violation(s)")
    return ", ".join(parts) or "-"


def summary_table(results: Sequence[PlanResult]) -> list[str]:
    """The end of a multi-stack plan: one row per stack, then one line that says passed
    only when every stack did."""
    width = max([len("stack"), *(len(r.stack) for r in results)]) + 2
    lines = [f"{'stack'.ljust(width)}exit  problems"]
    lines += [f"{r.stack.ljust(width)}{str(r.exit_code).ljust(6)}{_problem_summary(r)}" for r in results]
    failed = [r for r in results if r.exit_code != EXIT_OK]
    worst = max((r.exit_code for r in results), default=EXIT_OK)
    if failed:
        lines.append(f"FAILED: {len(failed)} of {len(results)} stacks ({', '.join(r.stack for r in failed)}); "
                     f"exit {worst} ({EXIT_MEANINGS[worst]})")
    else:
        lines.append(f"All {len(results)} stacks planned clean: validation and all {len(POLICIES)} policies passed.")
    return lines


def exit_without_teardown(code: int) -> NoReturn:
    """Exit once the output is flushed, skipping the interpreter's teardown: freeing
    every module of the provider SDKs object by object costs more than half a second,
    and a plan holds nothing that needs closing (its files are written and closed)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    exit_without_teardown(main())
